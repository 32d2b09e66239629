//! What can go wrong with Qualifelec (§15 of the upstream reference).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const QUALIFELEC: ProviderInfo = ProviderInfo {
    name: "Qualifelec",
    prefix: "32",
};

const NO_CERTIFICATE: &str = "Le SIRET existe chez Qualifelec mais ne possède pas de certificats Qualifelec.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 404 (`Siret inconnu`): `32003`, 404, the generic detail.
    NotFound,
    /// A 200 with an empty list: `32003`, 404, saying the SIRET has no certificate.
    NoCertificate,
    /// A failed login, any other status, a body that is not the expected list:
    /// `32999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => QUALIFELEC.error(Subcode::NotFound).with_title("Entité non trouvée"),
            Failure::NoCertificate => QUALIFELEC
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NO_CERTIFICATE),
            Failure::Unknown => QUALIFELEC.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
