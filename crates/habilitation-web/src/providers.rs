//! The per-provider pages of the back-office (`/habilitation/admin/fournisseurs`): for
//! each data provider of a bouquet, the calls on its endpoints over 30 days (from the
//! daily rollup, never the journal) and the habilitations in force holding one of its
//! scopes. Open to the admins and to the provider's own people (`Staff::providers`),
//! each of whom sees their provider only.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use passerelle_bouquet::{scopes_of, Bouquet, Endpoint};
use passerelle_habilitation::state::State as DemandeState;
use passerelle_habilitation::tokens::{standing, Standing};
use passerelle_habilitation::workflow::{Agent, Demande};
use passerelle_store::{Grouping, TimeRange, TokenRecord, UsageCounts};
use passerelle_usage::figures::Route;
use passerelle_usage::percentile;

use crate::pages::{html, logged_in, who, Fault};
use crate::views::{day, Who};
use crate::{App, BASE};

/// Days of the calls shown, today (UTC) included.
const DAYS: i64 = 30;

/// One data provider of one bouquet, as its catalogue describes it.
#[derive(Debug, Clone)]
pub struct Provider {
    pub bouquet: &'static str,
    pub bouquet_title: &'static str,
    pub id: &'static str,
    /// Its name in the bouquet's registry (`CNAV`), as the public catalogue shows it.
    pub name: String,
    /// Its routes (every version, legacy ones included), as the journal names them.
    pub routes: Vec<Route>,
    /// The scopes that open one of its endpoints or one of their fields.
    pub scopes: Vec<&'static str>,
}

/// Every provider of the served bouquets, read once from the bouquets at start.
#[derive(Debug, Clone, Default)]
pub struct Directory(Vec<Provider>);

impl Directory {
    pub fn of(bouquets: &[&Bouquet]) -> Directory {
        Directory(bouquets.iter().flat_map(|b| providers_of(b)).collect())
    }

    /// The `held` scopes of `bouquet` under each provider they open (a scope shared by
    /// providers shows under each), in the catalogue's order; the others last.
    pub fn scopes_by_provider(&self, bouquet: &str, held: &[String]) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = self
            .0
            .iter()
            .filter(|p| p.bouquet == bouquet)
            .map(|p| {
                let own = held.iter().filter(|s| p.scopes.contains(&s.as_str())).cloned();
                (p.name.clone(), own.collect::<Vec<_>>())
            })
            .filter(|(_, scopes)| !scopes.is_empty())
            .collect();
        let placed = |s: &String| groups.iter().any(|(_, scopes)| scopes.contains(s));
        let others: Vec<String> = held.iter().filter(|s| !placed(s)).cloned().collect();
        if !others.is_empty() {
            groups.push(("Autres données".into(), others));
        }
        groups
    }

    /// The provider's entries, one per bouquet it serves (usually one).
    fn find(&self, id: &str) -> Vec<&Provider> {
        self.0.iter().filter(|p| p.id == id).collect()
    }
}

/// The bouquet's providers in its catalogue's order, each with its routes (from the
/// public figures' route list) and its scopes.
fn providers_of(bouquet: &Bouquet) -> Vec<Provider> {
    let routes = passerelle_usage::figures::routes(bouquet);
    let mut providers: Vec<Provider> = Vec::new();
    for endpoint in &bouquet.endpoints {
        let id = endpoint.provider.as_str();
        if providers.iter().any(|p| p.id == id) {
            continue;
        }
        let own: Vec<&Endpoint> = bouquet
            .endpoints
            .iter()
            .copied()
            .filter(|e| e.provider == endpoint.provider)
            .collect();
        providers.push(Provider {
            bouquet: bouquet.name,
            bouquet_title: bouquet.title,
            id,
            name: bouquet
                .provider(endpoint)
                .map(|p| p.info().name.to_string())
                .unwrap_or_else(|| id.to_string()),
            routes: routes.values().filter(|r| r.provider == id).cloned().collect(),
            scopes: scopes_of(&own),
        });
    }
    providers
}

/// The providers `agent` may read: every one for an admin, their own for a
/// provider's people; none for anyone else (403).
fn readable<'a>(app: &'a App, agent: &Agent) -> Result<Vec<&'a Provider>, Fault> {
    let staff = &app.site.staff;
    let list: Vec<&Provider> = app
        .providers
        .0
        .iter()
        .filter(|p| staff.reads_provider(agent, p.id))
        .collect();
    if list.is_empty() {
        return Err(Fault::forbidden(
            "Cette page est réservée aux administrateurs et aux référents des fournisseurs de données.",
        ));
    }
    Ok(list)
}

// The list.

#[derive(Template)]
#[template(path = "providers.html")]
pub struct ProvidersPage {
    base: &'static str,
    who: Option<Who>,
    rows: Vec<ProviderRow>,
}

pub struct ProviderRow {
    id: &'static str,
    name: String,
    bouquet: &'static str,
    routes: usize,
    scopes: usize,
}

pub async fn list(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let agent = session.agent.as_ref().expect("logged in");
    let rows = readable(&app, agent)?
        .into_iter()
        .map(|p| ProviderRow {
            id: p.id,
            name: p.name.clone(),
            bouquet: p.bouquet_title,
            routes: p.routes.len(),
            scopes: p.scopes.len(),
        })
        .collect();
    let page = ProvidersPage {
        base: BASE,
        who: who(&app, Some(&session)),
        rows,
    };
    Ok(html(StatusCode::OK, page))
}

