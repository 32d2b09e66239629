//! Quiforme's organisation record → the contract's `data`: the establishment's activity
//! declarations (NDA) with their Qualiopi certifications, and its France compétences
//! habilitations.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::Failure;

type Object = Map<String, Value>;

/// Contract member of `certification_qualiopi` ← member of an `nda` entry.
const QUALIOPI: [(&str, &str); 4] = [
    ("action_formation", "qualiopi_action_formation"),
    ("bilan_competences", "qualiopi_bilan_competence"),
    ("validation_acquis_experience", "qualiopi_vae"),
    ("apprentissage", "qualiopi_apprentissage"),
];

/// The `data` of a 200 answer. A null `siret_actif` is Quiforme's "no data" (`33003`);
/// a missing one, or any member of the wrong type, is `33999`.
pub fn organisme(body: &[u8]) -> Result<Value, Failure> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let record = answer.as_object().ok_or(Failure::Unknown)?;
    let siret = match record.get("siret_actif").ok_or(Failure::Unknown)? {
        Value::Null => return Err(Failure::NotFound),
        Value::String(s) => s.clone(),
        _ => return Err(Failure::Unknown),
    };
    let etablissement = object(record, "etablissement")?;
    let unite_legale = object(record, "unite_legale")?;
    let declarations = list(record, "nda")?
        .iter()
        .map(declaration)
        .collect::<Result<Vec<_>, _>>()?;
    let mut habilitations = Vec::new();
    for entry in list(record, "habilitations")? {
        let entry = entry.as_object().ok_or(Failure::Unknown)?;
        if text(entry, "etat_habilitation")? != json!("Supprimé") {
            habilitations.push(habilitation(entry)?);
        }
    }
    Ok(json!({
        "siret": siret,
        "code_uai": text(etablissement, "uai")?,
        "unite_legale_avec_plusieurs_nda": flag(unite_legale, "multinda")?,
        "declarations_activites_etablissement": declarations,
        "habilitations_france_competence": habilitations,
    }))
}

/// One activity declaration; the real gateway gives every one out as active.
fn declaration(entry: &Value) -> Result<Value, Failure> {
    let entry = entry.as_object().ok_or(Failure::Unknown)?;
    let mut qualiopi = Map::new();
    for (ours, theirs) in QUALIOPI {
        qualiopi.insert(ours.into(), flag(entry, theirs)?);
    }
    qualiopi.insert("obtention_via_unite_legale".into(), via_unite_legale(entry)?);
    let mut specialites = Map::new();
    for i in 1..=3 {
        let code = text(entry, &format!("code_specialite_{i}"))?;
        let libelle = text(entry, &format!("libelle_specialite_{i}"))?;
        specialites.insert(format!("specialite_{i}"), json!({"code": code, "libelle": libelle}));
    }
    Ok(json!({
        "numero_de_declaration": text(entry, "nda")?,
        "actif": true,
        "date_derniere_declaration": text(entry, "date_derniere_declaration")?,
        "date_debut_exercice": text(entry, "debut_exercice")?,
        "date_fin_exercice": text(entry, "fin_exercice")?,
        "certification_qualiopi": qualiopi,
        "specialites": specialites,
    }))
}

/// "… direct sur le NDA" is false, "… par propagation via …" true, anything else null.
fn via_unite_legale(entry: &Object) -> Result<Value, Failure> {
    Ok(match text(entry, "obtention_qualiopi")?.as_str() {
        Some(how) if how.contains("direct sur le NDA") => json!(false),
        Some(how) if how.contains("par propagation via") => json!(true),
        _ => Value::Null,
    })
}

fn habilitation(entry: &Object) -> Result<Value, Failure> {
    let certificateurs = list(entry, "certificateur")?
        .iter()
        .filter_map(|c| c.get("siret").and_then(Value::as_str))
        .collect::<Vec<_>>();
    Ok(json!({
        "code": text(entry, "code_fc")?,
        "actif": flag(entry, "actif")?,
        "date_actif": date(entry, "date_habilitation")?,
        "date_fin_enregistrement": date(entry, "date_fin_enregistrement")?,
        "date_decision": date(entry, "date_decision")?,
        "habilitation_pour_former": flag(entry, "a_former")?,
        "habilitation_pour_organiser_l_evaluation": flag(entry, "a_organiser")?,
        "sirets_organismes_certificateurs": certificateurs,
    }))
}

fn object<'a>(record: &'a Object, key: &str) -> Result<&'a Object, Failure> {
    record.get(key).and_then(Value::as_object).ok_or(Failure::Unknown)
}

/// A list; absent or null is empty.
fn list<'a>(record: &'a Object, key: &str) -> Result<&'a [Value], Failure> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(Failure::Unknown),
    }
}

/// A text or null.
fn text(record: &Object, key: &str) -> Result<Value, Failure> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(value @ Value::String(_)) => Ok(value.clone()),
        Some(_) => Err(Failure::Unknown),
    }
}

/// A boolean or null.
fn flag(record: &Object, key: &str) -> Result<Value, Failure> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(value @ Value::Bool(_)) => Ok(value.clone()),
        Some(_) => Err(Failure::Unknown),
    }
}

/// A date as `YYYY-MM-DD`, read as such or day first (`DD/MM/YYYY`); null stays null.
fn date(record: &Object, key: &str) -> Result<Value, Failure> {
    let Value::String(raw) = text(record, key)? else {
        return Ok(Value::Null);
    };
    NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&raw, "%d/%m/%Y"))
        .map(|d| json!(d.format("%Y-%m-%d").to_string()))
        .map_err(|_| Failure::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn habilitations(record: Value) -> Result<Value, Failure> {
        let body = json!({"siret_actif": "81841109200013", "etablissement": {}, "unite_legale": {},
            "nda": [], "habilitations": [record]});
        Ok(organisme(body.to_string().as_bytes())?["habilitations_france_competence"].clone())
    }

    #[test]
    fn dates_are_read_either_way_and_deleted_habilitations_dropped() {
        let read = habilitations(json!({"code_fc": "RNCP1", "date_fin_enregistrement": "01/02/2024",
            "date_decision": "2024-02-01", "certificateur": [{"siret": null}, {"siret": "13002526500013"}]}))
        .unwrap();
        assert_eq!(read[0]["date_fin_enregistrement"], "2024-02-01");
        assert_eq!(read[0]["date_decision"], "2024-02-01");
        assert_eq!(read[0]["date_actif"], Value::Null);
        assert_eq!(read[0]["sirets_organismes_certificateurs"], json!(["13002526500013"]));
        let dropped = habilitations(json!({"code_fc": "RNCP1", "etat_habilitation": "Supprimé"})).unwrap();
        assert_eq!(dropped, json!([]));
        let odd = habilitations(json!({"code_fc": "RNCP1", "date_decision": "31/02/2024"}));
        assert_eq!(odd, Err(Failure::Unknown));
    }

    #[test]
    fn a_null_siret_is_not_found_and_a_missing_one_unknown() {
        assert_eq!(organisme(br#"{"siret_actif": null}"#), Err(Failure::NotFound));
        assert_eq!(organisme(br#"{"etablissement": {}}"#), Err(Failure::Unknown));
        assert_eq!(organisme(br#"[]"#), Err(Failure::Unknown));
    }
}
