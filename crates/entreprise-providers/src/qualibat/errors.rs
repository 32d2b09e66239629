//! What can go wrong with Qualibat's certificate service, one variant per answer of
//! the contract (§5) and the upstream reference (§13, §25.6).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const QUALIBAT: ProviderInfo = ProviderInfo {
    name: "Qualibat",
    prefix: "06",
};

const NOT_FOUND_TITLE: &str = "Entité non trouvée";
const NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 500: `06000`.
    Internal,
    /// HTTP 404, or a 200 whose JSON says `status_code` 404: `06003`.
    NotFound,
    /// A 200 with an empty body: `06056`.
    EmptyFile,
    /// A 200 body that is neither the PDF nor the "not certified" JSON: `06055`.
    NotPdf,
    /// Any other status, or a token answer we cannot use: `06999`.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::Internal => QUALIBAT.error(Subcode::Internal),
            Failure::NotFound => QUALIBAT
                .error(Subcode::NotFound)
                .with_title(NOT_FOUND_TITLE)
                .with_detail(NOT_FOUND),
            Failure::EmptyFile => QUALIBAT.error(Subcode::EmptyFile),
            Failure::NotPdf => QUALIBAT.error(Subcode::WrongFileType),
            Failure::Unknown => QUALIBAT.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
