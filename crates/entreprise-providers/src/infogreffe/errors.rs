//! What can go wrong with Infogreffe, one variant per answer of the contract (§5) and
//! of the upstream reference (§3.5). Infogreffe reports its errors inside an HTTP 200,
//! as a text `NNN -MESSAGE-` in place of the extract.

use passerelle_core::{ApiError, ProviderInfo, Subcode};
use serde_json::json;

pub const INFOGREFFE: ProviderInfo = ProviderInfo {
    name: "Infogreffe",
    prefix: "02",
};

const NOT_FOUND: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.";

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Codes `006`, `008`, `065`, `081` (no such dossier, struck off long ago…):
    /// `02003`, 404, Infogreffe's own code and message in `meta.provider_error`.
    NotFound { code: String, message: String },
    /// A valid extract without any dirigeant nor natural person, on the mandataires
    /// route: `02003`, 404.
    NoMandataire,
    /// Code `003`: `02501`, 502, retry in 10 s.
    Identification,
    /// Code `014`, usually a SIREN outside the registry: `02502`, 502.
    OrderGeneration,
    /// Code `999`: `02001`, 502.
    Unavailable,
    /// Any other code, no code, a SOAP fault, a body that is no XML, a malformed
    /// value: `02999`, 502.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound { code, message } => not_found()
                .with_meta("provider_error", json!({"code": code, "message": message})),
            Failure::NoMandataire => not_found(),
            Failure::Identification => INFOGREFFE
                .error(Subcode::Unknown)
                .with_code("02501")
                .with_title("Erreur temporaire du fournisseur de données")
                .with_detail("Erreur temporaire d'identification auprès d'Infogreffe, merci de réessayer votre appel.")
                .with_meta("retry_in", 10),
            Failure::OrderGeneration => INFOGREFFE
                .error(Subcode::Unknown)
                .with_code("02502")
                .with_title("Erreur de génération de commande")
                .with_detail("Infogreffe n'a pas pu générer la commande de l'extrait : l'entité n'est probablement pas inscrite au registre du commerce et des sociétés."),
            Failure::Unavailable => INFOGREFFE.error(Subcode::Unavailable),
            Failure::Unknown => INFOGREFFE.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

fn not_found() -> ApiError {
    INFOGREFFE
        .error(Subcode::NotFound)
        .with_title("Entité non trouvée")
        .with_detail(NOT_FOUND)
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
