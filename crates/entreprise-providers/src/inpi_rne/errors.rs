//! What can go wrong with INPI's RNE API (§6 of the upstream reference).

use passerelle_core::{codes, ApiError, ErrorKind, ProviderInfo, Subcode};

pub const INPI_RNE: ProviderInfo = ProviderInfo {
    name: "INPI - RNE",
    prefix: "34",
};

/// The official cases' details: the company routes' is the generic one, the actes
/// route's adds where to look.
const NOT_FOUND: &str =
    "L'identifiant indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel.";
const NO_ATTACHMENTS: &str = "L'identifiant indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel. Veuillez vérifier que l'identifiant correspond au périmètre couvert par l'API.";
const ACCOUNTS_REFUSED: &str =
    "Les comptes de la passerelle auprès de l'INPI sont refusés ; le service reprendra après leur renouvellement.";
const BAD_DOCUMENT_ID: &str =
    "L'identifiant du document INPI n'est pas correctement formaté (24 caractères hexadécimaux).";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// A 404 on the company, or no beneficial owner to show: `34003`, 404.
    NotFound,
    /// A 404 or an empty object on the attachments: `34003`, 404.
    NoAttachments,
    /// The company's JSON is there but cannot be read (a 200 that is not JSON, or a
    /// structure the mapping cannot follow): `34001`, 502. The text is for the logs and
    /// names fields, never values.
    Unreadable(String),
    /// INPI's Cloudflare refused a download (403): `34001`, 502.
    Forbidden,
    /// 429: `34008`, 502.
    RateLimited,
    /// A 500 on the attachments: `34000`, 502.
    Internal,
    /// Both accounts refused at login: `34020`, 503.
    AccountsRefused,
    /// A downloaded document that is not a PDF: `34055`, 502.
    NotPdf,
    /// A document id that is not 24 lowercase hexadecimal characters: `00501`, 422.
    BadDocumentId,
    /// A download target the gateway's own checks refuse: a SIREN failing the check
    /// (`00301`, 422), a kind of document we never write (`00500`, 500).
    BadTarget(Box<ApiError>),
    /// Any other status or an answer not understood: `34999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504,
    /// redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => not_found(NOT_FOUND),
            Failure::NoAttachments => not_found(NO_ATTACHMENTS),
            Failure::Unreadable(why) => {
                tracing::warn!(provider = INPI_RNE.name, why, "INPI answer not readable");
                INPI_RNE.error(Subcode::Unavailable)
            }
            Failure::Forbidden => {
                tracing::warn!(
                    provider = INPI_RNE.name,
                    "INPI download refused by its Cloudflare (403)"
                );
                INPI_RNE.error(Subcode::Unavailable)
            }
            Failure::RateLimited => INPI_RNE.error(Subcode::TooManyRequests),
            Failure::Internal => INPI_RNE.error(Subcode::Internal),
            Failure::AccountsRefused => INPI_RNE.error(Subcode::Maintenance).with_detail(ACCOUNTS_REFUSED),
            Failure::NotPdf => INPI_RNE.error(Subcode::WrongFileType),
            Failure::BadDocumentId => bad_document_id(),
            Failure::BadTarget(error) | Failure::Transport(error) => *error,
            Failure::Unknown => INPI_RNE.error(Subcode::Unknown),
        }
    }
}

fn not_found(detail: &str) -> ApiError {
    INPI_RNE
        .error(Subcode::NotFound)
        .with_title("Entité non trouvée")
        .with_detail(detail)
}

/// The real gateway reuses the network error's number for this check, with a 422.
fn bad_document_id() -> ApiError {
    let mut error = ApiError::gateway(codes::NETWORK_ERROR)
        .with_title("Entité non traitable")
        .with_detail(BAD_DOCUMENT_ID)
        .with_parameter("document_id");
    error.kind = ErrorKind::WrongParameter;
    error
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
