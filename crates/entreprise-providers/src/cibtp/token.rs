//! The CIBTP's token: a JSON POST of the client id and secret (no grant type, unlike
//! the OAuth2 form the shared token cache speaks), kept until shortly before expiry.

use std::time::{Duration, Instant};

use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::{Failure, CIBTP};

/// A token answer is a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// So that a token never expires in flight.
const MARGIN_SECS: u64 = 10;

#[derive(Deserialize)]
struct Answer {
    access_token: String,
    expires_in: u64,
}

pub struct Tokens {
    url: reqwest::Url,
    client_id: String,
    client_secret: String,
    cached: Mutex<Option<(String, Instant)>>,
}

impl Tokens {
    pub fn new(url: reqwest::Url, client_id: String, client_secret: String) -> Self {
        Tokens {
            url,
            client_id,
            client_secret,
            cached: Mutex::new(None),
        }
    }

    /// A valid token, asked for when none is cached or it is about to expire.
    pub async fn get(&self, client: &Upstream) -> Result<String, Failure> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let fresh = self.ask(client).await?;
        let until = Instant::now() + Duration::from_secs(fresh.expires_in.saturating_sub(MARGIN_SECS));
        *cached = Some((fresh.access_token.clone(), until));
        Ok(fresh.access_token)
    }

    /// Forgets the token the service refused.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// The token call. Like the real gateway we judge the body, not the status: an
    /// answer without a token is `38999` whatever its status.
    async fn ask(&self, client: &Upstream) -> Result<Answer, Failure> {
        let credentials = json!({"client_id": self.client_id, "client_secret": self.client_secret});
        let request = client.post(self.url.clone()).json(&credentials);
        let response = client.send(CIBTP, request).await?;
        if let Some(error) = http::soft_status_error(CIBTP, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(CIBTP, response, MAX_BODY_BYTES).await?;
        serde_json::from_slice(&body).map_err(|_| {
            tracing::error!(provider = CIBTP.name, %status, "upstream token answer is not a token");
            Failure::Unknown
        })
    }
}
