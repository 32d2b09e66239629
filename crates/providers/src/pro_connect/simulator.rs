//! The ProConnect simulator's routes: discovery, the login page (plain HTML, no
//! JavaScript), the second-factor page, token, userinfo (a signed JWT), JWKS and logout.
//! Redirect URIs must be loopback with a port (the registration of the one client), so
//! the simulator never sends a browser elsewhere. It logs nothing: answers carry
//! identities.
//!
//! URLs are derived from the request's `Host` and from where the router is nested
//! (`/pro_connect` among the simulators), so one simulator answers on any port.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{OriginalUri, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{
    agents, Agent, ACR_2FA, ACR_EIDAS1, AUTHORIZE_PATH, DEMO_OTP, DISCOVERY_PATH, END_SESSION_PATH, IDP_ID, JWKS_PATH,
    LOGIN_CLIENT_ID, LOGIN_CLIENT_SECRET, SECOND_FACTOR_PATH, TOKEN_PATH, USERINFO_PATH,
};
use crate::france_connect::jose::{self, SigningKey};
use crate::oidc_simulator::{
    self as oidc, back_to, escape, hidden, html, Expiring, Grant, OauthError, Provider, TokenRequest, LIFETIME,
};

/// Time an agent has to type the one-time code.
const SECOND_FACTOR_LIFETIME: Duration = Duration::from_secs(600);

/// The scopes a client may ask and the userinfo claim each gives, as ProConnect's.
const SCOPE_CLAIMS: &[(&str, &str)] = &[
    ("email", "email"),
    ("given_name", "given_name"),
    ("usual_name", "usual_name"),
    ("uid", "uid"),
    ("siret", "siret"),
    ("phone", "phone_number"),
    ("organizational_unit", "organizational_unit"),
    ("idp_id", "idp_id"),
];

const PRO_CONNECT: Provider = Provider {
    name: "ProConnect",
    client_id: LOGIN_CLIENT_ID,
    client_secret: LOGIN_CLIENT_SECRET,
};

/// A grant and what ProConnect adds to it.
#[derive(Clone)]
struct Login {
    grant: Grant,
    /// Whether the agent gave a second factor.
    mfa: bool,
    /// The PKCE S256 challenge, empty when the client sent none.
    code_challenge: String,
}

/// A login waiting for its one-time code.
#[derive(Clone)]
struct Pending {
    login: Login,
    state: String,
}

/// The simulator: its agents, its signing key, live codes, access tokens and logins
/// waiting for a second factor.
pub struct Simulator {
    agents: Vec<Agent>,
    signing: SigningKey,
    codes: Expiring<Login>,
    tokens: Expiring<Login>,
    second_factors: Expiring<Pending>,
}

impl Simulator {
    pub fn with_default_agents() -> Arc<Simulator> {
        Simulator::new(agents())
    }

    pub fn new(agents: Vec<Agent>) -> Arc<Simulator> {
        Arc::new(Simulator {
            agents,
            // A new key at each start, under a new kid: a client that kept the previous
            // one fetches the JWKS again instead of failing.
            signing: SigningKey::generate(&format!("pc-simulateur-{:016x}", rand::random::<u64>()))
                .expect("P-256 key generation works"),
            codes: Expiring::new(LIFETIME),
            tokens: Expiring::new(LIFETIME),
            second_factors: Expiring::new(SECOND_FACTOR_LIFETIME),
        })
    }

    fn find(&self, email: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.email == email)
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(DISCOVERY_PATH, get(discovery))
        .route(AUTHORIZE_PATH, get(authorize).post(choose))
        .route(SECOND_FACTOR_PATH, post(second_factor))
        .route(TOKEN_PATH, post(token))
        .route(USERINFO_PATH, get(userinfo))
        .route(JWKS_PATH, get(jwks))
        .route(END_SESSION_PATH, get(end_session))
        .with_state(simulator)
}

async fn discovery(uri: OriginalUri, headers: HeaderMap) -> Json<Value> {
    let own = json!({
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": [ACR_EIDAS1, ACR_2FA],
        "claims_parameter_supported": true,
    });
    let scopes: Vec<&str> = SCOPE_CLAIMS.iter().map(|(s, _)| *s).collect();
    let claims: Vec<&str> = SCOPE_CLAIMS.iter().map(|(_, c)| *c).collect();
    let base = oidc::base_url(&headers, &uri, DISCOVERY_PATH);
    oidc::discovery(&base, own, &scopes, &claims)
}

async fn jwks(State(sim): State<Arc<Simulator>>) -> Json<Value> {
    Json(json!({"keys": [sim.signing.jwk()]}))
}

/// The authorization request with ProConnect's own parameters.
type AuthorizeRequest = oidc::AuthorizeRequest<Own>;

