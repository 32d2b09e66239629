//! OAuth2 client credentials sent in the form body (`client_id`, `client_secret`,
//! `grant_type`), as France Travail and SDH expect. `crate::oauth::TokenCache` sends
//! them with HTTP Basic (the DSS way), which these upstreams do not document.

use std::time::{Duration, Instant};

use passerelle_core::{ApiError, ProviderInfo};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::http;

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

/// One cached token. The lock also keeps concurrent calls from asking twice.
pub struct FormTokenCache {
    url: String,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    cached: Mutex<Option<(String, Instant)>>,
}

impl FormTokenCache {
    pub fn new(url: String, client_id: String, client_secret: String, scope: Option<String>) -> Self {
        FormTokenCache {
            url,
            client_id,
            client_secret,
            scope,
            cached: Mutex::new(None),
        }
    }

    /// A valid token, asked for when none is cached or the cached one is about to expire.
    pub async fn get(&self, client: &reqwest::Client, info: ProviderInfo) -> Result<String, ApiError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let fresh = self.fetch(client, info).await?;
        // Ten seconds of margin so that a token never expires in flight.
        let until = Instant::now() + Duration::from_secs(fresh.expires_in.saturating_sub(10));
        *cached = Some((fresh.access_token.clone(), until));
        Ok(fresh.access_token)
    }

    /// Forgets the token (after the upstream refused it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self, client: &reqwest::Client, info: ProviderInfo) -> Result<TokenResponse, ApiError> {
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("grant_type", "client_credentials"),
        ];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let response = client
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| http::transport_error(info, &e))?;
        let status = response.status();
        if let Some(error) = http::soft_status_error(info, status) {
            return Err(error);
        }
        if status == 400 || status == 401 || status == 403 {
            tracing::error!(provider = info.name, %status, "upstream refused the gateway's client credentials");
            return Err(info.error("006"));
        }
        let body = response.bytes().await.map_err(|e| http::transport_error(info, &e))?;
        serde_json::from_slice::<TokenResponse>(&body).map_err(|_| {
            tracing::error!(provider = info.name, %status, "upstream token answer is not a token");
            info.error("999")
        })
    }
}
