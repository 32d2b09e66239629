//! URSSAF's answer → the contract. The body alone decides (its status says little: a
//! 400 can be "not found"): a JSON array of `{code, message, description}` is an error
//! or the refusal to deliver, anything else must be the PDF in strict base64.

use base64::Engine;
use chrono::{Datelike, Months, NaiveDate};
use passerelle_bouquet::{Attachment, Fetched};
use serde_json::{json, Map, Value};

use super::attestation;
use super::errors::{self, Failure};
use crate::pdf;

/// What a readable answer holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The attestation, decoded.
    Document(Vec<u8>),
    /// `FUNC502`: the account's situation does not allow delivering it.
    Refusal(Value),
}

/// The text of URSSAF's HTML error page.
const SERVER_ERROR: &str = "Une erreur est survenue sur le serveur";

/// Reads one answer, checks in the order the real gateway runs them. The base64 is
/// checked at reading on v4; v3 finds a bad one when decoding the document (another
/// code).
pub fn read(status: u16, body: &[u8], version: u8) -> Result<Answer, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::Internal(errors::EMPTY_BODY));
    }
    if status == 404 && contains(body, SERVER_ERROR.as_bytes()) {
        return Err(Failure::Internal(errors::SERVER_ERROR_PAGE));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => return error_array(items),
        Ok(_) => return Err(Failure::Unknown(None)),
        Err(_) => {}
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(body).map_err(|_| {
        if version >= 4 {
            Failure::Unknown(None)
        } else {
            Failure::Base64
        }
    })?;
    document(bytes)
}

/// The last check, on the decoded bytes (`body` decodes them as they arrive).
pub fn document(bytes: Vec<u8>) -> Result<Answer, Failure> {
    if !pdf::is_pdf(&bytes) {
        return Err(Failure::NotPdf);
    }
    Ok(Answer::Document(bytes))
}

fn contains(body: &[u8], needle: &[u8]) -> bool {
    body.windows(needle.len()).any(|w| w == needle)
}

/// The error array's meaning; `FUNC502` is the refusal, which only v3 treats as an error.
fn error_array(items: Vec<Value>) -> Result<Answer, Failure> {
    let codes: Vec<String> = items
        .iter()
        .filter_map(|item| item.get("code").and_then(Value::as_str).map(String::from))
        .collect();
    let has = |wanted: &[&str]| codes.iter().any(|c| wanted.contains(&c.as_str()));
    let errors = Value::Array(items);
    Err(if has(&["FUNC503"]) {
        Failure::ManualReview(errors)
    } else if has(&["FUNC504"]) {
        Failure::SoftwareProcessing(errors)
    } else if has(&["FUNC429"]) {
        tracing::warn!(provider = errors::ACOSS.name, "URSSAF rate-limits the gateway");
        Failure::RateLimited(errors)
    } else if has(&[
        "FUNC510", "FUNC511", "FUNC512", "FUNC513", "FUNC514", "FUNC515", "FUNC516",
    ]) {
        Failure::Internal(errors::TECHNICAL_CODE)
    } else if has(&["FUNC501", "FUNC517"]) {
        Failure::NotFound(errors)
    } else if has(&["FUNC502"]) {
        return Ok(Answer::Refusal(errors));
    } else {
        Failure::Unknown(Some(errors))
    })
}

/// v4's `entity_status` when the attestation is delivered.
fn delivered() -> Value {
    json!({
        "code": "ok",
        "libelle": "Attestation délivrée par l'Urssaf",
        "description": "La délivrance de l'attestation de vigilance a été validée par l'Urssaf. L'attestation est délivrée lorsque l'entité est à jour de ses cotisations et contributions, ou bien dans le cas de situations spécifiques détaillées dans la documentation métier.",
    })
}

/// v4's `entity_status` on `FUNC502` (the libellé is ours: the reference does not give it).
fn refused() -> Value {
    json!({
        "code": "refus_de_delivrance",
        "libelle": "Attestation refusée par l'Urssaf",
        "description": "La délivrance de l'attestation de vigilance a été refusée par l'Urssaf car l'entité n'est pas à jour de ses cotisations sociales.",
    })
}

/// The stored document's name and lifetime (§25.3).
const FILE_NAME: &str = "attestation-vigilance-urssaf.pdf";
const LIFETIME_SECS: u64 = 86_400;

/// The answer of one version. v3: the link only (a refusal is its `04503`). v4: the
/// link, the dates and security code read from the PDF, and the delivery status; a
/// refusal is a 200 with every document field null.
pub fn answer(read: Answer, version: u8) -> Result<Fetched, Failure> {
    match (read, version) {
        (Answer::Refusal(errors), 3) => Err(Failure::Refused(errors)),
        (Answer::Document(bytes), 3) => Ok(with_document(Fetched::from(json!({})), bytes, "expires_in")),
        (Answer::Refusal(_), _) => Ok(Fetched::from(v4_data(attestation::Read::default(), refused()))),
        (Answer::Document(bytes), _) => {
            let data = v4_data(attestation::read(&bytes), delivered());
            Ok(with_document(Fetched::from(data), bytes, "document_url_expires_in"))
        }
    }
}

fn with_document(mut fetched: Fetched, bytes: Vec<u8>, expiry_member: &'static str) -> Fetched {
    fetched.attachments.push(Attachment {
        url_member: "document_url",
        expiry_member,
        file_name: FILE_NAME,
        content_type: "application/pdf",
        bytes,
        lifetime_secs: LIFETIME_SECS,
    });
    fetched
}

