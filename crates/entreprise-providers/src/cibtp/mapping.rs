//! The CIBTP's answer → the contract's answer: the PDF becomes a stored document that
//! lives ten minutes, its link and lifetime written by the gateway into `data`
//! (`document_url`, `expires_in`).

use passerelle_bouquet::{Attachment, Fetched};
use serde_json::json;

use super::Failure;
use crate::cnetp::is_whole_pdf;

/// The stored document's name and lifetime (§18, §25.3).
const FILE_NAME: &str = "certificat_cibtp.pdf";
pub const LIFETIME_SECS: u64 = 600;

/// The answer of one status: the attestation on 200, the reference's failures else.
/// The JSON bodies of the refusals say nothing the status does not.
pub fn answer(status: u16, body: Vec<u8>) -> Result<Fetched, Failure> {
    match status {
        200 if is_whole_pdf(&body) => Ok(with_document(body)),
        200 => Err(Failure::NotPdf),
        404 => Err(Failure::NotFound),
        422 => Err(Failure::Unpaid),
        409 | 500 => Err(Failure::Internal),
        _ => Err(Failure::Unknown),
    }
}

fn with_document(bytes: Vec<u8>) -> Fetched {
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
