//! OPQIBI's certificate → the contract's `data`: members renamed, `dd/mm/yyyy` dates
//! made ISO, the qualifications' `rge` flag ("1"/"0") made a boolean.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::Failure;

/// Contract member ← upstream member, for the texts passed as they are.
const TEXTS: [(&str, &str); 4] = [
    ("numero_certificat", "numero_certificat"),
    ("url", "url"),
    ("duree_validite_certificat", "duree_de_validite_du_certificat"),
    ("assurances", "assurance"),
];

/// The certificate of a 200 answer. Every member is required except the probationary
/// qualifications' date, which a company without any may lack (then null).
pub fn certificate(body: &[u8]) -> Result<Value, Failure> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let record = answer.as_object().ok_or(Failure::Unknown)?;
    let mut data = Map::new();
    for (ours, theirs) in TEXTS.iter().take(2) {
        data.insert((*ours).into(), text(record, theirs)?);
    }
    data.insert(
        "date_delivrance_certificat".into(),
        date(record.get("date_de_delivrance_du_certificat"))?,
    );
    for (ours, theirs) in TEXTS.iter().skip(2) {
        data.insert((*ours).into(), text(record, theirs)?);
    }
    data.insert("qualifications".into(), qualifications(record.get("qualifications"))?);
    data.insert(
        "date_validite_qualifications".into(),
        date(record.get("date_de_validite_des_qualification"))?,
    );
    data.insert(
        "qualifications_probatoires".into(),
        qualifications(record.get("qualifications_probatoires"))?,
    );
    let probation = match record.get("date_de_validite_des_qualifications_probatoires") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        some => date(some)?,
    };
    data.insert("date_validite_qualifications_probatoires".into(), probation);
    Ok(Value::Object(data))
}

fn text(record: &Map<String, Value>, member: &str) -> Result<Value, Failure> {
    match record.get(member) {
        Some(value @ Value::String(_)) => Ok(value.clone()),
        _ => Err(Failure::Unknown),
    }
}

/// `15/06/2021` → `2021-06-15`.
fn date(value: Option<&Value>) -> Result<Value, Failure> {
    let raw = value.and_then(Value::as_str).ok_or(Failure::Unknown)?;
    let day = NaiveDate::parse_from_str(raw, "%d/%m/%Y").map_err(|_| Failure::Unknown)?;
    Ok(Value::from(day.format("%Y-%m-%d").to_string()))
}

fn qualifications(value: Option<&Value>) -> Result<Value, Failure> {
    let list = value.and_then(Value::as_array).ok_or(Failure::Unknown)?;
    list.iter()
        .map(qualification)
        .collect::<Result<Vec<_>, _>>()
        .map(Value::from)
}

fn qualification(item: &Value) -> Result<Value, Failure> {
    let item = item.as_object().ok_or(Failure::Unknown)?;
    let rge = match item.get("rge").and_then(Value::as_str) {
        Some("1") => true,
        Some("0") => false,
        _ => return Err(Failure::Unknown),
    };
    let mut out = Map::new();
    out.insert("nom".into(), text(item, "Nom")?);
    out.insert("code_qualification".into(), text(item, "CodeQualification")?);
    out.insert("definition".into(), text(item, "Definition")?);
    out.insert("rge".into(), Value::from(rge));
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recorded() -> Value {
        json!({"numero_certificat": "12 34 5678", "date_de_delivrance_du_certificat": "15/06/2021",
            "duree_de_validite_du_certificat": "valable un an", "assurance": "ANONYME",
            "url": "https://www.opqibi.com/fiche/9876",
            "qualifications": [{"CodeQualification": "2001", "Nom": "N", "Definition": "D", "rge": "1"}],
            "date_de_validite_des_qualification": "15/06/2024", "qualifications_probatoires": [],
            "date_de_validite_des_qualifications_probatoires": ""})
    }

    #[test]
    fn dates_become_iso_and_rge_a_boolean() {
        let data = certificate(recorded().to_string().as_bytes()).unwrap();
        assert_eq!(data["date_delivrance_certificat"], "2021-06-15");
        assert_eq!(data["date_validite_qualifications"], "2024-06-15");
        assert_eq!(data["date_validite_qualifications_probatoires"], Value::Null);
        assert_eq!(data["qualifications"][0]["rge"], json!(true));
        assert_eq!(data["qualifications"][0]["code_qualification"], "2001");
    }

    #[test]
    fn an_odd_date_or_flag_is_refused() {
        let mut odd = recorded();
        odd["date_de_delivrance_du_certificat"] = json!("2021-06-15");
        assert_eq!(certificate(odd.to_string().as_bytes()), Err(Failure::Unknown));
        let mut odd = recorded();
        odd["qualifications"][0]["rge"] = json!(1);
        assert_eq!(certificate(odd.to_string().as_bytes()), Err(Failure::Unknown));
    }
}
