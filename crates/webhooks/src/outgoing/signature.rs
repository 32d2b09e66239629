//! `Passerelle-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, where each `v1` is the
//! HMAC-SHA-256 of `"<t>.<raw body>"` under one of the valid secrets.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ring::hmac;

pub const SIGNATURE_HEADER: &str = "Passerelle-Signature";

/// The header for `body` sent at `t`: one `v1` per secret, so that during a rotation a
/// receiver holding either the old or the new secret accepts the delivery.
pub fn sign(body: &[u8], t: i64, secrets: &[&[u8]]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        let tag = hmac::sign(&key(secret), &signed_bytes(t, body));
        header.push_str(",v1=");
        header.push_str(&hex::encode(tag.as_ref()));
    }
    header
}

/// For receivers: whether one `v1` of `header` signs `body` under `secret`, with a `t`
/// within `tolerance` of `now` either way (older is a replay, newer a skewed clock).
/// Comparisons are constant-time; anything malformed is `false`.
pub fn verify(header: &str, body: &[u8], secret: &[u8], now: DateTime<Utc>, tolerance: Duration) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Some((t, tags)) = split(header) else {
        return false;
    };
    if now.timestamp().abs_diff(t) > tolerance.as_secs() {
        return false;
    }
    let key = key(secret);
    let message = signed_bytes(t, body);
    tags.iter()
        .filter_map(|tag| hex::decode(tag).ok())
        .any(|tag| hmac::verify(&key, &message, &tag).is_ok())
}

/// The timestamp and the `v1` values; other schemes are skipped so that a later `v2`
/// does not break today's receivers. Exactly one `t` is required.
fn split(header: &str) -> Option<(i64, Vec<&str>)> {
    let mut t = None;
    let mut tags = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=')? {
            ("t", value) if t.is_none() => t = Some(value.parse().ok()?),
            ("t", _) => return None,
            ("v1", value) => tags.push(value),
            _ => {}
        }
    }
    Some((t?, tags))
}

fn signed_bytes(t: i64, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    message
}

fn key(secret: &[u8]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const OLD: &[u8] = b"old-secret-0123456789";
    const NEW: &[u8] = b"new-secret-9876543210";
    const T: i64 = 1_767_225_600;
    const WINDOW: Duration = Duration::from_secs(300);

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    #[test]
    fn one_v1_per_secret() {
        let header = sign(b"{}", T, &[NEW, OLD]);
        assert!(header.starts_with(&format!("t={T},v1=")));
        assert_eq!(header.matches("v1=").count(), 2);
        assert!(verify(&header, b"{}", OLD, at(T), WINDOW));
        assert!(verify(&header, b"{}", NEW, at(T), WINDOW));
        assert!(!verify(&header, b"{}", b"third", at(T), WINDOW));
    }

    #[test]
    fn tampered_body_fails() {
        let header = sign(br#"{"amount":1}"#, T, &[NEW]);
        assert!(!verify(&header, br#"{"amount":9}"#, NEW, at(T), WINDOW));
    }

    #[test]
    fn tampered_timestamp_fails() {
        let header = sign(b"{}", T, &[NEW]).replace(&T.to_string(), &(T + 1).to_string());
        assert!(!verify(&header, b"{}", NEW, at(T), WINDOW));
    }

    #[test]
    fn the_window_applies_both_ways() {
        let header = sign(b"{}", T, &[NEW]);
        assert!(verify(&header, b"{}", NEW, at(T + 300), WINDOW));
        assert!(!verify(&header, b"{}", NEW, at(T + 301), WINDOW));
        assert!(verify(&header, b"{}", NEW, at(T - 300), WINDOW));
        assert!(!verify(&header, b"{}", NEW, at(T - 301), WINDOW));
    }

    #[test]
    fn malformed_headers_fail() {
        let good = sign(b"{}", T, &[NEW]);
        let v1 = good.split_once(",v1=").unwrap().1;
        for header in [
            String::new(),
            format!("v1={v1}"),
            format!("t=soon,v1={v1}"),
            format!("t={T},t={T},v1={v1}"),
            format!("t={T},v1=xyz"),
            format!("t={T}"),
            format!("t={T},v1"),
        ] {
            assert!(!verify(&header, b"{}", NEW, at(T), WINDOW), "{header}");
        }
    }

    #[test]
    fn unknown_schemes_are_skipped() {
        let header = sign(b"{}", T, &[NEW]).replace(",v1=", ",v0=abc, v1=");
        assert!(verify(&header, b"{}", NEW, at(T), WINDOW));
    }
}
