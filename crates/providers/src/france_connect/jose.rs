//! The two JOSE layers of FranceConnect's check-token answer: a JWE (RSA-OAEP key
//! wrapping, A256GCM content) encrypted to the gateway's key, holding a JWS (ES256)
//! signed by FranceConnect. Only these algorithms are accepted: a header naming another
//! one is refused rather than negotiated.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Oaep, RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoseError {
    #[error("not a compact JWE/JWS")]
    Malformed,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("decryption failed")]
    Decrypt,
    #[error("no key for this signature")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("key error: {0}")]
    Key(String),
}

/// Base64url as RFC 7515 spells it, also accepting the `=` padding some publishers keep
/// (the reference gateway's own JWKS does).
pub fn b64_decode(text: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| JoseError::Malformed)
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn header(part: &str) -> Result<Value, JoseError> {
    serde_json::from_slice(&b64_decode(part)?).map_err(|_| JoseError::Malformed)
}

/// The gateway's RSA key: FranceConnect encrypts check-token answers to it.
pub struct EncryptionKey {
    private: RsaPrivateKey,
    kid: String,
}

impl EncryptionKey {
    pub fn generate() -> Result<EncryptionKey, JoseError> {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| JoseError::Key(e.to_string()))?;
        Ok(EncryptionKey::from_private(private))
    }

    pub fn from_pkcs8_der(der: &[u8]) -> Result<EncryptionKey, JoseError> {
        let private = RsaPrivateKey::from_pkcs8_der(der).map_err(|e| JoseError::Key(e.to_string()))?;
        Ok(EncryptionKey::from_private(private))
    }

    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, JoseError> {
        let document = self.private.to_pkcs8_der().map_err(|e| JoseError::Key(e.to_string()))?;
        Ok(document.as_bytes().to_vec())
    }

    /// The key id is derived from the modulus, so every replica sharing the key publishes
    /// the same one.
    fn from_private(private: RsaPrivateKey) -> EncryptionKey {
        let digest = Sha256::digest(private.n().to_bytes_be());
        let kid = format!("passerelle-enc-{}", hex::encode(&digest[..8]));
        EncryptionKey { private, kid }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public(&self) -> RsaPublicKey {
        self.private.to_public_key()
    }

    /// The public half as a JWK, for `GET /api/france_connect_jwks`.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "enc",
            "alg": "RSA-OAEP",
            "n": b64(&self.private.n().to_bytes_be()),
            "e": b64(&self.private.e().to_bytes_be()),
        })
    }

    /// Opens a compact JWE (`RSA-OAEP` + `A256GCM`) and returns its plaintext.
    pub fn decrypt(&self, jwe: &str) -> Result<Vec<u8>, JoseError> {
        let parts: Vec<&str> = jwe.trim().split('.').collect();
        let [protected, wrapped, iv, ciphertext, tag] = parts[..] else {
            return Err(JoseError::Malformed);
        };
        let h = header(protected)?;
        if h["alg"] != "RSA-OAEP" || h["enc"] != "A256GCM" {
            return Err(JoseError::Algorithm);
        }
        let cek = self
            .private
            .decrypt(Oaep::new::<sha1::Sha1>(), &b64_decode(wrapped)?)
            .map_err(|_| JoseError::Decrypt)?;
        let iv: [u8; 12] = b64_decode(iv)?.try_into().map_err(|_| JoseError::Malformed)?;
        let mut sealed = b64_decode(ciphertext)?;
        sealed.extend(b64_decode(tag)?);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).map_err(|_| JoseError::Decrypt)?);
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(iv),
                Aad::from(protected.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| JoseError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

/// An RSA public key from a JWK (`n` and `e` base64url, padded or not).
pub fn rsa_public_from_jwk(jwk: &Value) -> Option<RsaPublicKey> {
    if jwk["kty"] != "RSA" {
        return None;
    }
    let part = |name: &str| Some(BigUint::from_bytes_be(&b64_decode(jwk[name].as_str()?).ok()?));
    RsaPublicKey::new(part("n")?, part("e")?).ok()
}

/// Encrypts `plaintext` to `public` as a compact JWE (`RSA-OAEP` + `A256GCM`).
pub fn encrypt(public: &RsaPublicKey, kid: Option<&str>, plaintext: &[u8]) -> Result<String, JoseError> {
    let rng = SystemRandom::new();
    let mut cek = [0u8; 32];
    let mut iv = [0u8; 12];
    rng.fill(&mut cek).map_err(|_| JoseError::Key("no randomness".into()))?;
    rng.fill(&mut iv).map_err(|_| JoseError::Key("no randomness".into()))?;
    let mut h = json!({"alg": "RSA-OAEP", "enc": "A256GCM", "cty": "JWT"});
    if let Some(kid) = kid {
        h["kid"] = json!(kid);
    }
    let protected = b64(h.to_string().as_bytes());
    let wrapped = public
        .encrypt(&mut rand::rngs::OsRng, Oaep::new::<sha1::Sha1>(), &cek)
        .map_err(|e| JoseError::Key(e.to_string()))?;
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).map_err(|_| JoseError::Decrypt)?);
    let mut sealed = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| JoseError::Decrypt)?;
    Ok(format!(
        "{protected}.{}.{}.{}.{}",
        b64(&wrapped),
        b64(&iv),
        b64(&sealed),
        b64(tag.as_ref())
    ))
}

