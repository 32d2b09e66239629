//! What can go wrong with PRO BTP, one variant per answer of the contract (§5) and of
//! the upstream reference (§12).

use passerelle_core::{ApiError, ProviderInfo, Subcode};

pub const PROBTP: ProviderInfo = ProviderInfo {
    name: "ProBTP",
    prefix: "09",
};

const NOT_FOUND_TITLE: &str = "Entité non trouvée";
const NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";
const BASE64_TITLE: &str = "Fichier renvoyé par le fournisseur de données non valide";
const BASE64: &str = "Erreur lors du décodage : la chaîne de caractères en base64 est invalide";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// `entete.code` 8: unknown SIRET, or not eligible to the attestation: `09003`, 404.
    NotFound,
    /// HTTP 500: `09000`.
    Internal,
    /// `entete.code` 4, PRO BTP's own failure, with its message: `09000`.
    Provider(String),
    /// Any other status, a body that is not the expected JSON: `09999`.
    Unknown,
    /// The attestation is not strict base64: `09051`.
    Base64,
    /// The decoded attestation is not a PDF: `09055`.
    NotPdf,
    /// Errors of the shared transport (timeouts, refused connections and handshakes,
    /// 502/503/504, redirects, body cap).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound => PROBTP
                .error(Subcode::NotFound)
                .with_title(NOT_FOUND_TITLE)
                .with_detail(NOT_FOUND),
            Failure::Internal => PROBTP.error(Subcode::Internal),
            Failure::Provider(message) => PROBTP
                .error(Subcode::Internal)
                .with_detail(format!("Erreur fournisseur: {message}")),
            Failure::Unknown => PROBTP.error(Subcode::Unknown),
            Failure::Base64 => PROBTP
                .error(Subcode::Unknown)
                .with_code("09051")
                .with_title(BASE64_TITLE)
                .with_detail(BASE64),
            Failure::NotPdf => PROBTP.error(Subcode::WrongFileType),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
