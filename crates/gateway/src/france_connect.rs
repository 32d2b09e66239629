//! FranceConnect on the gateway side: the RSA key FranceConnect encrypts to (made once,
//! kept in the store so that every replica shares it), its JWKS route, and the caller a
//! FranceConnect access token stands for.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{TimeZone, Utc};
use passerelle_core::{ApiError, Civility};
use passerelle_providers::france_connect::jose::EncryptionKey;
use passerelle_providers::france_connect::{FranceConnect, FranceConnectConfig, USER_ID};
use passerelle_store::{Store, TokenRecord};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::Errors;
use crate::AppState;

/// The store secret holding the key (PKCS#8 DER).
const KEY_SECRET: &str = "france_connect_rsa_private";

pub struct Gate {
    client: FranceConnect,
    store: Arc<dyn Store>,
    key: OnceCell<Arc<EncryptionKey>>,
}

impl Gate {
    pub fn new(config: &FranceConnectConfig, store: Arc<dyn Store>) -> anyhow::Result<Gate> {
        Ok(Gate {
            client: FranceConnect::new(config.clone())?,
            store,
            key: OnceCell::new(),
        })
    }

    /// The gateway's key, read from the store, or made there on first use. Replicas
    /// starting together may each make one: the store keeps the first written.
    pub async fn key(&self) -> anyhow::Result<Arc<EncryptionKey>> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let kept = match self.store.secret(KEY_SECRET).await? {
                    Some(kept) => kept,
                    None => {
                        let made = tokio::task::spawn_blocking(|| EncryptionKey::generate()?.to_pkcs8_der()).await??;
                        self.store.secret_or_insert(KEY_SECRET, made).await?
                    }
                };
                anyhow::Ok(Arc::new(EncryptionKey::from_pkcs8_der(&kept)?))
            })
            .await?;
        Ok(key.clone())
    }

    /// The caller and the person behind a FranceConnect access token, asked to
    /// FranceConnect as the client of `api`.
    pub async fn caller(&self, api: &str, token: &str) -> Result<(Caller, Civility), Errors> {
        let key = self.key().await.map_err(|e| {
            tracing::error!(error = %e, "FranceConnect key unavailable");
            ApiError::gateway("00500")
        })?;
        let checked = self.client.check(&key, api, token).await.map_err(Errors)?;
        Ok((caller(checked.scopes), checked.civility))
    }
}

/// Every FranceConnect call runs as the same fixed user, with the token's scopes.
pub(crate) fn caller(scopes: HashSet<String>) -> Caller {
    let record = TokenRecord {
        jti: Uuid::parse_str(USER_ID).expect("a valid UUID"),
        name: "FranceConnect".into(),
        siret: String::new(),
        bouquet: "particulier".into(),
        scopes: scopes.iter().cloned().collect(),
        issued_at: Utc.with_ymd_and_hms(2022, 1, 1, 0, 0, 0).single().unwrap_or_default(),
        expires_at: Utc.with_ymd_and_hms(2042, 1, 1, 0, 0, 0).single().unwrap_or_default(),
        revoked_at: None,
        rate_limit_per_minute: None,
        allowed_ips: Vec::new(),
    };
    Caller { record, scopes }
}

/// The rate-limit key of a FranceConnect token: its hash, so the token itself is kept
/// nowhere.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `GET /api/france_connect_jwks`: the key FranceConnect encrypts check-token answers to.
pub async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    match state.france_connect.key().await {
        Ok(key) => Json(json!({"keys": [key.jwk()]})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "FranceConnect key unavailable");
            Errors::from(ApiError::gateway("00500")).into_response()
        }
    }
}
