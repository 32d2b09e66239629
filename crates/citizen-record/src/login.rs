//! The citizen's login with FranceConnect (OpenID Connect, authorisation code flow,
//! `client_secret_post`), with the `openidconnect` crate: discovery, the ID token's
//! signature, issuer, audience, expiry and nonce, then the signed userinfo.

use openidconnect::core::{CoreAuthenticationFlow, CoreGenderClaim};
use openidconnect::{AdditionalClaims, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, Scope, TokenResponse};
use passerelle_core::Civility;
use passerelle_oidc::{OidcError, Provider};
use passerelle_providers::france_connect;
use serde::{Deserialize, Serialize};

use crate::{Settings, BASE};

/// What FranceConnect gives beyond the standard claims.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct FranceConnectClaims {
    birthplace: Option<String>,
    birthcountry: Option<String>,
}

impl AdditionalClaims for FranceConnectClaims {}

/// The identity claims the page needs: the lookup key's parts and a name to greet with.
const SCOPES: &[&str] = &[
    "given_name",
    "family_name",
    "birthdate",
    "gender",
    "birthplace",
    "birthcountry",
];

/// A login under way: what the callback must find again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
}

/// The person FranceConnect vouched for: a name to greet with, the identity checked.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub civility: Civility,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("FranceConnect cannot be reached or answered unexpectedly: {0}")]
    Provider(String),
    #[error("FranceConnect's answer failed its checks: {0}")]
    Refused(String),
}

impl From<OidcError> for LoginError {
    fn from(error: OidcError) -> LoginError {
        match error {
            OidcError::Provider(e) => LoginError::Provider(e),
            OidcError::Refused(e) => LoginError::Refused(e),
        }
    }
}

pub struct Login {
    provider: Provider,
}

impl Login {
    pub fn new(settings: &Settings) -> Login {
        let redirect = format!("{}{BASE}/retour", settings.public_url);
        Login {
            provider: Provider::new(&settings.issuer, &settings.client_id, &settings.client_secret, redirect),
        }
    }

    /// Where to send the browser, and what its return must match.
    pub async fn start(&self) -> Result<(String, Pending), LoginError> {
        let client = self.provider.client().await?;
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(SCOPES.iter().map(|s| Scope::new(s.to_string())))
            .add_extra_param("acr_values", "eidas1")
            .url();
        let pending = Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
        };
        Ok((url.to_string(), pending))
    }

    /// The code exchanged, the ID token checked, the signed userinfo read.
    pub async fn finish(&self, code: String, pending: &Pending) -> Result<Person, LoginError> {
        let client = self.provider.client().await?;
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| LoginError::Provider(e.to_string()))?;
        let tokens = request
            .request_async(self.provider.http())
            .await
            .map_err(|e| LoginError::Refused(e.to_string()))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| LoginError::Refused("no ID token".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());
        let claims = id_token
            .claims(&client.id_token_verifier(), &nonce)
            .map_err(|e| LoginError::Refused(e.to_string()))?;
        let subject = claims.subject().clone();
        let userinfo = self
            .provider
            .signed_userinfo::<FranceConnectClaims>(&client, tokens.access_token())
            .await?;
        let info = userinfo
            .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
            .map_err(|e| LoginError::Refused(e.to_string()))?;
        if info.subject() != &subject {
            return Err(LoginError::Refused("userinfo names another subject".into()));
        }
        person(info)
    }
}

/// The claims read as the gateway reads a FranceConnect identity on its calls
/// (`france_connect::civility`), so that both derive the same lookup key.
fn person(info: &openidconnect::IdTokenClaims<FranceConnectClaims, CoreGenderClaim>) -> Result<Person, LoginError> {
    let claims = serde_json::to_value(info).map_err(|e| LoginError::Refused(e.to_string()))?;
    let civility = france_connect::civility(&claims)
        .map_err(|_| LoginError::Refused("the identity lacks a valid name or birth date".into()))?;
    let text = |name: &str| claims[name].as_str().unwrap_or_default().trim().to_string();
    Ok(Person {
        name: format!("{} {}", text("given_name"), text("family_name")),
        civility,
    })
}
