//! An endpoint's parameters: its path's, the identity its mode asks for (with the
//! rules of its civility), its own, the bouquet's purpose parameters, and any other
//! the OpenAPI document lists (headers).

use passerelle_bouquet::{Bouquet, Endpoint, Mode};
use passerelle_core::CivilityRules;
use serde_json::Value;

use super::openapi::Operation;

/// One parameter as the page shows it.
pub struct ParamRow {
    pub name: String,
    /// `chemin`, `requête` or `en-tête`.
    pub place: &'static str,
    /// `oui`, `non`, or when it depends.
    pub required: String,
    pub description: String,
}

impl ParamRow {
    fn new(name: &str, place: &'static str, required: bool, description: &str) -> ParamRow {
        ParamRow {
            name: name.to_string(),
            place,
            required: if required { "oui" } else { "non" }.to_string(),
            description: description.to_string(),
        }
    }
}

/// The names of the identity parameters of [`Mode::Identite`], as the sandbox cases
/// and the query string spell them.
pub const IDENTITY: &[&str] = &[
    "nomNaissance",
    "nomUsage",
    "prenoms",
    "anneeDateNaissance",
    "moisDateNaissance",
    "jourDateNaissance",
    "sexeEtatCivil",
    "codeCogInseePaysNaissance",
    "codeCogInseeCommuneNaissance",
    "nomCommuneNaissance",
    "codeCogInseeDepartementNaissance",
];

/// Every parameter of `endpoint`, in the order a call writes them.
pub fn rows(bouquet: &Bouquet, endpoint: &Endpoint, doc: Option<&Operation>) -> Vec<ParamRow> {
    let mut rows = vec![authorization(endpoint.mode)];
    rows.extend(endpoint.path_params().map(|name| path_param(name, doc)));
    rows.extend(bouquet.purpose.iter().map(|p| purpose(p.name, doc)));
    if let (Mode::Identite, Some(rules)) = (endpoint.mode, endpoint.civility) {
        rows.extend(identity(&rules));
    }
    rows.extend(
        endpoint
            .extra_params
            .iter()
            .map(|p| ParamRow::new(p.name, "requête", p.required, p.description)),
    );
    rows.extend(others(&rows, doc));
    rows
}

fn authorization(mode: Mode) -> ParamRow {
    let text = match mode {
        Mode::FranceConnect => "Bearer suivi du jeton d'accès FranceConnect de l'usager : il donne son identité, qui n'est donc pas à transmettre.",
        _ => "Bearer suivi du jeton de l'habilitation.",
    };
    ParamRow::new("Authorization", "en-tête", true, text)
}

fn described(doc: Option<&Operation>, name: &str, place: &str) -> Option<String> {
    let param = doc?.parameter(name, place)?;
    let text = param.get("description").and_then(Value::as_str).unwrap_or_default();
    let pattern = param.pointer("/schema/pattern").and_then(Value::as_str);
    match (text.is_empty(), pattern) {
        (true, None) => None,
        (_, Some(pattern)) => Some(format!("{text} Forme : {pattern}").trim().to_string()),
        (false, None) => Some(text.to_string()),
    }
}

fn path_param(name: &str, doc: Option<&Operation>) -> ParamRow {
    let known = match name {
        "siren" => "Numéro SIREN de l'unité légale (9 chiffres).",
        "siret" => "Numéro SIRET de l'établissement (14 chiffres).",
        "siret_or_rna" => "Numéro SIRET ou numéro RNA (W suivi de 9 chiffres) de l'association.",
        "siren_or_rna" => "Numéro SIREN ou numéro RNA de l'association.",
        "siren_or_siret_or_rna" => "Numéro SIREN, SIRET ou RNA de l'association.",
        "siret_or_eori" => "Numéro SIRET ou numéro EORI.",
        "year" => "Année (4 chiffres).",
        "month" => "Mois (01 à 12).",
        _ => "",
    };
    let text = described(doc, name, "path")
        .filter(|_| known.is_empty())
        .unwrap_or_else(|| known.to_string());
    ParamRow::new(name, "chemin", true, &text)
}

fn purpose(name: &str, doc: Option<&Operation>) -> ParamRow {
    let text = described(doc, name, "query").unwrap_or_else(|| match name {
        "recipient" => "SIRET de l'administration destinataire des données.".to_string(),
        "context" => "Cadre de l'appel.".to_string(),
        "object" => "Raison de l'appel ou référence de la procédure.".to_string(),
        _ => "Paramètre de traçabilité.".to_string(),
    });
    ParamRow::new(name, "requête", true, &text)
}

/// The identity of the person, with what the endpoint's rules require.
fn identity(rules: &CivilityRules) -> Vec<ParamRow> {
    let birth = |name: &str, what: &str| {
        let mut text = format!("{what} de naissance.");
        if rules.birth_date_until_yesterday {
            text.push_str(" La date doit être passée, et postérieure au 1er janvier 1900.");
        }
        ParamRow::new(name, "requête", rules.birth_date_required, &text)
    };
    let in_france = if rules.birthplace_required_in_france {
        "Pour une personne née en France : ce code, ou bien nomCommuneNaissance avec codeCogInseeDepartementNaissance et l'année de naissance."
    } else {
        "Code COG INSEE de la commune de naissance."
    };
    let mut commune = ParamRow::new("codeCogInseeCommuneNaissance", "requête", false, in_france);
    if rules.birthplace_required_in_france {
        commune.required = "pour une personne née en France".to_string();
    }
    let pays = if rules.pays_required {
        "Code COG INSEE du pays de naissance (99100 : France)."
    } else {
        "Code COG INSEE du pays de naissance (99100 : France) ; absent, la France."
    };
    vec![
        ParamRow::new("nomNaissance", "requête", true, "Nom de naissance."),
        ParamRow::new("nomUsage", "requête", false, "Nom d'usage."),
        ParamRow::new(
            "prenoms[]",
            "requête",
            rules.prenoms_required,
            &format!("Prénoms, un par paramètre prenoms[] ; au plus {}.", rules.max_prenoms),
        ),
        birth("anneeDateNaissance", "Année"),
        birth("moisDateNaissance", "Mois"),
        birth("jourDateNaissance", "Jour"),
        ParamRow::new(
            "sexeEtatCivil",
            "requête",
            rules.sexe_required,
            "Sexe à l'état civil : M ou F.",
        ),
        ParamRow::new("codeCogInseePaysNaissance", "requête", rules.pays_required, pays),
        commune,
        ParamRow::new(
            "nomCommuneNaissance",
            "requête",
            false,
            "Nom de la commune de naissance (avec le département et l'année de naissance).",
        ),
        ParamRow::new(
            "codeCogInseeDepartementNaissance",
            "requête",
            false,
            "Code du département de naissance.",
        ),
    ]
}

/// What the document lists besides the rows already made (such as `Cache-Control`).
fn others(rows: &[ParamRow], doc: Option<&Operation>) -> Vec<ParamRow> {
    let Some(doc) = doc else {
        return Vec::new();
    };
    doc.parameters()
        .into_iter()
        .filter_map(|p| {
            let name = p.get("name").and_then(Value::as_str)?;
            let place = match p.get("in").and_then(Value::as_str)? {
                "header" => "en-tête",
                "path" => "chemin",
                _ => "requête",
            };
            if rows.iter().any(|r| r.name == name) {
                return None;
            }
            let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
            let text = p.get("description").and_then(Value::as_str).unwrap_or_default();
            Some(ParamRow::new(name, place, required, text))
        })
        .collect()
}
