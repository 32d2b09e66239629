//! The site's pages: the home page (log in), FranceConnect's return, the record, its
//! exports, logging out. Every read of a record is itself journaled under the
//! citizen's key.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use chrono_tz::Europe::Paris;
use passerelle_core::KeyedIdentity;
use passerelle_store::JournalRow;
use serde::Deserialize;

use crate::describe::{self, Line};
use crate::session::{self, Session, LOGIN, SESSION};
use crate::{export, Site, BASE};

/// More calls than anyone should have; the page says when it shows only these.
const SHOWN: u32 = 1000;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    base: &'static str,
}

#[derive(Template)]
#[template(path = "record.html")]
struct Record<'a> {
    base: &'static str,
    name: &'a str,
    csrf: &'a str,
    lines: &'a [Line],
    capped: bool,
}

#[derive(Template)]
#[template(path = "problem.html")]
struct Problem<'a> {
    base: &'static str,
    title: &'a str,
    detail: &'a str,
}

fn html(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    html(
        status,
        Problem {
            base: BASE,
            title,
            detail,
        },
    )
}

pub async fn home(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    let Some(session) = site.sessions.session(&headers) else {
        return html(StatusCode::OK, Home { base: BASE });
    };
    let Some((lines, capped)) = record(&site, &session, BASE).await else {
        return unavailable();
    };
    html(
        StatusCode::OK,
        Record {
            base: BASE,
            name: &session.name,
            csrf: &session.csrf,
            lines: &lines,
            capped,
        },
    )
}

pub async fn log_in(State(site): State<Arc<Site>>) -> Response {
    match site.login.start().await {
        Ok((url, pending)) => {
            let cookie = site.sessions.pending_cookie(&pending);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "FranceConnect login could not start");
            problem(
                StatusCode::BAD_GATEWAY,
                "FranceConnect ne répond pas",
                "La connexion avec FranceConnect n'a pas pu commencer. Réessayez dans quelques minutes.",
            )
        }
    }
}

#[derive(Deserialize)]
pub struct Back {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn come_back(State(site): State<Arc<Site>>, headers: HeaderMap, Query(back): Query<Back>) -> Response {
    let pending = site.sessions.pending(&headers);
    let state_matches = match (&pending, &back.state) {
        (Some(p), Some(s)) => session::same(p.state.as_bytes(), s.as_bytes()),
        _ => false,
    };
    let (Some(pending), Some(code), true, None) = (pending, back.code, state_matches, back.error) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Connexion interrompue",
            "Le retour de FranceConnect ne correspond à aucune connexion en cours (lien expiré, ou connexion annulée). Recommencez depuis la page d'accueil.",
        );
    };
    let person = match site.login.finish(code, &pending).await {
        Ok(person) => person,
        Err(e) => {
            tracing::warn!(error = %e, "FranceConnect login refused");
            return problem(
                StatusCode::BAD_GATEWAY,
                "Connexion refusée",
                "FranceConnect n'a pas pu confirmer votre identité. Recommencez depuis la page d'accueil.",
            );
        }
    };
    let identity = KeyedIdentity::of(&person.civility);
    let Some(key) = identity.key(&site.settings.secret) else {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Identité incomplète",
            "FranceConnect n'a pas transmis assez d'éléments d'identité (nom, prénom, année de naissance) pour retrouver vos consultations.",
        );
    };
    let (_, cookie) = site.sessions.open(key.into_string(), person.name);
    let mut response = Redirect::to(BASE).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookie.parse().expect("a cookie is a header value"));
    let cleared = site.sessions.cleared(LOGIN);
    headers.append(header::SET_COOKIE, cleared.parse().expect("a cookie is a header value"));
    response
}

#[derive(Deserialize)]
pub struct LogOut {
    csrf: String,
}

pub async fn log_out(State(site): State<Arc<Site>>, headers: HeaderMap, Form(form): Form<LogOut>) -> Response {
    match site.sessions.session(&headers) {
        Some(session) if session::csrf_matches(&session, &form.csrf) => {
            let cleared = site.sessions.cleared(SESSION);
            ([(header::SET_COOKIE, cleared)], Redirect::to(BASE)).into_response()
        }
        _ => problem(
            StatusCode::FORBIDDEN,
            "Demande refusée",
            "Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page et recommencez.",
        ),
    }
}

pub async fn csv(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    let Some(session) = site.sessions.session(&headers) else {
        return Redirect::to(BASE).into_response();
    };
    let Some((lines, _)) = record(&site, &session, &format!("{BASE}/releve.csv")).await else {
        return unavailable();
    };
    match export::csv(&lines) {
        Ok(body) => download(body, "text/csv; charset=utf-8", "releve-consultations.csv"),
        Err(_) => unavailable(),
    }
}

pub async fn pdf(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    let Some(session) = site.sessions.session(&headers) else {
        return Redirect::to(BASE).into_response();
    };
    let Some((lines, _)) = record(&site, &session, &format!("{BASE}/releve.pdf")).await else {
        return unavailable();
    };
    let made_at = Utc::now().with_timezone(&Paris).format("%d/%m/%Y à %H:%M").to_string();
    let body = export::pdf(&session.name, &made_at, &lines);
    download(body, "application/pdf", "releve-consultations.pdf")
}

fn download(body: Vec<u8>, kind: &'static str, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

fn unavailable() -> Response {
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "Relevé momentanément indisponible",
        "Votre relevé n'a pas pu être lu. Réessayez dans quelques minutes.",
    )
}

/// The citizen's calls, once this read is journaled: a read that cannot be journaled
/// shows nothing.
async fn record(site: &Site, session: &Session, page: &str) -> Option<(Vec<Line>, bool)> {
    if !site.journal.record(page_read(session, page)).await {
        return None;
    }
    let rows = match site.store.calls_about(&session.key, SHOWN).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "the citizen record could not be read");
            return None;
        }
    };
    let capped = rows.len() == SHOWN as usize;
    let lines = describe::lines(&rows, site.store.as_ref(), site.directory.as_ref()).await;
    Some((lines, capped))
}

fn page_read(session: &Session, page: &str) -> JournalRow {
    JournalRow {
        request_id: uuid::Uuid::new_v4().to_string(),
        at: Utc::now(),
        bouquet: "particulier".into(),
        caller: None,
        purpose: Default::default(),
        endpoint: page.to_string(),
        status: 200,
        duration_ms: 0.0,
        params_hash: None,
        cached: false,
        body_sha256: None,
        subject: Some(session.key.clone()),
    }
}
