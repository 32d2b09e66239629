//! The login side over real HTTP, the simulator nested under `/france_connect` as the
//! sandbox runs it.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::*;
use crate::france_connect::jose::{self, VerifyingKey};
use crate::oidc_simulator::test_support::{
    after, client, get_json, json_of, location, logout, payload, post_token, query_value, submit, userinfo,
};

const REDIRECT: &str = "http://127.0.0.1:4321/connexion/retour?depuis=accueil";
const SCOPE: &str = "openid given_name family_name birthdate gender birthplace birthcountry";
const ANGELA: &str = "dubois_angela_19620824_75107";

/// The simulator on a free loopback port, nested under `prefix`; its base URL.
async fn serve(prefix: &str) -> String {
    // The gateway JWKS is only fetched by check-token, which these tests do not call.
    let simulator = Simulator::with_default_people("http://127.0.0.1:9/jwks");
    crate::oidc_simulator::test_support::serve(super::super::simulator::router(simulator), prefix).await
}

fn authorize_query<'a>(state: &'a str, nonce: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", LOGIN_CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", SCOPE),
        ("state", state),
        ("nonce", nonce),
        ("acr_values", "eidas1"),
    ]
}

async fn authorize(base: &str, query: &[(&str, &str)]) -> reqwest::Response {
    client()
        .get(format!("{base}{AUTHORIZE_PATH}"))
        .query(query)
        .send()
        .await
        .unwrap()
}

async fn open_login_page(base: &str, state: &str, nonce: &str) -> String {
    let response = authorize(base, &authorize_query(state, nonce)).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Picks `person` on the login page, posting the page's own hidden fields; the
/// simulator's answer.
async fn pick(base: &str, page: &str, person: &str) -> reqwest::Response {
    submit(base, page, &[("person", person)]).await
}

/// A fresh code for `person`, through the login page.
async fn code_for(base: &str, person: &str) -> String {
    let page = open_login_page(base, "etat-du-client", "nonce-du-client").await;
    let location = location(&pick(base, &page, person).await);
    query_value(&location, "code").unwrap()
}

async fn exchange(base: &str, code: &str, secret: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", LOGIN_CLIENT_ID),
        ("client_secret", secret),
    ];
    post_token(base, &form).await
}

#[tokio::test]
async fn discovery_names_the_endpoints_under_the_request_host() {
    for prefix in ["/france_connect", ""] {
        let base = serve(prefix).await;
        let response = client().get(format!("{base}{DISCOVERY_PATH}")).send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/json");
        let (status, meta) = json_of(response).await;
        assert_eq!(status, 200);
        let issuer = format!("{base}/api/v2");
        assert_eq!(meta["issuer"], json!(issuer));
        assert_eq!(meta["authorization_endpoint"], json!(format!("{issuer}/authorize")));
        assert_eq!(meta["token_endpoint"], json!(format!("{issuer}/token")));
        assert_eq!(meta["userinfo_endpoint"], json!(format!("{issuer}/userinfo")));
        assert_eq!(meta["jwks_uri"], json!(format!("{issuer}/jwks")));
        assert_eq!(meta["end_session_endpoint"], json!(format!("{issuer}/session/end")));
        assert_eq!(meta["response_types_supported"], json!(["code"]));
        assert_eq!(meta["subject_types_supported"], json!(["public"]));
        assert_eq!(meta["id_token_signing_alg_values_supported"], json!(["ES256"]));
        assert_eq!(meta["userinfo_signing_alg_values_supported"], json!(["ES256"]));
        assert_eq!(
            meta["token_endpoint_auth_methods_supported"],
            json!(["client_secret_post"])
        );
        let scopes = meta["scopes_supported"].as_array().unwrap();
        for scope in SCOPE.split(' ').chain(["preferred_name", "email"]) {
            assert!(scopes.contains(&json!(scope)), "{scope}");
        }
        let claims = meta["claims_supported"].as_array().unwrap();
        for claim in ["sub", "nonce", "family_name", "birthdate", "birthcountry"] {
            assert!(claims.contains(&json!(claim)), "{claim}");
        }
        // The JWKS it names is served and holds the signing key.
        let jwks: Value = get_json(&format!("{issuer}/jwks")).await;
        assert_eq!(VerifyingKey::from_jwks(&jwks).len(), 1);
    }
}

