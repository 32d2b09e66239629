//! What can go wrong with DGFIP's Adélie, one variant per answer of the contract (§5,
//! and the upstream reference's §4), plus the two internal values the gateway checks
//! before calling: the caller's uid (`00308`) and the request id (`00401`).

use passerelle_core::{ApiError, Code, ErrorKind, ProviderInfo, Subcode};

pub const DGFIP: ProviderInfo = ProviderInfo {
    name: "DGFIP - Adélie",
    prefix: "03",
};

/// DGFIP receives the caller's token uid as `userId`: it must be a UUID.
pub const USER_ID_INVALID: Code = Code {
    code: "00308",
    kind: ErrorKind::WrongParameter,
    title: "Entité non traitable",
    detail: "Le user_id n'est pas correctement formaté",
    source: None,
};

/// DGFIP receives the request id as `X-Request-ID`: it must be a UUID. The same number
/// as the gateway's 400 "malformed request", but a 422 here.
pub const REQUEST_ID_INVALID: Code = Code {
    code: "00401",
    kind: ErrorKind::WrongParameter,
    title: "Entité non traitable",
    detail: "Le request_id n'est pas correctement formaté",
    source: None,
};

/// Which operation failed: the not-found details differ between the attestation and
/// the others, as the real service words them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    Attestation,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Upstream 404 (or 204, empty list, no declarations, no 2059-F/G, a refusal
    /// PDF): `03003`, 404.
    NotFound,
    /// Upstream 500 with a JSON `erreur.code`: `03011`, 502.
    Temporary,
    /// Adélie's HTML error page: `03000`, 502.
    Internal,
    /// Anything else the gateway cannot read: `03999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504).
    Transport(Box<ApiError>),
}

const ATTESTATION_NOT_FOUND: &str =
    "L'identifiant indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel.";
const OTHER_NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

impl Failure {
    pub fn into_error(self, wording: Wording) -> ApiError {
        match self {
            Failure::NotFound => DGFIP
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(match wording {
                    Wording::Attestation => ATTESTATION_NOT_FOUND,
                    Wording::Other => OTHER_NOT_FOUND,
                }),
            Failure::Temporary => DGFIP
                .error(Subcode::Unknown)
                .with_code("03011")
                .with_title("Erreur temporaire du fournisseur de données")
                .with_detail("Merci de réessayer dans quelques instants"),
            Failure::Internal => DGFIP.error(Subcode::Internal),
            Failure::Unknown => DGFIP.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
