//! The error catalogue of the public contract: codes, titles, details and statuses.
//!
//! Gateway errors are `00xxx`; provider errors are the provider's two-digit prefix
//! followed by a generic sub-code (`37002`: CNAV timeout).

use serde::Serialize;
use serde_json::{Map, Value};

/// What went wrong, which decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    WrongParameter,
    Unauthorized,
    Forbidden,
    NotFound,
    /// A link that worked once and has expired (API Entreprise's INPI downloads).
    Gone,
    Conflict,
    TooManyRequests,
    ProviderError,
    Timeout,
    UnavailableForLegalReasons,
    Maintenance,
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::WrongParameter => 422,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Gone => 410,
            ErrorKind::Conflict => 409,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::ProviderError => 502,
            ErrorKind::Timeout => 504,
            ErrorKind::UnavailableForLegalReasons => 451,
            ErrorKind::Maintenance => 503,
            ErrorKind::Internal => 500,
        }
    }
}

/// One entry of the `errors` array of the contract's error body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub kind: ErrorKind,
    pub code: String,
    pub title: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
    pub meta: Map<String, Value>,
}

/// One entry of an error catalogue. Bouquets may declare their own besides `codes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub kind: ErrorKind,
    pub title: &'static str,
    pub detail: &'static str,
    /// `(key, value)` of the error's `source` object (`("parameter", "recipient")`).
    pub source: Option<(&'static str, &'static str)>,
}

const UNPROCESSABLE: &str = "Entité non traitable";

macro_rules! param {
    ($code:literal, $detail:literal, $param:literal) => {
        $crate::error::Code {
            code: $code,
            kind: ErrorKind::WrongParameter,
            title: UNPROCESSABLE,
            detail: $detail,
            source: Some(("parameter", $param)),
        }
    };
    // Some catalogue entries name no parameter (`00307`, `00390`).
    ($code:literal, $detail:literal) => {
        $crate::error::Code {
            code: $code,
            kind: ErrorKind::WrongParameter,
            title: UNPROCESSABLE,
            detail: $detail,
            source: None,
        }
    };
}

macro_rules! failure {
    ($code:literal, $kind:ident, $title:literal, $detail:literal) => {
        $crate::error::Code {
            code: $code,
            kind: ErrorKind::$kind,
            title: $title,
            detail: $detail,
            source: None,
        }
    };
}

/// The gateway's own codes (`00xxx`, FranceConnect's `5000x`), one constant each, so
/// that a mistyped code does not compile.
pub mod codes {
    use super::{Code, ErrorKind, UNPROCESSABLE};