/// What ProConnect reads besides the common parameters; the login page's form adds
/// the `agent` chosen.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Own {
    claims: String,
    code_challenge: String,
    code_challenge_method: String,
    agent: String,
}

impl AuthorizeRequest {
    /// The fields the login page carries over to its POST.
    fn carried_all(&self) -> Vec<(&'static str, &str)> {
        let own = [
            ("claims", self.own.claims.as_str()),
            ("code_challenge", &self.own.code_challenge),
            ("code_challenge_method", &self.own.code_challenge_method),
        ];
        self.carried().into_iter().chain(own).collect()
    }

    /// Whether the client asks for the second-factor level, by `acr_values` or by a
    /// `claims` request on the ID token's `acr`.
    fn asks_second_factor(&self) -> bool {
        self.acr_values.split_whitespace().any(|acr| acr == ACR_2FA)
            || serde_json::from_str::<Value>(&self.own.claims).is_ok_and(|claims| {
                let acr = &claims["id_token"]["acr"];
                acr["value"] == ACR_2FA || acr["values"].as_array().is_some_and(|v| v.iter().any(|a| a == ACR_2FA))
            })
    }

    /// The request, checked; else the answer to give (a page, or a redirect with an
    /// error).
    fn checked(&self) -> Result<Url, Response> {
        PRO_CONNECT.checked(self, self.own_error())
    }

    /// What is wrong with the parameters only ProConnect reads.
    fn own_error(&self) -> Option<OauthError> {
        if !self.own.claims.is_empty() && !serde_json::from_str::<Value>(&self.own.claims).is_ok_and(|c| c.is_object())
        {
            return Some(("invalid_request", "claims must be a JSON object"));
        }
        pkce_error(&self.own.code_challenge, &self.own.code_challenge_method)
    }
}

/// PKCE is optional, and S256 only: `plain` (the default method) would add nothing.
fn pkce_error(challenge: &str, method: &str) -> Option<OauthError> {
    match (challenge.is_empty(), method) {
        (true, "") => None,
        (false, "S256") if is_pkce_text(challenge) => None,
        (false, "S256") => Some(("invalid_request", "code_challenge is malformed")),
        _ => Some((
            "invalid_request",
            "code_challenge_method must be S256, with a code_challenge",
        )),
    }
}

