//! What can go wrong with the association API, per the contract (§5) and the upstream
//! reference (§9.5). One upstream, two names: the v3 RNA routes answer as `MI` (21),
//! the v4 routes as `DJEPVA` (29), with the same sub-codes.

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const MI: ProviderInfo = ProviderInfo {
    name: "MI",
    prefix: "21",
};

pub const DJEPVA: ProviderInfo = ProviderInfo {
    name: "DJEPVA",
    prefix: "29",
};

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The not-found marker, a record that is not a valid association, or (documents)
    /// no RNA document: `XX003`, 404.
    NotFound,
    /// A body that holds no element at all: `XX011`, 502.
    Temporary,
    /// The documents route got no `<asso>` record: `21001`, 502.
    NoRecord,
    /// XML the parser rejects, a value that does not read, a status other than 200:
    /// `XX999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504).
    Transport(Box<ApiError>),
}

/// The detail each name gives its not-found (the v4 one names both identifiers).
const MI_NOT_FOUND: &str =
    "L'identifiant indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel.";
const DJEPVA_NOT_FOUND: &str = "Le siren ou l'identifiant RNA indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel.";

impl Failure {
    pub fn into_error(self, info: ProviderInfo) -> ApiError {
        match self {
            Failure::NotFound => info
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(if info == DJEPVA { DJEPVA_NOT_FOUND } else { MI_NOT_FOUND }),
            Failure::Temporary => info
                .error(Subcode::Unknown)
                .with_code(format!("{}011", info.prefix))
                .with_title("Erreur temporaire du fournisseur de données")
                .with_detail("Merci de réessayer dans quelques instants"),
            Failure::NoRecord => info.error(Subcode::Unavailable),
            Failure::Unknown => info.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