/// A P-256 signing key (the FranceConnect simulator's).
pub struct SigningKey {
    pair: EcdsaKeyPair,
    kid: String,
}

impl SigningKey {
    pub fn generate(kid: &str) -> Result<SigningKey, JoseError> {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(|_| JoseError::Key("P-256 generation".into()))?;
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).map_err(|e| JoseError::Key(e.to_string()))?;
        Ok(SigningKey {
            pair,
            kid: kid.to_string(),
        })
    }

    /// The public half as a JWK (`use: sig`, `alg: ES256`).
    pub fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
            "x": b64(&point[1..33]),
            "y": b64(&point[33..65]),
        })
    }

    /// A compact JWS (ES256) of `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String, JoseError> {
        let h = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            b64(h.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| JoseError::Signature)?;
        Ok(format!("{input}.{}", b64(sig.as_ref())))
    }
}

/// A P-256 public key found in a JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    pub kid: Option<String>,
    /// The uncompressed point (`04 || x || y`).
    point: Vec<u8>,
}

impl VerifyingKey {
    /// The JWKS's signature keys on P-256; other keys are ignored.
    pub fn from_jwks(jwks: &Value) -> Vec<VerifyingKey> {
        jwks["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|k| k["kty"] == "EC" && k["crv"] == "P-256" && k.get("use").is_none_or(|u| u == "sig"))
            .filter_map(|k| {
                let x = b64_decode(k["x"].as_str()?).ok()?;
                let y = b64_decode(k["y"].as_str()?).ok()?;
                (x.len() == 32 && y.len() == 32).then(|| VerifyingKey {
                    kid: k["kid"].as_str().map(str::to_string),
                    point: [&[4u8][..], &x, &y].concat(),
                })
            })
            .collect()
    }
}

/// The `kid` a compact JWS names, if any.
pub fn jws_kid(jws: &str) -> Result<Option<String>, JoseError> {
    let protected = jws.split('.').next().ok_or(JoseError::Malformed)?;
    Ok(header(protected)?["kid"].as_str().map(str::to_string))
}

/// Checks a compact ES256 JWS with the key it names (the only key when it names none),
/// and returns its payload as JSON.
pub fn verify(jws: &str, keys: &[VerifyingKey]) -> Result<Value, JoseError> {
    let parts: Vec<&str> = jws.trim().split('.').collect();
    let [protected, payload, sig] = parts[..] else {
        return Err(JoseError::Malformed);
    };
    let h = header(protected)?;
    if h["alg"] != "ES256" {
        return Err(JoseError::Algorithm);
    }
    let key = match h["kid"].as_str() {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
    .ok_or(JoseError::UnknownKey)?;
    let input = format!("{protected}.{payload}");
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &key.point)
        .verify(input.as_bytes(), &b64_decode(sig)?)
        .map_err(|_| JoseError::Signature)?;
    serde_json::from_slice(&b64_decode(payload)?).map_err(|_| JoseError::Malformed)
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// One RSA key for the module: generating 2048-bit keys is slow in debug builds.
    fn key() -> &'static EncryptionKey {
        static KEY: OnceLock<EncryptionKey> = OnceLock::new();
        KEY.get_or_init(|| EncryptionKey::generate().unwrap())
    }

