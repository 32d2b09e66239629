//! What can go wrong with the CNETP's attestation service, one variant per answer of
//! the contract (§5) and of the upstream reference (§17, §25.5).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const CNETP: ProviderInfo = ProviderInfo {
    name: "CNETP",
    prefix: "08",
};

const NOT_FOUND: &str = "L'identifiant indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel. Veuillez vérifier que l'identifiant correspond au périmètre couvert par l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 404 (its text body says the SIREN is not on file): `08003`, 404.
    NotFound,
    /// HTTP 401, which the real gateway reports as a maintenance: `08020`, 503.
    Refused,
    /// A 200 whose body is not a whole PDF: `08055`, 502.
    NotPdf,
    /// Any other status: `08999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => CNETP
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Refused => CNETP.error(Subcode::Maintenance),
            Failure::NotPdf => CNETP.error(Subcode::WrongFileType),
            Failure::Unknown => CNETP.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
