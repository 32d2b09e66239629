//! A real SQLite store in a temp folder, and the requests and claims tests sign.

use std::sync::Arc;

use crate::{Backend, Claims, KeyRing, TokenRequest};

pub struct Scratch {
    store: Arc<Backend>,
    _dir: tempfile::TempDir,
}

impl Scratch {
    pub async fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/tokens.db", dir.path().display());
        let store = passerelle_journal::open(&url).await.unwrap();
        Scratch { store, _dir: dir }
    }

    pub fn store(&self) -> &Backend {
        self.store.as_ref()
    }

    pub fn arc(&self) -> Arc<Backend> {
        self.store.clone()
    }

    pub async fn keys(&self) -> KeyRing {
        KeyRing::load_or_create(self.store()).await.unwrap()
    }
}

pub fn request() -> TokenRequest {
    TokenRequest {
        name: "Mairie de test".into(),
        siret: "13002526500013".into(),
        bouquet: passerelle_store::PARTICULIER.into(),
        scopes: vec!["cnaf_quotient_familial".into()],
        expires_in_days: 30,
        rate_limit_per_minute: None,
        allowed_ips: Vec::new(),
        dpo_email: None,
    }
}

/// Claims naming `jti`, whether or not a record exists.
pub fn claims(jti: &str) -> Claims {
    Claims {
        uid: jti.into(),
        jti: jti.into(),
        scopes: vec!["cnaf_quotient_familial".into()],
        sub: "x".into(),
        iat: 0,
        exp: i64::MAX / 2,
        version: "1.0".into(),
    }
}
