//! FranceConnect on the gateway side: the RSA key FranceConnect encrypts to (made once,
//! kept in the store so that every replica shares it), its JWKS route, and the check
//! of a citizen's access token.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use passerelle_core::{codes, ApiError};
use passerelle_providers::france_connect::jose::EncryptionKey;
use passerelle_providers::france_connect::{Checked, FranceConnect, FranceConnectConfig};
use passerelle_store::Store;
use serde_json::json;
use tokio::sync::OnceCell;

use crate::error::Errors;
use crate::Served;

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

    /// The scopes and the person behind a FranceConnect access token, asked to
    /// FranceConnect as the client of `api`.
    pub async fn check(&self, api: &str, token: &str) -> Result<Checked, Errors> {
        let key = self.key().await.map_err(|e| {
            tracing::error!(error = %e, "FranceConnect key unavailable");
            ApiError::gateway(codes::INTERNAL)
        })?;
        self.client.check(&key, api, token).await.map_err(Errors)
    }
}

/// `GET /api/france_connect_jwks`: the key FranceConnect encrypts check-token answers to.
pub async fn jwks(State(served): State<Arc<Served>>) -> Response {
    match served.app.france_connect.key().await {
        Ok(key) => Json(json!({"keys": [key.jwk()]})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "FranceConnect key unavailable");
            Errors::from(ApiError::gateway(codes::INTERNAL)).into_response()
        }
    }
}