    pub const DUPLICATE_IN_FLIGHT: Code = Code {
        code: "00015",
        kind: ErrorKind::Conflict,
        title: "Conflit",
        detail:
            "Une requête identique (même jeton, même point d'accès, mêmes paramètres) est déjà en cours de traitement.",
        source: None,
    };
    pub const SCOPE_MISSING: Code = Code {
        code: "00100",
        kind: ErrorKind::Forbidden,
        title: "Privilèges insuffisants",
        detail:
            "Votre token est valide mais vos privilèges sont insuffisants. Listez vos privilèges sur /api/introspect",
        source: Some(("parameter", "token")),
    };
    pub const TOKEN_INVALID: Code = Code {
        code: "00101",
        kind: ErrorKind::Unauthorized,
        title: "Interdit",
        detail: "Votre token n'est pas valide ou n'est pas renseigné",
        source: Some(("parameter", "token")),
    };
    pub const TOKEN_EXPIRED: Code = Code {
        code: "00103",
        kind: ErrorKind::Unauthorized,
        title: "Jeton expiré",
        detail: "Votre token est expiré. Vous devez refaire une demande",
        source: Some(("parameter", "token")),
    };
    pub const TOKEN_REVOKED: Code = Code { code: "00105", kind: ErrorKind::Unauthorized, title: "Jeton sur liste noire", detail: "Votre jeton est sur liste noire, celui-ci a certainement été divulgué sur un canal non-sécurisé. Demandez un nouveau jeton à l'opérateur de la passerelle.", source: Some(("parameter", "token")) };
    pub const IP_REFUSED: Code = Code {
        code: "00107",
        kind: ErrorKind::Forbidden,
        title: "Adresse IP non autorisée",
        detail: "Votre adresse IP n'est pas autorisée à utiliser ce jeton.",
        source: Some(("header", "X-Forwarded-For")),
    };
    pub const RECIPIENT_INVALID: Code =
        param!("00210", "Le paramètre recipient n'est pas un siret valide", "recipient");
    pub const BAD_REQUEST: Code = Code {
        code: "00401",
        kind: ErrorKind::BadRequest,
        title: "Mauvaise requête",
        detail: "La requête est mal formée.",
        source: None,
    };
    pub const VERSION_UNSUPPORTED: Code = Code {
        code: "00402",
        kind: ErrorKind::NotFound,
        title: "Version d'API non prise en charge",
        detail: "Cette version n'est pas supportée pour ce point d'accès",
        source: None,
    };
    pub const ROUTE_UNKNOWN: Code = Code { code: "00404", kind: ErrorKind::NotFound, title: "Point d'accès inconnu", detail: "Aucun point d'accès ne correspond à ce chemin. La liste des points d'accès est publiée sur /api/open-api.yml", source: None };
    pub const TOO_MANY_REQUESTS: Code = Code {
        code: "00429",
        kind: ErrorKind::TooManyRequests,
        title: "Trop de requêtes",
        detail: "Vous avez effectué trop de requêtes",
        source: None,
    };
    pub const INTERNAL: Code = Code {
        code: "00500",
        kind: ErrorKind::Internal,
        title: "Erreur interne",
        detail: "Une erreur interne a été détectée, l'équipe technique a été notifiée.",
        source: None,
    };
    pub const JOURNAL_UNAVAILABLE: Code = Code { code: "00503", kind: ErrorKind::Maintenance, title: "Service indisponible", detail: "La passerelle ne peut pas tracer cet appel pour le moment ; aucune donnée n'est transmise sans trace. Réessayez dans quelques instants.", source: None };
    pub const FC_TOKEN_MALFORMED: Code = Code {
        code: "50001",
        kind: ErrorKind::Unauthorized,
        title: "Accès non autorisé",
        detail: "Le jeton d'accès FranceConnect est mal formé.",
        source: Some(("header", "Authorization")),
    };
    pub const FC_TOKEN_UNKNOWN: Code = Code {
        code: "50002",
        kind: ErrorKind::Unauthorized,
        title: "Accès non autorisé",
        detail: "Le jeton d'accès FranceConnect est inconnu, inactif ou expiré.",
        source: Some(("header", "Authorization")),
    };
    pub const FC_NO_PIVOT: Code = Code { code: "50003", kind: ErrorKind::Unauthorized, title: "Accès non autorisé", detail: "Le jeton d'accès FranceConnect ne donne pas accès à l'identité pivot (scopes profile et birth, ou identite_pivot).", source: Some(("header", "Authorization")) };
    pub const ANNEE_INVALID: Code = param!(
        "00353",
        "L'année demandée n'est pas correctement formatée ou est dans le futur.",
        "annee"
    );
    pub const MOIS_INVALID: Code = param!("00354", "Le mois demandé est incorrect ou est dans le futur.", "mois");
    pub const ALLOCATAIRE_UNIDENTIFIED: Code = Code {
        code: "00355",
        kind: ErrorKind::WrongParameter,
        title: "Impossible d'identifier l'allocataire",
        detail: "Les paramètres fournis ne permettent pas d'identifier un allocataire.",
        source: None,
    };
    pub const ANNEE_OUT_OF_RANGE: Code = param!(
        "00356",
        "L'année demandée doit être l'année en cours (N), N-1 ou N-2.",
        "annee"
    );
    pub const BIRTHPLACE_MALFORMED: Code = param!(
        "00365",
        "Le lieu de naissance n'est pas correctement formaté",
        "codeCogInseeCommuneNaissance"
    );
    pub const CIVILITY_MALFORMED: Code = Code {
        code: "00366",
        kind: ErrorKind::WrongParameter,
        title: UNPROCESSABLE,
        detail: "Un ou plusieurs paramètres de civilité ne sont pas correctement formatés",
        source: None,
    };
    pub const COUNTRY_MALFORMED: Code = param!(
        "00400",
        "Le code pays INSEE n'est pas correctement formaté",
        "codeCogInseePaysNaissance"
    );
    pub const INE_MALFORMED: Code = param!("00360", "Le numéro d'INE n'est pas correctement formaté", "ine");
    pub const CAMPAIGN_YEAR_INVALID: Code = param!(
        "00368",
        "L'année de campagne (campaignYear) doit être comprise entre 2021 et l'année en cours moins un",
        "campaignYear"
    );
    pub const IDENTIFIANT_INVALID: Code = param!("00380", "L'identifiant est manquant ou mal formé", "identifiant");
    pub const SEVERAL_PEOPLE: Code = Code { code: "00391", kind: ErrorKind::WrongParameter,
        title: UNPROCESSABLE,
        detail: "Les paramètres d'identité correspondent à plusieurs personnes : les informations ne peuvent pas être fournies.",
        source: None };
    pub const ETABLISSEMENT_INVALID: Code = param!(
        "00410",
        "Le code établissement doit compter 7 chiffres et 1 lettre",
        "codeEtablissement"
    );
    pub const ANNEE_SCOLAIRE_INVALID: Code = param!(
        "00411",
        "L'année scolaire doit avoir la forme AAAA ou AAAA-AAAA",
        "anneeScolaire"
    );
    pub const DEGRE_INVALID: Code = param!(
        "00412",
        "Le degré d'établissement doit valoir 1D ou 2D",
        "degreEtablissement"
    );
    pub const PERIMETER_INVALID: Code = param!(
        "00413",
        "Le périmètre géographique est invalide : exactement un type de périmètre doit être fourni",
        "codesBcnDepartements[]"
    );
    pub const PERIMETER_EMPTY: Code = param!(
        "00414",
        "Les valeurs du périmètre sont invalides : au moins une valeur est attendue",
        "codesBcnDepartements[]"
    );
    pub const DEPARTEMENT_INVALID: Code = param!(
        "00416",
        "Le code département BCN est invalide",
        "codesBcnDepartements[]"
    );
    pub const REGION_INVALID: Code = param!("00417", "Le code région BCN est invalide", "codesBcnRegions[]");
    pub const PERIMETER_EXCLUSIVE: Code = param!("00419", "Les paramètres codeEtablissement et périmètre (codesBcnRegions, codesBcnDepartements) sont mutuellement exclusifs", "codeEtablissement");
    pub const NOM_MISSING: Code = param!("00420", "Le nom de naissance est manquant", "nomNaissance");
    pub const PRENOMS_MISSING: Code = param!("00421", "Le(s) prenom(s) est manquant", "prenoms[]");
    pub const BIRTH_YEAR_MISSING: Code = param!("00422", "L'annee de naissance est manquante", "anneeDateNaissance");
    pub const BIRTH_MONTH_MISSING: Code = param!("00423", "Le mois de naissance est manquant", "moisDateNaissance");
    pub const BIRTH_DAY_MISSING: Code = param!("00424", "Le jour de naissance est manquant", "jourDateNaissance");
    pub const BIRTH_DATE_INVALID: Code = param!("00425", "La date de naissance n'est pas valide", "anneeDateNaissance");
    pub const BIRTH_COMMUNE_MISSING: Code = param!(
        "00426",
        "Le code cog de la commune de naissance est manquant",
        "codeCogInseeCommuneNaissance"
    );
    pub const SEXE_MISSING: Code = param!("00427", "Le sexe de l'état civil est manquant", "sexeEtatCivil");
    pub const BIRTH_DEPARTEMENT_INVALID: Code = param!(
        "00428",
        "Le code cog du département de naissance est manquant ou invalide",
        "codeCogInseeDepartementNaissance"
    );

