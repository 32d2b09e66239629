//! The operators' back-office (`/habilitation/admin`), for the service's admins: the
//! organisations (found by SIRET, name, e-mail or demande number), each with its
//! members, its demandes and their tokens (never the token strings); token creation
//! and bans (`passerelle_habilitation::operator`); read-only impersonation of an
//! agent; and the journal of what admins did.
//!
//! While an admin sees the site as an agent, `guard` journals every page they view;
//! `pages::check_csrf`, which every form that changes something goes through, refuses
//! them.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use passerelle_habilitation::operator::{self, Ban, Tokens};
use passerelle_habilitation::tokens::{standing, Standing};
use passerelle_habilitation::workflow::{self, ActError, Agent, Demande, TOKEN_DAYS};
use passerelle_store::{Grouping, OperatorAction, Period, TimeRange, TokenRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::pages::{
    admin, check_csrf, check_form_token, conflict, forget, html, logged_in, who, CsrfOnly, Fault, Shown,
};
use crate::views::{paris, paris_seconds, Who};
use crate::{App, BASE};

/// What an impersonating admin reads instead of a token.
pub const MASKED: &str = "•••••••• (jeton masqué : vous voyez le site comme cet agent)";

/// Where the banner's "stop" button posts.
const STOP: &str = "/habilitation/admin/imitation/fin";
/// The journal shows this many actions.
const JOURNAL_ROWS: u32 = 500;

fn page(page: impl Template) -> Result<Response, Fault> {
    Ok(html(StatusCode::OK, page))
}

// Home.

#[derive(Template)]
#[template(path = "admin_home.html")]
pub struct HomePage {
    base: &'static str,
    who: Option<Who>,
}

pub async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Fault> {
    let (session, _) = admin(&app, &headers).await?;
    page(HomePage {
        base: BASE,
        who: who(&app, Some(&session)),
    })
}

// Organisations.

#[derive(Template)]
#[template(path = "admin_organisations.html")]
pub struct OrganisationsPage {
    base: &'static str,
    who: Option<Who>,
    q: String,
    rows: Vec<OrganisationRow>,
}

pub struct OrganisationRow {
    siret: String,
    name: String,
    demandes: usize,
    in_force: usize,
    last_change: String,
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

pub async fn organisations(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(search): Query<Search>,
) -> Result<Response, Fault> {
    let (session, _) = admin(&app, &headers).await?;
    let q: String = search.q.unwrap_or_default().chars().take(200).collect();
    let records = app.store.all_demandes().await.map_err(Fault::internal)?;
    let demandes: Vec<Demande> = records.into_iter().filter_map(|r| Demande::read(r).ok()).collect();
    let mut by_siret: BTreeMap<&str, Vec<&Demande>> = BTreeMap::new();
    for d in &demandes {
        by_siret.entry(d.siret.as_str()).or_default().push(d);
    }
    // An organisation is found when one of its demandes is.
    let rows = by_siret
        .into_iter()
        .filter(|(_, list)| list.iter().any(|d| operator::matches(d, &q)))
        .map(|(siret, list)| organisation_row(siret, &list))
        .collect();
    page(OrganisationsPage {
        base: BASE,
        who: who(&app, Some(&session)),
        q,
        rows,
    })
}

/// One organisation of the list; `list` is most recently changed first.
fn organisation_row(siret: &str, list: &[&Demande]) -> OrganisationRow {
    let name = list.iter().find_map(|d| d.body.organisation.clone());
    OrganisationRow {
        siret: siret.to_string(),
        name: name.unwrap_or_else(|| "Organisation sans nom connu".into()),
        demandes: list.len(),
        in_force: list.iter().filter(|d| operator::eligible(d)).count(),
        last_change: list.first().map(|d| paris(d.updated_at)).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "admin_organisation.html")]
pub struct OrganisationPage {
    base: &'static str,
    who: Option<Who>,
    csrf: String,
    siret: String,
    name: String,
    members: Vec<operator::Member>,
    demandes: Vec<DemandeBlock>,
    done: Option<&'static str>,
    /// The latest end a created token may have (the date field's `max`).
    max_end: String,
    default_end: String,
}

pub struct DemandeBlock {
    id: Uuid,
    number: i64,
    title: String,
    bouquet: &'static str,
    state: String,
    version: i64,
    creatable: bool,
    tokens: Vec<TokenLine>,
}

pub struct TokenLine {
    jti: Uuid,
    label: String,
    state: String,
    issued: String,
    expires: String,
    last_used: String,
    bannable: bool,
    /// The main token of an eligible habilitation: it may get a replacement.
    replaceable: bool,
}

pub async fn organisation(
    State(app): State<Arc<App>>,
    Path(siret): Path<String>,
    headers: HeaderMap,
    Query(done): Query<Shown>,
) -> Result<Response, Fault> {
    let (session, _) = admin(&app, &headers).await?;
    let demandes = organisation_demandes(&app, &siret).await?;
    let now = Utc::now();
    let mut blocks = Vec::new();
    for demande in &demandes {
        blocks.push(demande_block(&app, demande, now).await?);
    }
    let today = now.with_timezone(&Paris).date_naive();
    page(OrganisationPage {
        base: BASE,
        who: who(&app, Some(&session)),
        csrf: session.csrf.clone(),
        name: demandes
            .iter()
            .find_map(|d| d.body.organisation.clone())
            .unwrap_or_else(|| "Organisation sans nom connu".into()),
        siret,
        members: operator::members(&demandes),
        demandes: blocks,
        done: done.fait.as_deref().and_then(done_message),
        max_end: (today + Duration::days(TOKEN_DAYS - 1)).to_string(),
        default_end: (today + Duration::days(365)).to_string(),
    })
}

/// The organisation's demandes, or 404 when it has none (an unknown SIRET).
async fn organisation_demandes(app: &App, siret: &str) -> Result<Vec<Demande>, Fault> {
    let records = app.store.organisation_demandes(siret).await.map_err(Fault::internal)?;
    let demandes: Vec<Demande> = records.into_iter().filter_map(|r| Demande::read(r).ok()).collect();
    if demandes.is_empty() {
        let detail = "Aucune demande ne vient de ce SIRET.";
        return Err(Fault::new(StatusCode::NOT_FOUND, "Organisation inconnue", detail));
    }
    Ok(demandes)
}

async fn demande_block(app: &App, demande: &Demande, now: DateTime<Utc>) -> Result<DemandeBlock, Fault> {
    let (main, retired, delegated) = tokens_of(app, demande).await?;
    let tokens = Tokens {
        main: main.as_ref(),
        retired: &retired,
        delegated: &delegated,
    };
    let mut lines = Vec::new();
    let roles = main.iter().map(|m| (m, Role::Main));
    let roles = roles.chain(retired.iter().rev().map(|r| (r, Role::Retired)));
    for (record, role) in roles.chain(delegated.iter().map(|d| (d, Role::Delegated))) {
        lines.push(token_line(app, demande, record, role, now).await?);
    }
    let mut state = demande.standing.state.label().to_string();
    if demande.standing.reopening {
        state.push_str(", mise à jour en cours");
    }
    Ok(DemandeBlock {
        id: demande.id,
        number: demande.number,
        title: demande.title().to_string(),
        bouquet: workflow::bouquet_label(&demande.bouquet),
        state,
        version: demande.version,
        creatable: operator::creatable(demande, &tokens, now),
        tokens: lines,
    })
}

/// The demande's tokens the store holds, in one read: the main one, the ones set
/// aside (in the demande's order) and the editors' delegated tokens.
async fn tokens_of(
    app: &App,
    demande: &Demande,
) -> Result<(Option<TokenRecord>, Vec<TokenRecord>, Vec<TokenRecord>), Fault> {
    let body = &demande.body;
    let wanted: Vec<Uuid> = body.token.iter().chain(&body.tokens_besides_main()).copied().collect();
    let mut found: BTreeMap<Uuid, TokenRecord> = app
        .store
        .tokens_in(&wanted)
        .await
        .map_err(Fault::internal)?
        .into_iter()
        .map(|t| (t.jti, t))
        .collect();
    let main = body.token.and_then(|jti| found.remove(&jti));
    let mut take = |list: &[Uuid]| -> Vec<TokenRecord> { list.iter().filter_map(|jti| found.remove(jti)).collect() };
    let retired = take(&body.retired_tokens);
    let delegated = take(&body.delegated_tokens);
    Ok((main, retired, delegated))
}

/// What a token is to its demande.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Main,
    /// Set aside by a rotation or a replacement.
    Retired,
    /// An editor's, through a delegation: it answers until its end, as the main one.
    Delegated,
}

async fn token_line(
    app: &App,
    demande: &Demande,
    record: &TokenRecord,
    role: Role,
    now: DateTime<Utc>,
) -> Result<TokenLine, Fault> {
    let answers_alone = role != Role::Retired;
    let answering = matches!(
        standing(record, answers_alone, now),
        Standing::Active | Standing::Overlapping
    );
    let label = match role {
        Role::Delegated if !demande.body.token_labels.contains_key(&record.jti) => "Jeton délégué à un éditeur".into(),
        _ => demande.token_label(record.jti),
    };
    let is_main = role == Role::Main;
    Ok(TokenLine {
        jti: record.jti,
        label,
        state: token_state(record, answers_alone, now),
        issued: paris(record.issued_at),
        expires: paris(record.expires_at),
        last_used: last_used(app, record.jti, now).await?,
        bannable: answering,
        replaceable: answering && is_main && operator::eligible(demande),
    })
}

fn token_state(record: &TokenRecord, is_main: bool, now: DateTime<Utc>) -> String {
    let banned_later = record.revoked_at.filter(|at| *at > now && record.expires_at > now);
    match (standing(record, is_main, now), banned_later) {
        (_, Some(at)) => format!("banni le {} (répond jusque-là)", paris(at)),
        (Standing::Active, _) => "actif".into(),
        (Standing::Overlapping, _) => "remplacé, répond encore".into(),
        (Standing::Expired, _) => "expiré".into(),
        (Standing::Revoked, _) => match record.revoked_at {
            Some(at) => format!("banni ou révoqué le {}", paris(at)),
            None => "révoqué".into(),
        },
    }
}

/// The last hour with calls over 90 days, from the rollups.
async fn last_used(app: &App, jti: Uuid, now: DateTime<Utc>) -> Result<String, Fault> {
    let range = TimeRange {
        since: Some(now - Duration::days(90)),
        until: Some(now),
    };
    let grouping = Grouping {
        period: Some(Period::Hour),
        endpoint: false,
    };
    let lines = app
        .store
        .token_usage(jti, range, grouping)
        .await
        .map_err(Fault::internal)?;
    let last = lines
        .iter()
        .filter(|l| l.counts.calls > 0)
        .filter_map(|l| l.period)
        .max();
    Ok(last
        .map(|at| format!("heure du {}", paris(at)))
        .unwrap_or_else(|| "jamais (90 derniers jours)".into()))
}

fn done_message(what: &str) -> Option<&'static str> {
    Some(match what {
        "create" => {
            "Le jeton est créé : le demandeur et le contact technique le voient sur la page de leur habilitation."
        }
        "ban" => "Le bannissement est enregistré ; le demandeur et le contact technique en sont avertis par courriel.",
        "imitation" => "L'imitation est terminée.",
        _ => return None,
    })
}

