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

struct GatewayEntry {
    code: &'static str,
    kind: ErrorKind,
    title: &'static str,
    detail: &'static str,
    source: Option<(&'static str, &'static str)>,
}

const UNPROCESSABLE: &str = "Entité non traitable";

macro_rules! param {
    ($code:literal, $detail:literal, $param:literal) => {
        GatewayEntry {
            code: $code,
            kind: ErrorKind::WrongParameter,
            title: UNPROCESSABLE,
            detail: $detail,
            source: Some(("parameter", $param)),
        }
    };
}

const GATEWAY: &[GatewayEntry] = &[
    GatewayEntry { code: "00015", kind: ErrorKind::Conflict, title: "Conflit", detail: "Une requête identique (même jeton, même point d'accès, mêmes paramètres) est déjà en cours de traitement.", source: None },
    GatewayEntry { code: "00100", kind: ErrorKind::Forbidden, title: "Privilèges insuffisants", detail: "Votre token est valide mais vos privilèges sont insuffisants. Listez vos privilèges sur /api/introspect", source: Some(("parameter", "token")) },
    GatewayEntry { code: "00101", kind: ErrorKind::Unauthorized, title: "Interdit", detail: "Votre token n'est pas valide ou n'est pas renseigné", source: Some(("parameter", "token")) },
    GatewayEntry { code: "00103", kind: ErrorKind::Unauthorized, title: "Jeton expiré", detail: "Votre token est expiré. Vous devez refaire une demande", source: Some(("parameter", "token")) },
    GatewayEntry { code: "00105", kind: ErrorKind::Unauthorized, title: "Jeton sur liste noire", detail: "Votre jeton est sur liste noire, celui-ci a certainement été divulgué sur un canal non-sécurisé. Demandez un nouveau jeton à l'opérateur de la passerelle.", source: Some(("parameter", "token")) },
    GatewayEntry { code: "00107", kind: ErrorKind::Forbidden, title: "Adresse IP non autorisée", detail: "Votre adresse IP n'est pas autorisée à utiliser ce jeton.", source: Some(("header", "X-Forwarded-For")) },
    param!("00210", "Le paramètre recipient n'est pas un siret valide", "recipient"),
    GatewayEntry { code: "00401", kind: ErrorKind::BadRequest, title: "Mauvaise requête", detail: "La requête est mal formée.", source: None },
    GatewayEntry { code: "00402", kind: ErrorKind::NotFound, title: "Version d'API non prise en charge", detail: "Cette version n'est pas supportée pour ce point d'accès", source: None },
    GatewayEntry { code: "00404", kind: ErrorKind::NotFound, title: "Point d'accès inconnu", detail: "Aucun point d'accès ne correspond à ce chemin. La liste des points d'accès est publiée sur /api/open-api.yml", source: None },
    GatewayEntry { code: "00429", kind: ErrorKind::TooManyRequests, title: "Trop de requêtes", detail: "Vous avez effectué trop de requêtes", source: None },
    GatewayEntry { code: "00500", kind: ErrorKind::Internal, title: "Erreur interne", detail: "Une erreur interne a été détectée, l'équipe technique a été notifiée.", source: None },
    GatewayEntry { code: "00503", kind: ErrorKind::Maintenance, title: "Service indisponible", detail: "La passerelle ne peut pas tracer cet appel pour le moment ; aucune donnée n'est transmise sans trace. Réessayez dans quelques instants.", source: None },
    GatewayEntry { code: "50001", kind: ErrorKind::Unauthorized, title: "Accès non autorisé", detail: "Le jeton d'accès FranceConnect est mal formé.", source: Some(("header", "Authorization")) },
    GatewayEntry { code: "50002", kind: ErrorKind::Unauthorized, title: "Accès non autorisé", detail: "Le jeton d'accès FranceConnect est inconnu, inactif ou expiré.", source: Some(("header", "Authorization")) },
    GatewayEntry { code: "50003", kind: ErrorKind::Unauthorized, title: "Accès non autorisé", detail: "Le jeton d'accès FranceConnect ne donne pas accès à l'identité pivot (scopes profile et birth, ou identite_pivot).", source: Some(("header", "Authorization")) },
    param!("00353", "L'année demandée n'est pas correctement formatée ou est dans le futur.", "annee"),
    param!("00354", "Le mois demandé est incorrect ou est dans le futur.", "mois"),
    GatewayEntry { code: "00355", kind: ErrorKind::WrongParameter, title: "Impossible d'identifier l'allocataire", detail: "Les paramètres fournis ne permettent pas d'identifier un allocataire.", source: None },
    param!("00356", "L'année demandée doit être l'année en cours (N), N-1 ou N-2.", "annee"),
    param!("00365", "Le lieu de naissance n'est pas correctement formaté", "codeCogInseeCommuneNaissance"),
    GatewayEntry { code: "00366", kind: ErrorKind::WrongParameter, title: UNPROCESSABLE, detail: "Un ou plusieurs paramètres de civilité ne sont pas correctement formatés", source: None },
    param!("00400", "Le code pays INSEE n'est pas correctement formaté", "codeCogInseePaysNaissance"),
    param!("00360", "Le numéro d'INE n'est pas correctement formaté", "ine"),
    param!("00368", "L'année de campagne (campaignYear) doit être comprise entre 2021 et l'année en cours moins un", "campaignYear"),
    param!("00380", "L'identifiant est manquant ou mal formé", "identifiant"),
    GatewayEntry {
        code: "00391",
        kind: ErrorKind::WrongParameter,
        title: UNPROCESSABLE,
        detail: "Les paramètres d'identité correspondent à plusieurs personnes : les informations ne peuvent pas être fournies.",
        source: None,
    },
    param!("00410", "Le code établissement doit compter 7 chiffres et 1 lettre", "codeEtablissement"),
    param!("00411", "L'année scolaire doit avoir la forme AAAA ou AAAA-AAAA", "anneeScolaire"),
    param!("00412", "Le degré d'établissement doit valoir 1D ou 2D", "degreEtablissement"),
    param!("00413", "Le périmètre géographique est invalide : exactement un type de périmètre doit être fourni", "codesBcnDepartements[]"),
    param!("00414", "Les valeurs du périmètre sont invalides : au moins une valeur est attendue", "codesBcnDepartements[]"),
    param!("00416", "Le code département BCN est invalide", "codesBcnDepartements[]"),
    param!("00417", "Le code région BCN est invalide", "codesBcnRegions[]"),
    param!("00419", "Les paramètres codeEtablissement et périmètre (codesBcnRegions, codesBcnDepartements) sont mutuellement exclusifs", "codeEtablissement"),
    param!("00420", "Le nom de naissance est manquant", "nomNaissance"),
    param!("00421", "Le(s) prenom(s) est manquant", "prenoms[]"),
    param!("00422", "L'annee de naissance est manquante", "anneeDateNaissance"),
    param!("00423", "Le mois de naissance est manquant", "moisDateNaissance"),
    param!("00424", "Le jour de naissance est manquant", "jourDateNaissance"),
    param!("00425", "La date de naissance n'est pas valide", "anneeDateNaissance"),
    param!("00426", "Le code cog de la commune de naissance est manquant", "codeCogInseeCommuneNaissance"),
    param!("00427", "Le sexe de l'état civil est manquant", "sexeEtatCivil"),
    param!("00428", "Le code cog du département de naissance est manquant ou invalide", "codeCogInseeDepartementNaissance"),
];