/// v4's `data`, the document members first (null until the gateway writes the link,
/// which keeps their place).
fn v4_data(read: attestation::Read, entity_status: Value) -> Value {
    let start = read.date_debut_validite;
    let mut data = Map::new();
    data.insert("document_url".into(), Value::Null);
    data.insert("document_url_expires_in".into(), Value::Null);
    data.insert("date_debut_validite".into(), json!(start.map(day)));
    data.insert(
        "date_fin_validite".into(),
        json!(start.and_then(end_of_validity).map(day)),
    );
    data.insert("code_securite".into(), json!(read.code_securite));
    data.insert("entity_status".into(), entity_status);
    Value::Object(data)
}

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The last day of the month six months after the start.
fn end_of_validity(start: NaiveDate) -> Option<NaiveDate> {
    let month = start.with_day(1)? + Months::new(7);
    month.pred_opt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BASIC: &[u8] = include_bytes!("pdfs/basic.pdf");

    fn encoded(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn code(answer: Result<Answer, Failure>) -> String {
        match answer {
            Ok(_) => "no error".into(),
            Err(failure) => failure.into_error().code,
        }
    }

    #[test]
    fn validity_ends_on_the_last_day_of_the_sixth_month_after() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(end_of_validity(date(2023, 1, 31)), Some(date(2023, 7, 31)));
        assert_eq!(end_of_validity(date(2022, 12, 31)), Some(date(2023, 6, 30)));
        assert_eq!(end_of_validity(date(2023, 8, 31)), Some(date(2024, 2, 29)));
    }

    #[test]
    fn the_body_decides_not_the_status() {
        let not_found = r#"[{"code":"FUNC517","message":"Le Siren est inconnu","description":"inconnu"}]"#;
        assert_eq!(code(read(400, not_found.as_bytes(), 3)), "04003");
        assert_eq!(code(read(200, not_found.as_bytes(), 3)), "04003");
        let document = encoded(BASIC);
        assert_eq!(read(400, document.as_bytes(), 4), Ok(Answer::Document(BASIC.to_vec())));
        // The HTML page is URSSAF's internal error only with a 404.
        let page = format!("<html>{SERVER_ERROR}</html>");
        assert_eq!(code(read(404, page.as_bytes(), 4)), "04000");
        assert_eq!(code(read(500, page.as_bytes(), 4)), "04999");
        assert_eq!(code(read(500, page.as_bytes(), 3)), "04051");
    }

    #[test]
    fn codes_are_read_in_the_gateway_order() {
        let array = |codes: &[&str]| {
            let items: Vec<Value> = codes.iter().map(|c| json!({"code": c, "message": "m"})).collect();
            Value::Array(items).to_string()
        };
        let cases = [
            (vec!["FUNC517", "FUNC503"], "04501"),
            (vec!["FUNC504"], "04502"),
            (vec!["FUNC501", "FUNC429"], "04008"),
            (vec!["FUNC516", "FUNC517"], "04000"),
            (vec!["FUNC502", "FUNC501"], "04003"),
            (vec!["FUNC502"], "04503"),
            (vec!["FUNC999"], "04999"),
            (vec![], "04999"),
        ];
        for (codes, expected) in cases {
            let answer = read(400, array(&codes).as_bytes(), 3);
            let answer = answer.and_then(answer_code);
            assert_eq!(code(answer), expected, "{codes:?}");
        }
        assert_eq!(code(read(400, br#"{"code":"FUNC517"}"#, 3)), "04999");
        assert_eq!(code(read(200, b"  \n", 3)), "04000");
        assert_eq!(code(read(200, encoded(b"GIF89a").as_bytes(), 4)), "04055");
    }

    /// The v3 verdict on a refusal, to test the order with the other codes.
    fn answer_code(read: Answer) -> Result<Answer, Failure> {
        match read {
            Answer::Refusal(errors) => Err(Failure::Refused(errors)),
            document => Ok(document),
        }
    }

    #[test]
    fn the_refusal_is_an_error_on_v3_and_a_status_on_v4() {
        let errors = json!([{"code": "FUNC502"}]);
        let v3 = answer(Answer::Refusal(errors.clone()), 3).unwrap_err().into_error();
        assert_eq!((v3.code.as_str(), v3.status()), ("04503", 502));
        assert_eq!(v3.meta["provider_errors"], errors);
        let v4 = answer(Answer::Refusal(errors), 4).unwrap();
        assert!(v4.attachments.is_empty());
        assert_eq!(v4.data["entity_status"]["code"], "refus_de_delivrance");
        for member in [
            "document_url",
            "document_url_expires_in",
            "date_debut_validite",
            "date_fin_validite",
            "code_securite",
        ] {
            assert_eq!(v4.data[member], Value::Null, "{member}");
        }
    }

    proptest! {
        /// A body cut short (not a whole base64 text) or any bytes at all: never a
        /// panic; v4 says `04999` where v3 says `04051`, and never a document.
        #[test]
        fn incomplete_bodies_are_04999(cut in 1usize..4000, noise in proptest::collection::vec(any::<u8>(), 0..200)) {
            let full = encoded(BASIC);
            let cut = &full.as_bytes()[..(cut * 4 + 1).min(full.len() - 1)];
            prop_assert_eq!(code(read(200, cut, 4)), "04999");
            prop_assert_eq!(code(read(200, cut, 3)), "04051");
            if let Ok(Answer::Document(bytes)) = read(200, &noise, 4) {
                let _ = answer(Answer::Document(bytes), 4);
            }
        }
    }
}