    // API Entreprise (its contract's §3 to §5; titles and details from its error
    // catalogue, reworded where that one names API Entreprise or is wrong).
    pub const TOKEN_NOT_FOUND: Code = Code {
        code: "00106",
        kind: ErrorKind::Unauthorized,
        title: "Jeton non trouvé",
        detail: "Votre jeton n'a pas été trouvé. Il s'agit probablement d'un jeton sans habilitation ; demandez un accès à l'opérateur de la passerelle.",
        source: Some(("parameter", "token")),
    };
    pub const CONTEXT_MISSING: Code = param!("00201", "Le paramètre context est obligatoire", "context");
    pub const OBJECT_MISSING: Code = param!("00202", "Le paramètre object est obligatoire", "object");
    pub const RECIPIENT_MISSING: Code = param!("00203", "Le paramètre recipient est obligatoire", "recipient");
    pub const SIREN_INVALID: Code = param!("00301", "Le numéro de siren n'est pas correctement formaté", "siren");
    pub const SIRET_INVALID: Code = param!("00302", "Le numéro de siret n'est pas correctement formaté", "siret");
    pub const SIRET_OR_RNA_INVALID: Code = param!(
        "00303",
        "Le numéro de siret ou le numéro d'association indiqué n'est pas correctement formaté",
        "id"
    );
    pub const SIRET_OR_EORI_INVALID: Code = param!(
        "00304",
        "Le numéro de siret ou le numéro EORI n'est pas correctement formaté",
        "id"
    );
    pub const MONTH_INVALID: Code = param!("00305", "Le format du mois n'est pas valide", "month");
    pub const YEAR_MALFORMED: Code = param!("00307", "L'année n'est pas correctement formatée");
    pub const LIMIT_INVALID: Code = param!("00313", "Le paramètre limit n'est pas correctement formaté", "limit");
    pub const DOWNLOAD_LINK_INVALID: Code = param!("00314", "Le paramètre uuid n'est pas correctement formaté", "uuid");
    pub const YEAR_OUT_OF_RANGE: Code = param!(
        "00315",
        "L'année n'est pas valide : elle doit être comprise entre 2006 et l'année précédente"
    );
    pub const SIREN_OR_SIRET_OR_RNA_INVALID: Code = param!(
        "00330",
        "Le numéro de siren ou le numéro de siret ou le numéro d'association indiqué n'est pas correctement formaté",
        "id"
    );
    pub const SIREN_OR_RNA_INVALID: Code = param!(
        "00333",
        "Le numéro de siren ou le numéro d'association indiqué n'est pas correctement formaté",
        "id"
    );
    // The catalogue says "entre 1 et 13", but 0 is accepted.
    pub const PROFONDEUR_INVALID: Code = param!(
        "00390",
        "La valeur de la profondeur n'est pas valide : celle-ci doit être un entier compris entre 0 et 13"
    );
    pub const DOWNLOAD_LINK_EXPIRED: Code =
        failure!("00403", Gone, "Lien expiré", "Le lien de téléchargement est expiré.");
    pub const NETWORK_ERROR: Code = failure!("00501", ProviderError, "Erreur réseau", "Problème de connexion au serveur distant. L'erreur peut venir du fournisseur de données ou de la passerelle ; elle est souvent temporaire.");
    pub const STORAGE_UNREACHABLE: Code = failure!("00502", ProviderError, "Erreur réseau du service d'hébergement de données", "Problème de connexion au serveur d'hébergement de données. L'erreur peut venir soit du fournisseur, soit de la passerelle.");
    /// `/proxy/files`: the remote file host answered 403 (and so on to `00606`: 429,
    /// 500, 502, 503, 504); the caller adds `meta.provider`.
    pub const FILE_FORBIDDEN: Code = failure!(
        "00601",
        ProviderError,
        "Accès au fichier refusé",
        "L'accès au fichier distant a été refusé par le fournisseur."
    );
    pub const FILE_TOO_MANY_REQUESTS: Code = failure!(
        "00602",
        ProviderError,
        "Trop de requêtes",
        "Le fournisseur du fichier a rejeté la requête car le quota est dépassé. Veuillez réessayer ultérieurement."
    );
    pub const FILE_PROVIDER_ERROR: Code = failure!(
        "00603",
        ProviderError,
        "Erreur interne du fournisseur de fichier",
        "Le fournisseur du fichier a rencontré une erreur interne."
    );
    pub const FILE_BAD_GATEWAY: Code = failure!(
        "00604",
        ProviderError,
        "Passerelle invalide",
        "Une erreur de passerelle s'est produite lors de la récupération du fichier."
    );
    pub const FILE_UNAVAILABLE: Code = failure!(
        "00605",
        ProviderError,
        "Service de fichier indisponible",
        "Le service de fichier est temporairement indisponible. Veuillez réessayer ultérieurement."
    );
    pub const FILE_TIMEOUT: Code = failure!(
        "00606",
        ProviderError,
        "Délai de récupération dépassé",
        "Le fournisseur du fichier n'a pas répondu dans le délai imparti."
    );
    /// `/proxy/files`: the remote file host answered 405, a temporary error.
    pub const FILE_TEMPORARY: Code = failure!(
        "00011",
        ProviderError,
        "Erreur temporaire du fournisseur de données",
        "Merci de réessayer dans quelques instants"
    );

