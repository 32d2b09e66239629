//! DGFIP's refusal page, told from an attestation by its sentence (read with the
//! crate's shared PDF reader).

use crate::pdf;

pub use crate::pdf::is_pdf;

/// The sentence of the page DGFIP sends instead of an attestation.
const REFUSAL: &str = "Impossible de délivrer votre attestation de régularité fiscale";

/// Whether the document says the attestation cannot be delivered.
pub fn is_refusal(bytes: &[u8]) -> bool {
    let pattern = pdf::pattern(REFUSAL);
    pdf::streams(bytes).any(|content| pdf::position(&pdf::shown_text(&content), &pattern).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_page_is_told_from_attestations() {
        assert!(is_refusal(include_bytes!("pdfs/not_delivered.pdf")));
        assert!(!is_refusal(include_bytes!("pdfs/basic.pdf")));
    }

    /// An uncompressed one-stream document whose first word is `first`.
    fn page(first: &str) -> Vec<u8> {
        let content = format!("BT [ ({first}) -278 (de) -278 (d\\351livrer) ] TJ ");
        [
            b"1 0 obj << /Length 9 >>\nstream\n".as_slice(),
            content.as_bytes(),
            b"(votre attestation de r\x8egularit\\216 fiscale) Tj ET\nendstream",
        ]
        .concat()
    }

    #[test]
    fn escapes_accents_and_split_words_are_read() {
        assert!(is_refusal(&page("Impossible")));
        assert!(!is_refusal(&page("Possible")));
    }
}
