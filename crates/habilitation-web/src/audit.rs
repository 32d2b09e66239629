//! Audit notices (`/habilitation/admin/audit`): an admin names a demande by its
//! number and pastes request ids found in logs, with a reason and an estimated
//! volume. Each id must be a call made with one of the habilitation's tokens (the main
//! one, one a rotation replaced, or an editor's delegated token); otherwise nothing is sent and the page lists the
//! ids that are not. When all are, its applicant and contacts get a letter naming the
//! 10 most recent calls (request id, endpoint, Paris time; never parameters), written
//! with the history event in one commit (the outbox).

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use passerelle_habilitation::audit::{self, Notice, MAX_REQUEST_IDS};
use passerelle_habilitation::workflow::{ActError, Demande};
use passerelle_mail::AuditedCall;
use passerelle_store::JournalRow;
use serde::Deserialize;
use uuid::Uuid;

use crate::pages::{admin, check_csrf, conflict, html, who, Fault};
use crate::session::Session;
use crate::views::{paris, Who};
use crate::{App, BASE};

/// Notices listed on the page, newest first.
const LISTED: u32 = 50;
/// The longest request id read (the gateway's are UUIDs; a client may send its own).
const MAX_ID_LENGTH: usize = 128;

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    base: &'static str,
    who: Option<Who>,
    csrf: String,
    form: Filled,
    /// Why the form was refused.
    problems: Vec<String>,
    /// The request ids that are no call of the habilitation's tokens.
    unknown: Vec<String>,
    done: bool,
    sent: Vec<SentRow>,
    max: usize,
}

/// The form as the admin filled it (shown again when refused).
#[derive(Default, Deserialize)]
pub struct Filled {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    demande: String,
    #[serde(default)]
    requetes: String,
    #[serde(default)]
    motif: String,
    #[serde(default)]
    volume: String,
}

pub struct SentRow {
    at: String,
    demande_id: Uuid,
    number: String,
    title: String,
    actor: String,
    calls: usize,
    volume: String,
    reason: String,
}

#[derive(Deserialize)]
pub struct Shown {
    fait: Option<String>,
    demande: Option<String>,
}

/// `GET /habilitation/admin/audit`: the form (`?demande=N` fills the number) and the
/// notices sent.
pub async fn page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Result<Response, Fault> {
    let (session, _) = admin(&app, &headers).await?;
    let form = Filled {
        demande: shown.demande.unwrap_or_default(),
        ..Filled::default()
    };
    let done = shown.fait.as_deref() == Some("envoye");
    render(&app, &session, form, Vec::new(), Vec::new(), done, StatusCode::OK).await
}

/// `POST /habilitation/admin/audit`: checks every request id, then sends or refuses.
pub async fn send(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<Filled>,
) -> Result<Response, Fault> {
    let (session, _) = admin(&app, &headers).await?;
    check_csrf(&session, &form.csrf)?;
    let refuse =
        |form, problems, unknown| render(&app, &session, form, problems, unknown, false, StatusCode::BAD_REQUEST);
    let ids = match request_ids(&form.requetes) {
        Ok(ids) => ids,
        Err(problem) => return refuse(form, vec![problem], Vec::new()).await,
    };
    let demande = match find(&app, &form.demande).await? {
        Ok(demande) => demande,
        Err(problem) => return refuse(form, vec![problem], Vec::new()).await,
    };
    let body = &demande.body;
    let tokens: Vec<Uuid> = body.token.iter().chain(&body.tokens_besides_main()).copied().collect();
    let rows = app
        .store
        .calls_of_tokens(&ids, &tokens)
        .await
        .map_err(Fault::internal)?;
    let calls = distinct_calls(&rows);
    let unknown: Vec<String> = ids
        .iter()
        .filter(|id| !calls.contains_key(id.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        let problem = format!(
            "{} identifiant(s) ne sont pas des appels faits avec un jeton de l'habilitation n° {} : rien n'a été envoyé.",
            unknown.len(),
            demande.number
        );
        return refuse(form, vec![problem], unknown).await;
    }
    let calls: Vec<AuditedCall> = calls.into_values().collect();
    let agent = session.agent.as_ref().expect("logged in");
    let notice = Notice {
        reason: &form.motif,
        volume: &form.volume,
        calls: &calls,
    };
    let change = match audit::notify(&demande, agent, &notice, &app.site, Utc::now()) {
        Ok((_, change)) => change,
        Err(ActError::Invalid(why)) => return refuse(form, vec![why], Vec::new()).await,
        Err(ActError::Refused(_) | ActError::Incomplete(_)) => {
            return Err(Fault::forbidden("Seul un administrateur envoie un avis d'audit."))
        }
    };
    if !app.store.commit_demande(&change).await.map_err(Fault::internal)? {
        return Err(conflict());
    }
    tracing::info!(demande = %demande.id, calls = calls.len(), "an audit notice was sent");
    Ok(Redirect::to(&format!("{BASE}/admin/audit?fait=envoye")).into_response())
}

/// The pasted request ids, one a line, blank lines and repeats dropped.
fn request_ids(text: &str) -> Result<Vec<String>, String> {
    let mut seen = BTreeSet::new();
    let ids: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|id| !id.is_empty() && seen.insert(id.to_string()))
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err("Collez au moins un identifiant de requête (X-Request-ID), un par ligne.".into());
    }
    if ids.len() > MAX_REQUEST_IDS {
        return Err(format!(
            "{} identifiants : un avis en nomme au plus {MAX_REQUEST_IDS}.",
            ids.len()
        ));
    }
    if let Some(bad) = ids
        .iter()
        .find(|id| id.len() > MAX_ID_LENGTH || !id.chars().all(|c| c.is_ascii_graphic()))
    {
        let shown: String = bad.chars().take(40).collect();
        return Err(format!(
            "« {shown} » n'est pas un identifiant de requête (au plus {MAX_ID_LENGTH} caractères visibles, sans espace)."
        ));
    }
    Ok(ids)
}

