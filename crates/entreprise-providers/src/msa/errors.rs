//! What can go wrong with MSA, one variant per answer of the contract (§5) and of the
//! upstream reference (§11).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const MSA: ProviderInfo = ProviderInfo {
    name: "MSA",
    prefix: "10",
};

const NOT_FOUND: &str = "Le siret indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// A 200 with the letter `S`: the SIRET is unknown to MSA: `10003`, 404.
    NotFound,
    /// HTTP 500, or MSA's proxy relaying its own 502/504 in an `Erreur` body: `10000`, 502.
    Internal,
    /// Any other status, another letter, a body that is not the expected JSON: `10999`.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => MSA
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Internal => MSA.error(Subcode::Internal),
            Failure::Unknown => MSA.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
