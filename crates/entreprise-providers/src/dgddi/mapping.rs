//! The customs' answer → the contract's `data`: `{"EORI": {…}}`, its members renamed.

use serde_json::{Map, Value};

use super::Failure;

/// Contract member ← upstream member, for the text members.
const TEXTS: [(&str, &str); 6] = [
    ("code_pays", "codePays"),
    ("code_postal", "codePostal"),
    ("libelle", "libelle"),
    ("pays", "pays"),
    ("rue", "rue"),
    ("ville", "ville"),
];

/// The record of a 200 answer. `identifiant` and `actif` are required; the address
/// members are texts, absent or null ones given out as null.
pub fn eori(body: &[u8]) -> Result<Value, Failure> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let record = answer.get("EORI").and_then(Value::as_object).ok_or(Failure::Unknown)?;
    let id = record
        .get("identifiant")
        .and_then(Value::as_str)
        .ok_or(Failure::Unknown)?;
    let actif = record.get("actif").and_then(Value::as_bool).ok_or(Failure::Unknown)?;
    let mut data = Map::new();
    data.insert("id".into(), Value::from(id));
    data.insert("actif".into(), Value::from(actif));
    for (ours, theirs) in TEXTS {
        data.insert(ours.into(), text(record, theirs)?);
    }
    Ok(Value::Object(data))
}

fn text(record: &Map<String, Value>, member: &str) -> Result<Value, Failure> {
    match record.get(member) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(value @ Value::String(_)) => Ok(value.clone()),
        Some(_) => Err(Failure::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_address_members_are_null_and_odd_types_refused() {
        let partial = br#"{"EORI": {"identifiant": "ESX1", "actif": false, "libelle": "X", "rue": null}}"#;
        let data = eori(partial).unwrap();
        assert_eq!(data["actif"], json!(false));
        assert_eq!((&data["rue"], &data["ville"]), (&Value::Null, &Value::Null));
        let odd = br#"{"EORI": {"identifiant": "ESX1", "actif": true, "codePostal": 46011}}"#;
        assert_eq!(eori(odd), Err(Failure::Unknown));
        assert_eq!(
            eori(br#"{"EORI": {"identifiant": "ESX1", "actif": "true"}}"#),
            Err(Failure::Unknown)
        );
    }
}