// Token actions.

#[derive(Deserialize)]
pub struct TokenForm {
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    quoi: String,
    #[serde(default)]
    jeton: String,
    #[serde(default)]
    motif: String,
    /// The ban's day and time (Paris); none: now.
    #[serde(default)]
    date: String,
    #[serde(default)]
    heure: String,
    #[serde(default)]
    remplacer: String,
    /// A created token's last day (Paris).
    #[serde(default)]
    fin: String,
}

/// `POST /habilitation/admin/demandes/{id}/jetons`: `quoi=create` (`fin`) or
/// `quoi=ban` (`jeton`, `motif`, `date`, `heure`, `remplacer`).
pub async fn token_action(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, Fault> {
    let (session, admin) = admin(&app, &headers).await?;
    check_csrf(&session, &form.csrf)?;
    let record = app.store.demande(id).await.map_err(Fault::internal)?;
    let demande = record
        .map(Demande::read)
        .transpose()
        .map_err(Fault::internal)?
        .ok_or_else(Fault::not_found)?;
    if form.version != demande.version.to_string() {
        return Err(conflict());
    }
    let (main, retired, delegated) = tokens_of(&app, &demande).await?;
    let tokens = Tokens {
        main: main.as_ref(),
        retired: &retired,
        delegated: &delegated,
    };
    let now = Utc::now();
    let (change, issued, jti, kind) = match form.quoi.as_str() {
        "create" => {
            let end = last_moment(&form.fin)?;
            let (_, change, record) =
                operator::create_token(&demande, &tokens, &admin, &app.site, end, now).map_err(refused)?;
            (change, None, record.jti, "token_create")
        }
        "ban" => {
            let ban = Ban {
                jti: form
                    .jeton
                    .parse()
                    .map_err(|_| Fault::bad("Jeton inconnu", "Choisissez un jeton de la liste."))?,
                at: ban_moment(&form.date, &form.heure, now)?,
                reason: form.motif.clone(),
                replace: !form.remplacer.is_empty(),
            };
            let (_, change, replacement) =
                operator::ban(&demande, &tokens, &admin, &app.site, &ban, now).map_err(refused)?;
            (change, replacement, ban.jti, "token_ban")
        }
        _ => return Err(Fault::bad("Action inconnue", "Cette action n'existe pas.")),
    };
    let action = OperatorAction {
        id: Uuid::new_v4(),
        at: now,
        admin: admin.email.to_lowercase(),
        action: kind.into(),
        agent: None,
        demande_id: Some(id),
        jti: Some(jti),
        path: format!("{BASE}/admin/demandes/{id}/jetons"),
    };
    let written = app.store.commit_operator(&change, issued.as_ref(), &action).await;
    if !written.map_err(Fault::internal)? {
        return Err(conflict());
    }
    forget(&app, &change.token);
    tracing::info!(demande = %id, token = %jti, action = kind, "an operator changed a token");
    let what = if kind == "token_create" { "create" } else { "ban" };
    let back = format!("{BASE}/admin/organisations/{}?fait={what}", demande.siret);
    Ok(Redirect::to(&back).into_response())
}

fn refused(error: ActError) -> Fault {
    crate::portal::refused(
        error,
        "Action impossible",
        "Cette action est réservée aux administrateurs.",
    )
}

/// The end of day `text` (`AAAA-MM-JJ`) in Paris.
fn last_moment(text: &str) -> Result<DateTime<Utc>, Fault> {
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Fault::bad("Date invalide", "Indiquez la date de fin au format AAAA-MM-JJ."))?;
    let end = day.and_hms_opt(23, 59, 59).expect("a valid time");
    paris_moment(end)
}

