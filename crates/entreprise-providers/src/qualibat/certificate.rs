//! What v4 reads in the certificate PDF, page by page (in the page tree's order) and
//! line by line: the dates on page 1, the two insurers, and the certifications listed
//! after "d'attribution" on the "CERTIFICAT QUALIBAT" pages. Qualibat's documents are
//! RC4-encrypted without a user password (`pdf` decrypts them); a line is what sits on
//! one baseline (`layout`), its columns apart, decoded as WinAnsi; searches compare
//! accent-free upper case.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use passerelle_core::translit::fold;
use serde::Serialize;

use super::layout;
use crate::pdf;

/// Qualibat's codes and their names (`nomenclature.json`, from the derive script).
const NOMENCLATURE: &str = include_str!("nomenclature.json");
/// The insurers a certificate may name (`insurers.json`).
const INSURERS: &str = include_str!("insurers.json");

/// The certificate kinds whose layout the real gateway does not read, with the
/// `extractor_error` prefix each one gives.
const SPECIAL_KINDS: &[(&str, &str)] = &[
    ("TRAITEMENT DE L'AMIANTE", "amiante"),
    ("MESURES DE LA PERMEABILITE A L'AIR", "permeabilite_air"),
    ("METALLERIE FEU", "metallerie_feu"),
    ("RESEAUX AERAULIQUES", "reseaux_aerauliques"),
    ("TRAITEMENT DES BOIS", "traitement_bois"),
    ("CORDISTES", "cordistes"),
    (
        "VERIFICATIONS ET MESURES DES SYSTEMES DE VENTILATION",
        "verification_mesures_systemes_ventilation",
    ),
];

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Insurance {
    pub nom: Option<String>,
    pub identifiant: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certification {
    pub code: String,
    pub libelle: Option<String>,
    pub rge: bool,
    pub date_attribution: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Read {
    pub date_emission: Option<String>,
    pub date_fin_validite: Option<String>,
    pub travaux: Insurance,
    pub civile: Insurance,
    pub certifications: Vec<Certification>,
}

/// What the document says, or the `extractor_error` explaining why nothing was read.
pub fn read(bytes: &[u8]) -> Result<Read, String> {
    let pages: Vec<Vec<String>> = pdf::pages(bytes)
        .iter()
        .map(|content| lines(content))
        .filter(|lines| !lines.is_empty())
        .collect();
    let Some(first) = pages.first() else {
        return Err("invalid_file".into());
    };
    let first_text = normal(&first.join("\n"));
    if let Some((_, kind)) = SPECIAL_KINDS.iter().find(|(title, _)| first_text.contains(title)) {
        return Err(format!("{kind}_pdf_not_supported"));
    }
    Ok(Read {
        date_emission: last_date(first, &["EDITE LE"]),
        date_fin_validite: last_date(first, &["VALABLE JUSQU'AU", "VALABLE DU", "VALIDITE DU"]),
        travaux: insurance(first, "ASSURANCE RESPONSABILITE TRAVAUX"),
        civile: insurance(first, "ASSURANCE RESPONSABILITE CIVILE"),
        certifications: certifications(&pages),
    })
}

/// Accent-free upper case, for every comparison.
fn normal(text: &str) -> String {
    fold(text).to_uppercase().replace('\u{2019}', "'")
}

/// WinAnsi bytes as text (the few C1 positions the certificates use, Latin-1 elsewhere).
fn decode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80 => '€',
            0x92 => '\u{2019}',
            0x96 => '–',
            0x9c => 'œ',
            other => char::from(other),
        })
        .collect()
}

/// The page's visual lines, decoded.
fn lines(content: &[u8]) -> Vec<String> {
    layout::lines(content).iter().map(|line| decode(line)).collect()
}

/// `dd/mm/yyyy` as `yyyy-mm-dd`.
fn iso_date(token: &str) -> Option<String> {
    let parts: Vec<&str> = token.split('/').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match parts[..] {
        [d, m, y] if digits(d, 2) && digits(m, 2) && digits(y, 4) => Some(format!("{y}-{m}-{d}")),
        _ => None,
    }
}

/// The last word of the first line holding one of `labels`, as a date.
fn last_date(lines: &[String], labels: &[&str]) -> Option<String> {
    let line = lines
        .iter()
        .find(|line| labels.iter().any(|label| normal(line).contains(label)))?;
    iso_date(line.split_whitespace().last()?)
}

fn insurers() -> &'static Vec<String> {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    LIST.get_or_init(|| serde_json::from_str(INSURERS).expect("the insurer list is valid"))
}

fn nomenclature() -> &'static BTreeMap<String, String> {
    static NAMES: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    NAMES.get_or_init(|| serde_json::from_str(NOMENCLATURE).expect("the nomenclature is valid"))
}

