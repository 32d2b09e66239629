//! What can go wrong with INSEE, one variant per answer of the contract (§5, §11), so
//! that each route's rule (451 here, 502 there) is decided on a value, not on a code.

use passerelle_core::{ApiError, ErrorKind, ProviderInfo, Subcode};

pub const INSEE: ProviderInfo = ProviderInfo {
    name: "INSEE",
    prefix: "01",
};

/// Which identifier the caller gave: the details name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Siren,
    Siret,
}

impl Subject {
    fn word(self) -> &'static str {
        match self {
            Subject::Siren => "siren",
            Subject::Siret => "siret",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Upstream 404, or a non-diffusible unit on a "diffusibles" route: `01003`, 404.
    NotFound(Subject),
    /// Upstream 403 on a direct `siren/` or `siret/` call: `01005`, 451.
    Protected(Subject),
    /// The siège search found several établissements: `01501`, 502.
    SeveralSieges,
    /// The token was refused again after a refresh: `01011`, 502, retry in 10 s.
    TokenRefused,
    /// Upstream 500, or a redirect where none is expected: `01000`, 502.
    Internal,
    /// Anything the gateway cannot read (403 on the search routes, 429, bad JSON): `01999`.
    Unknown,
    /// Errors of the shared transport (timeouts, refused connections, 502/503/504).
    Transport(Box<ApiError>),
}

impl Failure {
    pub fn into_error(self) -> ApiError {
        match self {
            Failure::NotFound(subject) => INSEE
                .error(Subcode::NotFound)
                .with_title("Entité non trouvée")
                .with_detail(format!(
                    "Le {} indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel",
                    subject.word()
                )),
            Failure::Protected(subject) => {
                let mut error = INSEE
                    .error(Subcode::Unknown)
                    .with_code("01005")
                    .with_title("Indisponible pour des raisons légales")
                    .with_detail(format!(
                        "Le {} demandé est une entité pour laquelle aucun organisme ne peut avoir accès.",
                        subject.word()
                    ));
                error.kind = ErrorKind::UnavailableForLegalReasons;
                error
            }
            Failure::SeveralSieges => INSEE
                .error(Subcode::Unknown)
                .with_code("01501")
                .with_title("Mauvaise réponse du fournisseur de données")
                .with_detail("L'INSEE a répondu avec une réponse comportant plusieurs établissements"),
            Failure::TokenRefused => INSEE
                .error(Subcode::Unknown)
                .with_code("01011")
                .with_title("Erreur temporaire du fournisseur de données")
                .with_detail("Erreur d'authentification temporaire auprès de l'INSEE, merci de réessayer votre appel")
                .with_meta("retry_in", 10),
            Failure::Internal => INSEE.error(Subcode::Internal),
            Failure::Unknown => INSEE.error(Subcode::Unknown),
            Failure::Transport(error) => *error,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Transport(Box::new(error))
    }
}
