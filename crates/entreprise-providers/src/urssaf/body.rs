//! URSSAF's answer, read as it arrives. An attestation is its PDF in base64, a third
//! larger than the PDF: it is decoded chunk by chunk, so that a call holds the PDF and
//! never the whole base64 text beside it. Any other body (an error array, a page), and
//! a text that turns out not to be strict base64, comes back as sent, for
//! `mapping::read` to judge exactly as before.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use passerelle_core::{ApiError, ProviderInfo};
use passerelle_providers::http;
use reqwest::StatusCode;

/// What URSSAF sent.
#[derive(Debug, PartialEq)]
pub enum Body {
    /// Strict base64 that cannot be JSON, decoded: what `mapping::read` would decode.
    Decoded(Vec<u8>),
    /// The body as sent.
    Raw(Vec<u8>),
}

/// The status and the body, under the same cap and with the same errors as
/// `passerelle_providers::http::read`.
pub async fn read(
    info: ProviderInfo,
    response: reqwest::Response,
    max_bytes: usize,
) -> Result<(StatusCode, Body), ApiError> {
    let mut body = Reading::new(http::announced(&response, max_bytes));
    let status = http::read_each(info, response, max_bytes, |chunk| body.push(chunk)).await?;
    Ok((status, body.finish()))
}

/// A body being read.
pub struct Reading {
    /// The announced length, to size the buffer once.
    announced: usize,
    state: State,
}

enum State {
    Empty,
    /// Base64 so far: what the groups read decode to, and the text not decoded yet (at
    /// most one group: the last one is held back, since only it may be padded).
    Decoding {
        decoded: Vec<u8>,
        pending: Vec<u8>,
    },
    Raw(Vec<u8>),
}

/// A body starting so is no JSON (a JSON text starts with a blank, `{`, `[`, `"`, `-`,
/// a digit, `t`, `f` or `n`), nor blank, nor URSSAF's error page: it can only be base64.
fn may_be_base64(first: u8) -> bool {
    (first.is_ascii_alphabetic() && !matches!(first, b't' | b'f' | b'n')) || matches!(first, b'+' | b'/')
}

