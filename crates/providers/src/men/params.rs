//! The MEN call's parameters: the identity (parsed here, see the catalogue for why)
//! and the search, by school (`codeEtablissement`) or by perimeter (degree plus
//! départements or académies). Every error is gathered, as the real validators do.

use chrono::NaiveDate;
use passerelle_core::{ApiError, Civility, CivilityRules, ErrorKind, Query};
use serde_json::{Map, Value};

use crate::Extras;

/// The MEN upstream matches on name, first first name, sex and full birth date.
/// The sex is optional: the official sandbox case `504.yaml` calls without it.
const RULES: CivilityRules = CivilityRules {
    prenoms_required: true,
    max_prenoms: 3,
    birth_date_required: true,
    sexe_required: false,
    pays_required: true,
    birth_date_until_yesterday: false,
    birthplace_required_in_france: false,
};

/// The identity parameters the MEN contract takes; the others are ignored.
const IDENTITY_KEYS: &[&str] = &[
    "nomNaissance",
    "prenoms[]",
    "prenoms",
    "anneeDateNaissance",
    "moisDateNaissance",
    "jourDateNaissance",
    "sexeEtatCivil",
];

const DEPARTEMENTS: &str = "codesBcnDepartements[]";
const REGIONS: &str = "codesBcnRegions[]";

/// A 422 of the MEN parameter family (`00410`–`00419`), which the shared catalogue
/// does not hold: its titles and details come from the contract's `errors.yml`.
fn wrong(code: &str, detail: &str, parameter: &str) -> ApiError {
    let mut source = Map::new();
    source.insert("parameter".into(), Value::String(parameter.into()));
    ApiError {
        kind: ErrorKind::WrongParameter,
        code: code.into(),
        title: "Entité non traitable".into(),
        detail: detail.into(),
        source: Some(Value::Object(source)),
        meta: Map::new(),
    }
}

pub fn parse(query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
    let mut errors = Vec::new();
    let mut extras = Extras::new();
    match identity(query, today) {
        Ok(civility) => add_identity(&mut extras, &civility),
        Err(e) => errors.extend(e),
    }
    match annee_scolaire(query) {
        Ok(annee) => {
            extras.insert("anneeScolaire".into(), annee);
        }
        Err(e) => errors.push(e),
    }
    match search(query) {
        Ok(search) => extras.extend(search),
        Err(e) => errors.extend(e),
    }
    if errors.is_empty() {
        Ok(extras)
    } else {
        Err(errors)
    }
}

/// The shared identity parser, fed only the MEN identity keys and a fixed birth
/// country (which the MEN upstream does not use).
fn identity(query: &Query, today: NaiveDate) -> Result<Civility, Vec<ApiError>> {
    let mut pairs: Vec<(String, String)> = query
        .pairs()
        .iter()
        .filter(|(k, _)| IDENTITY_KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    pairs.push((
        "codeCogInseePaysNaissance".into(),
        passerelle_core::identity::FRANCE.into(),
    ));
    Civility::parse(&Query::new(pairs), &RULES, today)
}

fn add_identity(extras: &mut Extras, civility: &Civility) {
    extras.insert("nom".into(), civility.nom_naissance.clone());
    let prenom = civility.prenoms.first().cloned().unwrap_or_default();
    extras.insert("prenom".into(), prenom);
    extras.insert("dateNaissance".into(), civility.naissance.formatted());
    if let Some(sexe) = civility.sexe {
        extras.insert("sexe".into(), sexe.as_str().into());
    }
}

/// `AAAA` or `AAAA-AAAA`.
fn annee_scolaire(query: &Query) -> Result<String, ApiError> {
    let value = query.get("anneeScolaire").map(str::trim).unwrap_or_default();
    let digits = |s: &str| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit());
    let valid = match value.split_once('-') {
        None => digits(value),
        Some((a, b)) => digits(a) && digits(b),
    };
    if valid {
        Ok(value.to_string())
    } else {
        Err(wrong(
            "00411",
            "L'année scolaire n'est pas correctement formatée: doit être sur le format YYYY ou YYYY-YYYY)",
            "anneeScolaire",
        ))
    }
}

fn present(query: &Query, key: &str) -> bool {
    query.pairs().iter().any(|(k, _)| k == key)
}

/// Every value of an array parameter, blanks included (a blank value is an error).
fn raw_values<'a>(query: &'a Query, key: &str) -> Vec<&'a str> {
    query
        .pairs()
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .collect()
}

fn search(query: &Query) -> Result<Extras, Vec<ApiError>> {
    let perimeter = present(query, DEPARTEMENTS) || present(query, REGIONS);
    match (query.get("codeEtablissement"), perimeter) {
        (Some(_), true) => Err(vec![wrong(
            "00419",
            "Les paramètres codeEtablissement et périmètre (codesBcnRegions/codesBcnDepartements) sont mutuellement exclusifs",
            "codeEtablissement",
        )]),
        (Some(code), false) => school(code.trim()).map_err(|e| vec![e]),
        (None, true) => perimetre(query),
        (None, false) => Err(vec![wrong(
            "00410",
            "Indiquez le code établissement (7 chiffres et 1 lettre), ou bien un périmètre : degreEtablissement avec codesBcnDepartements[] ou codesBcnRegions[].",
            "codeEtablissement",
        )]),
    }
}

/// `^\d{7}\w$`.
fn school(code: &str) -> Result<Extras, ApiError> {
    let b = code.as_bytes();
    let valid = b.len() == 8 && b[..7].iter().all(u8::is_ascii_digit) && (b[7].is_ascii_alphanumeric() || b[7] == b'_');
    if valid {
        Ok(Extras::from([("codeEtablissement".into(), code.into())]))
    } else {
        Err(wrong(
            "00410",
            "Le code établissement n'est pas correctement formaté: celui doit être composé de 7 chiffres et 1 lettre",
            "codeEtablissement",
        ))
    }
}

