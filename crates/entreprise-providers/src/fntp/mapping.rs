//! FNTP's answer → the contract: the status decides, and a 200 must carry a PDF, which
//! goes out as the gateway's stored document.

use passerelle_bouquet::{Attachment, Fetched};
use serde_json::json;

use super::Failure;

/// The stored document's name and lifetime (§25.3).
const FILE_NAME: &str = "carte_professionnelle_fntp.pdf";
const LIFETIME_SECS: u64 = 86_400;

/// The card's bytes of an answer (502, 503, 504 and redirects are decided before).
pub fn card(status: u16, body: Vec<u8>) -> Result<Vec<u8>, Failure> {
    match status {
        200 if crate::pdf::is_pdf(&body) => Ok(body),
        200 => Err(Failure::NotPdf),
        404 => Err(Failure::NotFound),
        500 => Err(Failure::Internal),
        _ => Err(Failure::Unknown),
    }
}

/// v3's `data` is the link and its lifetime, both written by the gateway.
pub fn answer(bytes: Vec<u8>) -> Fetched {
    let mut fetched = Fetched::from(json!({}));
    fetched.attachments.push(Attachment {
        url_member: "document_url",
        expiry_member: "expires_in",
        file_name: FILE_NAME,
        content_type: "application/pdf",
        bytes,
        lifetime_secs: LIFETIME_SECS,
    });
    fetched
}
