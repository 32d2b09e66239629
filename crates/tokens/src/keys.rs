//! The keys that sign Passerelle's tokens: Ed25519, made at first start and kept in
//! the store. Several may coexist (rotation); tokens name theirs with `kid`.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use passerelle_store::{SigningKey, KEYS_FOR_TOKENS};
use serde::{Deserialize, Serialize};

use crate::Backend;

/// The claims of a Passerelle token, as the contract lists them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub uid: String,
    pub jti: String,
    pub scopes: Vec<String>,
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub version: String,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

pub struct KeyRing {
    /// Oldest first; the newest signs.
    keys: Vec<Key>,
    validation: Validation,
}

fn make_key() -> anyhow::Result<SigningKey> {
    SigningKey::generate(KEYS_FOR_TOKENS)
}

async fn token_keys(store: &Backend) -> anyhow::Result<Vec<SigningKey>> {
    let mut keys = store.signing_keys().await?;
    keys.retain(|k| k.signs(KEYS_FOR_TOKENS));
    Ok(keys)
}

impl KeyRing {
    /// Loads the keys, creating the first one if the store has none.
    pub async fn load_or_create(store: &Backend) -> anyhow::Result<KeyRing> {
        let mut stored = token_keys(store).await?;
        if stored.is_empty() {
            store.insert_signing_key(&make_key()?).await?;
            stored = token_keys(store).await?;
        }
        let keys = stored
            .iter()
            .map(|k| Key {
                kid: k.kid.clone(),
                encoding: EncodingKey::from_ed_der(&k.private_der),
                decoding: DecodingKey::from_ed_der(&k.public_der),
            })
            .collect::<Vec<_>>();
        anyhow::ensure!(!keys.is_empty(), "the store holds no usable signing key");
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Expiry and revocation come from the store, which is the source of truth.
        validation.validate_exp = false;
        validation.required_spec_claims = HashSet::new();
        Ok(KeyRing { keys, validation })
    }

    /// Adds a new signing key to the store and returns its `kid`. Rings loaded after
    /// this sign with it; older keys keep verifying.
    pub async fn rotate(store: &Backend) -> anyhow::Result<String> {
        let key = make_key()?;
        store.insert_signing_key(&key).await?;
        Ok(key.kid)
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let key = self.keys.last().expect("at least one key");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }

    /// The claims of a token signed by one of our keys, or `None`.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = self.keys.iter().find(|k| Some(&k.kid) == header.kid.as_ref())?;
        jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{claims, Scratch};

    fn kid_of(token: &str) -> String {
        jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
    }

    #[tokio::test]
    async fn first_load_creates_one_key_and_later_loads_reuse_it() {
        let scratch = Scratch::new().await;
        let first = KeyRing::load_or_create(scratch.store()).await.unwrap();
        let again = KeyRing::load_or_create(scratch.store()).await.unwrap();
        assert_eq!(scratch.store().signing_keys().await.unwrap().len(), 1);
        let token = first.sign(&claims("a")).unwrap();
        assert_eq!(again.verify(&token), Some(claims("a")));
    }

    #[tokio::test]
    async fn after_rotation_the_new_key_signs_and_the_old_one_still_verifies() {
        let scratch = Scratch::new().await;
        let before = KeyRing::load_or_create(scratch.store()).await.unwrap();
        let old_token = before.sign(&claims("old")).unwrap();
        let new_kid = KeyRing::rotate(scratch.store()).await.unwrap();
        let after = KeyRing::load_or_create(scratch.store()).await.unwrap();
        let new_token = after.sign(&claims("new")).unwrap();
        assert_ne!(kid_of(&old_token), new_kid);
        assert_eq!(kid_of(&new_token), new_kid);
        assert_eq!(after.verify(&old_token), Some(claims("old")));
        assert_eq!(after.verify(&new_token), Some(claims("new")));
        assert_eq!(
            before.verify(&new_token),
            None,
            "a ring knows the keys it loaded, no more"
        );
    }

    #[tokio::test]
    async fn a_key_of_another_store_or_a_forged_signature_is_refused() {
        let (ours, theirs) = (Scratch::new().await, Scratch::new().await);
        let ring = KeyRing::load_or_create(ours.store()).await.unwrap();
        let foreign = KeyRing::load_or_create(theirs.store()).await.unwrap();
        assert_eq!(ring.verify(&foreign.sign(&claims("x")).unwrap()), None);
        let mut forged = ring.sign(&claims("x")).unwrap();
        let last = if forged.ends_with('A') { 'B' } else { 'A' };
        forged.pop();
        forged.push(last);
        assert_eq!(ring.verify(&forged), None);
        assert_eq!(ring.verify("a.b.c"), None);
    }
}