struct SubcodeEntry {
    subcode: &'static str,
    kind: ErrorKind,
    title: &'static str,
    detail: &'static str,
}

const NOT_FOUND_DETAIL: &str = "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel.";

const SUBCODES: &[SubcodeEntry] = &[
    SubcodeEntry { subcode: "000", kind: ErrorKind::ProviderError, title: "Erreur interne du fournisseur de données", detail: "La réponse retournée par le fournisseur de données est invalide et a été identifié comme étant une erreur interne. Si le problème persiste, consultez la page de status ou contactez nous sur le support." },
    SubcodeEntry { subcode: "001", kind: ErrorKind::ProviderError, title: "Service non disponible", detail: "Service du fournisseur de données temporairement indisponible ou en maintenance." },
    SubcodeEntry { subcode: "002", kind: ErrorKind::Timeout, title: "Intermédiaire hors-délai", detail: "Temps d’attente d’une réponse du fournisseur de données écoulé." },
    SubcodeEntry { subcode: "003", kind: ErrorKind::NotFound, title: "Ressource non trouvée", detail: NOT_FOUND_DETAIL },
    SubcodeEntry { subcode: "004", kind: ErrorKind::ProviderError, title: "Erreur de résolution DNS", detail: "Problème de résolution DNS de l'adresse du serveur" },
    SubcodeEntry { subcode: "006", kind: ErrorKind::ProviderError, title: "Erreur d'authentification auprès du fournisseur de données", detail: "La passerelle n'a pas pu s'authentifier auprès du fournisseur de données." },
    SubcodeEntry { subcode: "008", kind: ErrorKind::ProviderError, title: "Erreur auprès du fournisseur de données : trop de requêtes", detail: "Le fournisseur de données reçoit trop de requêtes ; réessayez dans quelques instants." },
    SubcodeEntry { subcode: "009", kind: ErrorKind::ProviderError, title: "Erreur de certificat SSL du fournisseur de données", detail: "Le certificat SSL du fournisseur de données est invalide ou expiré." },
    SubcodeEntry { subcode: "015", kind: ErrorKind::Conflict, title: "Conflit", detail: "Plusieurs ressources correspondent aux critères" },
    SubcodeEntry { subcode: "020", kind: ErrorKind::Maintenance, title: "Maintenance du fournisseur de données", detail: "Le fournisseur de données est en maintenance." },
    SubcodeEntry { subcode: "999", kind: ErrorKind::ProviderError, title: "Erreur inconnue du fournisseur de données", detail: "La réponse retournée par le fournisseur de données est invalide et inconnue de notre service. L'équipe technique a été notifiée de cette erreur pour investigation." },
];

