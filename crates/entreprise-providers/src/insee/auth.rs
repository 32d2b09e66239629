//! INSEE's OAuth2 *password* grant (client id and secret plus an API manager account).
//! The token lives about a week; it is asked again only when INSEE refuses it (401),
//! then the data call is replayed once.

use std::time::{Duration, Instant};

use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::errors::{Failure, INSEE};

/// Where and with what to ask for a token.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub url: reqwest::Url,
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    pub password: String,
}

/// A token answer is a few hundred bytes.
const TOKEN_MAX_BODY_BYTES: usize = 64 * 1024;
/// A token answer that is not JSON is asked again, up to this many times in all.
const ATTEMPTS: usize = 5;
const PAUSE: Duration = Duration::from_millis(200);

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

pub struct TokenCache {
    credentials: Credentials,
    /// The token endpoint gets the default 10 s budget, not the data calls' 2 s.
    client: Upstream,
    cached: Mutex<Option<(String, Instant)>>,
}

impl TokenCache {
    pub fn new(credentials: Credentials, client: Upstream) -> Self {
        TokenCache {
            credentials,
            client,
            cached: Mutex::new(None),
        }
    }

    /// Sends the request `build` makes with a token; on a 401 gets a fresh token (unless
    /// another call already did) and replays once. A second 401 is `01011`.
    pub async fn send(
        &self,
        client: &Upstream,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let token = self.token(None).await?;
        let response = client.send(INSEE, build(&token)).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let fresh = self.token(Some(&token)).await.map_err(|_| Failure::TokenRefused)?;
        let replay = client.send(INSEE, build(&fresh)).await?;
        if replay.status() == StatusCode::UNAUTHORIZED {
            tracing::error!(provider = INSEE.name, "INSEE refused a fresh token");
            return Err(Failure::TokenRefused);
        }
        Ok(replay)
    }

    /// The cached token, unless it is missing, expired or the one just `refused`.
    async fn token(&self, refused: Option<&str>) -> Result<String, Failure> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until && Some(token.as_str()) != refused {
                return Ok(token.clone());
            }
        }
        let fresh = self.fetch().await?;
        // Ten seconds of margin so that a token never expires in flight.
        let until = Instant::now() + Duration::from_secs(fresh.expires_in.saturating_sub(10));
        *cached = Some((fresh.access_token.clone(), until));
        Ok(fresh.access_token)
    }

    async fn fetch(&self) -> Result<TokenAnswer, Failure> {
        let mut attempt = 1;
        loop {
            match self.fetch_once().await {
                Err(Failure::Unknown) if attempt < ATTEMPTS => {
                    attempt += 1;
                    tokio::time::sleep(PAUSE).await;
                }
                other => return other,
            }
        }
    }

    async fn fetch_once(&self) -> Result<TokenAnswer, Failure> {
        let c = &self.credentials;
        let form = [
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("grant_type", "password"),
            ("username", c.username.as_str()),
            ("password", c.password.as_str()),
        ];
        let response = self
            .client
            .send(INSEE, self.client.post(c.url.clone()).form(&form))
            .await?;
        if let Some(error) = http::soft_status_error(INSEE, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(INSEE, response, TOKEN_MAX_BODY_BYTES).await?;
        // The real gateway does not look at the status: a body with a token is a token.
        serde_json::from_slice(&body).map_err(|_| {
            tracing::error!(provider = INSEE.name, %status, "INSEE token answer is not a token");
            Failure::Unknown
        })
    }
}
