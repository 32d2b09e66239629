//! OAuth2 client-credentials tokens for upstreams, cached until shortly before expiry.

use passerelle_core::Subcode;
use std::time::{Duration, Instant};

use base64::Engine;
use passerelle_core::{ApiError, ProviderInfo};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::http;
use crate::upstream::Upstream;

/// Where and how to ask for a token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub url: reqwest::Url,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    pub auth: ClientAuth,
}

impl TokenRequest {
    /// A request without a scope.
    pub fn new(url: reqwest::Url, client_id: String, client_secret: String, auth: ClientAuth) -> Self {
        TokenRequest {
            url,
            client_id,
            client_secret,
            scope: None,
            auth,
        }
    }
}

/// Where the client credentials go: providers differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(id:secret)` (DSS, CNOUS).
    Basic,
    /// `client_id` and `client_secret` in the form body (MEN, France Travail, GIP-MDS, SDH).
    Form,
}

/// A token answer is a few hundred bytes; anything past this is not one.
const TOKEN_MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

/// One cached token. The lock also keeps concurrent calls from asking twice.
pub struct TokenCache {
    request: TokenRequest,
    cached: Mutex<Option<(String, Instant)>>,
}

impl TokenCache {
    pub fn new(request: TokenRequest) -> Self {
        TokenCache {
            request,
            cached: Mutex::new(None),
        }
    }

    /// A valid token, fetched (with the configured client authentication) when needed.
    pub async fn get(&self, client: &Upstream, info: ProviderInfo) -> Result<String, ApiError> {
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

    /// Sends `request` on `client` with a bearer token (asked on `token_client` when
    /// needed: some providers give the two different timeouts); a refused token (401)
    /// is forgotten so that the next call asks for a new one.
    pub async fn send(
        &self,
        token_client: &Upstream,
        client: &Upstream,
        info: ProviderInfo,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        let token = self.get(token_client, info).await?;
        let request = request.header("Authorization", format!("Bearer {token}"));
        let response = client.send(info, request).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            self.invalidate().await;
        }
        Ok(response)
    }

    async fn fetch(&self, client: &Upstream, info: ProviderInfo) -> Result<TokenResponse, ApiError> {
        let r = &self.request;
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &r.scope {
            form.push(("scope", scope));
        }
        let mut request = client.post(r.url.clone());
        match r.auth {
            ClientAuth::Basic => {
                let basic =
                    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", r.client_id, r.client_secret));
                request = request.header("Authorization", format!("Basic {basic}"));
            }
            ClientAuth::Form => form.extend([
                ("client_id", r.client_id.as_str()),
                ("client_secret", r.client_secret.as_str()),
            ]),
        }
        let response = client.send(info, request.form(&form)).await?;
        if let Some(error) = http::soft_status_error(info, response.status()) {
            return Err(error);
        }
        let status = response.status();
        if status == 401 || status == 403 {
            tracing::error!(provider = info.name, %status, "upstream refused the gateway's client credentials");
            return Err(info.error(Subcode::Authentication));
        }
        let (_, body) = http::read(info, response, TOKEN_MAX_BODY_BYTES).await?;
        serde_json::from_slice::<TokenResponse>(&body).map_err(|_| {
            tracing::error!(provider = info.name, %status, "upstream token answer is not a token");
            info.error(Subcode::Unknown)
        })
    }
}