/// The insurer and policy named in one of the two lines after `heading`.
fn insurance(lines: &[String], heading: &str) -> Insurance {
    let Some(at) = lines
        .iter()
        .position(|line| normal(line).trim_end_matches([' ', ':']) == heading)
    else {
        return Insurance::default();
    };
    lines[at + 1..]
        .iter()
        .take(2)
        .find_map(|line| policy(line))
        .unwrap_or_default()
}

/// A line starting with a known insurer (the longest that fits), the rest its policy.
fn policy(line: &str) -> Option<Insurance> {
    let upper = line.to_uppercase();
    let name = insurers()
        .iter()
        .filter(|name| upper.starts_with(name.as_str()))
        .max_by_key(|name| name.len())?;
    // The policy ends where the line's next column (`Site Internet : …`) starts.
    let rest = line.get(name.len()..).unwrap_or_default();
    let rest = rest.split(layout::COLUMN).next().unwrap_or_default().trim();
    Some(Insurance {
        nom: Some(name.clone()),
        identifiant: (!rest.is_empty()).then(|| rest.to_string()),
    })
}

/// The certifications of every "CERTIFICAT QUALIBAT" page, in page order; an RGE
/// entry replaces a plain one with the same code and is listed with the RGE ones.
fn certifications(pages: &[Vec<String>]) -> Vec<Certification> {
    let mut found: Vec<Certification> = Vec::new();
    for page in pages {
        let is_certificate = page
            .iter()
            .take(6)
            .any(|line| normal(line).contains("CERTIFICAT QUALIBAT"));
        if !is_certificate {
            continue;
        }
        let rge = is_rge(page);
        for entry in page_entries(page, rge) {
            match found.iter().position(|known| known.code == entry.code) {
                // The RGE entry moves to the RGE ones, after the plain ones.
                Some(at) if entry.rge && !found[at].rge => {
                    found.remove(at);
                    found.push(entry);
                }
                Some(_) => {}
                None => found.push(entry),
            }
        }
    }
    found
}

/// A title line "CERTIFICAT QUALIBAT « RGE »".
fn is_rge(page: &[String]) -> bool {
    page.iter().map(|line| normal(line)).any(|line| {
        line.find("CERTIFICAT QUALIBAT")
            .is_some_and(|at| line[at..].contains("RGE"))
    })
}

fn page_entries(page: &[String], rge: bool) -> Vec<Certification> {
    let Some(header) = page.iter().position(|line| normal(line).contains("D'ATTRIBUTION")) else {
        return Vec::new();
    };
    page[header + 1..].iter().filter_map(|line| entry(line, rge)).collect()
}

/// A line that starts with a 2 to 4 digit code and holds a date.
fn entry(line: &str, rge: bool) -> Option<Certification> {
    let code = line.split_whitespace().next()?;
    if !(2..=4).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = line.split_whitespace().find_map(iso_date)?;
    Some(Certification {
        code: code.to_string(),
        libelle: nomenclature().get(code).cloned(),
        rge,
        date_attribution: date,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::{json, Value};

    use super::*;

    fn real(file: &str) -> Vec<u8> {
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/qualibat/pdfs");
        let path = if file == "one_page.pdf" {
            folder.join(file)
        } else {
            folder.join("real").join(file)
        };
        std::fs::read(path).unwrap()
    }

    fn as_json(read: &Read) -> Value {
        let certifications: Vec<Value> = read
            .certifications
            .iter()
            .map(|c| json!({"code": c.code, "rge": c.rge, "date_attribution": c.date_attribution}))
            .collect();
        json!({
            "date_emission": read.date_emission,
            "date_fin_validite": read.date_fin_validite,
            "entity": {
                "assurance_responsabilite_travaux": read.travaux,
                "assurance_responsabilite_civile": read.civile,
                "certifications": certifications,
            }
        })
    }

    /// Qualibat's real certificates (RC4-encrypted, one positioned glyph at a time,
    /// labels and values in any order) read as the real gateway's reader reads them.
    #[test]
    fn real_certificates_read_as_the_real_reader_reads_them() {
        let expected: Value = serde_json::from_str(include_str!("pdfs/real/expected.json")).unwrap();
        let cases = expected["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 9);
        for case in cases {
            let file = case["file"].as_str().unwrap();
            let read = read(&real(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(as_json(&read), case["expected"], "{file}");
        }
        for (file, error) in expected["not_supported"].as_object().unwrap() {
            assert_eq!(read(&real(file)).err().as_deref(), error.as_str(), "{file}");
        }
    }

    proptest::proptest! {
        /// Damaged certificates (any byte changed, the file cut anywhere) are read or
        /// refused, never a panic.
        #[test]
        fn damaged_certificates_never_panic(at in 0usize..140_593, byte in proptest::prelude::any::<u8>(), cut in 0usize..140_593) {
            let mut bytes = real("one_page.pdf");
            let len = bytes.len();
            bytes[at % len] = byte;
            bytes.truncate(cut.max(1));
            let _ = read(&bytes);
        }

        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = read(&bytes);
            let _ = layout::lines(&bytes);
        }
    }
}
