//! What can go wrong with the Banque de France's bilans service, one variant per answer
//! of the contract (§5) and of the upstream reference (§7, §25.5). Failures of the
//! DGFIP dictionary step keep their own DGFIP codes.

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const BANQUE_DE_FRANCE: ProviderInfo = ProviderInfo {
    name: "Banque de France",
    prefix: "17",
};

const NOT_FOUND_TITLE: &str = "Entité non trouvée";
const NOT_FOUND: &str =
    "Le siren indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// `code-retour` 204 ("Pas de donnees") or 400, without bilans: `17003`, 404.
    NotFound,
    /// HTTP 408 or 500, or `code-retour` 500 without bilans: `17000`, 502.
    Internal,
    /// Any other status, a body that is not the expected JSON, a figure that is not a
    /// number: `17999`, 502.
    Unknown,
    /// The year's DGFIP dictionary could not be had: DGFIP's own error (`03xxx`).
    Dictionary(Box<ApiError>),
    /// Errors of the shared transport (timeouts, refused connections and handshakes,
    /// 502/503/504, redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => BANQUE_DE_FRANCE
                .error(Subcode::NotFound)
                .with_title(NOT_FOUND_TITLE)
                .with_detail(NOT_FOUND),
            Failure::Internal => BANQUE_DE_FRANCE.error(Subcode::Internal),
            Failure::Unknown => BANQUE_DE_FRANCE.error(Subcode::Unknown),
            Failure::Dictionary(error) | Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