impl Reading {
    pub fn new(announced: usize) -> Reading {
        Reading {
            announced,
            state: State::Empty,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        let Some(&first) = chunk.first() else {
            return;
        };
        if let State::Empty = self.state {
            self.state = if may_be_base64(first) {
                State::Decoding {
                    decoded: Vec::with_capacity(self.announced / 4 * 3),
                    pending: Vec::with_capacity(4),
                }
            } else {
                State::Raw(Vec::with_capacity(self.announced))
            };
        }
        match &mut self.state {
            State::Raw(raw) => raw.extend_from_slice(chunk),
            State::Decoding { decoded, pending } => {
                let before = decoded.len();
                if !decode_inner(decoded, pending, chunk) {
                    decoded.truncate(before);
                    let mut sent = raw(decoded, pending);
                    sent.extend_from_slice(chunk);
                    self.state = State::Raw(sent);
                }
            }
            State::Empty => {}
        }
    }

    pub fn finish(self) -> Body {
        match self.state {
            State::Empty => Body::Raw(Vec::new()),
            State::Raw(raw) => Body::Raw(raw),
            State::Decoding { mut decoded, pending } => {
                let before = decoded.len();
                if STANDARD.decode_vec(&pending, &mut decoded).is_ok() {
                    Body::Decoded(decoded)
                } else {
                    decoded.truncate(before);
                    Body::Raw(raw(&decoded, &pending))
                }
            }
        }
    }
}

/// The text read so far, as sent: the groups decoded, encoded back (whole unpadded
/// groups encode back to the very same text), then the pending text.
fn raw(decoded: &[u8], pending: &[u8]) -> Vec<u8> {
    let mut raw = STANDARD.encode(decoded).into_bytes();
    raw.extend_from_slice(pending);
    raw
}

/// Decodes every group of `pending` + `chunk` but the last one (or the incomplete
/// rest), which becomes the new `pending`; `false` when a group is not base64 or is
/// padded though more text follows (the caller then takes the body as sent).
fn decode_inner(decoded: &mut Vec<u8>, pending: &mut Vec<u8>, chunk: &[u8]) -> bool {
    let fill = (4 - pending.len()).min(chunk.len());
    let (head, text) = chunk.split_at(fill);
    pending.extend_from_slice(head);
    if text.is_empty() {
        return true;
    }
    // `pending` is now a whole group, and text follows it.
    let keep = match text.len() % 4 {
        0 => 4,
        rest => rest,
    };
    let (groups, rest) = text.split_at(text.len() - keep);
    let unpadded = |groups: &[u8]| !groups.contains(&b'=');
    let ok = unpadded(pending)
        && unpadded(groups)
        && STANDARD.decode_vec(&pending[..], decoded).is_ok()
        && STANDARD.decode_vec(groups, decoded).is_ok();
    if ok {
        pending.clear();
        pending.extend_from_slice(rest);
    } else {
        // The chunk is the caller's to keep as sent: give back what it put here.
        pending.truncate(pending.len() - fill);
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::super::mapping;
    use super::*;
    use proptest::prelude::*;

    /// `text` read in chunks of `size`.
    fn read_in(text: &[u8], size: usize) -> Body {
        let mut reading = Reading::new(text.len());
        for chunk in text.chunks(size.max(1)) {
            reading.push(chunk);
        }
        reading.finish()
    }

    /// What the body must be: decoded exactly when the whole text is strict base64
    /// that `mapping::read` would reach (no JSON, not blank), else as sent.
    fn expected(text: &[u8]) -> Body {
        let decodes = text.first().is_some_and(|&b| may_be_base64(b));
        match STANDARD.decode(text) {
            Ok(bytes) if decodes => {
                assert!(serde_json::from_slice::<serde_json::Value>(text).is_err());
                Body::Decoded(bytes)
            }
            _ => Body::Raw(text.to_vec()),
        }
    }

    #[test]
    fn the_large_attestation_is_decoded_in_any_chunks() {
        let pdf = super::super::simulator::large_attestation();
        let text = STANDARD.encode(&pdf).into_bytes();
        for size in [1, 3, 4, 5, 4096, 65_536, text.len()] {
            assert_eq!(read_in(&text, size), Body::Decoded(pdf.clone()), "chunks of {size}");
        }
    }

    #[test]
    fn anything_else_comes_back_as_sent() {
        let cases: &[&[u8]] = &[
            b"",
            b"  \n",
            br#"[{"code":"FUNC517"}]"#,
            b"true",
            b"null",
            b"1234",
            b"<html>Une erreur est survenue sur le serveur</html>",
            b"Une erreur est survenue sur le serveur",
            b"QQ==QUJD",
            b"QUJD\nQUJD",
            b"QUJDR",
            b"QR==",
        ];
        for text in cases {
            for size in 1..=9 {
                assert_eq!(
                    read_in(text, size),
                    Body::Raw(text.to_vec()),
                    "{:?} by {size}",
                    String::from_utf8_lossy(text)
                );
            }
        }
        assert_eq!(read_in(b"QQ==", 1), Body::Decoded(b"A".to_vec()));
    }

    proptest! {
        /// Base64 texts, some spoiled (a byte replaced, cut short), read in chunks of
        /// any size: decoded exactly when the whole text decodes, else as sent.
        #[test]
        fn chunked_reading_agrees_with_decoding_the_whole(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            spoil in proptest::option::of((any::<prop::sample::Index>(), prop::sample::select(b" =\n\"{ -tA+/".to_vec()))),
            cut in proptest::option::of(any::<prop::sample::Index>()),
            size in 1usize..12,
        ) {
            let mut text = STANDARD.encode(&bytes).into_bytes();
            if let (Some((at, byte)), false) = (spoil, text.is_empty()) {
                let at = at.index(text.len());
                text[at] = byte;
            }
            if let (Some(at), false) = (cut, text.is_empty()) {
                text.truncate(at.index(text.len()));
            }
            let read = read_in(&text, size);
            prop_assert_eq!(&read, &expected(&text));
            // And what the provider makes of it is what it made of the whole body.
            for (status, version) in [(200, 3), (200, 4), (404, 4)] {
                let answer = match &read {
                    Body::Decoded(bytes) => mapping::document(bytes.clone()),
                    Body::Raw(body) => mapping::read(status, body, version),
                };
                prop_assert_eq!(answer, mapping::read(status, &text, version));
            }
        }
    }
}
