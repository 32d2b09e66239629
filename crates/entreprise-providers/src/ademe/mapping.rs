//! A page of the dataset's lines → the contract's collection of certificates. Only
//! the first page is read (`next` is ignored, as the real gateway does); the
//! certificate's page `url` is passed through.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::Failure;

/// The items of a 200 answer; no line is "not found".
pub fn certificats(body: &[u8]) -> Result<Value, Failure> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let lines = answer
        .get("results")
        .and_then(Value::as_array)
        .ok_or(Failure::Unknown)?;
    if lines.is_empty() {
        return Err(Failure::NotFound);
    }
    let items = lines.iter().map(item).collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(items))
}

/// One line: `_id`, `traitement_termine` and `_updatedAt` are required; the texts
/// may be absent or null.
fn item(line: &Value) -> Result<Value, Failure> {
    let line = line.as_object().ok_or(Failure::Unknown)?;
    let id = line.get("_id").and_then(Value::as_str).ok_or(Failure::Unknown)?;
    let archived = line
        .get("traitement_termine")
        .and_then(Value::as_bool)
        .ok_or(Failure::Unknown)?;
    Ok(json!({
        "data": {
            "url": text(line, "url_qualification")?,
            "nom_certificat": text(line, "nom_certificat")?,
            "domaine": text(line, "domaine")?,
            "meta_domaine": text(line, "meta_domaine")?,
            "qualification": {
                "code": text(line, "code_qualification")?,
                "nom": text(line, "nom_qualification")?,
            },
            "organisme": text(line, "organisme")?,
            "date_attribution": text(line, "lien_date_debut")?,
            "date_expiration": text(line, "lien_date_fin")?,
            "meta": {
                "internal_id": id,
                "updated_at": updated_at(line)?,
                "archived": archived,
            },
        },
        "links": {},
        "meta": {},
    }))
}

fn text<'a>(line: &'a Map<String, Value>, member: &str) -> Result<Option<&'a str>, Failure> {
    match line.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Failure::Unknown),
    }
}

/// `_updatedAt` is an ISO timestamp (UTC); its day.
fn updated_at(line: &Map<String, Value>) -> Result<String, Failure> {
    let raw = line.get("_updatedAt").and_then(Value::as_str).ok_or(Failure::Unknown)?;
    let day = raw.get(..10).ok_or(Failure::Unknown)?;
    let parsed = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| Failure::Unknown)?;
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_texts_are_null_and_no_line_is_not_found() {
        let line = br#"{"results": [{"_id": "Q1", "traitement_termine": false,
            "_updatedAt": "2022-03-30T04:11:53.153Z", "organisme": "qualifelec", "domaine": null}]}"#;
        let items = certificats(line).unwrap();
        assert_eq!(items[0]["data"]["organisme"], "qualifelec");
        assert_eq!(items[0]["data"]["domaine"], Value::Null);
        assert_eq!(items[0]["data"]["qualification"], json!({"code": null, "nom": null}));
        assert_eq!(items[0]["data"]["meta"]["updated_at"], "2022-03-30");
        assert_eq!(certificats(br#"{"total": 0, "results": []}"#), Err(Failure::NotFound));
        let bad_day = br#"{"results": [{"_id": "Q1", "traitement_termine": false, "_updatedAt": "hier"}]}"#;
        assert_eq!(certificats(bad_day), Err(Failure::Unknown));
    }
}
