//! Authenticated encryption of a link's content (ChaCha20-Poly1305, a fresh nonce per
//! link), under a key derived from the link-signing secret and a purpose, so that a
//! token made for one route never opens on another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hmac;

use crate::DocumentError;

pub struct Sealer(LessSafeKey);

impl Sealer {
    pub fn new(secret: &[u8], purpose: &[u8]) -> Result<Sealer, DocumentError> {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), purpose);
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, derived.as_ref())
            .map_err(|_| DocumentError::Settings("link sealing key".into()))?;
        Ok(Sealer(LessSafeKey::new(unbound)))
    }

    /// `plain`, sealed, as URL-safe base64.
    pub fn seal(&self, plain: &str) -> String {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut sealed = plain.as_bytes().to_vec();
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        // Sealing only fails past ChaCha20's length limit (256 GiB).
        if self
            .0
            .seal_in_place_append_tag(nonce, Aad::empty(), &mut sealed)
            .is_err()
        {
            return String::new();
        }
        let mut token = nonce_bytes.to_vec();
        token.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// The content of a genuine token; `None` for anything else.
    pub fn open(&self, token: &str) -> Option<String> {
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        if raw.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plain = self.0.open_in_place(nonce, Aad::empty(), &mut sealed).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}