    /// Every code of the catalogue (for documentation and tests).
    pub const ALL: &[Code] = &[
        DUPLICATE_IN_FLIGHT,
        SCOPE_MISSING,
        TOKEN_INVALID,
        TOKEN_EXPIRED,
        TOKEN_REVOKED,
        IP_REFUSED,
        RECIPIENT_INVALID,
        BAD_REQUEST,
        VERSION_UNSUPPORTED,
        ROUTE_UNKNOWN,
        TOO_MANY_REQUESTS,
        INTERNAL,
        JOURNAL_UNAVAILABLE,
        FC_TOKEN_MALFORMED,
        FC_TOKEN_UNKNOWN,
        FC_NO_PIVOT,
        ANNEE_INVALID,
        MOIS_INVALID,
        ALLOCATAIRE_UNIDENTIFIED,
        ANNEE_OUT_OF_RANGE,
        BIRTHPLACE_MALFORMED,
        CIVILITY_MALFORMED,
        COUNTRY_MALFORMED,
        INE_MALFORMED,
        CAMPAIGN_YEAR_INVALID,
        IDENTIFIANT_INVALID,
        SEVERAL_PEOPLE,
        ETABLISSEMENT_INVALID,
        ANNEE_SCOLAIRE_INVALID,
        DEGRE_INVALID,
        PERIMETER_INVALID,
        PERIMETER_EMPTY,
        DEPARTEMENT_INVALID,
        REGION_INVALID,
        PERIMETER_EXCLUSIVE,
        NOM_MISSING,
        PRENOMS_MISSING,
        BIRTH_YEAR_MISSING,
        BIRTH_MONTH_MISSING,
        BIRTH_DAY_MISSING,
        BIRTH_DATE_INVALID,
        BIRTH_COMMUNE_MISSING,
        SEXE_MISSING,
        BIRTH_DEPARTEMENT_INVALID,
        TOKEN_NOT_FOUND,
        CONTEXT_MISSING,
        OBJECT_MISSING,
        RECIPIENT_MISSING,
        SIREN_INVALID,
        SIRET_INVALID,
        SIRET_OR_RNA_INVALID,
        SIRET_OR_EORI_INVALID,
        MONTH_INVALID,
        YEAR_MALFORMED,
        LIMIT_INVALID,
        DOWNLOAD_LINK_INVALID,
        YEAR_OUT_OF_RANGE,
        SIREN_OR_SIRET_OR_RNA_INVALID,
        SIREN_OR_RNA_INVALID,
        PROFONDEUR_INVALID,
        DOWNLOAD_LINK_EXPIRED,
        NETWORK_ERROR,
        STORAGE_UNREACHABLE,
        FILE_FORBIDDEN,
        FILE_TOO_MANY_REQUESTS,
        FILE_PROVIDER_ERROR,
        FILE_BAD_GATEWAY,
        FILE_UNAVAILABLE,
        FILE_TIMEOUT,
        FILE_TEMPORARY,
    ];
}

