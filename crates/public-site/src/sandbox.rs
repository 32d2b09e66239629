//! `/bac-a-sable`: on `passerelle sandbox`, a visitor gets at once, without any
//! habilitation, a token holding every scope of the bouquet. It is signed by the
//! sandbox's own keys and recorded in its own store, so it opens nothing else. On a
//! production gateway the page sends visitors to the configured sandbox instead.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use passerelle_tokens::TokenRequest;
use serde::Deserialize;

use crate::{Frame, Site, CSP};

/// The organisation a sandbox token names (DINUM's SIRET, as in the official examples).
const SANDBOX_SIRET: &str = "13002526500013";
const SANDBOX_DAYS: i64 = 90;
/// Tokens a client address may take in an hour: enough to try, not to fill the store.
const TOKENS_PER_HOUR: u32 = 5;
const MAX_NAME: usize = 100;
const CSRF_COOKIE: &str = "bac_a_sable";

pub fn routes() -> Router<Arc<Site>> {
    Router::new().route("/bac-a-sable", get(show).post(take))
}

#[derive(Template)]
#[template(path = "sandbox.html")]
struct SandboxPage {
    frame: Frame,
    /// This gateway is a sandbox and hands tokens out.
    self_service: bool,
    /// Where to get one otherwise.
    sandbox_url: Option<String>,
    csrf: String,
    name: String,
    error: Option<String>,
    issued: Option<Issued>,
}

struct Issued {
    jwt: String,
    expires_at: String,
    curl: Option<String>,
}

async fn show(State(site): State<Arc<Site>>) -> Response {
    let csrf = hex::encode(rand::random::<[u8; 16]>());
    let page = blank(&site, csrf.clone());
    respond(StatusCode::OK, &page, Some(&csrf))
}

#[derive(Deserialize)]
struct Taken {
    #[serde(default)]
    nom: String,
    #[serde(default)]
    csrf: String,
}

async fn take(
    State(site): State<Arc<Site>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Taken>,
) -> Response {
    let mut page = blank(&site, form.csrf.clone());
    page.name = form.nom.trim().chars().take(MAX_NAME).collect();
    if !site.config.self_service_tokens {
        page.error = Some("Cette instance ne délivre pas de jeton de bac à sable.".into());
        return respond(StatusCode::NOT_FOUND, &page, None);
    }
    if !same_csrf(&headers, &form.csrf) {
        page.error = Some("Le formulaire a expiré : rechargez la page et recommencez.".into());
        return respond(StatusCode::FORBIDDEN, &page, None);
    }
    if page.name.is_empty() {
        page.error = Some("Indiquez le nom de votre projet ou de votre organisation.".into());
        return respond(StatusCode::BAD_REQUEST, &page, None);
    }
    let ip = passerelle_gateway::caller::forwarded_ip(&site.served.app.config.trusted_proxies, &headers, peer);
    if !site.sandbox_tokens.allow(ip) {
        page.error = Some(format!(
            "Vous avez déjà obtenu {TOKENS_PER_HOUR} jetons depuis cette adresse dans l'heure : réutilisez-les ou réessayez plus tard."
        ));
        return respond(StatusCode::TOO_MANY_REQUESTS, &page, None);
    }
    match issue(&site, &page.name).await {
        Ok((jwt, expires_at)) => {
            page.issued = Some(Issued {
                curl: curl(&site, &headers, &jwt),
                jwt,
                expires_at: expires_at.format("%d/%m/%Y").to_string(),
            });
            respond(StatusCode::OK, &page, None)
        }
        Err(e) => {
            tracing::error!(error = %e, "sandbox token not issued");
            page.error = Some("Le jeton n'a pas pu être délivré. Réessayez dans un instant.".into());
            respond(StatusCode::SERVICE_UNAVAILABLE, &page, None)
        }
    }
}

fn blank(site: &Site, csrf: String) -> SandboxPage {
    SandboxPage {
        frame: Frame::new(site, "bac-a-sable"),
        self_service: site.config.self_service_tokens,
        sandbox_url: site.config.sandbox_url.clone(),
        csrf,
        name: String::new(),
        error: None,
        issued: None,
    }
}

async fn issue(site: &Site, name: &str) -> anyhow::Result<(String, DateTime<Utc>)> {
    let bouquet = site.bouquet();
    let request = TokenRequest {
        name: format!("Bac à sable — {name}"),
        siret: SANDBOX_SIRET.into(),
        bouquet: bouquet.name.into(),
        scopes: bouquet.scopes().into_iter().map(String::from).collect(),
        expires_in_days: SANDBOX_DAYS,
        rate_limit_per_minute: None,
        allowed_ips: Vec::new(),
        dpo_email: None,
    };
    let app = &site.served.app;
    let (record, jwt) = passerelle_tokens::issue(app.store.as_ref(), app.tokens.keys(), request, Utc::now()).await?;
    Ok((jwt, record.expires_at))
}

/// A curl the sandbox answers, at the address the visitor used.
fn curl(site: &Site, headers: &HeaderMap, jwt: &str) -> Option<String> {
    let call = site.config.example_calls.get(site.bouquet().name)?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!(
        "curl -sg -H 'Authorization: Bearer {jwt}' 'http://{host}{call}'"
    ))
}

/// The form's token is the one its page's cookie holds (a cross-site form cannot read
/// or set that cookie).
fn same_csrf(headers: &HeaderMap, sent: &str) -> bool {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(CSRF_COOKIE)?.strip_prefix('='));
    match cookie {
        Some(kept) if kept.len() == sent.len() && !sent.is_empty() => {
            kept.bytes().zip(sent.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        }
        _ => false,
    }
}

fn respond(status: StatusCode, page: &SandboxPage, csrf_cookie: Option<&str>) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "sandbox page rendering failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "erreur interne").into_response();
        }
    };
    // A page with a token, or a form bound to a cookie, is never kept by a cache.
    let mut response = (
        status,
        [
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Html(html),
    )
        .into_response();
    if let Some(value) = csrf_cookie {
        let cookie = format!("{CSRF_COOKIE}={value}; Path=/bac-a-sable; HttpOnly; SameSite=Strict");
        if let Ok(value) = cookie.parse() {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// Tokens taken per client address over the last hour (this replica's count).
#[derive(Default)]
pub struct Limiter {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    /// Addresses followed at once; when as many are active, tokens wait for the hour
    /// to pass (a flood of addresses fills neither memory nor the store).
    const MOST: usize = 10_000;

    fn allow(&self, ip: IpAddr) -> bool {
        const HOUR: Duration = Duration::from_secs(3600);
        let key = network_of(ip);
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= Self::MOST && !windows.contains_key(&key) {
            windows.retain(|_, (at, _)| at.elapsed() < HOUR);
            if windows.len() >= Self::MOST {
                return false;
            }
        }
        let window = windows.entry(key).or_insert((Instant::now(), 0));
        if window.0.elapsed() >= HOUR {
            *window = (Instant::now(), 0);
        }
        window.1 += 1;
        window.1 <= TOKENS_PER_HOUR
    }
}

/// The client's address, or its /64 for IPv6: one subscriber holds a whole /64.
fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_counts_once_for_its_whole_64() {
        let limiter = Limiter::default();
        for i in 0..TOKENS_PER_HOUR {
            let ip: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
            assert!(limiter.allow(ip));
        }
        assert!(!limiter.allow("2001:db8:1:2:ffff::9".parse().unwrap()));
        assert!(limiter.allow("2001:db8:1:3::1".parse().unwrap()), "another /64");
        assert!(limiter.allow("192.0.2.1".parse().unwrap()));
    }
}