/// The moment of a ban: now without a date; else the day (`AAAA-MM-JJ`) at the time
/// (`HH:MM` or `HH:MM:SS`; without one, midnight, or now for today), in Paris.
fn ban_moment(date: &str, time: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Fault> {
    if date.trim().is_empty() {
        return Ok(now);
    }
    let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
        Fault::bad(
            "Date invalide",
            "Indiquez la date du bannissement au format AAAA-MM-JJ.",
        )
    })?;
    let time = match time.trim() {
        // Today's midnight is past: a day alone, today, means now.
        "" if day == now.with_timezone(&Paris).date_naive() => return Ok(now),
        "" => NaiveTime::MIN,
        text => NaiveTime::parse_from_str(text, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
            .map_err(|_| Fault::bad("Heure invalide", "Indiquez l'heure au format HH:MM."))?,
    };
    paris_moment(day.and_time(time))
}

fn paris_moment(local: chrono::NaiveDateTime) -> Result<DateTime<Utc>, Fault> {
    let at = Paris.from_local_datetime(&local).earliest().ok_or_else(|| {
        Fault::bad(
            "Heure invalide",
            "Cette heure n'existe pas à Paris (changement d'heure).",
        )
    })?;
    Ok(at.with_timezone(&Utc))
}

// Impersonation.

