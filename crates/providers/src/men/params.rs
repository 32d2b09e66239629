//! The MEN call's own parameters (the gateway parses the identity from the catalogue's
//! rules): the school year and the search, by school (`codeEtablissement`) or by
//! perimeter (degree plus départements or académies). Every error is gathered, as the
//! real validators do.

use passerelle_core::{codes, ApiError, Query};

use crate::Extras;

const DEPARTEMENTS: &str = "codesBcnDepartements[]";
const REGIONS: &str = "codesBcnRegions[]";

pub fn parse(query: &Query) -> Result<Extras, Vec<ApiError>> {
    let mut errors = Vec::new();
    let mut extras = Extras::new();
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
        Err(ApiError::gateway(codes::ANNEE_SCOLAIRE_INVALID))
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
        (Some(_), true) => Err(vec![ApiError::gateway(codes::PERIMETER_EXCLUSIVE)]),
        (Some(code), false) => school(code.trim()).map_err(|e| vec![e]),
        (None, true) => perimetre(query),
        (None, false) => Err(vec![ApiError::gateway(codes::ETABLISSEMENT_INVALID).with_detail(
            "Indiquez le code établissement (7 chiffres et 1 lettre), ou bien un périmètre : degreEtablissement avec codesBcnDepartements[] ou codesBcnRegions[].",
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
        Err(ApiError::gateway(codes::ETABLISSEMENT_INVALID))
    }
}

fn perimetre(query: &Query) -> Result<Extras, Vec<ApiError>> {
    let mut errors = Vec::new();
    let degre = query.get("degreEtablissement").map(str::trim);
    if !matches!(degre, Some("1D" | "2D")) {
        errors.push(ApiError::gateway(codes::DEGRE_INVALID));
    }
    let (kind, key) = match (present(query, DEPARTEMENTS), present(query, REGIONS)) {
        (true, false) => ("departement", DEPARTEMENTS),
        (false, true) => ("region", REGIONS),
        _ => {
            errors.push(ApiError::gateway(codes::PERIMETER_INVALID));
            return Err(errors);
        }
    };
    let values = raw_values(query, key);
    if values.iter().any(|v| v.is_empty()) {
        errors.push(ApiError::gateway(codes::PERIMETER_EMPTY).with_parameter(key));
    } else if kind == "departement" && !values.iter().all(|v| is_departement(v)) {
        errors.push(ApiError::gateway(codes::DEPARTEMENT_INVALID));
    } else if kind == "region" && !values.iter().all(|v| is_region(v)) {
        errors.push(ApiError::gateway(codes::REGION_INVALID));
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

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![("anneeScolaire", "2025")]
    }

    fn codes(extra: &[(&'static str, &'static str)]) -> Vec<String> {
        let mut pairs = base();
        pairs.extend_from_slice(extra);
        parse(&Query::from_pairs(&pairs))
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.code)
            .collect()
    }

    #[test]
    fn school_search_keeps_only_the_search() {
        let mut pairs = base();
        pairs.push(("codeEtablissement", "0132733A"));
        pairs.push(("nomNaissance", "MARTIN"));
        let extras = parse(&Query::from_pairs(&pairs)).unwrap();
        assert_eq!(extras.len(), 2);
        assert_eq!(extras["anneeScolaire"], "2025");
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
    fn every_error_at_once() {
        let pairs = [("anneeScolaire", "25-26")];
        let got: Vec<String> = parse(&Query::from_pairs(&pairs))
            .unwrap_err()
            .into_iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(got, ["00411", "00410"]);
    }

    #[test]
    fn a_blank_perimeter_value_points_at_its_parameter() {
        let pairs = [
            ("anneeScolaire", "2025"),
            ("degreEtablissement", "2D"),
            ("codesBcnRegions[]", " "),
        ];
        let errors = parse(&Query::from_pairs(&pairs)).unwrap_err();
        assert_eq!(
            errors[0].source,
            Some(serde_json::json!({"parameter": "codesBcnRegions[]"}))
        );
    }
}
