//! What can go wrong with URSSAF's attestation service, one variant per answer of the
//! contract (§5, §10) and the upstream reference (§5.4, §25.3).

use passerelle_core::{ApiError, ProviderInfo, Subcode};
use serde_json::Value;

pub const ACOSS: ProviderInfo = ProviderInfo {
    name: "ACOSS",
    prefix: "04",
};

/// URSSAF's manual review takes days: callers are told to come back in two.
const MANUAL_REVIEW_RETRY_SECS: u64 = 172_800;

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// An empty body, the server's HTML error page, or a `FUNC510`–`FUNC516`: `04000`.
    Internal(&'static str),
    /// `FUNC501` or `FUNC517`: `04003`, 404.
    NotFound(Value),
    /// `FUNC429`: `04008`.
    RateLimited(Value),
    /// `FUNC503`: `04501`, retry in two days.
    ManualReview(Value),
    /// `FUNC504`: `04502`.
    SoftwareProcessing(Value),
    /// `FUNC502` on v3: `04503` (v4 answers 200 instead).
    Refused(Value),
    /// The body is not strict base64 (v3 finds it when decoding the document): `04051`.
    Base64,
    /// The decoded bytes are not a PDF: `04055`.
    NotPdf,
    /// Any other answer (an unknown code, JSON that is not the error array, v4's
    /// undecodable body): `04999`, with the upstream's error array when there is one.
    Unknown(Option<Value>),
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504).
    Transport(Box<ApiError>),
}

pub const EMPTY_BODY: &str = "La réponse du fournisseur de données est vide.";
pub const SERVER_ERROR_PAGE: &str = "Le fournisseur de données a répondu par sa page d'erreur serveur.";
pub const TECHNICAL_CODE: &str = "Le fournisseur de données signale une erreur technique.";

const NOT_FOUND: &str =
    "Le siret ou siren indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel";
const MANUAL_REVIEW_TITLE: &str = "Analyse manuelle de la situation du compte en cours";
const MANUAL_REVIEW: &str = "Une analyse humaine par un agent des URSSAF est requise. Le temps de traitement est très variable selon de la complexité de situation, la demande de pièces justificatives complémentaires ou la charge de travail des agents.";
const SOFTWARE_TITLE: &str = "Demande de traitement logiciel en cours";
const SOFTWARE: &str = "Une erreur informatique a eu lieu, une demande de traitement par le logiciel est en cours.";
const REFUSED_TITLE: &str = "La situation du compte ne permet pas de délivrer l'attestation demandée";
const REFUSED: &str = "Il n'est pas possible de renvoyer l'attestation. Cela peut être dû au fait qu'un des établissements d'une entreprise n'a pas retourné les informations.";
const BASE64_TITLE: &str = "Fichier renvoyé par le fournisseur de données non valide";
const BASE64: &str = "Erreur lors du décodage : la chaîne de caractères en base64 est invalide";

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::Internal(detail) => ACOSS.error(Subcode::Internal).with_detail(detail),
            Failure::NotFound(errors) => ACOSS
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(NOT_FOUND)
                .with_meta("provider_errors", errors),
            Failure::RateLimited(errors) => ACOSS
                .error(Subcode::TooManyRequests)
                .with_meta("provider_errors", errors),
            Failure::ManualReview(errors) => specific("04501", MANUAL_REVIEW_TITLE, MANUAL_REVIEW)
                .with_meta("retry_in", MANUAL_REVIEW_RETRY_SECS)
                .with_meta("provider_errors", errors),
            Failure::SoftwareProcessing(errors) => {
                specific("04502", SOFTWARE_TITLE, SOFTWARE).with_meta("provider_errors", errors)
            }
            Failure::Refused(errors) => specific("04503", REFUSED_TITLE, REFUSED).with_meta("provider_errors", errors),
            Failure::Base64 => specific("04051", BASE64_TITLE, BASE64),
            Failure::NotPdf => ACOSS.error(Subcode::WrongFileType),
            Failure::Unknown(Some(errors)) => ACOSS.error(Subcode::Unknown).with_meta("provider_errors", errors),
            Failure::Unknown(None) => ACOSS.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

/// A code of URSSAF's own (502, a provider error).
fn specific(code: &str, title: &str, detail: &str) -> ApiError {
    ACOSS
        .error(Subcode::Unknown)
        .with_code(code)
        .with_title(title)
        .with_detail(detail)
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
