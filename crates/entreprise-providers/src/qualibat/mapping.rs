//! Qualibat's answer → the contract. Its status first (500, 404, other non-200), then
//! the 200's body: the PDF, the "not certified" JSON (`status_code` 404), or nothing.

use std::time::Duration;

use passerelle_bouquet::{Attachment, Fetched};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::certificate::{self, Read};
use super::errors::{Failure, QUALIBAT};
use crate::pdf;

/// The stored document's name and lifetime (§13).
const FILE_NAME: &str = "certificat_qualibat.pdf";
const LIFETIME_SECS: u64 = 86_400;

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: f64,
}

/// The bearer token and its lifetime from `POST /token`'s JSON.
pub fn token_answer(body: &[u8]) -> Result<(String, Duration), Failure> {
    let answer: TokenAnswer = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let lifetime = Duration::try_from_secs_f64(answer.expires_in).map_err(|_| Failure::Unknown)?;
    Ok((answer.access_token, lifetime))
}

/// The certificate's bytes, or the failure the answer means.
pub fn read(status: u16, body: Vec<u8>) -> Result<Vec<u8>, Failure> {
    match status {
        200 => {}
        500 => return Err(Failure::Internal),
        404 => return Err(Failure::NotFound),
        _ => return Err(Failure::Unknown),
    }
    if body.is_empty() {
        tracing::warn!(provider = QUALIBAT.name, "empty certificate");
        return Err(Failure::EmptyFile);
    }
    let said_not_found = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|answer| answer.get("status_code").and_then(Value::as_u64))
        == Some(404);
    if said_not_found {
        return Err(Failure::NotFound);
    }
    if !pdf::is_pdf(&body) {
        return Err(Failure::NotPdf);
    }
    Ok(body)
}

/// v3: the link only. v4: the link and what the PDF says; a PDF that cannot be read
/// still answers, its fields null and `meta.extractor_error` saying why.
pub fn answer(document: Vec<u8>, version: u8) -> Fetched {
    if version == 3 {
        return with_document(Fetched::from(json!({})), document, "expires_in");
    }
    let (data, error) = match certificate::read(&document) {
        Ok(read) => (v4_data(read), None),
        Err(error) => (v4_data(Read::default()), Some(error)),
    };
    let mut fetched = Fetched::from(data);
    if let Some(error) = error {
        fetched.meta.insert("extractor_error".into(), json!(error));
    }
    with_document(fetched, document, "document_url_expires_in")
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
fn v4_data(read: Read) -> Value {
    let mut data = Map::new();
    data.insert("document_url".into(), Value::Null);
    data.insert("document_url_expires_in".into(), Value::Null);
    data.insert("date_emission".into(), json!(read.date_emission));
    data.insert("date_fin_validite".into(), json!(read.date_fin_validite));
    data.insert(
        "entity".into(),
        json!({
            "assurance_responsabilite_travaux": read.travaux,
            "assurance_responsabilite_civile": read.civile,
            "certifications": read.certifications,
        }),
    );
    Value::Object(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SANDBOX: &[u8] = include_bytes!("pdfs/exemple-qualibat.pdf");

    fn code(answer: Result<Vec<u8>, Failure>) -> String {
        match answer {
            Ok(_) => "no error".into(),
            Err(failure) => failure.into_error().code,
        }
    }

    #[test]
    fn the_status_then_the_body_decide() {
        assert_eq!(code(read(500, SANDBOX.to_vec())), "06000");
        assert_eq!(code(read(404, Vec::new())), "06003");
        assert_eq!(code(read(403, SANDBOX.to_vec())), "06999");
        assert_eq!(code(read(200, Vec::new())), "06056");
        let not_certified = br#"{"status_code":404,"error":"Not Found","message":"Entreprise non certifiee"}"#;
        assert_eq!(code(read(200, not_certified.to_vec())), "06003");
        assert_eq!(code(read(200, br#"{"status_code":500}"#.to_vec())), "06055");
        assert_eq!(code(read(200, b"<html>oops</html>".to_vec())), "06055");
        assert_eq!(read(200, SANDBOX.to_vec()), Ok(SANDBOX.to_vec()));
    }

    #[test]
    fn an_unreadable_pdf_still_answers_with_null_fields() {
        let fetched = answer(b"%PDF-1.4\n%%EOF".to_vec(), 4);
        assert_eq!(fetched.meta["extractor_error"], "invalid_file");
        assert_eq!(fetched.data["date_emission"], Value::Null);
        assert_eq!(fetched.data["entity"]["certifications"], json!([]));
        assert_eq!(fetched.attachments.len(), 1);
    }

    proptest! {
        /// A token answer cut short is `06999`; a "not certified" answer cut short is
        /// not a PDF (`06055`), never a document; any bytes behind a PDF header are read
        /// without a panic.
        #[test]
        fn incomplete_bodies_are_06999(cut in 0usize..200, noise in proptest::collection::vec(any::<u8>(), 0..400)) {
            let token = br#"{"access_token":"eyJ.x.y","token_type":"bearer","expires_in":1800.0}"#;
            prop_assert!(token_answer(token).is_ok());
            let short = &token[..cut.min(token.len() - 1)];
            prop_assert_eq!(token_answer(short).unwrap_err().into_error().code, "06999");
            let not_certified = br#"{"status_code":404,"error":"Not Found","message":"Entreprise non certifiee"}"#;
            let short = &not_certified[..cut.min(not_certified.len() - 1)];
            let expected = if short.is_empty() { "06056" } else { "06055" };
            prop_assert_eq!(code(read(200, short.to_vec())), expected);
            let mut noisy = b"%PDF-1.4\n".to_vec();
            noisy.extend_from_slice(&noise);
            let _ = answer(noisy, 4);
            let cut_pdf = &SANDBOX[..(cut * 20).min(SANDBOX.len())];
            let _ = answer(cut_pdf.to_vec(), 4);
        }
    }
}
