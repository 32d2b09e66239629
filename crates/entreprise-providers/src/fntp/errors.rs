//! What can go wrong with FNTP (§16 of the upstream reference).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const FNTP: ProviderInfo = ProviderInfo {
    name: "FNTP",
    prefix: "12",
};

const NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 404 (an empty text body): `12003`, 404.
    NotFound,
    /// HTTP 500: `12000`, 502.
    Internal,
    /// A 200 whose bytes are not a PDF: `12055`, 502.
    NotPdf,
    /// Any other status: `12999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => FNTP
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Internal => FNTP.error(Subcode::Internal),
            Failure::NotPdf => FNTP.error(Subcode::WrongFileType),
            Failure::Unknown => FNTP.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
