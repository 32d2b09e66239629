//! Signed links: `/documents/<id>?expires=<unix>&sig=<hex>`, the signature an
//! HMAC-SHA256 over the id and the expiry, checked in constant time.

use ring::hmac;

/// A stored document: its random id and the second it dies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub id: String,
    pub expires: u64,
}

/// Why a link does not open its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not an id this store could have made.
    Unknown,
    /// The signature does not match the id and expiry (tampered or made up).
    Forged,
    /// Genuine, but past its expiry.
    Expired,
}

impl Handle {
    /// A fresh id: 128 random bits in hex.
    pub fn new(expires: u64) -> Handle {
        Handle {
            id: hex::encode(rand::random::<[u8; 16]>()),
            expires,
        }
    }

    /// Only ids this crate makes: 32 lowercase hex digits (so no path trickery either).
    pub fn is_id(id: &str) -> bool {
        id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    fn message(id: &str, expires: u64) -> String {
        format!("{id}.{expires}")
    }
}

pub struct Signer(hmac::Key);

impl Signer {
    pub fn new(secret: &[u8]) -> Signer {
        Signer(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    pub fn sign(&self, handle: &Handle) -> String {
        hex::encode(hmac::sign(
            &self.0,
            Handle::message(&handle.id, handle.expires).as_bytes(),
        ))
    }

    pub fn link_path(&self, handle: &Handle) -> String {
        format!(
            "/documents/{}?expires={}&sig={}",
            handle.id,
            handle.expires,
            self.sign(handle)
        )
    }

    /// The handle a link names, if its signature holds and it has not expired. The
    /// signature is checked before the expiry, so that a moved expiry reads as forged.
    pub fn verify(&self, id: &str, expires: &str, sig: &str, now: u64) -> Result<Handle, LinkError> {
        if !Handle::is_id(id) {
            return Err(LinkError::Unknown);
        }
        let expires: u64 = expires.parse().map_err(|_| LinkError::Forged)?;
        let sig = hex::decode(sig).map_err(|_| LinkError::Forged)?;
        hmac::verify(&self.0, Handle::message(id, expires).as_bytes(), &sig).map_err(|_| LinkError::Forged)?;
        if expires <= now {
            return Err(LinkError::Expired);
        }
        Ok(Handle {
            id: id.to_string(),
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let signer = Signer::new(b"secret");
        let handle = Handle::new(1_000);
        let sig = signer.sign(&handle);
        assert_eq!(signer.verify(&handle.id, "1000", &sig, 999), Ok(handle.clone()));
        assert_eq!(signer.verify(&handle.id, "1000", &sig, 1000), Err(LinkError::Expired));
    }

    #[test]
    fn any_change_is_forged() {
        let signer = Signer::new(b"secret");
        let handle = Handle::new(1_000);
        let sig = signer.sign(&handle);
        assert_eq!(signer.verify(&handle.id, "1001", &sig, 0), Err(LinkError::Forged));
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(signer.verify(&handle.id, "1000", &flipped, 0), Err(LinkError::Forged));
        assert_eq!(signer.verify(&handle.id, "1000", "zz", 0), Err(LinkError::Forged));
        let other = Handle::new(1_000);
        assert_eq!(signer.verify(&other.id, "1000", &sig, 0), Err(LinkError::Forged));
        assert_eq!(
            Signer::new(b"another").verify(&handle.id, "1000", &sig, 0),
            Err(LinkError::Forged)
        );
    }

    #[test]
    fn ids_are_random_and_strict() {
        let (a, b) = (Handle::new(1), Handle::new(1));
        assert_ne!(a.id, b.id);
        assert!(Handle::is_id(&a.id));
        assert!(!Handle::is_id("../../etc/passwd"));
        assert!(!Handle::is_id(&a.id.to_uppercase()));
        let signer = Signer::new(b"secret");
        assert_eq!(signer.verify("nope", "1", "00", 0), Err(LinkError::Unknown));
    }
}
