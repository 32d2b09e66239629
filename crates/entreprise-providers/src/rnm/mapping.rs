//! The register's flat record → the contract's `data`: only the two members the v3
//! contract gives out; the forty others (people included) are never read.

use serde_json::{json, Map, Value};

use super::Failure;

/// The record of a 200 answer. A record counts when its `id` is present and not
/// empty (a number in the recordings); the two members must be texts.
pub fn entreprise(body: &[u8]) -> Result<Value, Failure> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let record = answer.as_object().ok_or(Failure::Unknown)?;
    if !has_id(record) {
        return Err(Failure::Unknown);
    }
    Ok(json!({
        "modalite_exercice": text(record, "ent_act_modalite_exercice")?,
        "non_sedentaire": text(record, "ent_act_non_sedentaire")?,
    }))
}

fn has_id(record: &Map<String, Value>) -> bool {
    match record.get("id") {
        Some(Value::Number(_)) => true,
        Some(Value::String(id)) => !id.is_empty(),
        _ => false,
    }
}

fn text<'a>(record: &'a Map<String, Value>, member: &str) -> Result<&'a str, Failure> {
    record.get(member).and_then(Value::as_str).ok_or(Failure::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_id_counts_unless_empty() {
        let record = br#"{"id": "A1", "ent_act_modalite_exercice": "S", "ent_act_non_sedentaire": "1"}"#;
        assert_eq!(
            entreprise(record).unwrap(),
            json!({"modalite_exercice": "S", "non_sedentaire": "1"})
        );
        let empty = br#"{"id": "", "ent_act_modalite_exercice": "S", "ent_act_non_sedentaire": "1"}"#;
        assert_eq!(entreprise(empty), Err(Failure::Unknown));
        let null = br#"{"id": 3, "ent_act_modalite_exercice": null, "ent_act_non_sedentaire": "1"}"#;
        assert_eq!(entreprise(null), Err(Failure::Unknown));
    }
}
