//! Just enough MIME to read back what lettre writes: folded headers, RFC 2047
//! encoded words, base64 and quoted-printable bodies, multipart/alternative.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// A message or a MIME part: unfolded headers and the still-encoded body.
pub(crate) struct Part<'a> {
    headers: Vec<(String, String)>,
    body: &'a str,
}

impl<'a> Part<'a> {
    pub(crate) fn parse(raw: &'a str) -> Self {
        let (head, body) = split_head(raw);
        Self {
            headers: unfold(head),
            body,
        }
    }

    /// The raw value of the first header with that name, names compared without case.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text/plain content, decoded, with CRLF line ends turned into LF.
    pub(crate) fn text(&self) -> Option<String> {
        let content_type = self.header("Content-Type").unwrap_or("text/plain");
        let lowered = content_type.to_ascii_lowercase();
        if lowered.starts_with("multipart/") {
            let boundary = parameter(content_type, "boundary")?;
            return parts(self.body, &boundary).find_map(|part| Part::parse(part).text());
        }
        if !lowered.starts_with("text/plain") {
            return None;
        }
        // Lettre ends every body with a line end of its own: before the next
        // delimiter, or before the end of DATA.
        let body = self.body.strip_suffix("\r\n").unwrap_or(self.body);
        let bytes = match self
            .header("Content-Transfer-Encoding")
            .map(|e| e.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("base64") => decode_base64(body),
            Some("quoted-printable") => decode_quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        Some(String::from_utf8_lossy(&bytes).replace("\r\n", "\n"))
    }
}

fn split_head(raw: &str) -> (&str, &str) {
    for separator in ["\r\n\r\n", "\n\n"] {
        if let Some(at) = raw.find(separator) {
            return (&raw[..at], &raw[at + separator.len()..]);
        }
    }
    (raw, "")
}

fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

fn parameter(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The bodies between `--boundary` lines, preamble and epilogue left out.
fn parts<'a>(body: &'a str, boundary: &str) -> impl Iterator<Item = &'a str> {
    let delimiter = format!("--{boundary}");
    let closing = format!("--{boundary}--");
    let mut chunks = Vec::new();
    let mut current: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == delimiter || bare == closing {
            if let Some(start) = current {
                chunks.push(&body[start..offset]);
            }
            current = (bare == delimiter).then_some(offset + line.len());
        }
        offset += line.len();
    }
    chunks.into_iter()
}

/// Decodes a header value made of RFC 2047 encoded words and plain text.
pub(crate) fn decode_words(value: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        match encoded_word(candidate) {
            Some((decoded, used)) => {
                // Whitespace between two encoded words is folding, not text.
                if !(after_word && before.trim().is_empty()) {
                    bytes.extend_from_slice(before.as_bytes());
                }
                bytes.extend(decoded);
                rest = &candidate[used..];
                after_word = true;
            }
            None => {
                bytes.extend_from_slice(&rest.as_bytes()[..start + 2]);
                rest = &candidate[2..];
                after_word = false;
            }
        }
    }
    bytes.extend_from_slice(rest.as_bytes());
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `=?charset?B|Q?text?=` at the start of `s`: the decoded bytes and the length used.
/// The charset is taken to be UTF-8, the only one lettre writes.
fn encoded_word(s: &str) -> Option<(Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (_charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    let used = s.len() - inner.len() + end + 2;
    let decoded = match encoding {
        "B" | "b" => STANDARD.decode(text).ok()?,
        "Q" | "q" => decode_quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    Some((decoded, used))
}

fn decode_base64(body: &str) -> Vec<u8> {
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).unwrap_or_default()
}

fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes[i + 1..].starts_with(b"\r\n") {
            i += 3;
        } else if bytes[i + 1..].starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = hex_byte(&bytes[i + 1..]) {
            out.push(byte);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let pair = pair.get(..2)?;
    u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_encoded_words_of_both_kinds() {
        assert_eq!(decode_words("=?utf-8?b?w6l0w6k=?="), "été");
        assert_eq!(decode_words("=?UTF-8?Q?d=C3=A9j=C3=A0_vu?="), "déjà vu");
        assert_eq!(decode_words("=?utf-8?b?w6k=?=\r\n =?utf-8?b?w6g=?= fin"), "éè fin");
        assert_eq!(decode_words("plain =? text"), "plain =? text");
    }

    #[test]
    fn decodes_quoted_printable_soft_breaks() {
        assert_eq!(
            decode_quoted_printable("ligne tr=C3=A8s =\r\nlongue=3D\r\nsuite"),
            "ligne très longue=\r\nsuite".as_bytes()
        );
    }

    #[test]
    fn finds_the_text_part_of_an_alternative() {
        let raw = "Content-Type: multipart/alternative;\r\n boundary=\"XY\"\r\n\r\n\
                   --XY\r\nContent-Type: text/plain; charset=utf-8\r\n\
                   Content-Transfer-Encoding: base64\r\n\r\nw6l0w6k=\r\n\
                   --XY\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--XY--\r\n";
        assert_eq!(Part::parse(raw).text().as_deref(), Some("été"));
    }
}
