//! What can go wrong with OPQIBI (§14 of the upstream reference): a 404 is "not found",
//! every other answer but a readable 200 is unknown.

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const OPQIBI: ProviderInfo = ProviderInfo {
    name: "OPQIBI",
    prefix: "11",
};

const NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 404 (a French text page): `11003`, 404.
    NotFound,
    /// Any other status, or a 200 body that is not the expected certificate: `11999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => OPQIBI
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Unknown => OPQIBI.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
