//! Just enough PDF reading for the attestations the providers receive: the text shown
//! by the content streams (literal strings of `Tj`/`TJ`), compressed or not, to be
//! searched for a sentence (DGFIP's refusal page, URSSAF's dates) or read string by
//! string (URSSAF's security code).
//!
//! Simplifications, on purpose: content streams are read in file order rather than
//! through the page tree, hex strings are not decoded, and accented letters match any
//! single non-ASCII byte, since the real documents encode them differently (WinAnsi,
//! MacRoman) and the sentences are unambiguous without them.

mod decrypt;
mod objects;
mod tree;

use miniz_oxide::inflate::decompress_to_vec_zlib_with_limit;

use decrypt::Security;

/// No content stream of an attestation comes near this once inflated.
const MAX_INFLATED_BYTES: usize = 16 * 1024 * 1024;

/// Whether `bytes` look like a PDF (the check the real gateway's sniffing makes).
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// A sentence without blanks, to search in [`shown_text`]; `None` where an accented
/// letter stands.
pub fn pattern(sentence: &str) -> Vec<Option<u8>> {
    sentence
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| u8::try_from(c).ok().filter(u8::is_ascii))
        .collect()
}

/// Where `pattern` first starts in `text`.
pub fn position(text: &[u8], pattern: &[Option<u8>]) -> Option<usize> {
    let fits = |window: &[u8]| {
        window.iter().zip(pattern).all(|(byte, expected)| match expected {
            Some(b) => byte == b,
            None => !byte.is_ascii(),
        })
    };
    if text.len() < pattern.len() {
        return None;
    }
    text.windows(pattern.len()).position(fits)
}

/// Every stream's content, decrypted when the document is (RC4, no user password),
/// inflated when its dictionary says `FlateDecode`; streams that do not inflate, or
/// cannot be decrypted, are skipped.
pub fn streams(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    numbered_streams(bytes).map(|(_, content)| content)
}

/// The content of each page, in the order of the page tree (its content streams
/// joined); the streams in file order when the tree cannot be read.
pub fn pages(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut by_number: Vec<(u32, Vec<u8>)> = numbered_streams(bytes).collect();
    let order = tree::page_contents(bytes);
    if order.is_empty() {
        return by_number.into_iter().map(|(_, content)| content).collect();
    }
    order
        .iter()
        .map(|contents| {
            let mut page = Vec::new();
            for number in contents {
                if let Some(at) = by_number.iter().position(|(n, _)| n == number) {
                    page.extend(by_number.swap_remove(at).1);
                    page.push(b'\n');
                }
            }
            page
        })
        .collect()
}

/// The streams with the number of the object each belongs to.
fn numbered_streams(bytes: &[u8]) -> impl Iterator<Item = (u32, Vec<u8>)> + '_ {
    let security = Security::of(bytes);
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
        let (number, generation) = object_before(&bytes[..start]);
        let Some(body) = security.stream(&bytes[body_start..end], number, generation) else {
            continue;
        };
        if find(dictionary, b"/FlateDecode").is_none() {
            return Some((number, body.into_owned()));
        }
        if let Ok(inflated) = decompress_to_vec_zlib_with_limit(&body, MAX_INFLATED_BYTES) {
            return Some((number, inflated));
        }
    })
}

/// The number and generation of the last `N G obj` header in `bytes` (the object a
/// stream belongs to: its key when the document is encrypted); zeros when none.
fn object_before(bytes: &[u8]) -> (u32, u16) {
    let Some(at) = bytes.windows(4).rposition(|w| w == b" obj") else {
        return (0, 0);
    };
    let head = std::str::from_utf8(&bytes[at.saturating_sub(24)..at]).unwrap_or_default();
    let mut words = head.split_ascii_whitespace().rev();
    let generation = words.next().and_then(|g| g.parse().ok());
    let number = words
        .next()
        .and_then(|n| n.trim_start_matches(|c: char| !c.is_ascii_digit()).parse().ok());
    number.zip(generation).unwrap_or((0, 0))
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
pub fn shown_text(content: &[u8]) -> Vec<u8> {
    let mut text = strings(content).concat();
    text.retain(|b| !b.is_ascii_whitespace());
    text
}

/// The literal strings of a content stream, one by one, in order.
pub fn strings(content: &[u8]) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < content.len() {
        if content[at] == b'(' {
            let mut string = Vec::new();
            at = literal(content, at + 1, &mut string);
            found.push(string);
        } else {
            at += 1;
        }
    }
    found
}

/// Reads the literal string starting after its `(` into `out`; returns where it ends.
pub fn literal(content: &[u8], mut at: usize, out: &mut Vec<u8>) -> usize {
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
    fn literal_strings_are_read_with_their_escapes() {
        let content = b"BT [ (Le) -278 (d\\351but) ] TJ (\\(a\\) b) Tj (x\\\nz) Tj ET";
        let found = strings(content);
        assert_eq!(
            found,
            [b"Le".to_vec(), b"d\xe9but".to_vec(), b"(a) b".to_vec(), b"xz".to_vec()]
        );
        assert_eq!(shown_text(content), b"Led\xe9but(a)bxz");
    }

    #[test]
    fn accented_letters_match_any_single_non_ascii_byte() {
        let text = b"handicap\xe9s**\xe0ladatedu31/12/2022.";
        assert_eq!(position(text, &pattern("à la date du")), Some(12));
        assert_eq!(position(b"a la date du", &pattern("à la date du")), None);
        assert_eq!(position(b"", &pattern("x")), None);
    }

    #[test]
    fn compressed_and_plain_streams_are_both_read() {
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(b"(deux) Tj", 6);
        let document = [
            b"%PDF-1.4\n1 0 obj << /Length 8 >>\nstream\n(un) Tj\nendstream\n".as_slice(),
            b"2 0 obj << /Filter /FlateDecode >>\nstream\n",
            &compressed,
            b"\nendstream\n",
        ]
        .concat();
        let texts: Vec<Vec<u8>> = streams(&document).map(|s| shown_text(&s)).collect();
        assert_eq!(texts, [b"un".to_vec(), b"deux".to_vec()]);
    }
}
