//! What can go wrong with DataSubvention, one variant per answer of the contract (§5)
//! and of the upstream reference (§10).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const DATA_SUBVENTION: ProviderInfo = ProviderInfo {
    name: "DataSubvention",
    prefix: "52",
};

const NOT_FOUND: &str =
    "L'identifiant indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 400 or 404, or a 200 without any grant: `52003`, 404.
    NotFound,
    /// Any other status, a login without a token, a token refused twice, a body that is
    /// not the expected JSON: `52999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => DATA_SUBVENTION
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Unknown => DATA_SUBVENTION.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
