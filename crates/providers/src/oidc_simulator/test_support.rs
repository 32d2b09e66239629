//! Helpers of the simulators' tests, which drive them over real HTTP.

use axum::Router;
use reqwest::redirect::Policy;
use reqwest::{Client, Response, Url};
use serde_json::Value;

use super::{END_SESSION_PATH, JWKS_PATH, TOKEN_PATH, USERINFO_PATH};
use crate::france_connect::jose::{self, VerifyingKey};

/// `router` on a free loopback port, nested under `prefix`; its base URL.
pub(crate) async fn serve(router: Router, prefix: &str) -> String {
    let app = if prefix.is_empty() {
        router
    } else {
        Router::new().nest(prefix, router)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}{prefix}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A client that shows redirects instead of following them.
pub(crate) fn client() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

pub(crate) async fn get_json(url: &str) -> Value {
    client().get(url).send().await.unwrap().json().await.unwrap()
}

/// The simulator's signing keys, from its JWKS.
pub(crate) async fn keys(base: &str) -> Vec<VerifyingKey> {
    VerifyingKey::from_jwks(&get_json(&format!("{base}{JWKS_PATH}")).await)
}

/// The attribute value that follows `marker` (which ends with its opening quote),
/// unescaped.
pub(crate) fn after(html: &str, marker: &str) -> String {
    let start = html.find(marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len();
    let raw = &html[start..start + html[start..].find('"').unwrap()];
    raw.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the page's first form, as a browser would post them.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let form = &html[..html.find("</form>").unwrap()];
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| (after(input, "name=\""), after(input, "value=\"")))
        .collect()
}

/// Posts the page's first form with `extra` fields, as a click on its button does.
pub(crate) async fn submit(base: &str, html: &str, extra: &[(&str, &str)]) -> Response {
    let mut form = hidden_fields(html);
    form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let target = Url::parse(base).unwrap().join(&after(html, "action=\"")).unwrap();
    client().post(target).form(&form).send().await.unwrap()
}

/// Where a redirect leads, checked to be one.
pub(crate) fn location(response: &Response) -> Url {
    assert_eq!(response.status(), 302);
    Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

pub(crate) fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

pub(crate) async fn post_token(base: &str, form: &[(&str, &str)]) -> Response {
    client()
        .post(format!("{base}{TOKEN_PATH}"))
        .form(form)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn json_of(response: Response) -> (u16, Value) {
    (response.status().as_u16(), response.json().await.unwrap())
}

pub(crate) async fn userinfo(base: &str, access_token: &str) -> Response {
    client()
        .get(format!("{base}{USERINFO_PATH}"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// A JWT's claims, unchecked.
pub(crate) fn payload(jws: &str) -> Value {
    serde_json::from_slice(&jose::b64_decode(jws.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

pub(crate) async fn logout(base: &str, query: &[(&str, &str)]) -> Response {
    client()
        .get(format!("{base}{END_SESSION_PATH}"))
        .query(query)
        .send()
        .await
        .unwrap()
}
