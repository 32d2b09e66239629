//! What can go wrong with VIES, one variant per answer of the contract (§5) and of the
//! upstream reference (§22). VIES reports its verdict in the body (`isValid`,
//! `userError`); the HTTP status says nothing the gateway uses.

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const COMMISSION: ProviderInfo = ProviderInfo {
    name: "Commission Européenne",
    prefix: "28",
};

const NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// `isValid` false: the computed number is not a valid VAT number. `28003`, 404.
    NotValid,
    /// `userError` `IP_BLOCKED` or `MS_MAX_CONCURRENT_REQ`: `28008`, 502.
    RateLimited,
    /// `userError` `MS_UNAVAILABLE`, or a proxy's block page: `28001`, 502.
    Unavailable,
    /// A body that is not JSON, another `userError`, no `isValid`: `28999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotValid => COMMISSION
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND),
            Failure::RateLimited => COMMISSION.error(Subcode::TooManyRequests),
            Failure::Unavailable => COMMISSION.error(Subcode::Unavailable),
            Failure::Unknown => COMMISSION.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