#[derive(Deserialize)]
pub struct Impersonate {
    csrf: String,
    email: String,
    siret: String,
}

/// `POST /habilitation/admin/imitation`: the admin sees the site as someone named on
/// the organisation's demandes, read-only, until they stop (an hour at most).
pub async fn impersonate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<Impersonate>,
) -> Result<Response, Fault> {
    let (mut session, admin) = admin(&app, &headers).await?;
    check_csrf(&session, &form.csrf)?;
    let demandes = organisation_demandes(&app, form.siret.trim()).await?;
    let target = operator::agent_named(&demandes, &form.email, form.siret.trim()).ok_or_else(|| {
        Fault::bad(
            "Agent inconnu",
            "Cette personne n'est nommée sur aucune demande de l'organisation.",
        )
    })?;
    let now = Utc::now();
    let path = format!("{BASE}/admin/imitation");
    // Journaled before it begins: no impersonation goes unrecorded.
    record(&app, &admin, "impersonation_start", &target.email, &path, now).await?;
    session.impersonate(target);
    app.sessions.save(&session).await.map_err(Fault::internal)?;
    Ok(Redirect::to(&format!("{BASE}/habilitations")).into_response())
}

/// `POST /habilitation/admin/imitation/fin`: back to the admin's own session.
pub async fn stop(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, Fault> {
    let mut session = logged_in(&app, &headers).await?;
    // The one form an impersonating session may post (`check_csrf` refuses the others).
    check_form_token(&session, &form.csrf)?;
    let Some(agent) = session.stop_impersonating() else {
        return Ok(Redirect::to(&format!("{BASE}/admin")).into_response());
    };
    let admin = session.agent.clone().expect("the admin is back");
    app.sessions.save(&session).await.map_err(Fault::internal)?;
    record(&app, &admin, "impersonation_stop", &agent.email, STOP, Utc::now()).await?;
    let back = format!("{BASE}/admin/organisations/{}?fait=imitation", agent.siret);
    Ok(Redirect::to(&back).into_response())
}

pub(crate) async fn record(
    app: &App,
    admin: &Agent,
    action: &str,
    agent: &str,
    path: &str,
    now: DateTime<Utc>,
) -> Result<(), Fault> {
    let action = OperatorAction {
        id: Uuid::new_v4(),
        at: now,
        admin: admin.email.to_lowercase(),
        action: action.into(),
        agent: Some(agent.to_lowercase()),
        demande_id: demande_in(path),
        jti: None,
        path: path.chars().take(500).collect(),
    };
    app.store.record_operator_action(&action).await.map_err(Fault::internal)
}

/// The demande a path is about (`…/demandes/{id}…`), if any.
fn demande_in(path: &str) -> Option<Uuid> {
    let (_, rest) = path.split_once("/demandes/")?;
    rest.split(['/', '?']).next()?.parse().ok()
}

/// While an admin sees the site as an agent, every page they view is journaled
/// before it is shown. Forms are refused by `pages::check_csrf`, not here: posts go
/// straight through.
pub async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let Some(session) = app.sessions.current(request.headers()).await else {
        return next.run(request).await;
    };
    let (Some(admin), Some(agent)) = (session.impersonator(), session.agent.as_ref()) else {
        return next.run(request).await;
    };
    let uri = request.uri();
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str()).to_string();
    if let Err(fault) = record(&app, admin, "impersonation_view", &agent.email, &path, Utc::now()).await {
        return fault.into_response();
    }
    next.run(request).await
}

