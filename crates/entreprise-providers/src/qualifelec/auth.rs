//! Qualifelec's login: a JSON POST of the account's name and password answers
//! `{"token": "<JWT>"}`, whose lifetime is read from the JWT's own `exp` claim (the
//! signature is Qualifelec's business, not checked here). The token is kept until ten
//! seconds before it expires; a token whose `exp` cannot be read serves one call only.

use std::time::Instant;

use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::upstream::jwt_lifetime;

use super::{Failure, QUALIFELEC};

pub struct Login {
    url: reqwest::Url,
    username: String,
    password: String,
    max_body_bytes: usize,
    cached: Mutex<Option<(String, Instant)>>,
}

impl Login {
    pub fn new(url: reqwest::Url, username: String, password: String, max_body_bytes: usize) -> Self {
        Login {
            url,
            username,
            password,
            max_body_bytes,
            cached: Mutex::new(None),
        }
    }

    /// A valid token, logging in when none is kept.
    pub async fn token(&self, client: &Upstream) -> Result<String, Failure> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let token = self.log_in(client).await?;
        *cached = jwt_lifetime(&token).map(|left| (token.clone(), Instant::now() + left));
        Ok(token)
    }

    /// Forgets the token (after Qualifelec refused it).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    /// The login's status is not looked at: a refusal carries no token (`32999`).
    async fn log_in(&self, client: &Upstream) -> Result<String, Failure> {
        let request = client
            .post(self.url.clone())
            .header("accept", "application/json")
            .json(&json!({"username": self.username, "password": self.password}));
        let response = client.send(QUALIFELEC, request).await?;
        let (_, body) = http::read(QUALIFELEC, response, self.max_body_bytes).await?;
        let answer: Value = serde_json::from_slice(&body).map_err(|_| Failure::Unknown)?;
        match answer.get("token").and_then(Value::as_str) {
            Some(token) if !token.is_empty() => Ok(token.to_string()),
            _ => Err(Failure::Unknown),
        }
    }
}
