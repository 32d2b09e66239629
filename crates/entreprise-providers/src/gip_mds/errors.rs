//! What can go wrong with the GIP-MDS effectifs service, one variant per answer of the
//! contract (§5) and of the upstream reference (§8, §25.6).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const GIP_MDS: ProviderInfo = ProviderInfo {
    name: "GIP-MDS",
    prefix: "31",
};

const NOT_FOUND: &str =
    "L'identifiant indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Upstream 204 or 404, or every headcount `NC`: `31003`, 404.
    NotFound,
    /// Upstream 401 or 403: `31502`, 502, retry in 10 s.
    Authentication,
    /// Upstream 429: `31503`, 502, retry when the upstream's `nextAccessTime` comes.
    Quota { retry_in: i64 },
    /// A JSON `{"code": "KO_TECHNIQUE"}`: `31501`, 502.
    Technical,
    /// Upstream 500: `31000`, 502.
    Internal,
    /// Anything the gateway cannot read (no JSON, a regime missing, an unknown source or
    /// nature, a malformed member): `31999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => GIP_MDS
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::Authentication => GIP_MDS
                .error(Subcode::Unknown)
                .with_code("31502")
                .with_title("Erreur temporaire d'authentification au GIP-MDS")
                .with_detail("Le GIP-MDS a refusé momentanément l'authentification de la passerelle ; réessayez dans quelques secondes.")
                .with_meta("retry_in", 10),
            Failure::Quota { retry_in } => GIP_MDS
                .error(Subcode::Unknown)
                .with_code("31503")
                .with_title("Erreur de quota du GIP-MDS")
                .with_detail("Le GIP-MDS signale que la passerelle a dépassé son quota d'appels ; réessayez plus tard.")
                .with_meta("retry_in", retry_in),
            Failure::Technical => GIP_MDS
                .error(Subcode::Unknown)
                .with_code("31501")
                .with_title("Erreur interne du GIP-MDS")
                .with_detail("Le GIP-MDS rencontre une erreur interne et ne peut momentanément pas répondre."),
            Failure::Internal => GIP_MDS.error(Subcode::Internal),
            Failure::Unknown => GIP_MDS.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
