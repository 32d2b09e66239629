//! Qualifelec's certificates → the contract's collection: each certificate its own
//! `{data, links, meta}`, Unix-second dates made calendar days in Europe/Paris (where
//! Qualifelec writes midnights), the document link passed through as it comes.

use chrono::DateTime;
use chrono_tz::Europe::Paris;
use passerelle_bouquet::Fetched;
use serde_json::{json, Map, Value};

use super::Failure;

/// The answer of a 200: a non-empty list of certificates, `meta.count` their number.
pub fn certificates(body: &[u8]) -> Result<Fetched, Failure> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let list = answer.as_array().ok_or(Failure::Unknown)?;
    if list.is_empty() {
        return Err(Failure::NoCertificate);
    }
    let items = list.iter().map(certificate).collect::<Result<Vec<_>, _>>()?;
    let mut fetched = Fetched::from(Value::from(items));
    fetched.meta.insert("count".into(), Value::from(list.len()));
    Ok(fetched)
}

fn certificate(item: &Value) -> Result<Value, Failure> {
    let item = item.as_object().ok_or(Failure::Unknown)?;
    let url = item.get("url").and_then(Value::as_str).ok_or(Failure::Unknown)?;
    let numero = item.get("num").filter(|n| n.is_number()).ok_or(Failure::Unknown)?;
    let rge = item.get("rge").and_then(Value::as_bool).ok_or(Failure::Unknown)?;
    let data = json!({
        "document_url": url,
        "numero": numero,
        "rge": rge,
        "date_debut": day(item, "start_date")?,
        "date_fin": day(item, "end_date")?,
        "qualification": qualification(item)?,
        "assurance_decennale": insurance(item, "decennial_insurance")?,
        "assurance_civile": insurance(item, "liability_insurance")?,
    });
    Ok(json!({"data": data, "links": {}, "meta": {}}))
}

fn qualification(item: &Map<String, Value>) -> Result<Value, Failure> {
    Ok(json!({
        "label": text(item, "label")?,
        "date_debut": day(item, "qualification_start_date")?,
        "date_fin": day(item, "qualification_end_date")?,
        "indices": labelled(item, "indexes")?,
        "mentions": labelled(item, "mentions")?,
        "domaines": labelled(item, "domains")?,
        "classification": classification(item.get("classification"))?,
    }))
}

/// `{code, label}`; Qualifelec sends `[]` (or nothing) when there is none.
fn classification(value: Option<&Value>) -> Result<Value, Failure> {
    match value {
        Some(Value::Object(c)) => Ok(json!({"code": c.get("code"), "label": c.get("label")})),
        None | Some(Value::Null) => Ok(json!({"code": null, "label": null})),
        Some(Value::Array(a)) if a.is_empty() => Ok(json!({"code": null, "label": null})),
        Some(_) => Err(Failure::Unknown),
    }
}

/// A list of `{code, label}` (indexes, mentions, domains).
fn labelled(item: &Map<String, Value>, member: &str) -> Result<Value, Failure> {
    let list = item.get(member).and_then(Value::as_array).ok_or(Failure::Unknown)?;
    list.iter()
        .map(|entry| {
            let entry = entry.as_object().ok_or(Failure::Unknown)?;
            Ok(json!({"code": entry.get("code"), "label": entry.get("label")}))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::from)
}

fn insurance(item: &Map<String, Value>, member: &str) -> Result<Value, Failure> {
    Ok(json!({
        "nom": text(item, member)?,
        "date_debut": day(item, &format!("{member}_start_date"))?,
        "date_fin": day(item, &format!("{member}_end_date"))?,
    }))
}

/// A text, or null when absent or null.
fn text(item: &Map<String, Value>, member: &str) -> Result<Value, Failure> {
    match item.get(member) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(value @ Value::String(_)) => Ok(value.clone()),
        Some(_) => Err(Failure::Unknown),
    }
}

/// Unix seconds → the day in Paris (1666130400 → 2022-10-19); null stays null.
fn day(item: &Map<String, Value>, member: &str) -> Result<Value, Failure> {
    match item.get(member) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::Number(n)) => {
            let seconds = n.as_i64().ok_or(Failure::Unknown)?;
            let at = DateTime::from_timestamp(seconds, 0).ok_or(Failure::Unknown)?;
            Ok(Value::from(at.with_timezone(&Paris).format("%Y-%m-%d").to_string()))
        }
        Some(_) => Err(Failure::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_paris_days_and_an_empty_list_has_no_certificate() {
        let body = br#"[{"url": "https://q.example/1.pdf", "num": 1, "rge": true,
            "start_date": 1666130400, "end_date": null, "label": "L",
            "qualification_start_date": 1698620400, "qualification_end_date": 1792274400,
            "classification": [], "indexes": [], "mentions": [], "domains": []}]"#;
        let fetched = certificates(body).unwrap();
        let data = &fetched.data[0]["data"];
        assert_eq!(data["date_debut"], "2022-10-19");
        assert_eq!(data["date_fin"], Value::Null);
        assert_eq!(data["qualification"]["date_debut"], "2023-10-30");
        assert_eq!(
            data["qualification"]["classification"],
            json!({"code": null, "label": null})
        );
        assert_eq!(
            data["assurance_civile"],
            json!({"nom": null, "date_debut": null, "date_fin": null})
        );
        assert_eq!(fetched.meta["count"], 1);
        assert_eq!(certificates(b"[]").unwrap_err(), Failure::NoCertificate);
    }
}
