//! The CNETP's answer → the contract's answer: the PDF becomes a stored document whose
//! link and lifetime the gateway writes into `data` (`document_url`, `expires_in`).

use passerelle_bouquet::{Attachment, Fetched};
use serde_json::json;

use super::Failure;

/// The stored document's name and lifetime (§25.3).
const FILE_NAME: &str = "certificat_cnetp.pdf";
const LIFETIME_SECS: u64 = 86_400;

/// How far from the end a PDF's closing `%%EOF` may sit (trailing blanks, junk some
/// writers add): the readers' usual tolerance.
const EOF_WINDOW: usize = 1024;

/// Whether `bytes` hold a whole PDF: the header first and the end marker near the end.
/// The real gateway sniffs the header only; a document cut short would be stored and
/// handed out unreadable, so we refuse it too.
pub fn is_whole_pdf(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(EOF_WINDOW)..];
    crate::pdf::is_pdf(bytes) && tail.windows(5).any(|w| w == b"%%EOF")
}

/// The answer of one status: the attestation on 200, the reference's failures else.
pub fn answer(status: u16, body: Vec<u8>) -> Result<Fetched, Failure> {
    match status {
        200 if is_whole_pdf(&body) => Ok(with_document(body)),
        200 => Err(Failure::NotPdf),
        404 => Err(Failure::NotFound),
        401 => Err(Failure::Refused),
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
