//! `/statut`: each provider's state now (its last recorded check), a 90-day
//! availability bar per provider, the incidents and maintenances (operators' notices
//! and configured windows); `/statut/flux.atom`: the notices as an Atom feed. The
//! prober (`probe`) records the checks; operators write notices with
//! `passerelle status`.

mod atom;

mod probe;
mod view;

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Duration, Utc};
use passerelle_bouquet::{Bouquet, MaintenanceWindow};
use passerelle_store::Notice;

use crate::{french, Frame, Site};

const STYLESHEET: &str = include_str!("../assets/statut.css");

/// The routes, and the prober started for `site`.
pub fn routes(site: &Arc<Site>) -> Router<Arc<Site>> {
    probe::spawn(site);
    Router::new()
        .route("/statut", get(page))
        .route("/statut/flux.atom", get(feed))
        .route("/statut/statut.css", get(stylesheet))
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    frame: Frame,
    view: view::View,
    /// How often the checks run: `chaque minute`.
    every: String,
    /// Nothing under way: no open notice, no window active.
    quiet: bool,
}

async fn page(State(site): State<Arc<Site>>) -> Response {
    let inputs = match inputs(&site).await {
        Ok(inputs) => inputs,
        Err(e) => return unavailable(&site, e),
    };
    let view = view::build(inputs);
    let quiet = view.current.is_empty() && !view.windows.iter().any(|w| w.active);
    crate::page(&StatusPage {
        frame: Frame::new(&site, "statut"),
        view,
        every: every(site.config.probe_every_secs),
        quiet,
    })
}

async fn inputs(site: &Site) -> anyhow::Result<view::Inputs> {
    let now = Utc::now();
    let bouquet = site.bouquet();
    let first_day = french::paris_day(now) - Duration::days(view::DAYS - 1);
    let days = site.store().check_days(bouquet.name, first_day).await?;
    let notices = recent(site, now).await?;
    let every = site.config.probe_every_secs.min(86_400) as i64;
    Ok(view::Inputs {
        now,
        title: bouquet.title,
        providers: providers(bouquet),
        days,
        notices,
        windows: windows(site),
        stale_after: Duration::seconds(every * 3 + 60),
    })
}

/// The notices open, or over within the bar's days.
async fn recent(site: &Site, now: chrono::DateTime<Utc>) -> anyhow::Result<Vec<Notice>> {
    let since = now - Duration::days(view::DAYS);
    site.store().recent_notices(Some(site.bouquet().name), since).await
}

/// Each provider's id and name, by name.
fn providers(bouquet: &Bouquet) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = bouquet
        .providers
        .iter()
        .map(|(id, p)| (id.as_str().to_string(), p.info().name.to_string()))
        .collect();
    list.sort_by_cached_key(|(id, name)| (name.to_lowercase(), id.clone()));
    list
}

/// The operator's windows and those the providers publish.
fn windows(site: &Site) -> Vec<MaintenanceWindow> {
    let mut own: Vec<_> = site.bouquet().providers.iter().collect();
    own.sort_by_key(|(id, _)| id.as_str());
    let published = own
        .into_iter()
        .flat_map(|(_, p)| p.maintenance_windows().iter().cloned());
    site.served
        .app
        .config
        .maintenance
        .iter()
        .cloned()
        .chain(published)
        .collect()
}

fn every(secs: u64) -> String {
    match secs {
        0 => "à la demande de ses exploitants (vérifications automatiques arrêtées sur ce serveur)".into(),
        1 => "chaque seconde".into(),
        60 => "chaque minute".into(),
        s if s % 60 == 0 => format!("toutes les {} minutes", s / 60),
        s => format!("toutes les {s} secondes"),
    }
}

async fn feed(State(site): State<Arc<Site>>) -> Response {
    let now = Utc::now();
    let notices = match recent(&site, now).await {
        Ok(notices) => notices,
        Err(e) => return unavailable(&site, e),
    };
    let bouquet = site.bouquet();
    let names: HashMap<String, String> = providers(bouquet).into_iter().collect();
    let scope = |n: &Notice| view::scope(n, &names, bouquet.title);
    let xml = atom::feed(bouquet.name, bouquet.title, &notices, scope, now);
    let headers = [
        (header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=60"),
    ];
    (headers, xml).into_response()
}

async fn stylesheet() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=3600"),
    ];
    (headers, STYLESHEET).into_response()
}

fn unavailable(site: &Site, e: anyhow::Error) -> Response {
    tracing::error!(bouquet = site.bouquet().name, error = %e, "status page: the store is unreadable");
    let body = "Le statut est momentanément indisponible. Les routes /api/pings et /api/<fournisseur>/ping restent interrogeables.";
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}