/// The generic part of a provider error code: `<provider prefix><subcode>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subcode {
    /// `000`: the upstream's answer is an identified internal error.
    Internal,
    /// `001`: the upstream is unavailable.
    Unavailable,
    /// `002`: the upstream did not answer within the budget.
    Timeout,
    /// `003`: nothing found for these parameters.
    NotFound,
    /// `004`: the upstream's host name does not resolve.
    Dns,
    /// `006`: the gateway could not authenticate to the upstream.
    Authentication,
    /// `008`: the upstream refuses for too many requests.
    TooManyRequests,
    /// `009`: the upstream's TLS certificate is invalid.
    Certificate,
    /// `015`: several resources match.
    Conflict,
    /// `020`: the upstream is in a maintenance window.
    Maintenance,
    /// `055`: the document the upstream sent is not of the expected type (not a PDF).
    WrongFileType,
    /// `056`: the document the upstream sent is empty.
    EmptyFile,
    /// `999`: an answer the gateway does not understand.
    Unknown,
}

const NOT_FOUND_DETAIL: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel.";

impl Subcode {
    /// The three digits, the kind, the title and the detail.
    fn entry(self) -> (&'static str, ErrorKind, &'static str, &'static str) {
        use ErrorKind::*;
        match self {
            Subcode::Internal => ("000", ProviderError, "Erreur interne du fournisseur de données", "La réponse retournée par le fournisseur de données est invalide et a été identifié comme étant une erreur interne. Si le problème persiste, consultez la page de status ou contactez nous sur le support."),
            Subcode::Unavailable => ("001", ProviderError, "Service non disponible", "Service du fournisseur de données temporairement indisponible ou en maintenance."),
            Subcode::Timeout => ("002", Timeout, "Intermédiaire hors-délai", "Temps d’attente d’une réponse du fournisseur de données écoulé."),
            Subcode::NotFound => ("003", NotFound, "Ressource non trouvée", NOT_FOUND_DETAIL),
            Subcode::Dns => ("004", ProviderError, "Erreur de résolution DNS", "Problème de résolution DNS de l'adresse du serveur"),
            Subcode::Authentication => ("006", ProviderError, "Erreur d'authentification auprès du fournisseur de données", "La passerelle n'a pas pu s'authentifier auprès du fournisseur de données."),
            Subcode::TooManyRequests => ("008", ProviderError, "Erreur auprès du fournisseur de données : trop de requêtes", "Le fournisseur de données reçoit trop de requêtes ; réessayez dans quelques instants."),
            Subcode::Certificate => ("009", ProviderError, "Erreur de certificat SSL du fournisseur de données", "Le certificat SSL du fournisseur de données est invalide ou expiré."),
            Subcode::Conflict => ("015", Conflict, "Conflit", "Plusieurs ressources correspondent aux critères"),
            Subcode::Maintenance => ("020", Maintenance, "Maintenance du fournisseur de données", "Le fournisseur de données est en maintenance."),
            Subcode::WrongFileType => ("055", ProviderError, "Erreur de format du fichier", "Le contenu du fichier transmis par le fournisseur de données n'est pas au format attendu."),
            Subcode::EmptyFile => ("056", ProviderError, "Fichier vide", "Le fichier transmis par le fournisseur de données est vide."),
            Subcode::Unknown => ("999", ProviderError, "Erreur inconnue du fournisseur de données", "La réponse retournée par le fournisseur de données est invalide et inconnue de notre service. L'équipe technique a été notifiée de cette erreur pour investigation."),
        }
    }

