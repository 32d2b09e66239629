//! What can go wrong with the CIBTP's attestation service, one variant per answer of
//! the contract (§5) and of the upstream reference (§18).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const CIBTP: ProviderInfo = ProviderInfo {
    name: "CIBTP",
    prefix: "38",
};

const NOT_FOUND: &str = "L'identifiant indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel. Veuillez vérifier que l'identifiant correspond au périmètre couvert par l'API.";
const UNPAID_TITLE: &str = "Attestation non disponible";
const UNPAID: &str =
    "L'attestation ne peut être délivrée car l'entreprise n'est pas en règle de ses cotisations CIBTP.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 404 (the company is not connected to the API): `38003`, 404.
    NotFound,
    /// HTTP 422 (contributions not paid): `38422`, 404.
    Unpaid,
    /// HTTP 500 or 409 (no attestation possible, e.g. a change of fund): `38000`, 502.
    Internal,
    /// A 200 whose body is not a whole PDF: `38055`, 502.
    NotPdf,
    /// Any other status, a token answer without a token, a token refused twice: `38999`.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => CIBTP
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Unpaid => CIBTP
                .error(Subcode::NotFound)
                .with_code("38422")
                .with_title(UNPAID_TITLE)
                .with_detail(UNPAID),
            Failure::Internal => CIBTP.error(Subcode::Internal),
            Failure::NotPdf => CIBTP.error(Subcode::WrongFileType),
            Failure::Unknown => CIBTP.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
