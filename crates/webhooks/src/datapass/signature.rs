//! `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA-256 of the exact raw body.

use ring::hmac;

pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

const PREFIX: &str = "sha256=";

/// Whether `header` is the signature of `raw_body` under `secret`. The comparison is
/// constant-time; a missing or malformed header, or an empty secret (anyone could sign
/// with it), is a failure.
pub fn verify_signature(secret: &[u8], raw_body: &[u8], header: Option<&str>) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Some(tag) = header
        .and_then(|h| h.trim().strip_prefix(PREFIX))
        .and_then(|hex_tag| hex::decode(hex_tag).ok())
    else {
        return false;
    };
    hmac::verify(&key(secret), raw_body, &tag).is_ok()
}

/// The header value DataPass would send for `raw_body`: for tests and for tools that
/// replay a notification by hand.
pub fn signature_header(secret: &[u8], raw_body: &[u8]) -> String {
    let tag = hmac::sign(&key(secret), raw_body);
    format!("{PREFIX}{}", hex::encode(tag.as_ref()))
}

fn key(secret: &[u8]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    #[test]
    fn accepts_its_own_signature() {
        let body = br#"{"event":"approve"}"#;
        let header = signature_header(SECRET, body);
        assert!(verify_signature(SECRET, body, Some(&header)));
    }

    #[test]
    fn rejects_another_body_or_secret() {
        let header = signature_header(SECRET, b"{}");
        assert!(!verify_signature(SECRET, b"{ }", Some(&header)));
        assert!(!verify_signature(b"other", b"{}", Some(&header)));
    }

    #[test]
    fn rejects_malformed_headers() {
        let good = signature_header(SECRET, b"{}");
        let bare_hex = good.trim_start_matches(PREFIX).to_owned();
        for header in [
            None,
            Some(""),
            Some("sha256="),
            Some("sha256=zz"),
            Some(bare_hex.as_str()),
        ] {
            assert!(!verify_signature(SECRET, b"{}", header), "{header:?}");
        }
        assert!(!verify_signature(SECRET, b"{}", Some(&good.replace("sha256", "sha1"))));
    }

    #[test]
    fn rejects_an_empty_secret() {
        let header = signature_header(b"", b"{}");
        assert!(!verify_signature(b"", b"{}", Some(&header)));
    }
}
