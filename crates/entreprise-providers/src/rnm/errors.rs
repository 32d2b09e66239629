//! What can go wrong with the CMA France register (RNM), one variant per answer of the
//! contract (§5) and of the upstream reference (§23).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const CMA_FRANCE: ProviderInfo = ProviderInfo {
    name: "CMA France",
    prefix: "15",
};

const NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 404 (the register's IIS error page): `15003`, 404.
    NotFound,
    /// Any other status, a body that is not the expected JSON, a record without its
    /// `id` or the two members the contract gives: `15999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => CMA_FRANCE
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Unknown => CMA_FRANCE.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
