//! The catalogue's search: free text (accents and case ignored), a provider and a use
//! case, read leniently from the query string so that any URL gives a page.

use super::entries::Entry;

/// The longest text searched; the rest is ignored.
const MAX_TEXT: usize = 200;

/// What the visitor asked for; empty strings stand for "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// `q`, as typed (trimmed), shown back in the form.
    pub q: String,
    /// `fournisseur`: a provider id.
    pub fournisseur: String,
    /// `cas`: a use case's form id.
    pub cas: String,
}

impl Filters {
    /// The filters of a raw query string; bytes that do not decode are replaced.
    pub fn from_query(raw: Option<&str>) -> Filters {
        let mut filters = Filters::default();
        for (key, value) in pairs(raw.unwrap_or_default()) {
            let slot = match key.as_str() {
                "q" => &mut filters.q,
                "fournisseur" => &mut filters.fournisseur,
                "cas" => &mut filters.cas,
                _ => continue,
            };
            if slot.is_empty() {
                *slot = value.trim().chars().take(MAX_TEXT).collect();
            }
        }
        filters
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_empty() && self.fournisseur.is_empty() && self.cas.is_empty()
    }

    /// Whether `entry` passes every filter; each word of `q` must be found.
    pub fn keeps(&self, entry: &Entry) -> bool {
        let words = fold(&self.q);
        let text = words
            .split(' ')
            .filter(|w| !w.is_empty())
            .all(|w| entry.haystack.contains(w));
        let provider = self.fournisseur.is_empty() || entry.provider_id == self.fournisseur;
        let use_case = self.cas.is_empty() || entry.use_cases.iter().any(|u| u.id == self.cas);
        text && provider && use_case
    }
}

/// Text in a form fit for comparison: accents folded, lower case, every run of
/// characters other than letters and digits made one space (`quotient_familial` and
/// "Quotient familial" compare equal).
pub fn fold(text: &str) -> String {
    let folded = passerelle_core::translit::fold(text).to_lowercase().replace('œ', "oe");
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// The `key=value` pairs of a query string, `+` as a space, percent escapes decoded
/// (invalid UTF-8 replaced).
pub fn pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3).and_then(hex_byte) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// `text` as a query string value: what is not unreserved is percent-encoded.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::entries::{RouteLine, UseCase};
    use passerelle_bouquet::{Cache, Endpoint, Mode, ProviderId};

    static QF: Endpoint = Endpoint {
        provider: ProviderId::new("dss"),
        resource: "quotient_familial",
        path: "dss/quotient_familial",
        mode: Mode::Identite,
        versions: &[3],
        operation: "cnav_quotient_familial",
        title: "Quotient familial CAF & MSA",
        civility: None,
        extra_params: &[],
        access_scopes: &["cnaf_quotient_familial"],
        fields: &[],
        masks: &[],
        cache: Cache::Never,
    };

    fn entry() -> Entry {
        let id = "api_particulier_v3_cnav_quotient_familial_with_civility".to_string();
        Entry {
            endpoint: &QF,
            provider_id: "dss",
            provider: "CNAV".into(),
            routes: vec![RouteLine {
                version: 3,
                path: "/v3/dss/quotient_familial/identite".into(),
                operation_id: id.clone(),
            }],
            use_cases: vec![UseCase {
                id: "ccas".into(),
                title: "Aides sociales facultatives".into(),
                scopes: vec!["cnaf_quotient_familial".into()],
            }],
            haystack: fold(&format!("{} {} {} CNAV {id}", QF.resource, QF.title, QF.path)),
            id,
        }
    }

    fn filters(raw: &str) -> Filters {
        Filters::from_query(Some(raw))
    }

    #[test]
    fn folding_ignores_accents_case_and_punctuation() {
        assert_eq!(fold("Étudiant BOURSIER"), "etudiant boursier");
        assert_eq!(fold("  quotient_familial / CAF & MSA "), "quotient familial caf msa");
        assert_eq!(fold("Œuvre d’art"), "oeuvre d art");
        assert_eq!(fold("¿?!"), "");
    }

    #[test]
    fn the_query_string_is_read_leniently() {
        let f = filters("q=Quotient+famili%C3%A9&fournisseur=dss&cas=ccas&autre=1");
        assert_eq!(f.q, "Quotient familié");
        assert_eq!((f.fournisseur.as_str(), f.cas.as_str()), ("dss", "ccas"));
        // Bytes that are not UTF-8, a lone `%`, a key without value: still filters.
        let odd = filters("q=%FF%FE%&q=second&fournisseur&%ZZ=1&&");
        assert_eq!(odd.q, "\u{FFFD}\u{FFFD}%");
        assert!(odd.fournisseur.is_empty());
        assert_eq!(filters(&format!("q={}", "a".repeat(5000))).q.len(), MAX_TEXT);
        assert!(Filters::from_query(None).is_empty());
    }

    #[test]
    fn text_matches_every_word_anywhere() {
        let e = entry();
        assert!(filters("").keeps(&e));
        assert!(filters("q=QUOTIENT").keeps(&e));
        assert!(filters("q=familial+cnav").keeps(&e));
        assert!(filters("q=dss%2Fquotient_familial").keeps(&e));
        assert!(filters("q=with_civility").keeps(&e));
        assert!(filters("q=msa+caf").keeps(&e));
        assert!(!filters("q=quotient+boursier").keeps(&e));
        // No letter nor digit: nothing to look for, nothing filtered out.
        assert!(filters("q=%FF+%3F").keeps(&e));
    }

    #[test]
    fn provider_and_use_case_filters_combine_with_the_text() {
        let e = entry();
        assert!(filters("fournisseur=dss").keeps(&e));
        assert!(!filters("fournisseur=cnous").keeps(&e));
        assert!(filters("cas=ccas").keeps(&e));
        assert!(!filters("cas=transports").keeps(&e));
        assert!(filters("q=quotient&fournisseur=dss&cas=ccas").keeps(&e));
        assert!(!filters("q=quotient&fournisseur=dss&cas=transports").keeps(&e));
    }

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(encode("GÉRÔME a/b"), "G%C3%89R%C3%94ME%20a%2Fb");
        assert_eq!(decode(&encode("GÉRÔME a/b")), "GÉRÔME a/b");
    }
}