    #[test]
    fn jwe_round_trip_and_only_the_right_key_opens_it() {
        let jwe = encrypt(&key().public(), Some(key().kid()), b"hello").unwrap();
        assert_eq!(jwe.split('.').count(), 5);
        assert_eq!(key().decrypt(&jwe).unwrap(), b"hello");
        let other = EncryptionKey::from_pkcs8_der(&key().to_pkcs8_der().unwrap()).unwrap();
        assert_eq!(other.kid(), key().kid(), "the kid follows the key");
        let stranger = RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        let foreign = encrypt(&stranger.to_public_key(), None, b"hello").unwrap();
        assert_eq!(key().decrypt(&foreign).unwrap_err(), JoseError::Decrypt);
    }

    #[test]
    fn jwe_tampering_is_refused() {
        let jwe = encrypt(&key().public(), None, b"{\"a\":1}").unwrap();
        let mut parts: Vec<String> = jwe.split('.').map(str::to_string).collect();
        let mut ciphertext = b64_decode(&parts[3]).unwrap();
        ciphertext[0] ^= 1;
        parts[3] = b64(&ciphertext);
        assert_eq!(key().decrypt(&parts.join(".")).unwrap_err(), JoseError::Decrypt);
        assert_eq!(key().decrypt("a.b.c").unwrap_err(), JoseError::Malformed);
        let other_alg = format!(
            "{}.{}",
            b64(br#"{"alg":"RSA1_5","enc":"A256GCM"}"#),
            parts[1..].join(".")
        );
        assert_eq!(key().decrypt(&other_alg).unwrap_err(), JoseError::Algorithm);
    }

    #[test]
    fn jwk_publishes_the_public_half_and_padding_is_accepted() {
        let jwk = key().jwk();
        assert_eq!(
            (jwk["kty"].as_str(), jwk["use"].as_str(), jwk["alg"].as_str()),
            (Some("RSA"), Some("enc"), Some("RSA-OAEP"))
        );
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(rsa_public_from_jwk(&jwk).unwrap(), key().public());
        let mut padded = jwk.clone();
        padded["n"] = json!(format!("{}==", jwk["n"].as_str().unwrap()));
        padded["e"] = json!("AQAB");
        assert_eq!(rsa_public_from_jwk(&padded).unwrap(), key().public());
    }

    #[test]
    fn jws_verifies_with_its_key_only() {
        let signer = SigningKey::generate("fc-1").unwrap();
        let jwks = json!({"keys": [signer.jwk()]});
        let keys = VerifyingKey::from_jwks(&jwks);
        let jws = signer.sign(&json!({"sub": "x"})).unwrap();
        assert_eq!(jws_kid(&jws).unwrap().as_deref(), Some("fc-1"));
        assert_eq!(verify(&jws, &keys).unwrap(), json!({"sub": "x"}));
        let impostor = SigningKey::generate("fc-1").unwrap();
        let forged = impostor.sign(&json!({"sub": "x"})).unwrap();
        assert_eq!(verify(&forged, &keys).unwrap_err(), JoseError::Signature);
        let other_kid = SigningKey::generate("fc-2").unwrap().sign(&json!({})).unwrap();
        assert_eq!(verify(&other_kid, &keys).unwrap_err(), JoseError::UnknownKey);
    }

    #[test]
    fn tampered_jws_payload_is_refused() {
        let signer = SigningKey::generate("fc").unwrap();
        let keys = VerifyingKey::from_jwks(&json!({"keys": [signer.jwk()]}));
        let jws = signer.sign(&json!({"scope": "openid"})).unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], b64(br#"{"scope":"openid all"}"#), parts[2]);
        assert_eq!(verify(&tampered, &keys).unwrap_err(), JoseError::Signature);
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), parts[1]);
        assert_eq!(verify(&none, &keys).unwrap_err(), JoseError::Algorithm);
    }
}
