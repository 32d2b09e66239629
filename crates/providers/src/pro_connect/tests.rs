//! The ProConnect simulator over real HTTP, nested under `/pro_connect` as the
//! simulators run it.

use base64::Engine;
use passerelle_core::company::Siren;
use passerelle_core::Siret;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::simulator::{router, Simulator};
use super::*;
use crate::france_connect::jose::{self, VerifyingKey};
use crate::oidc_simulator::test_support::{
    client, get_json, json_of, keys, location, logout, payload, post_token, query_value, submit, userinfo,
};

const REDIRECT: &str = "http://127.0.0.1:4321/auth/proconnect/retour?depuis=accueil";
const SCOPE: &str = "openid email given_name usual_name uid siret phone organizational_unit idp_id";
const CAMILLE: &str = "camille.martin@ville-de-sainte-colombe.example";
const SOPHIE: &str = "sophie.lefebvre@mairie-bourg-fictif.example";
const DINUM: &str = "13002526500013";

/// The simulator on a free loopback port, nested under `prefix`; its base URL.
async fn serve(prefix: &str) -> String {
    crate::oidc_simulator::test_support::serve(router(Simulator::with_default_agents()), prefix).await
}

/// An authorization request of our client; `extra` adds or replaces parameters.
fn authorize_query(extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut query: Vec<(&'static str, String)> = [
        ("response_type", "code"),
        ("client_id", LOGIN_CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", SCOPE),
        ("state", "etat-du-client"),
        ("nonce", "nonce-du-client"),
    ]
    .iter()
    .map(|(k, v)| (*k, v.to_string()))
    .collect();
    for (name, value) in extra {
        query.retain(|(k, _)| k != name);
        query.push((*name, value.to_string()));
    }
    query
}

async fn open_login_page(base: &str, query: &[(&str, String)]) -> reqwest::Response {
    client()
        .get(format!("{base}{AUTHORIZE_PATH}"))
        .query(query)
        .send()
        .await
        .unwrap()
}

async fn login_page(base: &str, extra: &[(&'static str, &str)]) -> String {
    let response = open_login_page(base, &authorize_query(extra)).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn pick(base: &str, html: &str, agent: &str) -> reqwest::Response {
    submit(base, html, &[("agent", agent)]).await
}

/// A fresh code for `agent`, through the login page.
async fn code_for(base: &str, agent: &str, extra: &[(&'static str, &str)]) -> String {
    let page = login_page(base, extra).await;
    query_value(&location(&pick(base, &page, agent).await), "code").unwrap()
}

fn token_form<'a>(code: &'a str, secret: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", LOGIN_CLIENT_ID),
        ("client_secret", secret),
    ]
}

/// The tokens of a code (`client_secret_post`), checked to be a success.
async fn tokens_of(base: &str, code: &str) -> Value {
    let (status, tokens) = json_of(post_token(base, &token_form(code, LOGIN_CLIENT_SECRET)).await).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// The ID token's claims, checked against the simulator's JWKS.
async fn id_token_of(base: &str, tokens: &Value) -> Value {
    jose::verify(tokens["id_token"].as_str().unwrap(), &keys(base).await).unwrap()
}

#[tokio::test]
async fn discovery_names_the_endpoints_under_the_request_host() {
    for prefix in [PREFIX, ""] {
        let base = serve(prefix).await;
        let meta = get_json(&format!("{base}{DISCOVERY_PATH}")).await;
        let issuer = format!("{base}/api/v2");
        assert_eq!(meta["issuer"], json!(issuer));
        for (key, path) in [
            ("authorization_endpoint", "authorize"),
            ("token_endpoint", "token"),
            ("userinfo_endpoint", "userinfo"),
            ("jwks_uri", "jwks"),
            ("end_session_endpoint", "session/end"),
        ] {
            assert_eq!(meta[key], json!(format!("{issuer}/{path}")), "{key}");
        }
        assert_eq!(
            meta["token_endpoint_auth_methods_supported"],
            json!(["client_secret_post", "client_secret_basic"])
        );
        assert_eq!(meta["acr_values_supported"], json!(["eidas1", ACR_2FA]));
        assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(meta["userinfo_signing_alg_values_supported"], json!(["ES256"]));
        for claim in ["siret", "usual_name", "phone_number", "amr", "acr"] {
            assert!(
                meta["claims_supported"].as_array().unwrap().contains(&json!(claim)),
                "{claim}"
            );
        }
        let jwks = get_json(meta["jwks_uri"].as_str().unwrap()).await;
        assert_eq!(VerifyingKey::from_jwks(&jwks).len(), 1);
    }
    assert_eq!(
        issuer("http://127.0.0.1:41877/"),
        "http://127.0.0.1:41877/pro_connect/api/v2"
    );
}

#[tokio::test]
async fn the_login_page_lists_every_agent_as_a_button() {
    let base = serve(PREFIX).await;
    let page = login_page(&base, &[("state", "\"><script>alert(1)</script>")]).await;
    assert!(page.contains("<form method=\"post\" action=\"/pro_connect/api/v2/authorize\">"));
    for agent in agents() {
        let button = format!("data-agent=\"{}\"", agent.email);
        assert!(page.contains(&button), "{}", agent.email);
        assert!(page.contains(&format!("Se connecter en tant que {}", agent.name())));
    }
    assert!(page.contains("(SIRET 21349910600010)") && page.contains("rôle de démonstration : admin"));
    assert!(!page.contains("<script"), "the state is escaped");
    assert!(!page.contains("src=") && !page.contains("href="), "nothing is loaded");
}

#[tokio::test]
async fn the_full_flow_gives_a_signed_id_token_and_userinfo() {
    let base = serve(PREFIX).await;
    let meta = get_json(&format!("{base}{DISCOVERY_PATH}")).await;
    let state = "etat & co/é";
    let page = login_page(&base, &[("state", state), ("acr_values", "eidas1")]).await;
    let back = location(&pick(&base, &page, CAMILLE).await);
    assert!(back
        .as_str()
        .starts_with("http://127.0.0.1:4321/auth/proconnect/retour?depuis=accueil&code="));
    assert_eq!(query_value(&back, "state").as_deref(), Some(state));
    let code = query_value(&back, "code").unwrap();

    let response = post_token(&base, &token_form(&code, LOGIN_CLIENT_SECRET)).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, tokens) = json_of(response).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        (tokens["token_type"].as_str(), tokens["expires_in"].as_u64()),
        (Some("Bearer"), Some(60))
    );
    assert_eq!(tokens["scope"], SCOPE);
    let id_token = id_token_of(&base, &tokens).await;
    assert_eq!(
        (&id_token["iss"], id_token["aud"].as_str()),
        (&meta["issuer"], Some(LOGIN_CLIENT_ID))
    );
    assert_eq!(id_token["nonce"], "nonce-du-client");
    // No step-up asked: a password login, even for an agent with a second factor.
    assert_eq!(
        (id_token["acr"].as_str(), &id_token["amr"]),
        (Some("eidas1"), &json!(["pwd"]))
    );
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(id_token["at_hash"], jose::b64(&Sha256::digest(access_token)[..16]));

    assert_eq!(meta["userinfo_endpoint"], json!(format!("{base}{USERINFO_PATH}")));
    let response = userinfo(&base, access_token).await;
    assert_eq!(response.headers()["content-type"], "application/jwt");
    let info = jose::verify(&response.text().await.unwrap(), &keys(&base).await).unwrap();
    assert_eq!((&info["sub"], &info["iss"]), (&id_token["sub"], &meta["issuer"]));
    assert_eq!(
        (info["email"].as_str(), info["siret"].as_str()),
        (Some(CAMILLE), Some("21349910600010"))
    );
    assert_eq!(
        (info["given_name"].as_str(), info["usual_name"].as_str()),
        (Some("Camille"), Some("Martin"))
    );
    assert_eq!(
        (info["uid"].as_str(), info["idp_id"].as_str()),
        (Some("1001"), Some(IDP_ID))
    );
    assert_eq!(info["phone_number"], "04 65 71 10 01");
    assert_eq!(info["organizational_unit"], "Direction de l'éducation");

    let (status, reused) = json_of(post_token(&base, &token_form(&code, LOGIN_CLIENT_SECRET)).await).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn userinfo_gives_the_claims_of_the_scopes_granted() {
    let base = serve(PREFIX).await;
    let code = code_for(&base, SOPHIE, &[("scope", "openid email siret inconnu")]).await;
    let tokens = tokens_of(&base, &code).await;
    assert_eq!(tokens["scope"], "openid email siret");
    let jws = userinfo(&base, tokens["access_token"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let info = payload(&jws);
    assert_eq!(info["siret"], "21359920200016");
    assert!(info.get("given_name").is_none() && info.get("phone_number").is_none());
}

#[tokio::test]
async fn client_secret_basic_and_pkce() {
    let base = serve(PREFIX).await;
    let verifier = "un-verificateur-pkce-assez-long-pour-la-rfc-7636-0123456789";
    let challenge = jose::b64(&Sha256::digest(verifier));
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let basic = |secret: &str| {
        let credentials = format!("{LOGIN_CLIENT_ID}:{secret}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    let exchange = |code: String, verifier: &'static str, secret: &'static str| {
        let base = base.clone();
        let authorization = basic(secret);
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ];
            let response = client()
                .post(format!("{base}{TOKEN_PATH}"))
                .header("authorization", authorization)
                .form(&form)
                .send()
                .await
                .unwrap();
            (
                response.headers().get("www-authenticate").cloned(),
                json_of(response).await,
            )
        }
    };
    let (_, (status, tokens)) = exchange(code_for(&base, CAMILLE, &pkce).await, verifier, LOGIN_CLIENT_SECRET).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string());

    let (_, (status, body)) = exchange(code_for(&base, CAMILLE, &pkce).await, "", LOGIN_CLIENT_SECRET).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a verifier is due"
    );
    let other = "un-autre-verificateur-pkce-assez-long-pour-la-rfc-7636-0123456789";
    let (_, (status, body)) = exchange(code_for(&base, CAMILLE, &pkce).await, other, LOGIN_CLIENT_SECRET).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

    let (challenge, (status, body)) = exchange(code_for(&base, CAMILLE, &pkce).await, verifier, "faux").await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert!(challenge.unwrap().to_str().unwrap().starts_with("Basic"));

    // `plain` is refused at once, back at the client.
    let refused = open_login_page(&base, &authorize_query(&[("code_challenge", verifier)])).await;
    assert_eq!(
        query_value(&location(&refused), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn token_endpoint_refusals() {
    let base = serve(PREFIX).await;
    let code = code_for(&base, CAMILLE, &[]).await;
    let (status, body) = json_of(post_token(&base, &token_form(&code, "pas-le-secret")).await).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let both = client()
        .post(format!("{base}{TOKEN_PATH}"))
        .basic_auth(LOGIN_CLIENT_ID, Some(LOGIN_CLIENT_SECRET))
        .form(&token_form(&code, LOGIN_CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(both).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));

    // The refusals above did not spend the code; a wrong redirect_uri does.
    let mut form = token_form(&code, LOGIN_CLIENT_SECRET);
    form[2] = ("redirect_uri", "http://127.0.0.1:4321/ailleurs");
    let (status, body) = json_of(post_token(&base, &form).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = json_of(post_token(&base, &token_form(&code, LOGIN_CLIENT_SECRET)).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

    form[0] = ("grant_type", "client_credentials");
    let (status, body) = json_of(post_token(&base, &form).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let response = client()
        .post(format!("{base}{TOKEN_PATH}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(response).await.1["error"], "invalid_request");
}

#[tokio::test]
async fn a_foreign_redirect_uri_or_client_gets_a_page_and_no_redirect() {
    let base = serve(PREFIX).await;
    let foreign = [
        ("redirect_uri", "https://evil.example/retour"),
        ("redirect_uri", "http://127.0.0.1.evil.example:4321/retour"),
        ("redirect_uri", "http://localhost/retour"),
        ("redirect_uri", ""),
        ("client_id", "passerelle-demo-citizen-record"),
    ];
    for param in foreign {
        let response = open_login_page(&base, &authorize_query(&[param])).await;
        assert_eq!(response.status(), 400, "{param:?}");
        assert!(response.headers().get("location").is_none(), "{param:?}");
        assert!(response.text().await.unwrap().contains("<h1>Erreur de connexion</h1>"));
    }
    // A chosen agent with a foreign redirect_uri: the same.
    let page = login_page(&base, &[]).await;
    let tampered = page.replace(REDIRECT, "https://evil.example/retour");
    assert_eq!(pick(&base, &tampered, CAMILLE).await.status(), 400);
}

#[tokio::test]
async fn bad_requests_and_forms() {
    let base = serve(PREFIX).await;
    let mut query = authorize_query(&[("state", "mon-etat")]);
    query.retain(|(name, _)| *name != "nonce");
    let back = location(&open_login_page(&base, &query).await);
    assert_eq!(query_value(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_value(&back, "state").as_deref(), Some("mon-etat"));
    let back = location(&open_login_page(&base, &authorize_query(&[("claims", "{pas du json")])).await);
    assert_eq!(query_value(&back, "error").as_deref(), Some("invalid_request"));

    let page = login_page(&base, &[]).await;
    assert_eq!(pick(&base, &page, "inconnu@example.invalid").await.status(), 400);
    let malformed = client()
        .post(format!("{base}{AUTHORIZE_PATH}"))
        .body("agent=x")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let doubled = client()
        .get(format!("{base}{AUTHORIZE_PATH}?state=a&state=b"))
        .send()
        .await
        .unwrap();
    assert_eq!(doubled.status(), 400);
    let unknown = client()
        .post(format!("{base}{SECOND_FACTOR_PATH}"))
        .form(&[("transaction", "inconnue"), ("otp", DEMO_OTP)])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn step_up_for_an_agent_with_a_second_factor_is_immediate() {
    let base = serve(PREFIX).await;
    let claims = json!({"id_token": {"acr": {"essential": true, "value": ACR_2FA}}}).to_string();
    for extra in [("acr_values", ACR_2FA), ("claims", claims.as_str())] {
        let page = login_page(&base, &[extra]).await;
        assert!(page.contains("Le service demande une double authentification."));
        let code = query_value(&location(&pick(&base, &page, CAMILLE).await), "code").unwrap();
        let id_token = id_token_of(&base, &tokens_of(&base, &code).await).await;
        assert_eq!(id_token["amr"], json!(["pwd", "mfa"]), "{extra:?}");
        assert_eq!(id_token["acr"], ACR_2FA);
    }
}

#[tokio::test]
async fn step_up_for_an_agent_without_a_second_factor_asks_for_a_code() {
    let base = serve(PREFIX).await;
    // Without a step-up request, a password login.
    let code = code_for(&base, SOPHIE, &[]).await;
    assert_eq!(
        id_token_of(&base, &tokens_of(&base, &code).await).await["amr"],
        json!(["pwd"])
    );

    let page = login_page(&base, &[("acr_values", &format!("eidas1 {ACR_2FA}")), ("state", "s2")]).await;
    let response = pick(&base, &page, SOPHIE).await;
    assert_eq!(response.status(), 200);
    let otp_page = response.text().await.unwrap();
    assert!(otp_page.contains("le code de démonstration est <strong>123456</strong>"));
    assert!(otp_page.contains("action=\"/pro_connect/api/v2/authorize/second-factor\""));
    assert!(otp_page.contains("autocomplete=\"one-time-code\""));

    let response = submit(&base, &otp_page, &[("otp", "654321")]).await;
    assert_eq!(response.status(), 400);
    let again = response.text().await.unwrap();
    assert!(again.contains("role=\"alert\">Code incorrect") && again.contains("aria-invalid=\"true\""));

    let back = location(&submit(&base, &again, &[("otp", " 123456 ")]).await);
    assert!(back
        .as_str()
        .starts_with("http://127.0.0.1:4321/auth/proconnect/retour?"));
    assert_eq!(query_value(&back, "state").as_deref(), Some("s2"));
    let id_token = id_token_of(&base, &tokens_of(&base, &query_value(&back, "code").unwrap()).await).await;
    assert_eq!(
        (&id_token["amr"], id_token["acr"].as_str()),
        (&json!(["pwd", "mfa"]), Some(ACR_2FA))
    );
    assert_eq!(id_token["nonce"], "nonce-du-client");

    // The login is spent: its code page cannot give a second code.
    assert_eq!(submit(&base, &again, &[("otp", DEMO_OTP)]).await.status(), 400);
}

#[tokio::test]
async fn userinfo_refuses_unknown_tokens_and_logout_goes_back() {
    let base = serve(PREFIX).await;
    let response = userinfo(&base, "jeton-inconnu").await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");

    let back = [
        ("id_token_hint", "x"),
        ("state", "fin"),
        ("post_logout_redirect_uri", "http://127.0.0.1:4321/au-revoir"),
    ];
    let response = logout(&base, &back).await;
    assert_eq!(
        location(&response).as_str(),
        "http://127.0.0.1:4321/au-revoir?state=fin"
    );
    let response = logout(&base, &[("post_logout_redirect_uri", "https://evil.example/")]).await;
    assert_eq!(response.status(), 400);
}

#[test]
fn the_agents_cover_the_demo_roles() {
    let agents = agents();
    let at = |siret: &str| agents.iter().filter(|a| a.siret == siret).count();
    assert!(at("21349910600010") >= 2, "two agents of one commune");
    assert!(at("21359920200016") >= 1 && at("24340081900120") >= 1);
    let dinum_roles: Vec<&str> = agents
        .iter()
        .filter(|a| a.siret == DINUM)
        .map(|a| a.role_hint.as_str())
        .collect();
    assert_eq!(
        dinum_roles,
        ["instructeur particulier", "instructeur entreprise", "admin"]
    );
    assert!(agents.iter().any(|a| !a.mfa), "an agent to step up");
    let mut emails: Vec<&str> = agents.iter().map(|a| a.email.as_str()).collect();
    emails.sort_unstable();
    emails.dedup();
    assert_eq!(emails.len(), agents.len());
    for agent in &agents {
        assert!(agent.email.ends_with(".example"), "{}", agent.email);
        assert!(Siret::parse(&agent.siret).is_some(), "{}", agent.siret);
        assert!(Siren::parse(&agent.siret[..9]).is_ok(), "{}", agent.siret);
    }
}

#[test]
fn the_agents_organisations_are_in_the_sirene_simulator() {
    // The Sirene simulator lives in another crate that depends on this one: its data
    // files are read as text.
    let sirene = [
        include_str!("../../../entreprise-providers/src/insee/sirene.json"),
        include_str!("../../../entreprise-providers/src/insee/sirene_synthetic.json"),
    ];
    let etablissements: Vec<Value> = sirene
        .iter()
        .flat_map(|file| {
            serde_json::from_str::<Value>(file).unwrap()["etablissements"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    for agent in agents() {
        let found = etablissements.iter().find(|e| e["siret"] == agent.siret.as_str());
        let found = found.unwrap_or_else(|| panic!("{} not in Sirene", agent.siret));
        assert_eq!(
            found["uniteLegale"]["denominationUniteLegale"],
            agent.organisation.as_str()
        );
        if agent.organisation.starts_with("COMMUNE DE ") {
            assert_eq!(found["uniteLegale"]["categorieJuridiqueUniteLegale"], "7210");
            assert_eq!(found["etablissementSiege"], true);
        }
    }
}
