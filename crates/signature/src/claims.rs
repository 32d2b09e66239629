//! What a signature binds the body to, carried in the JWS's protected header.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The protected header's own fields, beside `alg`, `kid` and `typ`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerClaims {
    /// The call's `X-Request-Id`, which names its journal row.
    pub request_id: String,
    /// `particulier` or `entreprise`.
    pub bouquet: String,
    /// The route template (`/v3/dss/quotient_familial/identite`).
    pub endpoint: String,
    /// SHA-256 (hex) of the request target exactly as sent: path, `?` and query
    /// string, so that the caller can recompute it from the URL it called.
    pub target_sha256: String,
    /// The purpose parameters: API Particulier's `recipient`; API Entreprise's
    /// `context`, `recipient` and `object`.
    pub purpose: BTreeMap<String, String>,
    /// The answer's HTTP status.
    pub status: u16,
    /// When the gateway signed, in seconds since the epoch.
    pub iat: i64,
    /// SHA-256 (hex) of the exact body bytes, as the journal row keeps it.
    pub body_sha256: String,
}

/// The whole protected header.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    pub kid: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(flatten)]
    pub claims: AnswerClaims,
}

pub(crate) const ALG: &str = "EdDSA";
pub(crate) const TYP: &str = "passerelle-answer+jws";

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The JWS signing input: `BASE64URL(header) '.' BASE64URL(body)`.
pub(crate) fn signing_input(encoded_header: &str, body: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(encoded_header.len() + 1 + body.len() * 4 / 3 + 4);
    input.extend_from_slice(encoded_header.as_bytes());
    input.push(b'.');
    input.extend_from_slice(URL_SAFE_NO_PAD.encode(body).as_bytes());
    input
}
