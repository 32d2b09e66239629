//! The relying-party side of OpenID Connect that Passerelle's pages share: the
//! citizens' FranceConnect login (`citizen-record`) and the agents' ProConnect login
//! (`habilitation-web`). Both discover their provider, exchange a code and read a
//! userinfo answer that the provider signs as a JWT, which `openidconnect`'s own
//! userinfo check (unsigned JSON or RS256) cannot read: it is read like an ID token.

use std::time::Duration;

use openidconnect::core::{
    CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthType, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdToken, IssuerUrl, RedirectUrl,
};

/// A client configured from the provider's discovery document.
pub type Discovered =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// A signed userinfo answer, with `C` the provider's own claims.
pub type SignedUserInfo<C> = IdToken<C, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider cannot be reached or answers something unexpected.
    #[error("{0}")]
    Provider(String),
    /// The provider's answer fails a check.
    #[error("{0}")]
    Refused(String),
}

/// One provider and this site's client at it.
pub struct Provider {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    client_secret: String,
    redirect: String,
}

impl Provider {
    pub fn new(issuer: &str, client_id: &str, client_secret: &str, redirect: String) -> Provider {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            // A redirect on these back-channel calls is never legitimate (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        Provider {
            http,
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect,
        }
    }

    /// The HTTP client for the code exchange (timeouts, no redirects).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The client, from the provider's discovery document, authenticating with
    /// `client_secret_post`.
    pub async fn client(&self) -> Result<Discovered, OidcError> {
        let provider = |e: &dyn std::fmt::Display| OidcError::Provider(e.to_string());
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|e| provider(&e))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| provider(&e))?;
        let redirect = RedirectUrl::new(self.redirect.clone()).map_err(|e| provider(&e))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            Some(ClientSecret::new(self.client_secret.clone())),
        )
        .set_redirect_uri(redirect)
        .set_auth_type(AuthType::RequestBody))
    }

    /// The userinfo answer, signed by the provider, not yet checked (check its claims
    /// with the client's ID token verifier).
    pub async fn signed_userinfo<C: AdditionalClaims>(
        &self,
        client: &Discovered,
        token: &AccessToken,
    ) -> Result<SignedUserInfo<C>, OidcError> {
        let url = client
            .user_info_url()
            .ok_or_else(|| OidcError::Provider("no userinfo endpoint".into()))?;
        let answer = self
            .http
            .get(url.as_str())
            .bearer_auth(token.secret())
            .header("accept", "application/jwt")
            .send()
            .await
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(OidcError::Refused(format!("userinfo answered {}", answer.status())));
        }
        let text = answer.text().await.map_err(|e| OidcError::Provider(e.to_string()))?;
        text.trim()
            .parse()
            .map_err(|e: serde_json::Error| OidcError::Refused(e.to_string()))
    }
}
