//! The agent's login with ProConnect (OpenID Connect, authorisation code flow with
//! PKCE, `client_secret_post`), with the `openidconnect` crate. ProConnect signs its ID
//! token and its userinfo with ES256 (or RS256). An identity whose `amr` lacks `mfa`
//! is sent back once with a request for a second factor (step-up), as the real portal
//! does; the session opens only with a second factor.

use openidconnect::core::{CoreAuthenticationFlow, CoreGenderClaim, CoreJwsSigningAlgorithm};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    Scope, TokenResponse,
};
use passerelle_habilitation::workflow::Agent;
use passerelle_oidc::{Discovered, OidcError, Provider};
use passerelle_providers::pro_connect::{ACR_2FA, ACR_EIDAS1};
use serde::{Deserialize, Serialize};

/// What ProConnect gives beyond the standard claims.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct AgentClaims {
    usual_name: Option<String>,
    siret: Option<String>,
    uid: Option<String>,
    idp_id: Option<String>,
}

impl AdditionalClaims for AgentClaims {}

const SCOPES: &[&str] = &["email", "given_name", "usual_name", "uid", "siret", "phone", "idp_id"];

/// A login under way: what the return must match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Whether this round asked for a second factor.
    pub step_up: bool,
    /// Where to go once logged in (a path of the site).
    pub then: String,
}

/// How a return from ProConnect ends.
pub enum Outcome {
    Agent(Agent),
    /// No second factor yet: go back asking for one.
    StepUp,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("ProConnect ne répond pas comme attendu : {0}")]
    Provider(String),
    #[error("La réponse de ProConnect n'a pas passé nos contrôles : {0}")]
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
    pub fn new(issuer: &str, client_id: &str, client_secret: &str, redirect: String) -> Login {
        Login {
            provider: Provider::new(issuer, client_id, client_secret, redirect),
        }
    }

    /// Where to send the browser, and what its return must match.
    pub async fn start(&self, step_up: bool, then: String) -> Result<(String, Pending), LoginError> {
        let client = self.provider.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let acr = if step_up { ACR_2FA } else { ACR_EIDAS1 };
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(SCOPES.iter().map(|s| Scope::new(s.to_string())))
            .set_pkce_challenge(challenge)
            .add_extra_param("acr_values", acr)
            .url();
        let pending = Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            step_up,
            then,
        };
        Ok((url.to_string(), pending))
    }

    /// The code exchanged, the ID token checked, the signed userinfo read.
    pub async fn finish(&self, code: String, pending: &Pending) -> Result<Outcome, LoginError> {
        let client = self.provider.client().await?;
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| LoginError::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()));
        let tokens = request
            .request_async(self.provider.http())
            .await
            .map_err(|e| LoginError::Refused(e.to_string()))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| LoginError::Refused("pas de jeton d'identité".into()))?;
        let verifier = verifier(&client);
        let claims = id_token
            .claims(&verifier, &Nonce::new(pending.nonce.clone()))
            .map_err(|e| LoginError::Refused(e.to_string()))?;
        let second_factor = claims
            .auth_method_refs()
            .is_some_and(|amr| amr.iter().any(|m| m.as_str() == "mfa"));
        if !second_factor {
            return if pending.step_up {
                Err(LoginError::Refused("la double authentification n'a pas eu lieu".into()))
            } else {
                Ok(Outcome::StepUp)
            };
        }
        let subject = claims.subject().clone();
        let userinfo = self
            .provider
            .signed_userinfo::<AgentClaims>(&client, tokens.access_token())
            .await?;
        let info = userinfo
            .claims(&verifier, |_: Option<&Nonce>| Ok(()))
            .map_err(|e| LoginError::Refused(e.to_string()))?;
        if info.subject() != &subject {
            return Err(LoginError::Refused("userinfo names another subject".into()));
        }
        agent(info).map(Outcome::Agent)
    }
}

/// ProConnect signs with ES256 (the crate's default accepts RS256 only).
fn verifier(client: &Discovered) -> openidconnect::core::CoreIdTokenVerifier<'_> {
    client.id_token_verifier().set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    ])
}

fn agent(info: &openidconnect::IdTokenClaims<AgentClaims, CoreGenderClaim>) -> Result<Agent, LoginError> {
    let extra = info.additional_claims();
    let email = info
        .email()
        .map(|e| e.as_str().trim().to_lowercase())
        .filter(|e| e.contains('@'))
        .ok_or_else(|| LoginError::Refused("pas d'adresse électronique".into()))?;
    let siret = extra
        .siret
        .clone()
        .filter(|s| s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| LoginError::Refused("pas de SIRET d'organisation valide".into()))?;
    let given = info
        .given_name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string())
        .unwrap_or_default();
    Ok(Agent {
        uid: extra.uid.clone().unwrap_or_else(|| info.subject().to_string()),
        email,
        given_name: given,
        family_name: extra.usual_name.clone().unwrap_or_default(),
        siret,
        phone: info.phone_number().map(|p| p.as_str().to_string()),
        job_title: None,
    })
}
