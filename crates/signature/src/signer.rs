//! The gateway's answer-signing keys: loaded from the store, refreshed now and then so
//! that every replica learns a rotation, and published as a JWKS.
//!
//! A key's `created_at` is when it starts signing. `rotate` dates the new key ahead,
//! so that every replica publishes it before any replica signs with it: a client that
//! fetched the key set just before a rotation never meets an unknown `kid`.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use passerelle_store::{SigningKey, Store, KEYS_FOR_ANSWERS};
use ring::signature::Ed25519KeyPair;
use serde_json::json;

use crate::claims::{signing_input, AnswerClaims, Header, ALG, TYP};

pub struct AnswerSigner {
    store: Arc<dyn Store>,
    loaded: RwLock<Arc<Loaded>>,
}

struct Loaded {
    /// The newest key whose time has come.
    active: Option<Active>,
    /// Every answer key, active or not yet.
    jwks: String,
}

struct Active {
    kid: String,
    pair: Ed25519KeyPair,
}

impl AnswerSigner {
    /// Loads the answer keys, creating the first one if the store has none.
    pub async fn load_or_create(store: Arc<dyn Store>) -> anyhow::Result<Arc<AnswerSigner>> {
        if answer_keys(store.as_ref()).await?.is_empty() {
            store
                .insert_signing_key(&SigningKey::generate(KEYS_FOR_ANSWERS)?)
                .await?;
        }
        let loaded = load(store.as_ref(), Utc::now()).await?;
        Ok(Arc::new(AnswerSigner {
            store,
            loaded: RwLock::new(Arc::new(loaded)),
        }))
    }

    /// Reads the keys again (a rotation, a key whose time has come).
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let loaded = Arc::new(load(self.store.as_ref(), Utc::now()).await?);
        *self.loaded.write().expect("answer keys") = loaded;
        Ok(())
    }

    /// Refreshes every `every` until the signer is dropped.
    pub fn keep_fresh(self: &Arc<Self>, every: Duration) {
        tokio::spawn(refresh_loop(Arc::downgrade(self), every));
    }

    /// The compact detached JWS of `body` under `claims`: `header..signature`.
    pub fn sign(&self, claims: &AnswerClaims, body: &[u8]) -> anyhow::Result<String> {
        let loaded = self.current();
        let active = loaded
            .active
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no answer key is active yet"))?;
        let header = Header {
            alg: ALG.into(),
            kid: active.kid.clone(),
            typ: Some(TYP.into()),
            claims: claims.clone(),
        };
        let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
        let signature = active.pair.sign(&signing_input(&encoded, body));
        Ok(format!("{encoded}..{}", URL_SAFE_NO_PAD.encode(signature.as_ref())))
    }

    /// The public keys, as a JWKS document.
    pub fn jwks(&self) -> String {
        self.current().jwks.clone()
    }

    /// The `kid` that signs now.
    pub fn active_kid(&self) -> Option<String> {
        self.current().active.as_ref().map(|a| a.kid.clone())
    }

    fn current(&self) -> Arc<Loaded> {
        self.loaded.read().expect("answer keys").clone()
    }
}

async fn refresh_loop(signer: Weak<AnswerSigner>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(signer) = signer.upgrade() else {
            return;
        };
        if let Err(e) = signer.refresh().await {
            tracing::warn!(error = %e, "answer keys could not be refreshed");
        }
    }
}

/// Adds an answer key that starts signing `activate_in` from now; returns its `kid`.
/// Older keys stay published.
pub async fn rotate(store: &dyn Store, activate_in: chrono::Duration) -> anyhow::Result<(String, DateTime<Utc>)> {
    let mut key = SigningKey::generate(KEYS_FOR_ANSWERS)?;
    key.created_at += activate_in;
    store.insert_signing_key(&key).await?;
    Ok((key.kid, key.created_at))
}

async fn answer_keys(store: &dyn Store) -> anyhow::Result<Vec<SigningKey>> {
    let mut keys = store.signing_keys().await?;
    keys.retain(|k| k.signs(KEYS_FOR_ANSWERS));
    Ok(keys)
}

async fn load(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<Loaded> {
    // Oldest first: the last key whose time has come signs.
    let keys = answer_keys(store).await?;
    let active = match keys.iter().rfind(|k| k.created_at <= now) {
        Some(k) => Some(Active {
            kid: k.kid.clone(),
            pair: Ed25519KeyPair::from_pkcs8(&k.private_der)
                .map_err(|_| anyhow::anyhow!("answer key {} is invalid", k.kid))?,
        }),
        None => None,
    };
    let published: Vec<_> = keys
        .iter()
        .map(|k| {
            json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(&k.public_der),
                "kid": k.kid,
                "alg": ALG,
                "use": "sig",
            })
        })
        .collect();
    Ok(Loaded {
        active,
        jwks: json!({ "keys": published }).to_string(),
    })
}
