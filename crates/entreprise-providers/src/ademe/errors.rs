//! What can go wrong with ADEME's RGE dataset, one variant per answer of the contract
//! (§5) and of the upstream reference (§19).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const ADEME: ProviderInfo = ProviderInfo {
    name: "ADEME",
    prefix: "19",
};

const NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// A 200 with no line for the SIRET: `19003`, 404.
    NotFound,
    /// Any other status (the dataset has no 404 of its own), a body that is not the
    /// expected JSON: `19999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => ADEME
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Unknown => ADEME.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