/// RFC 7636's alphabet and length, for challenges and verifiers alike.
fn is_pkce_text(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

async fn authorize(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    headers: HeaderMap,
    query: Result<Query<AuthorizeRequest>, QueryRejection>,
) -> Response {
    let Ok(Query(request)) = query else {
        return PRO_CONNECT.error_page("La demande de connexion est mal formée.");
    };
    let redirect = match request.checked() {
        Ok(url) => url,
        Err(answer) => return answer,
    };
    // A step-up within an open session asks no one to pick their account again, as
    // ProConnect's own session does.
    let known = signed_in(&headers).and_then(|email| sim.find(email));
    match known {
        Some(agent) if request.asks_second_factor() => log_in(&sim, &uri, request, agent, redirect),
        _ => html(StatusCode::OK, login_page(uri.path(), &request, &sim.agents)),
    }
}

/// The simulator's session cookie: who logged in last from this browser.
const SESSION_COOKIE: &str = "proconnect_simulateur";

fn signed_in(headers: &HeaderMap) -> Option<&str> {
    let cookies = headers
        .get_all(header::COOKIE)
        .into_iter()
        .filter_map(|v| v.to_str().ok());
    cookies
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

async fn choose(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    form: Result<Form<AuthorizeRequest>, FormRejection>,
) -> Response {
    let Ok(Form(request)) = form else {
        return PRO_CONNECT.error_page("Le formulaire de connexion est mal formé.");
    };
    let redirect = match request.checked() {
        Ok(url) => url,
        Err(answer) => return answer,
    };
    let Some(agent) = sim.find(&request.own.agent) else {
        return PRO_CONNECT.error_page("Cet agent est inconnu du simulateur.");
    };
    let mut answer = log_in(&sim, &uri, request, agent, redirect);
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax",
        sim.agents[agent].email
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        answer.headers_mut().append(header::SET_COOKIE, value);
    }
    answer
}

/// The agent logged in: a code back to the client, or first the second-factor page.
fn log_in(sim: &Simulator, uri: &OriginalUri, request: AuthorizeRequest, agent: usize, redirect: Url) -> Response {
    let wants_mfa = request.asks_second_factor();
    let known = |scope: &str| SCOPE_CLAIMS.iter().any(|(s, _)| *s == scope);
    let login = Login {
        grant: Grant::new(agent, &request, known),
        mfa: wants_mfa && sim.agents[agent].mfa,
        code_challenge: request.own.code_challenge.clone(),
    };
    if wants_mfa && !login.mfa {
        let name = sim.agents[agent].name();
        let transaction = sim.second_factors.insert(Pending {
            login,
            state: request.state,
        });
        let action = format!("{}{SECOND_FACTOR_PATH}", oidc::prefix(uri, AUTHORIZE_PATH));
        return html(StatusCode::OK, second_factor_page(&action, &transaction, &name, false));
    }
    let code = sim.codes.insert(login);
    back_to(redirect, &[("code", &code), ("state", &request.state)])
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SecondFactorForm {
    transaction: String,
    otp: String,
}

async fn second_factor(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    form: Result<Form<SecondFactorForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return PRO_CONNECT.error_page("Le formulaire du second facteur est mal formé.");
    };
    let expired = || PRO_CONNECT.error_page("Cette connexion a expiré : recommencez depuis le service.");
    let Some(pending) = sim.second_factors.get(&form.transaction) else {
        return expired();
    };
    if form.otp.trim() != DEMO_OTP {
        let name = sim.agents[pending.login.grant.account].name();
        return html(
            StatusCode::BAD_REQUEST,
            second_factor_page(uri.path(), &form.transaction, &name, true),
        );
    }
    // Taken only now: a wrong code leaves the agent another try.
    let Some(Pending { login, state }) = sim.second_factors.take(&form.transaction) else {
        return expired();
    };
    let Some(redirect) = oidc::loopback_url(&login.grant.redirect_uri) else {
        return expired();
    };
    let grant = Grant {
        auth_time: chrono::Utc::now().timestamp(),
        ..login.grant
    };
    let code = sim.codes.insert(Login {
        grant,
        mfa: true,
        ..login
    });
    back_to(redirect, &[("code", &code), ("state", &state)])
}

async fn token(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    let Ok(Form(request)) = form else {
        return oidc::not_a_form();
    };
    let login = match authenticate(&headers, &request).and_then(|()| redeem(&sim, &request)) {
        Ok(login) => login,
        Err(refusal) => return refusal,
    };
    let issuer = oidc::issuer(&headers, &uri, TOKEN_PATH);
    let access_token = sim.tokens.insert(login.clone());
    let subject = PRO_CONNECT.subject(&sim.agents[login.grant.account].uid);
    let mut claims = PRO_CONNECT.id_token_claims(&issuer, &subject, &login.grant, &access_token);
    if login.mfa {
        claims["acr"] = json!(ACR_2FA);
        claims["amr"] = json!(["pwd", "mfa"]);
    }
    oidc::token_answer(&sim.signing, &access_token, &claims, &login.grant.scope)
}

/// The client, authenticated by `client_secret_basic` or `client_secret_post` (one of
/// them, as RFC 6749 §2.3 asks).
fn authenticate(headers: &HeaderMap, request: &TokenRequest) -> Result<(), Response> {
    let basic = headers.contains_key(header::AUTHORIZATION);
    if basic && !request.client_secret.is_empty() {
        let description = "one client authentication method only";
        return Err(oidc::token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            description,
        ));
    }
    let credentials = if basic {
        basic_credentials(headers)
    } else {
        Some((request.client_id.clone(), request.client_secret.clone()))
    };
    if credentials.is_some_and(|(id, secret)| PRO_CONNECT.is_client(&id, &secret)) {
        return Ok(());
    }
    let refusal = oidc::token_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    Err(if basic { with_basic_challenge(refusal) } else { refusal })
}

/// RFC 6749 §5.2: a failed Basic authentication answers with its challenge.
fn with_basic_challenge(mut response: Response) -> Response {
    let challenge = HeaderValue::from_static("Basic realm=\"ProConnect\"");
    response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    response
}

