//! PRO BTP's answers → the contract's `data`. Both services answer
//! `{"entete": {"code", "message"?}, …}`: the conformité's `corps` is a sentence whose
//! first two digits tell the eligibility, the attestation's `data` the PDF in base64.

use base64::Engine;
use passerelle_bouquet::{Attachment, Fetched};
use serde_json::{json, Value};

use super::Failure;
use crate::pdf;

const FILE_NAME: &str = "attestation_cotisation_retraite_probtp.pdf";
/// The stored attestation lives a day.
const LIFETIME_SECS: u64 = 86_400;

/// The body of an answer PRO BTP accepted (`entete.code` other than 4 and 8), or why
/// there is none. A body without a string `entete.code` is `09999`.
pub fn read(status: u16, body: &[u8]) -> Result<Value, Failure> {
    if status == 500 {
        return Err(Failure::Internal);
    }
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let code = answer
        .get("entete")
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .ok_or(Failure::Unknown)?;
    match code {
        "4" => Err(Failure::Provider(message(&answer))),
        "8" => Err(Failure::NotFound),
        _ if status != 200 => Err(Failure::Unknown),
        _ => Ok(answer),
    }
}

fn message(answer: &Value) -> String {
    answer["entete"]["message"].as_str().unwrap_or_default().to_string()
}

/// `eligible`: true for a `corps` starting with `00`, false with `01`, null otherwise.
pub fn conformity(answer: &Value) -> Value {
    let eligible = match answer.get("corps").and_then(Value::as_str) {
        Some(corps) if corps.starts_with("00") => json!(true),
        Some(corps) if corps.starts_with("01") => json!(false),
        _ => Value::Null,
    };
    json!({ "eligible": eligible })
}

/// The attestation as an attachment the gateway stores and links in `document_url`
/// and `expires_in`. A missing `data` is `09999`.
pub fn attestation(answer: &Value) -> Result<Fetched, Failure> {
    let encoded = answer.get("data").and_then(Value::as_str).ok_or(Failure::Unknown)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Failure::Base64)?;
    if !pdf::is_pdf(&bytes) {
        return Err(Failure::NotPdf);
    }
    let mut fetched = Fetched::from(json!({}));
    fetched.attachments.push(Attachment {
        url_member: "document_url",
        expiry_member: "expires_in",
        file_name: FILE_NAME,
        content_type: "application/pdf",
        bytes,
        lifetime_secs: LIFETIME_SECS,
    });
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_json(status: u16, body: Value) -> Result<Value, Failure> {
        read(status, body.to_string().as_bytes())
    }

    #[test]
    fn the_first_two_digits_tell_the_eligibility() {
        let corps = |c: &str| conformity(&json!({"entete": {"code": "0"}, "corps": c}));
        assert_eq!(corps("00 Compte éligible"), json!({"eligible": true}));
        assert_eq!(corps("01 Compte non éligible"), json!({"eligible": false}));
        assert_eq!(corps("02 Autre"), json!({"eligible": null}));
        assert_eq!(conformity(&json!({"entete": {"code": "2"}})), json!({"eligible": null}));
    }

    #[test]
    fn the_header_code_decides_before_the_status() {
        let refused = json!({"entete": {"code": "4", "message": "Indisponible"}});
        assert_eq!(read_json(200, refused), Err(Failure::Provider("Indisponible".into())));
        assert_eq!(read_json(200, json!({"entete": {"code": "8"}})), Err(Failure::NotFound));
        assert_eq!(read_json(500, json!({"entete": {"code": "0"}})), Err(Failure::Internal));
        assert_eq!(read_json(400, json!({"entete": {"code": "0"}})), Err(Failure::Unknown));
        assert!(read_json(200, json!({"entete": {"code": "7"}})).is_ok());
        assert_eq!(read(200, b"<html>"), Err(Failure::Unknown));
    }

    #[test]
    fn the_attestation_must_be_strict_base64_of_a_pdf() {
        let with = |data: &str| attestation(&json!({"entete": {"code": "0"}, "data": data}));
        assert_eq!(with("JVBER i0=").unwrap_err(), Failure::Base64);
        assert_eq!(with("PGh0bWw+").unwrap_err(), Failure::NotPdf);
        let fetched = with("JVBERi0xLjQK").unwrap();
        assert_eq!(fetched.attachments[0].bytes, b"%PDF-1.4\n");
        assert_eq!(fetched.attachments[0].file_name, FILE_NAME);
        assert_eq!(
            attestation(&json!({"entete": {"code": "0"}})).unwrap_err(),
            Failure::Unknown
        );
    }
}
