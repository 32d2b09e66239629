//! GIP-MDS's OAuth2 token. Unlike the shared `oauth` helper (HTTP Basic), GIP-MDS
//! takes the client id and secret in the form body.

use std::time::{Duration, Instant};

use passerelle_core::ApiError;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::GIP_MDS;
use crate::http;

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

/// One cached token; the lock also keeps concurrent calls from asking twice.
pub struct Token {
    url: String,
    client_id: String,
    client_secret: String,
    cached: Mutex<Option<(String, Instant)>>,
}

impl Token {
    pub fn new(url: String, client_id: String, client_secret: String) -> Self {
        Token {
            url,
            client_id,
            client_secret,
            cached: Mutex::new(None),
        }
    }

    pub async fn get(&self, client: &reqwest::Client) -> Result<String, ApiError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let fresh = self.fetch(client).await?;
        // Ten seconds of margin so that a token never expires in flight.
        let until = Instant::now() + Duration::from_secs(fresh.expires_in.saturating_sub(10));
        *cached = Some((fresh.access_token.clone(), until));
        Ok(fresh.access_token)
    }

    /// Forgets the token (after the upstream refused it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self, client: &reqwest::Client) -> Result<TokenResponse, ApiError> {
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let response = client
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| http::transport_error(GIP_MDS, &e))?;
        let status = response.status();
        if let Some(error) = http::soft_status_error(GIP_MDS, status) {
            return Err(error);
        }
        if status == 401 || status == 403 {
            tracing::error!(provider = GIP_MDS.name, %status, "upstream refused the gateway's client credentials");
            return Err(GIP_MDS.error("006"));
        }
        let body = response.bytes().await.map_err(|e| http::transport_error(GIP_MDS, &e))?;
        serde_json::from_slice::<TokenResponse>(&body).map_err(|_| {
            tracing::error!(provider = GIP_MDS.name, %status, "upstream token answer is not a token");
            GIP_MDS.error("999")
        })
    }
}
