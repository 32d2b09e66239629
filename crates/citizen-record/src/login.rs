//! The citizen's login with FranceConnect (OpenID Connect, authorisation code flow,
//! `client_secret_post`), with the `openidconnect` crate: discovery, the ID token's
//! signature, issuer, audience, expiry and nonce, then the signed userinfo.

use std::time::Duration;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdToken, IssuerUrl, Nonce, OAuth2TokenResponse, RedirectUrl, Scope, TokenResponse,
};
use passerelle_core::BirthDate;
use serde::{Deserialize, Serialize};

use crate::{Settings, BASE};

/// What FranceConnect gives beyond the standard claims.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct FranceConnectClaims {
    birthplace: Option<String>,
    birthcountry: Option<String>,
}

impl AdditionalClaims for FranceConnectClaims {}

/// FranceConnect signs its userinfo as a JWT (ES256 or RS256): read and checked like
/// an ID token, which the crate's own userinfo check (RS256 only) cannot do.
type UserInfoJwt =
    IdToken<FranceConnectClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

type Discovered =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

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

/// The person FranceConnect vouched for.
#[derive(Debug, Clone)]
pub struct Person {
    pub given_name: String,
    pub family_name: String,
    pub birth_date: BirthDate,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("FranceConnect cannot be reached or answered unexpectedly: {0}")]
    Provider(String),
    #[error("FranceConnect's answer failed its checks: {0}")]
    Refused(String),
}

pub struct Login {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    client_secret: String,
    redirect: String,
}

impl Login {
    pub fn new(settings: &Settings) -> Login {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            // A redirect on these back-channel calls is never legitimate (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        Login {
            http,
            issuer: settings.issuer.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            redirect: format!("{}{BASE}/retour", settings.public_url),
        }
    }

    async fn client(&self) -> Result<Discovered, LoginError> {
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|e| LoginError::Provider(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| LoginError::Provider(e.to_string()))?;
        let redirect = RedirectUrl::new(self.redirect.clone()).map_err(|e| LoginError::Provider(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            Some(ClientSecret::new(self.client_secret.clone())),
        )
        .set_redirect_uri(redirect)
        .set_auth_type(AuthType::RequestBody))
    }

    /// Where to send the browser, and what its return must match.
    pub async fn start(&self) -> Result<(String, Pending), LoginError> {
        let client = self.client().await?;
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
        let client = self.client().await?;
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| LoginError::Provider(e.to_string()))?;
        let tokens = request
            .request_async(&self.http)
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
        let userinfo = self.userinfo(&client, tokens.access_token()).await?;
        let info = userinfo
            .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
            .map_err(|e| LoginError::Refused(e.to_string()))?;
        if info.subject() != &subject {
            return Err(LoginError::Refused("userinfo names another subject".into()));
        }
        person(info)
    }

    async fn userinfo(&self, client: &Discovered, token: &AccessToken) -> Result<UserInfoJwt, LoginError> {
        let url = client
            .user_info_url()
            .ok_or_else(|| LoginError::Provider("no userinfo endpoint".into()))?;
        let answer = self
            .http
            .get(url.as_str())
            .bearer_auth(token.secret())
            .header("accept", "application/jwt")
            .send()
            .await
            .map_err(|e| LoginError::Provider(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(LoginError::Refused(format!("userinfo answered {}", answer.status())));
        }
        let text = answer.text().await.map_err(|e| LoginError::Provider(e.to_string()))?;
        text.trim()
            .parse()
            .map_err(|e: serde_json::Error| LoginError::Refused(e.to_string()))
    }
}

fn person(info: &openidconnect::IdTokenClaims<FranceConnectClaims, CoreGenderClaim>) -> Result<Person, LoginError> {
    let given_name = info.given_name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let family_name = info.family_name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let birth_date = info.birthdate().and_then(|d| birth_date(d.as_str()));
    match (given_name, family_name, birth_date) {
        (Some(given_name), Some(family_name), Some(birth_date)) => Ok(Person {
            given_name,
            family_name,
            birth_date,
        }),
        _ => Err(LoginError::Refused("the identity lacks a name or a birth date".into())),
    }
}

/// `YYYY-MM-DD`, where FranceConnect writes unknown parts as zeros.
pub fn birth_date(text: &str) -> Option<BirthDate> {
    let mut parts = text.splitn(3, '-').map(|p| p.parse::<u16>().ok());
    let (Some(Some(annee)), Some(Some(mois)), Some(Some(jour))) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let known = |v: u16, max: u16| (1..=max).contains(&v).then_some(v);
    Some(BirthDate {
        annee: known(annee, 9999),
        mois: known(mois, 12).and_then(|m| u8::try_from(m).ok()),
        jour: known(jour, 31).and_then(|d| u8::try_from(d).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_keep_unknown_parts_unknown() {
        let full = birth_date("1980-06-12").unwrap();
        assert_eq!((full.annee, full.mois, full.jour), (Some(1980), Some(6), Some(12)));
        let year = birth_date("1980-00-00").unwrap();
        assert_eq!((year.annee, year.mois, year.jour), (Some(1980), None, None));
        assert!(birth_date("12/06/1980").is_none());
        assert!(birth_date("1980-06").is_none());
    }
}
