//! The check of a signed answer, with nothing but the body, the signature and the
//! published key set: what `passerelle verify-answer` runs, offline.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{UnparsedPublicKey, ED25519};
use serde::Deserialize;

use crate::claims::{sha256_hex, signing_input, AnswerClaims, Header, ALG};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the key set is not a JWKS document: {0}")]
    KeySet(String),
    #[error("the signature is not a detached compact JWS: {0}")]
    Malformed(&'static str),
    #[error("the signature names algorithm {0}, not EdDSA")]
    Algorithm(String),
    #[error("no Ed25519 key {0} in the key set")]
    UnknownKey(String),
    #[error("the signature does not match this body under key {0}")]
    BadSignature(String),
    #[error("the body's SHA-256 is not the one the signature states")]
    BodyHash,
}

/// A JWKS document; only its Ed25519 keys count.
#[derive(Debug, Deserialize)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Debug, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

impl Jwks {
    pub fn parse(text: &str) -> Result<Jwks, VerifyError> {
        serde_json::from_str(text).map_err(|e| VerifyError::KeySet(e.to_string()))
    }

    fn ed25519(&self, kid: &str) -> Option<Vec<u8>> {
        self.keys
            .iter()
            .filter(|k| k.kty == "OKP" && k.crv.as_deref() == Some("Ed25519"))
            .find(|k| k.kid.as_deref() == Some(kid))
            .and_then(|k| URL_SAFE_NO_PAD.decode(k.x.as_deref()?).ok())
    }
}

/// The claims of `signature` when it signs exactly `body` under a key of `jwks`.
pub fn verify(jwks: &Jwks, body: &[u8], signature: &str) -> Result<AnswerClaims, VerifyError> {
    let mut parts = signature.trim().split('.');
    let (Some(encoded), Some(payload), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("three dot-separated parts are expected"));
    };
    if !payload.is_empty() {
        return Err(VerifyError::Malformed(
            "the payload part must be empty (the body is the payload)",
        ));
    }
    let header_bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| VerifyError::Malformed("the header is not base64url"))?;
    let header: Header =
        serde_json::from_slice(&header_bytes).map_err(|_| VerifyError::Malformed("the header lacks a claim"))?;
    if header.alg != ALG {
        return Err(VerifyError::Algorithm(header.alg));
    }
    let public = jwks
        .ed25519(&header.kid)
        .ok_or_else(|| VerifyError::UnknownKey(header.kid.clone()))?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| VerifyError::Malformed("the signature is not base64url"))?;
    UnparsedPublicKey::new(&ED25519, &public)
        .verify(&signing_input(encoded, body), &sig)
        .map_err(|_| VerifyError::BadSignature(header.kid.clone()))?;
    if header.claims.body_sha256 != sha256_hex(body) {
        return Err(VerifyError::BodyHash);
    }
    Ok(header.claims)
}