    pub fn digits(self) -> &'static str {
        self.entry().0
    }
}

/// A data provider as the error catalogue knows it: the name shown in `meta.provider`
/// and the two-digit prefix of its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderInfo {
    pub name: &'static str,
    pub prefix: &'static str,
}

impl ProviderInfo {
    /// A generic provider error (`<prefix><subcode>`), e.g. `37002` for a CNAV timeout.
    pub fn error(&self, subcode: Subcode) -> ApiError {
        let (digits, kind, title, detail) = subcode.entry();
        let mut meta = Map::new();
        meta.insert("provider".into(), Value::String(self.name.into()));
        ApiError {
            kind,
            code: format!("{}{digits}", self.prefix),
            title: title.into(),
            detail: detail.into(),
            source: None,
            meta,
        }
    }
}

impl ApiError {
    /// The error of a catalogue entry, with the entry's title, detail and source.
    pub fn gateway(entry: Code) -> ApiError {
        let source = entry.source.map(|(key, value)| {
            let mut m = Map::new();
            m.insert(key.into(), Value::String(value.into()));
            Value::Object(m)
        });
        ApiError {
            kind: entry.kind,
            code: entry.code.into(),
            title: entry.title.into(),
            detail: entry.detail.into(),
            source,
            meta: Map::new(),
        }
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }

