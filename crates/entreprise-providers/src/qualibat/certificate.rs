//! What v4 reads in the certificate PDF, page by page and line by line: the dates on
//! page 1, the two insurers, and the certifications listed after "d'attribution" on
//! the "CERTIFICAT QUALIBAT" pages. Lines are the text shown between two moves of the
//! text position (`Td`, `TD`, `Tm`, `T*`) in each page's content stream, decoded as
//! WinAnsi; searches compare accent-free upper case.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use passerelle_core::translit::fold;
use serde::Serialize;

use crate::pdf;

/// Qualibat's codes and their names (`nomenclature.json`, from the derive script).
const NOMENCLATURE: &str = include_str!("nomenclature.json");
/// The insurers a certificate may name (`insurers.json`).
const INSURERS: &str = include_str!("insurers.json");

/// The trailer entry of an encrypted PDF.
const ENCRYPTED: &[u8] = b"/Encrypt";

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
    // Encrypted documents (Qualibat's own, RC4) are beyond the crate's PDF reader.
    if bytes.windows(ENCRYPTED.len()).any(|w| w == ENCRYPTED) {
        return Err("invalid_file".into());
    }
    let pages: Vec<Vec<String>> = pdf::streams(bytes)
        .map(|content| lines(&content))
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

/// The operators that move the text position: each starts a new line.
fn moves_line(operator: &[u8]) -> bool {
    matches!(operator, b"Td" | b"TD" | b"Tm" | b"T*" | b"ET")
}

/// The content stream's lines, blank ones dropped.
fn lines(content: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < content.len() {
        match content[at] {
            b'(' => at = skip_literal(content, at + 1),
            b'%' => {
                at += content[at..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .unwrap_or(content.len() - at)
            }
            c if c.is_ascii_alphabetic() || c == b'*' => {
                let len = content[at..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'*')
                    .count();
                if moves_line(&content[at..at + len]) {
                    push_line(&mut found, &content[start..at]);
                    start = at + len;
                }
                at += len;
            }
            _ => at += 1,
        }
    }
    push_line(&mut found, &content[start..]);
    found
}

fn push_line(lines: &mut Vec<String>, chunk: &[u8]) {
    let text = decode(&pdf::strings(chunk).concat());
    if !text.trim().is_empty() {
        lines.push(text.trim().to_string());
    }
}

/// Where the literal string opened just before `at` ends.
fn skip_literal(content: &[u8], mut at: usize) -> usize {
    let mut depth = 1;
    while let Some(&byte) = content.get(at) {
        at += 1;
        match byte {
            b'\\' => at += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return at;
                }
            }
            _ => {}
        }
    }
    at
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
    let Some(at) = lines.iter().position(|line| normal(line) == heading) else {
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
    let rest = line.get(name.len()..).unwrap_or_default().trim();
    Some(Insurance {
        nom: Some(name.clone()),
        identifiant: (!rest.is_empty()).then(|| rest.to_string()),
    })
}

/// The certifications of every "CERTIFICAT QUALIBAT" page; an RGE entry replaces a
/// plain one with the same code.
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
            match found.iter_mut().find(|known| known.code == entry.code) {
                Some(known) if entry.rge && !known.rge => *known = entry,
                Some(_) => {}
                None => found.push(entry),
            }
        }
    }
    found
}

/// "CERTIFICAT QUALIBAT" followed, further on the page, by "RGE".
fn is_rge(page: &[String]) -> bool {
    let text = normal(&page.join("\n"));
    text.find("CERTIFICAT QUALIBAT")
        .is_some_and(|at| text[at..].contains("RGE"))
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