#[tokio::test]
async fn login_page_lists_active_people_and_escapes_the_request() {
    let base = serve("/france_connect").await;
    let state = "\"><script>alert(1)</script>";
    let page = open_login_page(&base, state, "n").await;
    assert!(page.contains("<html lang=\"fr\">") && page.contains("<h1>"));
    assert!(page.contains("<form method=\"post\" action=\"/france_connect/api/v2/authorize\">"));
    assert!(page.contains(
        "name=\"person\" value=\"all_fc\" data-person=\"all_fc\" aria-describedby=\"personne-0\">\
         Se connecter en tant que Thomas Delatour</button>"
    ));
    assert!(page.contains(&format!("data-person=\"{ANGELA}\"")));
    assert!(page.contains("Se connecter en tant que Cléopâtre César"));
    // Inactive, failing and nameless tokens cannot log in.
    for token in ["fc_inactif", "fc_erreur_serveur"] {
        assert!(!page.contains(&format!("data-person=\"{token}\"")), "{token}");
    }
    assert!(!page.contains("<script"), "the state is escaped");
    assert!(page.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
    assert_eq!(after(&page, "name=\"state\" value=\""), state);
    assert!(!page.contains("src=") && !page.contains("href="), "nothing is loaded");
}

#[test]
fn names_are_escaped_on_the_page() {
    let people = vec![Person {
        token: "t\"1".into(),
        claims: json!({"given_name": "Zoé <b>", "family_name": "O'Hara & Fils"})
            .as_object()
            .unwrap()
            .clone(),
    }];
    let page = login_page("/api/v2/authorize", &AuthorizeRequest::default(), &people);
    assert!(page.contains("Se connecter en tant que Zoé &lt;b&gt; O&#39;Hara &amp; Fils</button>"));
    assert!(page.contains("data-person=\"t&quot;1\""));
    assert!(!page.contains("<b>"));
}

#[tokio::test]
async fn a_foreign_redirect_uri_gets_a_page_and_no_redirect() {
    let base = serve("/france_connect").await;
    let foreign = [
        "https://evil.example/retour",
        "http://127.0.0.1.evil.example:4321/retour",
        "http://localhost/retour",
        "http://user@127.0.0.1:4321/retour",
        "https://127.0.0.1:4321/retour",
        "",
    ];
    for redirect in foreign {
        let mut query = authorize_query("s", "n");
        query[2] = ("redirect_uri", redirect);
        let response = authorize(&base, &query).await;
        assert_eq!(response.status(), 400, "{redirect}");
        assert!(response.headers().get("location").is_none(), "{redirect}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(response.text().await.unwrap().contains("redirect_uri"));
    }
    // A client that is not ours: the same.
    let mut query = authorize_query("s", "n");
    query[1] = ("client_id", "passerelle-demo-quotient_familial");
    let response = authorize(&base, &query).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // And on logout.
    let response = logout(
        &base,
        &[("post_logout_redirect_uri", "https://evil.example/"), ("state", "s")],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn a_bad_request_from_a_known_client_goes_back_with_an_error() {
    let base = serve("/france_connect").await;
    let mut query = authorize_query("mon-etat", "");
    query.retain(|(name, _)| *name != "nonce");
    let back = location(&authorize(&base, &query).await);
    assert_eq!(query_value(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_value(&back, "state").as_deref(), Some("mon-etat"));
    assert!(query_value(&back, "code").is_none());
}

#[tokio::test]
async fn the_full_flow_gives_a_signed_id_token_and_userinfo() {
    let base = serve("/france_connect").await;
    let meta: Value = get_json(&format!("{base}{DISCOVERY_PATH}")).await;
    let state = "etat & co/é";
    let nonce = "nonce-0123456789abcdef0123456789abcdef";
    let page = open_login_page(&base, state, nonce).await;

    let back = location(&pick(&base, &page, ANGELA).await);
    assert_eq!(back.as_str().split('?').next(), REDIRECT.split('?').next());
    assert_eq!(
        query_value(&back, "depuis").as_deref(),
        Some("accueil"),
        "the client's query stays"
    );
    assert_eq!(query_value(&back, "state").as_deref(), Some(state));
    let code = query_value(&back, "code").unwrap();
    assert!(
        code.len() >= 32
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );

    let response = exchange(&base, &code, LOGIN_CLIENT_SECRET).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, tokens) = json_of(response).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        (tokens["token_type"].as_str(), tokens["expires_in"].as_u64()),
        (Some("Bearer"), Some(60))
    );
    assert_eq!(tokens["scope"], SCOPE);

    let jwks: Value = get_json(meta["jwks_uri"].as_str().unwrap()).await;
    let keys = VerifyingKey::from_jwks(&jwks);
    let id_token = jose::verify(tokens["id_token"].as_str().unwrap(), &keys).unwrap();
    assert_eq!(id_token["iss"], meta["issuer"]);
    assert_eq!(id_token["aud"], LOGIN_CLIENT_ID);
    assert_eq!(id_token["nonce"], nonce);
    assert_eq!(
        (id_token["acr"].as_str(), &id_token["amr"]),
        (Some("eidas1"), &json!(["pwd"]))
    );
    let iat = id_token["iat"].as_i64().unwrap();
    assert_eq!(id_token["exp"].as_i64().unwrap() - iat, 60);
    assert!(id_token["auth_time"].as_i64().unwrap() <= iat);
    let sub = id_token["sub"].as_str().unwrap();
    assert_eq!(sub, hex::encode(Sha256::digest(format!("{ANGELA}{LOGIN_CLIENT_ID}"))));
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(id_token["at_hash"], jose::b64(&Sha256::digest(access_token)[..16]));

    assert_eq!(meta["userinfo_endpoint"], json!(format!("{base}{USERINFO_PATH}")));
    let response = userinfo(&base, access_token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/jwt");
    let info = jose::verify(&response.text().await.unwrap(), &keys).unwrap();
    assert_eq!((info["sub"].as_str(), &info["iss"]), (Some(sub), &meta["issuer"]));
    assert_eq!(info["aud"], LOGIN_CLIENT_ID);
    assert_eq!(info["exp"].as_i64().unwrap() - info["iat"].as_i64().unwrap(), 60);
    assert_eq!(
        (info["family_name"].as_str(), info["birthdate"].as_str()),
        (Some("DUBOIS"), Some("1962-08-24"))
    );
    assert_eq!(info["given_name"], "Angela Claire Louise");
    assert_eq!(
        (info["birthplace"].as_str(), info["gender"].as_str()),
        (Some("75107"), Some("female"))
    );
    assert!(info.get("token_introspection").is_none() && info.get("scope").is_none());

    let (status, reused) = json_of(exchange(&base, &code, LOGIN_CLIENT_SECRET).await).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn claims_follow_the_scopes_granted() {
    let base = serve("").await;
    let query = [
        ("response_type", "code"),
        ("client_id", LOGIN_CLIENT_ID),
        ("redirect_uri", "http://localhost:5000/cb"),
        ("scope", "openid family_name inconnu"),
        ("state", "s"),
        ("nonce", "n"),
    ];
    let page = authorize(&base, &query).await.text().await.unwrap();
    let back = location(&pick(&base, &page, "all_fc").await);
    assert!(back.as_str().starts_with("http://localhost:5000/cb?code="));
    let code = query_value(&back, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://localhost:5000/cb"),
        ("client_id", LOGIN_CLIENT_ID),
        ("client_secret", LOGIN_CLIENT_SECRET),
    ];
    let (_, tokens) = json_of(post_token(&base, &form).await).await;
    assert_eq!(tokens["scope"], "openid family_name");
    let jws = userinfo(&base, tokens["access_token"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let info = payload(&jws);
    assert_eq!(info["family_name"], "Delatour");
    assert!(info.get("given_name").is_none() && info.get("birthdate").is_none());
}

#[tokio::test]
async fn token_endpoint_refusals() {
    let base = serve("/france_connect").await;
    let code = code_for(&base, ANGELA).await;
    let (status, body) = json_of(exchange(&base, &code, "pas-le-secret").await).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));

    // The bad secret did not spend the code; a wrong redirect_uri does.
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:4321/ailleurs"),
        ("client_id", LOGIN_CLIENT_ID),
        ("client_secret", LOGIN_CLIENT_SECRET),
    ];
    let (status, body) = json_of(post_token(&base, &form).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = json_of(exchange(&base, &code, LOGIN_CLIENT_SECRET).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

    form[0] = ("grant_type", "client_credentials");
    let (status, body) = json_of(post_token(&base, &form).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    form[1] = ("code", "");
    form[0] = ("grant_type", "authorization_code");
    let (status, body) = json_of(post_token(&base, &form).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    let (status, body) = json_of(exchange(&base, "code-inconnu", LOGIN_CLIENT_SECRET).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn userinfo_refuses_unknown_tokens() {
    let base = serve("/france_connect").await;
    let response = userinfo(&base, "jeton-inconnu").await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    // A check-token citizen token is no login access token.
    let response = userinfo(&base, "all_fc").await;
    assert_eq!(response.status(), 401);
    let response = client().get(format!("{base}{USERINFO_PATH}")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn logout_goes_back_with_the_state_or_shows_a_page() {
    let base = serve("/france_connect").await;
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
    let response = logout(&base, &[]).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("déconnecté"));
}
