//! What v4 reads from the attestation itself: the security code (the first text of
//! exactly fifteen capital letters or digits) and the date the company is up to date
//! at ("à la date du dd/mm/yyyy", or for micro-entrepreneurs "… professionnelle - CFP)
//! [exigibles ]au dd/mm/yyyy"). A document where they cannot be found gives nulls,
//! never an error: the attestation itself is still delivered.
//!
//! The real gateway reads the code on page 1 and the date on page 2; we read the
//! content streams in file order, where both come first in the real documents.

use chrono::NaiveDate;

use crate::pdf;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Read {
    pub code_securite: Option<String>,
    pub date_debut_validite: Option<NaiveDate>,
}

/// The sentences the date follows, blanks aside.
const DATE_INTRODUCTIONS: [&str; 3] = [
    "à la date du",
    "professionnelle - CFP) exigibles au",
    "professionnelle - CFP) au",
];

/// One stream at a time, each dropped once looked at, and none after both are found:
/// the images and fonts that follow the text are never inflated.
pub fn read(document: &[u8]) -> Read {
    let mut read = Read::default();
    for content in pdf::streams(document) {
        if read.code_securite.is_none() {
            read.code_securite = security_code(&content);
        }
        if read.date_debut_validite.is_none() {
            read.date_debut_validite = up_to_date_at(&pdf::shown_text(&content));
        }
        if read.code_securite.is_some() && read.date_debut_validite.is_some() {
            break;
        }
    }
    read
}

fn security_code(content: &[u8]) -> Option<String> {
    pdf::strings(content).into_iter().find_map(|string| {
        let trimmed = string.trim_ascii();
        let is_code = trimmed.len() == 15 && trimmed.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        is_code.then(|| String::from_utf8_lossy(trimmed).into_owned())
    })
}

/// The first `dd/mm/yyyy` right after one of the introductions, in text without blanks.
fn up_to_date_at(text: &[u8]) -> Option<NaiveDate> {
    DATE_INTRODUCTIONS.iter().find_map(|introduction| {
        let pattern = pdf::pattern(introduction);
        let at = pdf::position(text, &pattern)? + pattern.len();
        let raw = std::str::from_utf8(text.get(at..at + 10)?).ok()?;
        NaiveDate::parse_from_str(raw, "%d/%m/%Y").ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Expected {
        code_securite: String,
        date_debut_validite: NaiveDate,
    }

    #[derive(Deserialize)]
    struct Extraction {
        file: String,
        expected: Expected,
    }

    #[derive(Deserialize)]
    struct Extractions {
        cases: Vec<Extraction>,
    }

    fn check(document: &[u8], expected: &Expected) {
        let read = read(document);
        assert_eq!(read.code_securite.as_deref(), Some(expected.code_securite.as_str()));
        assert_eq!(read.date_debut_validite, Some(expected.date_debut_validite));
    }

    fn expected(code: &str, date: &str) -> Expected {
        Expected {
            code_securite: code.into(),
            date_debut_validite: date.parse().unwrap(),
        }
    }

    /// The real service's three test attestations, read as its own tests expect
    /// (`expected_extractions.json`, copied beside them).
    #[test]
    fn the_real_attestations_are_read() {
        let extractions: Extractions = serde_json::from_str(include_str!("pdfs/expected_extractions.json")).unwrap();
        let mut checked = 0;
        for case in &extractions.cases {
            let document: &[u8] = match case.file.as_str() {
                "basic.pdf" => include_bytes!("pdfs/basic.pdf"),
                "valid_multiple_extra_pages.pdf" => include_bytes!("pdfs/valid_multiple_extra_pages.pdf"),
                "hospital_bug_on_period.pdf" => include_bytes!("pdfs/hospital_bug_on_period.pdf"),
                _ => continue,
            };
            check(document, &case.expected);
            checked += 1;
        }
        assert_eq!(checked, 3);
    }

    /// Our stand-in for the withheld micro-entrepreneur attestation, with the values
    /// the real service's tests expect from it; and the sandbox company's.
    #[test]
    fn the_micro_entrepreneur_wording_is_read() {
        check(
            include_bytes!("pdfs/micro_entrepreneur.pdf"),
            &expected("KCT3ZDTCBLMHIEK", "2022-12-31"),
        );
        check(
            include_bytes!("pdfs/sandbox_000000001.pdf"),
            &expected("YAB458G1B2T8IZW", "2023-01-31"),
        );
    }

    #[test]
    fn a_document_without_text_gives_nothing() {
        assert_eq!(read(include_bytes!("pdfs/unreadable.pdf")), Read::default());
        assert_eq!(read(b"%PDF-1.4 garbage"), Read::default());
    }

    #[test]
    fn a_malformed_date_is_no_date() {
        assert_eq!(up_to_date_at(b"\xe0ladatedu31/02/2023."), None);
        assert_eq!(up_to_date_at(b"\xe0ladatedu3"), None);
        assert_eq!(
            up_to_date_at(b"professionnelle-CFP)au01/03/2023"),
            NaiveDate::from_ymd_opt(2023, 3, 1)
        );
    }
}
