//! The service's answer → the contract's collection of conventions collectives.
//! The answer is an array holding one `{"siret", "conventions"}` object; each
//! convention becomes an item, its Légifrance `url` passed through.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::Failure;

/// The items of a 200 answer; no convention is the service's "unknown SIRET".
pub fn conventions(body: &[u8]) -> Result<Value, Failure> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let establishment = answer.as_array().and_then(|a| a.first()).ok_or(Failure::Unknown)?;
    let conventions = establishment
        .get("conventions")
        .and_then(Value::as_array)
        .ok_or(Failure::Unknown)?;
    if conventions.is_empty() {
        return Err(Failure::NotFound);
    }
    let items = conventions.iter().map(item).collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(items))
}

/// One convention: `id`, `num`, `title`, `shortTitle` and `active` are required; the
/// rest may be absent (a recorded convention has neither `etat` nor `date_publi`).
fn item(convention: &Value) -> Result<Value, Failure> {
    let convention = convention.as_object().ok_or(Failure::Unknown)?;
    let id = convention.get("id").and_then(Value::as_str).ok_or(Failure::Unknown)?;
    let num = convention.get("num").and_then(Value::as_u64).ok_or(Failure::Unknown)?;
    let active = convention
        .get("active")
        .and_then(Value::as_bool)
        .ok_or(Failure::Unknown)?;
    Ok(json!({
        "data": {
            "type": "convention_collective",
            "titre": trimmed(convention, "title")?,
            "titre_court": trimmed(convention, "shortTitle")?,
            "numero_idcc": num,
            "active": active,
            "etat": optional_text(convention, "etat")?.map(etat),
            "synonymes": synonymes(convention)?,
            "url": optional_text(convention, "url")?,
            "date_publication": date(convention)?,
        },
        "links": {},
        "meta": {"internal_id": id},
    }))
}

fn trimmed<'a>(convention: &'a Map<String, Value>, member: &str) -> Result<&'a str, Failure> {
    let text = convention.get(member).and_then(Value::as_str).ok_or(Failure::Unknown)?;
    Ok(text.trim())
}

fn optional_text<'a>(convention: &'a Map<String, Value>, member: &str) -> Result<Option<&'a str>, Failure> {
    match convention.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Failure::Unknown),
    }
}

/// The two upper-case states get the contract's names; others pass unchanged.
fn etat(raw: &str) -> &str {
    match raw {
        "VIGUEUR" => "vigueur",
        "VIGUEUR_ETEN" => "vigueur_etendue",
        other => other,
    }
}

fn synonymes(convention: &Map<String, Value>) -> Result<Value, Failure> {
    match convention.get("synonymes") {
        None | Some(Value::Null) => Ok(json!([])),
        Some(Value::Array(names)) if names.iter().all(Value::is_string) => Ok(Value::Array(names.clone())),
        Some(_) => Err(Failure::Unknown),
    }
}

/// `date_publi` is an ISO timestamp; its day, or null when absent.
fn date(convention: &Map<String, Value>) -> Result<Option<String>, Failure> {
    let Some(raw) = optional_text(convention, "date_publi")? else {
        return Ok(None);
    };
    let day = raw.get(..10).ok_or(Failure::Unknown)?;
    let parsed = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| Failure::Unknown)?;
    Ok(Some(parsed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_renamed_and_missing_members_defaulted() {
        let answer = br#"[{"siret": "1", "conventions": [
            {"id": "K1", "num": 54, "title": " T ", "shortTitle": "S", "active": false, "etat": "VIGUEUR"},
            {"id": "K2", "num": 55, "title": "T", "shortTitle": "S", "active": true, "etat": "ABROGE",
             "date_publi": "1963-03-25T00:00:00.000Z", "synonymes": ["x"]}]}]"#;
        let items = conventions(answer).unwrap();
        assert_eq!(items[0]["data"]["etat"], "vigueur");
        assert_eq!(items[0]["data"]["titre"], "T");
        assert_eq!(items[0]["data"]["synonymes"], json!([]));
        assert_eq!(items[0]["data"]["date_publication"], Value::Null);
        assert_eq!(items[0]["data"]["url"], Value::Null);
        assert_eq!(items[1]["data"]["etat"], "ABROGE");
        assert_eq!(items[1]["data"]["date_publication"], "1963-03-25");
    }

    #[test]
    fn no_convention_is_not_found_and_an_empty_array_unknown() {
        assert_eq!(
            conventions(br#"[{"siret": "1", "conventions": []}]"#),
            Err(Failure::NotFound)
        );
        assert_eq!(conventions(b"[]"), Err(Failure::Unknown));
        let bad_date = br#"[{"conventions": [{"id": "K", "num": 1, "title": "T", "shortTitle": "S",
            "active": true, "date_publi": "25/03/1963"}]}]"#;
        assert_eq!(conventions(bad_date), Err(Failure::Unknown));
    }
}
