//! `/stats`: the bouquet's public figures (paper documents avoided over 30 days,
//! calls per month and per route, habilitations in force per use case, instruction
//! times), read from the usage rollups and the habilitations, never from the
//! journal; `/stats.json` and `/stats.csv`: the same as open data. The rollup job
//! starts with the site.

mod export;
mod view;

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::Utc;
use passerelle_usage::{Cached, PublicStats, RollupJob};

use crate::{Frame, Site};

/// What the stats pages share: the rollup job (whose progress refreshes the figures)
/// and the figures kept.
struct Stats {
    rollups: Arc<RollupJob>,
    figures: Cached<PublicStats>,
}

/// The routes, and the rollup job started on the site's store (once per store).
pub fn routes(site: &Arc<Site>) -> Router<Arc<Site>> {
    let every = Duration::from_secs(site.config.rollup_every_secs);
    let stats = Arc::new(Stats {
        rollups: passerelle_usage::spawn(site.store(), every),
        figures: Cached::new(passerelle_usage::cache::KEEP),
    });
    Router::new()
        .route("/stats", get(page))
        .route("/stats.json", get(json))
        .route("/stats.csv", get(csv))
        .layer(Extension(stats))
}

/// The figures, kept or computed now; a page saying so when they cannot be had.
async fn figures(site: &Site, stats: &Stats) -> Result<Arc<PublicStats>, Response> {
    let compute = || passerelle_usage::compute(site.store().as_ref(), site.bouquet(), Utc::now());
    stats
        .figures
        .get(stats.rollups.generation(), compute)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, bouquet = site.bouquet().name, "public stats unavailable");
            let text = "Les statistiques sont momentanément indisponibles. Réessayez dans quelques minutes.";
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "60")], text).into_response()
        })
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    frame: Frame,
    papers: String,
    papers_label: &'static str,
    papers_from: String,
    papers_to: String,
    calls: String,
    months: Vec<view::MonthRow>,
    chart_width: u32,
    chart_height: u32,
    routes: Vec<view::RouteRow>,
    active: String,
    use_cases: Vec<view::UseCaseRow>,
    instruction: view::Instruction,
    /// How often the journal is counted: `toutes les minutes`.
    every: String,
    rolled_up: Option<String>,
    columns: [&'static str; 7],
}

async fn page(State(site): State<Arc<Site>>, Extension(stats): Extension<Arc<Stats>>) -> Response {
    let figures = match figures(&site, &stats).await {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let (papers_from, papers_to) = view::period(&figures);
    crate::page(&StatsPage {
        frame: Frame::new(&site, "stats"),
        papers: view::count(figures.papers_avoided),
        papers_label: passerelle_usage::papers_label(&figures.bouquet),
        papers_from,
        papers_to,
        calls: view::count(figures.calls()),
        months: view::months(&figures),
        chart_width: view::CHART_WIDTH,
        chart_height: view::CHART_HEIGHT,
        routes: view::routes(&figures),
        active: view::count(figures.active_habilitations()),
        use_cases: view::use_cases(&figures.use_cases),
        instruction: view::instruction(&figures.instruction),
        every: every(site.config.rollup_every_secs),
        rolled_up: figures
            .rolled_up_at
            .map(|at| format!("{} à {} UTC", view::day(at), at.format("%H:%M"))),
        columns: export::CSV_HEADER,
    })
}

fn every(secs: u64) -> String {
    match secs.max(1) {
        1 => "chaque seconde".into(),
        60 => "chaque minute".into(),
        s if s % 60 == 0 => format!("toutes les {} minutes", s / 60),
        s => format!("toutes les {s} secondes"),
    }
}

/// Open data: anyone may read it, from any page (CORS), for a minute.
const OPEN: [(header::HeaderName, &str); 2] = [
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    (header::CACHE_CONTROL, "public, max-age=60"),
];

async fn json(State(site): State<Arc<Site>>, Extension(stats): Extension<Arc<Stats>>) -> Response {
    match figures(&site, &stats).await {
        Ok(f) => (OPEN, axum::Json(export::json(&f))).into_response(),
        Err(refused) => refused,
    }
}

async fn csv(State(site): State<Arc<Site>>, Extension(stats): Extension<Arc<Stats>>) -> Response {
    let figures = match figures(&site, &stats).await {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let body = match export::csv(&figures) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "stats CSV not written");
            return (StatusCode::INTERNAL_SERVER_ERROR, "erreur interne").into_response();
        }
    };
    let file = format!("attachment; filename=\"statistiques-api-{}.csv\"", figures.bouquet);
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
        (header::CONTENT_DISPOSITION, file),
    ];
    (OPEN, headers, body).into_response()
}