// The journal.

#[derive(Template)]
#[template(path = "admin_journal.html")]
pub struct JournalPage {
    base: &'static str,
    who: Option<Who>,
    rows: Vec<JournalRow>,
}

pub struct JournalRow {
    at: String,
    admin: String,
    action: &'static str,
    agent: String,
    demande: String,
    token: String,
    path: String,
}

pub async fn journal(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Fault> {
    let (session, _) = admin(&app, &headers).await?;
    let actions = app
        .store
        .operator_actions(JOURNAL_ROWS)
        .await
        .map_err(Fault::internal)?;
    let rows = actions
        .into_iter()
        .map(|a| JournalRow {
            at: paris_seconds(a.at),
            admin: a.admin,
            action: action_label(&a.action),
            agent: a.agent.unwrap_or_default(),
            demande: a.demande_id.map(|d| d.to_string()).unwrap_or_default(),
            token: a.jti.map(|t| t.to_string()).unwrap_or_default(),
            path: a.path,
        })
        .collect();
    page(JournalPage {
        base: BASE,
        who: who(&app, Some(&session)),
        rows,
    })
}

fn action_label(action: &str) -> &'static str {
    match action {
        "impersonation_start" => "Imitation commencée",
        "impersonation_view" => "Page vue en imitation",
        "impersonation_stop" => "Imitation arrêtée",
        "token_create" => "Jeton créé",
        "token_ban" => "Jeton banni",
        _ => "Autre action",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ban_day_alone_is_its_midnight_or_now_today() {
        let now = Utc::now();
        let today = now.with_timezone(&Paris).date_naive();
        assert_eq!(ban_moment("", "", now).unwrap(), now);
        assert_eq!(
            ban_moment(&today.to_string(), "", now).unwrap(),
            now,
            "today: now, not a past midnight"
        );
        let tomorrow = today + Duration::days(1);
        let midnight = Paris
            .from_local_datetime(&tomorrow.and_time(NaiveTime::MIN))
            .earliest()
            .unwrap();
        assert_eq!(ban_moment(&tomorrow.to_string(), "", now).unwrap(), midnight);
        assert!(ban_moment("demain", "", now).is_err());
        assert!(ban_moment(&tomorrow.to_string(), "25:00", now).is_err());
    }
}