/// A data provider as the error catalogue knows it: the name shown in `meta.provider`
/// and the two-digit prefix of its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderInfo {
    pub name: &'static str,
    pub prefix: &'static str,
}

impl ProviderInfo {
    /// A generic provider error (`<prefix><subcode>`), e.g. `37002` for a CNAV timeout.
    pub fn error(&self, subcode: &str) -> ApiError {
        let entry = SUBCODES
            .iter()
            .find(|e| e.subcode == subcode)
            .unwrap_or_else(|| SUBCODES.last().expect("catalogue has 999"));
        let mut meta = Map::new();
        meta.insert("provider".into(), Value::String(self.name.into()));
        ApiError {
            kind: entry.kind,
            code: format!("{}{}", self.prefix, entry.subcode),
            title: entry.title.into(),
            detail: entry.detail.into(),
            source: None,
            meta,
        }
    }
}

impl ApiError {
    /// A gateway error (`00xxx`) from the catalogue. Unknown codes are a programming
    /// error and become `00500`, never a panic.
    pub fn gateway(code: &str) -> ApiError {
        let entry = GATEWAY
            .iter()
            .find(|e| e.code == code)
            .or_else(|| GATEWAY.iter().find(|e| e.code == "00500"))
            .expect("catalogue has 00500");
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
        let e = ApiError::gateway("00210");
        assert_eq!(e.status(), 422);
        assert_eq!(e.source.unwrap()["parameter"], "recipient");
    }

    #[test]
    fn unknown_gateway_code_is_internal() {
        assert_eq!(ApiError::gateway("99999").code, "00500");
    }

    #[test]
    fn provider_codes_use_prefix() {
        let cnav = ProviderInfo {
            name: "CNAV",
            prefix: "37",
        };
        let e = cnav.error("002");
        assert_eq!((e.code.as_str(), e.status()), ("37002", 504));
        assert_eq!(e.meta["provider"], "CNAV");
        assert_eq!(cnav.error("001").status(), 502);
        assert_eq!(cnav.error("nope").code, "37999");
    }

    #[test]
    fn status_follows_kind_order() {
        let errors = vec![ApiError::gateway("00420"), ApiError::gateway("00101")];
        assert_eq!(status_of(&errors), 422);
    }
}
