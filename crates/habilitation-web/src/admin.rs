//! The operators' back-office (`/habilitation/admin`), for the service's admins: the
//! organisations (found by SIRET, name, e-mail or demande number), each with its
//! members, its demandes and their tokens (never the token strings); token creation
//! and bans (`passerelle_habilitation::operator`); read-only impersonation of an
//! agent; and the journal of what admins did.
//!
//! While an admin sees the site as an agent, `guard` journals every page they view
//! and refuses every form that would change something.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
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

use crate::pages::{check_csrf, conflict, forget, html, logged_in, who, CsrfOnly, Fault, Shown};
use crate::session::Session;
use crate::views::{paris, Who};
use crate::{App, BASE};

/// What an impersonating admin reads instead of a token.
pub const MASKED: &str = "•••••••• (jeton masqué : vous voyez le site comme cet agent)";

/// Where the banner's "stop" button posts.
const STOP: &str = "/habilitation/admin/imitation/fin";
const LOG_OUT: &str = "/habilitation/deconnexion";
/// The journal shows this many actions.
const JOURNAL_ROWS: u32 = 500;

/// The logged-in admin, or 403 for anyone else (an impersonating admin included:
/// their session's agent is the one they see the site as).
async fn admin(app: &App, headers: &HeaderMap) -> Result<(Session, Agent), Fault> {
    let session = logged_in(app, headers).await?;
    let agent = session.agent.clone().expect("logged in");
    if !app.site.staff.is_admin(&agent) {
        return Err(Fault::forbidden("Cette page est réservée aux administrateurs."));
    }
    Ok((session, agent))
}

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
    let (main, retired) = tokens_of(app, demande).await?;
    let tokens = Tokens {
        main: main.as_ref(),
        retired: &retired,
    };
    let mut lines = Vec::new();
    for (record, is_main) in main
        .iter()
        .map(|m| (m, true))
        .chain(retired.iter().rev().map(|r| (r, false)))
    {
        lines.push(token_line(app, demande, record, is_main, now).await?);
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

/// The demande's main token (when the store holds it) and the ones set aside.
async fn tokens_of(app: &App, demande: &Demande) -> Result<(Option<TokenRecord>, Vec<TokenRecord>), Fault> {
    let main = match demande.body.token {
        Some(jti) => app.store.token(jti).await.map_err(Fault::internal)?,
        None => None,
    };
    let mut retired = Vec::new();
    for jti in &demande.body.retired_tokens {
        if let Some(record) = app.store.token(*jti).await.map_err(Fault::internal)? {
            retired.push(record);
        }
    }
    Ok((main, retired))
}

async fn token_line(
    app: &App,
    demande: &Demande,
    record: &TokenRecord,
    is_main: bool,
    now: DateTime<Utc>,
) -> Result<TokenLine, Fault> {
    let answering = matches!(standing(record, is_main, now), Standing::Active | Standing::Overlapping);
    Ok(TokenLine {
        jti: record.jti,
        label: demande.token_label(record.jti),
        state: token_state(record, is_main, now),
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
    let (main, retired) = tokens_of(&app, &demande).await?;
    let tokens = Tokens {
        main: main.as_ref(),
        retired: &retired,
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
    match error {
        ActError::Refused(_) => Fault::forbidden("Cette action est réservée aux administrateurs."),
        ActError::Invalid(why) => Fault::bad("Action impossible", &why),
        ActError::Incomplete(_) => Fault::bad("Action impossible", "La demande est incomplète."),
    }
}

/// The end of day `text` (`AAAA-MM-JJ`) in Paris.
fn last_moment(text: &str) -> Result<DateTime<Utc>, Fault> {
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Fault::bad("Date invalide", "Indiquez la date de fin au format AAAA-MM-JJ."))?;
    let end = day.and_hms_opt(23, 59, 59).expect("a valid time");
    paris_moment(end)
}

/// The moment of a ban: now without a date; else the day (`AAAA-MM-JJ`) at the time
/// (`HH:MM` or `HH:MM:SS`, midnight without one), in Paris.
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
    session.impersonate(target, now);
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
    check_csrf(&session, &form.csrf)?;
    let Some(agent) = session.stop_impersonating() else {
        return Ok(Redirect::to(&format!("{BASE}/admin")).into_response());
    };
    let admin = session.agent.clone().expect("the admin is back");
    app.sessions.save(&session).await.map_err(Fault::internal)?;
    record(&app, &admin, "impersonation_stop", &agent.email, STOP, Utc::now()).await?;
    let back = format!("{BASE}/admin/organisations/{}?fait=imitation", agent.siret);
    Ok(Redirect::to(&back).into_response())
}

async fn record(
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

/// While an admin sees the site as an agent: every page viewed is journaled, every
/// form that changes something is refused (403); stopping and logging out are not.
pub async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Some(session) = app.sessions.current(request.headers()).await else {
        return next.run(request).await;
    };
    let (Some(admin), Some(agent)) = (session.impersonator(), session.agent.as_ref()) else {
        return next.run(request).await;
    };
    let path = path_of(request.uri());
    let reading = matches!(*request.method(), Method::GET | Method::HEAD);
    let allowed = reading || request.uri().path() == STOP || request.uri().path() == LOG_OUT;
    if !allowed {
        let detail = format!(
            "Vous voyez le site comme {} : en lecture seule, rien n'y est changé. Arrêtez l'imitation pour agir.",
            agent.email
        );
        return Fault::forbidden(&detail).into_response();
    }
    let kind = match request.uri().path() {
        LOG_OUT => "impersonation_stop",
        STOP => return next.run(request).await,
        _ => "impersonation_view",
    };
    if let Err(fault) = record(&app, admin, kind, &agent.email, &path, Utc::now()).await {
        return fault.into_response();
    }
    next.run(request).await
}

fn path_of(uri: &Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path())
        .to_string()
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

fn paris_seconds(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%d/%m/%Y %H:%M:%S").to_string()
}
