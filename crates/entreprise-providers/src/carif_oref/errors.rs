//! What can go wrong with CARIF-OREF's Quiforme service, one variant per answer of the
//! contract (§5) and of the upstream reference (§20).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const CARIF_OREF: ProviderInfo = ProviderInfo {
    name: "CARIF-OREF",
    prefix: "33",
};

const NOT_FOUND: &str =
    "Le siret indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 404, or a 200 whose `siret_actif` is null (Quiforme's "no data"): `33003`, 404.
    NotFound,
    /// Any other status, a body that is not the expected JSON: `33999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => CARIF_OREF
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Unknown => CARIF_OREF.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