// One provider.

#[derive(Template)]
#[template(path = "provider.html")]
pub struct ProviderPage {
    base: &'static str,
    who: Option<Who>,
    id: String,
    name: String,
    since: String,
    sections: Vec<Section>,
}

/// The provider in one bouquet.
pub struct Section {
    bouquet: &'static str,
    scopes: String,
    total: CallsRow,
    calls: Vec<CallsRow>,
    habilitations: Vec<HabilitationRow>,
}

pub struct CallsRow {
    path: String,
    title: String,
    calls: u64,
    ok: u64,
    client_errors: u64,
    server_errors: u64,
    p50: String,
    p95: String,
}

pub struct HabilitationRow {
    number: i64,
    title: String,
    organisation: String,
    token_end: String,
}

pub async fn show(State(app): State<Arc<App>>, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let agent = session.agent.as_ref().expect("logged in");
    if !app.site.staff.reads_provider(agent, &id) {
        return Err(Fault::forbidden(
            "Cette page est réservée aux administrateurs et aux référents de ce fournisseur de données.",
        ));
    }
    let found = app.providers.find(&id);
    let Some(first) = found.first() else {
        let detail = "Aucun bouquet ne sert ce fournisseur de données.";
        return Err(Fault::new(StatusCode::NOT_FOUND, "Fournisseur inconnu", detail));
    };
    let now = Utc::now();
    let since = first_day(now);
    let mut sections = Vec::new();
    for provider in &found {
        sections.push(section(&app, provider, since, now).await?);
    }
    let page = ProviderPage {
        base: BASE,
        who: who(&app, Some(&session)),
        id: id.clone(),
        name: first.name.clone(),
        since: day(since),
        sections,
    };
    Ok(html(StatusCode::OK, page))
}

async fn section(app: &App, provider: &Provider, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<Section, Fault> {
    let range = TimeRange {
        since: Some(since),
        until: Some(now),
    };
    let by_endpoint = Grouping {
        period: None,
        endpoint: true,
    };
    let lines = app
        .store
        .bouquet_usage(provider.bouquet, range, by_endpoint)
        .await
        .map_err(Fault::internal)?;
    let titles: BTreeMap<&str, &str> = provider
        .routes
        .iter()
        .map(|r| (r.path.as_str(), r.title.as_str()))
        .collect();
    let mut total = UsageCounts::default();
    let mut calls: Vec<CallsRow> = Vec::new();
    for line in &lines {
        let Some(path) = line.endpoint.as_deref() else { continue };
        let Some(title) = titles.get(path) else { continue };
        total.add(&line.counts);
        calls.push(calls_row(path, title, &line.counts));
    }
    calls.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.path.cmp(&b.path)));
    let records = app.store.demandes_in(provider.bouquet).await.map_err(Fault::internal)?;
    let demandes: Vec<Demande> = records.into_iter().filter_map(|r| Demande::read(r).ok()).collect();
    // Only the main tokens of the bouquet's demandes, in one read.
    let mains: Vec<uuid::Uuid> = demandes.iter().filter_map(|d| d.body.token).collect();
    let tokens: HashMap<uuid::Uuid, TokenRecord> = app
        .store
        .tokens_in(&mains)
        .await
        .map_err(Fault::internal)?
        .into_iter()
        .map(|t| (t.jti, t))
        .collect();
    let mut habilitations: Vec<HabilitationRow> = demandes
        .iter()
        .filter_map(|d| holding(d, provider, &tokens, now))
        .collect();
    habilitations.sort_by_key(|h| h.number);
    Ok(Section {
        bouquet: provider.bouquet_title,
        scopes: provider.scopes.join(", "),
        total: calls_row("Tous", "", &total),
        calls,
        habilitations,
    })
}

/// The habilitation's row when it is in force (validated, or being updated) with a
/// main token that answers and holds one of the provider's scopes.
fn holding(
    demande: &Demande,
    provider: &Provider,
    tokens: &HashMap<uuid::Uuid, TokenRecord>,
    now: DateTime<Utc>,
) -> Option<HabilitationRow> {
    let in_force = demande.standing.state == DemandeState::Validated || demande.standing.reopening;
    let main = tokens.get(&demande.body.token?)?;
    let answers = standing(main, true, now) == Standing::Active;
    let holds = main.scopes.iter().any(|s| provider.scopes.contains(&s.as_str()));
    (in_force && answers && holds).then(|| HabilitationRow {
        number: demande.number,
        title: demande.title().to_string(),
        organisation: demande
            .body
            .organisation
            .clone()
            .unwrap_or_else(|| demande.siret.clone()),
        token_end: day(main.expires_at),
    })
}

fn calls_row(path: &str, title: &str, c: &UsageCounts) -> CallsRow {
    let quantile = |p| {
        percentile::estimate(&c.latency, p)
            .map(|ms| format!("{ms:.0}"))
            .unwrap_or_else(|| "—".into())
    };
    CallsRow {
        path: path.to_string(),
        title: title.to_string(),
        calls: c.calls,
        ok: c.ok,
        client_errors: c.client_errors,
        server_errors: c.server_errors,
        p50: quantile(0.5),
        p95: quantile(0.95),
    }
}

/// The start of the first UTC day of the period (the daily rollup's days).
fn first_day(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.date_naive().and_hms_opt(0, 0, 0).map_or(now, |d| d.and_utc());
    today - Duration::days(DAYS - 1)
}