fn perimetre(query: &Query) -> Result<Extras, Vec<ApiError>> {
    let mut errors = Vec::new();
    let degre = query.get("degreEtablissement").map(str::trim);
    if !matches!(degre, Some("1D" | "2D")) {
        errors.push(wrong(
            "00412",
            "Le degré d'établissement n'est pas correctement formaté: doit être 1D ou 2D",
            "degreEtablissement",
        ));
    }
    let (kind, key) = match (present(query, DEPARTEMENTS), present(query, REGIONS)) {
        (true, false) => ("departement", DEPARTEMENTS),
        (false, true) => ("region", REGIONS),
        _ => {
            errors.push(wrong(
                "00413",
                "Le périmètre géographique est invalide: exactement un type de périmètre doit être fourni",
                "codesBcnDepartements[]",
            ));
            return Err(errors);
        }
    };
    let values = raw_values(query, key);
    if values.iter().any(|v| v.is_empty()) {
        errors.push(wrong(
            "00414",
            "Les valeurs du périmètre sont invalides: doit être un tableau non vide",
            key,
        ));
    } else if kind == "departement" && !values.iter().all(|v| is_departement(v)) {
        errors.push(wrong(
            "00416",
            "Le code département BCN MEN est invalide: valeur non reconnue",
            key,
        ));
    } else if kind == "region" && !values.iter().all(|v| is_region(v)) {
        errors.push(wrong(
            "00417",
            "Le code région BCN MEN est invalide: valeur non reconnue",
            key,
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Extras::from([
        ("degreEtablissement".into(), degre.unwrap_or_default().into()),
        ("typePerimetre".into(), kind.into()),
        ("valeursPerimetre".into(), values.join(",")),
    ]))
}

/// BCN département codes: `001`–`095` (no `020`), Corsica `02A`/`02B`, overseas
/// `971`–`978` and `986`–`988`.
fn is_departement(code: &str) -> bool {
    match code {
        "02A" | "02B" => true,
        _ if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u16 = code.parse().unwrap_or(0);
            (1..=95).contains(&n) && n != 20 || (971..=978).contains(&n) || (986..=988).contains(&n)
        }
        _ => false,
    }
}

/// BCN académic region codes: `01`–`18`.
fn is_region(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()) && (1..=18).contains(&code.parse::<u8>().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("nomNaissance", "MARTIN"),
            ("prenoms[]", "EMMA"),
            ("prenoms[]", "LOUISE"),
            ("anneeDateNaissance", "2012"),
            ("moisDateNaissance", "8"),
            ("jourDateNaissance", "15"),
            ("sexeEtatCivil", "F"),
            ("anneeScolaire", "2025"),
        ]
    }

    fn codes(extra: &[(&'static str, &'static str)]) -> Vec<String> {
        let mut pairs = base();
        pairs.extend_from_slice(extra);
        parse(&Query::from_pairs(&pairs), today())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.code)
            .collect()
    }

    #[test]
    fn school_search_keeps_the_first_first_name() {
        let mut pairs = base();
        pairs.push(("codeEtablissement", "0132733A"));
        let extras = parse(&Query::from_pairs(&pairs), today()).unwrap();
        assert_eq!(extras["prenom"], "EMMA");
        assert_eq!(extras["dateNaissance"], "2012-08-15");
        assert_eq!(extras["sexe"], "F");
        assert_eq!(extras["codeEtablissement"], "0132733A");
        assert!(!extras.contains_key("typePerimetre"));
    }

    #[test]
    fn search_rules() {
        assert_eq!(codes(&[]), ["00410"]);
        assert_eq!(codes(&[("codeEtablissement", "013273A")]), ["00410"]);
        assert_eq!(
            codes(&[("codeEtablissement", "0132733A"), ("codesBcnRegions[]", "11")]),
            ["00419"]
        );
        assert_eq!(
            codes(&[("degreEtablissement", "3D"), ("codesBcnRegions[]", "11")]),
            ["00412"]
        );
        assert_eq!(
            codes(&[
                ("degreEtablissement", "2D"),
                ("codesBcnRegions[]", "11"),
                ("codesBcnDepartements[]", "013")
            ]),
            ["00413"]
        );
        assert_eq!(
            codes(&[("degreEtablissement", "2D"), ("codesBcnRegions[]", "")]),
            ["00414"]
        );
        assert_eq!(
            codes(&[("degreEtablissement", "2D"), ("codesBcnDepartements[]", "13")]),
            ["00416"]
        );
        assert_eq!(
            codes(&[("degreEtablissement", "1D"), ("codesBcnRegions[]", "19")]),
            ["00417"]
        );
        assert!(codes(&[
            ("degreEtablissement", "1D"),
            ("codesBcnDepartements[]", "02A"),
            ("codesBcnDepartements[]", "974")
        ])
        .is_empty());
    }

    #[test]
    fn every_error_at_once_and_no_birth_country_needed() {
        let pairs = [
            ("prenoms[]", "EMMA"),
            ("anneeDateNaissance", "2012"),
            ("moisDateNaissance", "13"),
            ("jourDateNaissance", "15"),
            ("anneeScolaire", "25-26"),
        ];
        let got: Vec<String> = parse(&Query::from_pairs(&pairs), today())
            .unwrap_err()
            .into_iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(got, ["00420", "00423", "00411", "00410"]);
    }
}