    pub fn with_meta(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.meta.insert(key.into(), value.into());
        self
    }

    pub fn with_parameter(mut self, parameter: &str) -> Self {
        let mut m = Map::new();
        m.insert("parameter".into(), Value::String(parameter.into()));
        self.source = Some(Value::Object(m));
        self
    }
}

/// The status of a list of errors: the contract checks kinds in a fixed order.
pub fn status_of(errors: &[ApiError]) -> u16 {
    const ORDER: &[ErrorKind] = &[
        ErrorKind::BadRequest,
        ErrorKind::WrongParameter,
        ErrorKind::ProviderError,
        ErrorKind::Timeout,
        ErrorKind::UnavailableForLegalReasons,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Gone,
        ErrorKind::Conflict,
        ErrorKind::Internal,
        ErrorKind::TooManyRequests,
        ErrorKind::Maintenance,
    ];
    ORDER
        .iter()
        .find(|kind| errors.iter().any(|e| e.kind == **kind))
        .map(|kind| kind.status())
        .unwrap_or(500)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_codes_carry_status_and_source() {
        let e = ApiError::gateway(codes::RECIPIENT_INVALID);
        assert_eq!((e.code.as_str(), e.status()), ("00210", 422));
        assert_eq!(e.source.unwrap()["parameter"], "recipient");
    }

    #[test]
    fn catalogue_codes_are_unique() {
        let mut seen: Vec<&str> = codes::ALL.iter().map(|c| c.code).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), codes::ALL.len());
    }

    #[test]
    fn entreprise_codes_carry_contract_status_and_source() {
        let expected = [
            (codes::TOKEN_NOT_FOUND, 401, Some("token")),
            (codes::CONTEXT_MISSING, 422, Some("context")),
            (codes::OBJECT_MISSING, 422, Some("object")),
            (codes::RECIPIENT_MISSING, 422, Some("recipient")),
            (codes::SIRET_OR_EORI_INVALID, 422, Some("id")),
            (codes::YEAR_MALFORMED, 422, None),
            (codes::PROFONDEUR_INVALID, 422, None),
            (codes::DOWNLOAD_LINK_INVALID, 422, Some("uuid")),
            (codes::DOWNLOAD_LINK_EXPIRED, 410, None),
            (codes::NETWORK_ERROR, 502, None),
            (codes::STORAGE_UNREACHABLE, 502, None),
            (codes::FILE_TIMEOUT, 502, None),
            (codes::FILE_TEMPORARY, 502, None),
        ];
        for (code, status, parameter) in expected {
            let e = ApiError::gateway(code);
            let source = e.source.as_ref().map(|s| s["parameter"].as_str().unwrap_or_default());
            assert_eq!((e.status(), source), (status, parameter), "{}", code.code);
            assert!(codes::ALL.contains(&code), "{} is in the catalogue", code.code);
        }
    }

    #[test]
    fn gone_answers_410_after_earlier_kinds() {
        let errors = vec![
            ApiError::gateway(codes::DOWNLOAD_LINK_EXPIRED),
            ApiError::gateway(codes::TOKEN_NOT_FOUND),
        ];
        assert_eq!(status_of(&errors), 401);
        assert_eq!(status_of(&[ApiError::gateway(codes::DOWNLOAD_LINK_EXPIRED)]), 410);
    }

    #[test]
    fn provider_codes_use_prefix() {
        let cnav = ProviderInfo {
            name: "CNAV",
            prefix: "37",
        };
        let e = cnav.error(Subcode::Timeout);
        assert_eq!((e.code.as_str(), e.status()), ("37002", 504));
        assert_eq!(e.meta["provider"], "CNAV");
        assert_eq!(cnav.error(Subcode::Unavailable).status(), 502);
        assert_eq!(cnav.error(Subcode::Unknown).code, "37999");
    }

    #[test]
    fn status_follows_kind_order() {
        let errors = vec![
            ApiError::gateway(codes::NOM_MISSING),
            ApiError::gateway(codes::TOKEN_INVALID),
        ];
        assert_eq!(status_of(&errors), 422);
    }
}