/// `Authorization: Basic` credentials. Our client's id and secret need no
/// form-encoding, so they are compared as they come.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The login behind the request's code, its redirect URI and PKCE verifier checked.
fn redeem(sim: &Simulator, request: &TokenRequest) -> Result<Login, Response> {
    let login = oidc::spend_code(&sim.codes, request)?;
    if login.grant.redirect_uri != request.redirect_uri {
        return Err(oidc::invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    if !pkce_matches(&login.code_challenge, &request.code_verifier) {
        return Err(oidc::invalid_grant("code_verifier does not match the code_challenge"));
    }
    Ok(login)
}

/// With a challenge, the verifier must hash to it; without, no verifier may come (a
/// verifier alone would be a client confused about its own flow).
fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    if challenge.is_empty() {
        return verifier.is_empty();
    }
    is_pkce_text(verifier) && jose::b64(&Sha256::digest(verifier.as_bytes())) == challenge
}

/// The value of a userinfo claim for the agent; `None` when the agent has none.
fn claim(agent: &Agent, name: &str) -> Option<String> {
    let value = match name {
        "email" => &agent.email,
        "given_name" => &agent.given_name,
        "usual_name" => &agent.usual_name,
        "uid" => &agent.uid,
        "siret" => &agent.siret,
        "phone_number" => &agent.phone,
        "organizational_unit" => agent.organizational_unit.as_ref()?,
        "idp_id" => IDP_ID,
        _ => return None,
    };
    Some(value.to_string())
}

async fn userinfo(State(sim): State<Arc<Simulator>>, uri: OriginalUri, headers: HeaderMap) -> Response {
    let login = match oidc::bearer_of(&sim.tokens, &headers) {
        Ok(login) => login,
        Err(refusal) => return refusal,
    };
    let agent = &sim.agents[login.grant.account];
    let issuer = oidc::issuer(&headers, &uri, USERINFO_PATH);
    let mut claims = PRO_CONNECT.userinfo_claims(&issuer, &PRO_CONNECT.subject(&agent.uid));
    for scope in login.grant.scope.split_whitespace() {
        let Some((_, name)) = SCOPE_CLAIMS.iter().find(|(s, _)| *s == scope) else {
            continue;
        };
        if let Some(value) = claim(agent, name) {
            claims[*name] = json!(value);
        }
    }
    oidc::signed_userinfo(&sim.signing, &claims)
}

async fn end_session(query: Result<Query<oidc::EndSession>, QueryRejection>) -> Response {
    match query {
        Ok(Query(request)) => PRO_CONNECT.end_session(&request),
        Err(_) => PRO_CONNECT.error_page("La demande de déconnexion est mal formée."),
    }
}

/// The page listing the agents, one form each posting the request back to `action`.
fn login_page(action: &str, request: &AuthorizeRequest, agents: &[Agent]) -> String {
    let hidden: String = request
        .carried_all()
        .iter()
        .map(|(name, value)| hidden(name, value))
        .collect();
    let items: String = agents
        .iter()
        .enumerate()
        .map(|(i, agent)| agent_item(i, agent, action, &hidden))
        .collect();
    let step_up = if request.asks_second_factor() {
        "<p>Le service demande une double authentification.</p>\n"
    } else {
        ""
    };
    let body = format!(
        "<p>Simulateur : aucun mot de passe n’est demandé. Choisissez l’agent au nom \
         duquel vous vous connectez.</p>\n{step_up}<ul>\n{items}</ul>"
    );
    PRO_CONNECT.page("Se connecter avec ProConnect", &body)
}

fn agent_item(i: usize, agent: &Agent, action: &str, hidden: &str) -> String {
    let email = escape(&agent.email);
    let name = escape(&agent.name());
    let second_factor = if agent.mfa {
        "double authentification configurée"
    } else {
        "sans double authentification"
    };
    format!(
        "<li>\n<form method=\"post\" action=\"{action}\">\n{hidden}\
         <p id=\"agent-{i}\">{name}, {job} – {organisation} (SIRET {siret})<br>\n\
         {email} · rôle de démonstration : {role} · {second_factor}</p>\n\
         <button type=\"submit\" name=\"agent\" value=\"{email}\" data-agent=\"{email}\" \
         aria-describedby=\"agent-{i}\">Se connecter en tant que {name}</button>\n\
         </form>\n</li>\n",
        action = escape(action),
        job = escape(&agent.job_title),
        organisation = escape(&agent.organisation),
        siret = escape(&agent.siret),
        role = escape(&agent.role_hint),
    )
}

/// The one-time code page, with an error message after a wrong code.
fn second_factor_page(action: &str, transaction: &str, name: &str, wrong: bool) -> String {
    let (error, described) = if wrong {
        (
            "<p id=\"otp-erreur\" role=\"alert\">Code incorrect : vérifiez-le et réessayez.</p>\n",
            " aria-invalid=\"true\" aria-describedby=\"otp-erreur\"",
        )
    } else {
        ("", "")
    };
    let body = format!(
        "<p>Le service demande une double authentification, que le compte de {name} \
         n’a pas encore configurée.</p>\n\
         <p>Simulateur : le code de démonstration est <strong>{DEMO_OTP}</strong>.</p>\n{error}\
         <form method=\"post\" action=\"{action}\">\n{transaction}\
         <label for=\"otp\">Code à usage unique (6 chiffres)</label>\n\
         <input id=\"otp\" name=\"otp\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" required{described}>\n\
         <button type=\"submit\" data-second-factor=\"valider\">Valider</button>\n</form>",
        name = escape(name),
        action = escape(action),
        transaction = hidden("transaction", transaction),
    );
    PRO_CONNECT.page("Second facteur d’authentification", &body)
}
