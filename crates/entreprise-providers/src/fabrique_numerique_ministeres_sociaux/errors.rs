//! What can go wrong with the Fabrique numérique's conventions collectives service, one
//! variant per answer of the contract (§5) and of the upstream reference (§24).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const FABRIQUE: ProviderInfo = ProviderInfo {
    name: "Fabrique numérique des Ministères Sociaux",
    prefix: "14",
};

const NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 404, or a 200 whose establishment has no convention (how the service
    /// answers an unknown SIRET): `14003`, 404.
    NotFound,
    /// Any other status, a body that is not the expected JSON: `14999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => FABRIQUE
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Unknown => FABRIQUE.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
