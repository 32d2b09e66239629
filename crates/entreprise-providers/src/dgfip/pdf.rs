//! Just enough PDF reading to tell DGFIP's refusal page from an attestation: the text
//! shown by the pages' content streams (literal strings of `Tj`/`TJ`), compressed or
//! not, is searched for the refusal sentence.
//!
//! Simplifications, on purpose: every content stream is read (not only the first
//! page's: the attestation has one page), hex strings are not decoded, and accented
//! letters match any single non-ASCII byte, since the two real documents encode them
//! differently (WinAnsi and MacRoman) and the sentence is unambiguous without them.

use miniz_oxide::inflate::decompress_to_vec_zlib_with_limit;

/// The sentence of the page DGFIP sends instead of an attestation.
const REFUSAL: &str = "Impossible de délivrer votre attestation de régularité fiscale";
/// No content stream of a one-page attestation comes near this once inflated.
const MAX_INFLATED_BYTES: usize = 16 * 1024 * 1024;

/// Whether `bytes` look like a PDF (the check the real gateway's sniffing makes).
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// Whether the document says the attestation cannot be delivered.
pub fn is_refusal(bytes: &[u8]) -> bool {
    let pattern = pattern(REFUSAL);
    streams(bytes).any(|content| contains(&shown_text(&content), &pattern))
}

/// The refusal sentence without blanks; `None` where an accented letter stands.
fn pattern(sentence: &str) -> Vec<Option<u8>> {
    sentence
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| u8::try_from(c).ok().filter(u8::is_ascii))
        .collect()
}

fn contains(text: &[u8], pattern: &[Option<u8>]) -> bool {
    let fits = |window: &[u8]| {
        window.iter().zip(pattern).all(|(byte, expected)| match expected {
            Some(b) => byte == b,
            None => !byte.is_ascii(),
        })
    };
    text.len() >= pattern.len() && text.windows(pattern.len()).any(fits)
}

/// Every stream's content, inflated when its dictionary says `FlateDecode`; streams
/// that do not inflate are skipped.
fn streams(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || loop {
        let start = from + find(&bytes[from..], b"stream")?;
        let body_start = skip_eol(bytes, start + b"stream".len());
        let end = body_start + find(&bytes[body_start..], b"endstream")?;
        from = end + b"endstream".len();
        // `endstream` also contains `stream`: only a keyword after a dictionary counts.
        if bytes[..start].ends_with(b"end") {
            continue;
        }
        let dictionary = &bytes[bytes[..start].iter().rposition(|b| *b == b'<').unwrap_or(0)..start];
        let body = &bytes[body_start..end];
        if find(dictionary, b"/FlateDecode").is_none() {
            return Some(body.to_vec());
        }
        if let Ok(inflated) = decompress_to_vec_zlib_with_limit(body, MAX_INFLATED_BYTES) {
            return Some(inflated);
        }
    })
}

fn skip_eol(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at..at + 2) {
        Some(b"\r\n") => at + 2,
        _ if matches!(bytes.get(at), Some(b'\n' | b'\r')) => at + 1,
        _ => at,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The bytes of the literal strings of a content stream, blanks dropped (words are
/// often separate strings spaced by the `TJ` array's kerning).
fn shown_text(content: &[u8]) -> Vec<u8> {
    let mut text = Vec::new();
    let mut at = 0;
    while at < content.len() {
        if content[at] == b'(' {
            at = literal(content, at + 1, &mut text);
        } else {
            at += 1;
        }
    }
    text.retain(|b| !b.is_ascii_whitespace());
    text
}

/// Reads the literal string starting after its `(` into `out`; returns where it ends.
fn literal(content: &[u8], mut at: usize, out: &mut Vec<u8>) -> usize {
    let mut depth = 1;
    while let Some(&byte) = content.get(at) {
        at += 1;
        match byte {
            b'\\' => at = escaped(content, at, out),
            b'(' => {
                depth += 1;
                out.push(byte);
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return at;
                }
                out.push(byte);
            }
            _ => out.push(byte),
        }
    }
    at
}

/// One escape sequence after a backslash: `\n`, `\(`, `\ddd` (octal) and the like.
fn escaped(content: &[u8], at: usize, out: &mut Vec<u8>) -> usize {
    let Some(&byte) = content.get(at) else {
        return at;
    };
    let simple = match byte {
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'0'..=b'7' => None,
        // A backslash before an end of line continues the string on the next line.
        b'\n' | b'\r' => return at + 1,
        other => Some(other),
    };
    if let Some(b) = simple {
        out.push(b);
        return at + 1;
    }
    let digits = content[at..]
        .iter()
        .take(3)
        .take_while(|b| (b'0'..=b'7').contains(b))
        .count();
    let value = content[at..at + digits]
        .iter()
        .fold(0u32, |n, d| n * 8 + u32::from(d - b'0'));
    out.push((value & 0xff) as u8);
    at + digits
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