/// The demande numbered `number` once filed, or why there is none.
async fn find(app: &App, number: &str) -> Result<Result<Demande, String>, Fault> {
    let digits = number.trim().trim_start_matches("n°").trim();
    let Ok(number) = digits.parse::<i64>() else {
        return Ok(Err("Le numéro de demande est un nombre entier (par exemple 12).".into()));
    };
    let record = app.store.demande_numbered(number).await.map_err(Fault::internal)?;
    match record.filter(|r| r.submitted_at.is_some()) {
        Some(record) => Demande::read(record).map(Ok).map_err(Fault::internal),
        None => Ok(Err(format!("Aucune demande déposée ne porte le n° {number}."))),
    }
}

/// One call per request id (the newest row when a client reused an id).
fn distinct_calls(rows: &[JournalRow]) -> HashMap<&str, AuditedCall> {
    let mut calls: HashMap<&str, AuditedCall> = HashMap::new();
    for row in rows {
        let call = AuditedCall {
            request_id: row.request_id.clone(),
            endpoint: row.endpoint.clone(),
            at: row.at,
        };
        calls
            .entry(row.request_id.as_str())
            .and_modify(|kept| {
                if call.at > kept.at {
                    *kept = call.clone();
                }
            })
            .or_insert(call);
    }
    calls
}

async fn render(
    app: &App,
    session: &Session,
    form: Filled,
    problems: Vec<String>,
    unknown: Vec<String>,
    done: bool,
    status: StatusCode,
) -> Result<Response, Fault> {
    let page = AuditPage {
        base: BASE,
        who: who(app, Some(session)),
        csrf: session.csrf.clone(),
        form,
        problems,
        unknown,
        done,
        sent: sent(app).await?,
        max: MAX_REQUEST_IDS,
    };
    Ok(html(status, page))
}

/// The notices sent, newest first, with their demande's number and title.
async fn sent(app: &App) -> Result<Vec<SentRow>, Fault> {
    let events = app
        .store
        .events_of_kind(audit::EVENT, LISTED)
        .await
        .map_err(Fault::internal)?;
    let mut demandes: HashMap<Uuid, Option<Demande>> = HashMap::new();
    let mut rows = Vec::new();
    for event in events {
        if let Entry::Vacant(slot) = demandes.entry(event.demande_id) {
            let record = app.store.demande(event.demande_id).await.map_err(Fault::internal)?;
            slot.insert(record.and_then(|r| Demande::read(r).ok()));
        }
        let demande = demandes.get(&event.demande_id).and_then(Option::as_ref);
        let body: serde_json::Value = serde_json::from_str(&event.body).unwrap_or_default();
        rows.push(SentRow {
            at: paris(event.at),
            demande_id: event.demande_id,
            number: demande.map(|d| d.number.to_string()).unwrap_or_default(),
            title: demande.map(|d| d.title().to_string()).unwrap_or_default(),
            actor: event.actor,
            calls: body["request_ids"].as_array().map_or(0, Vec::len),
            volume: body["volume"].as_str().unwrap_or_default().to_string(),
            reason: body["reason"].as_str().unwrap_or_default().to_string(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_read_one_a_line_without_blanks_or_repeats() {
        let ids = request_ids(" a-1 \n\n b-2\r\na-1\n").unwrap();
        assert_eq!(ids, ["a-1", "b-2"]);
        assert!(request_ids("\n \n").is_err());
        assert!(request_ids("un identifiant avec espaces").is_err());
        let too_many: String = (0..=MAX_REQUEST_IDS).map(|i| format!("id-{i}\n")).collect();
        assert!(request_ids(&too_many).unwrap_err().contains("au plus 500"));
    }
}
