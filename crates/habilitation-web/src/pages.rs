//! The site's handlers. Each reads the session, checks the CSRF token on every POST,
//! loads what the agent may see (a demande outside their rights is "not found"), and
//! either renders a page or commits an event through the workflow.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use passerelle_habilitation::workflow::{self, ActError, Action, Demande};
use passerelle_habilitation::{Event, Form as DemandeForm};
use serde::Deserialize;
use uuid::Uuid;

use crate::login::Outcome;
use crate::session::{csrf_matches, Session};
use crate::views::{self, Who};
use crate::{App, BASE};

/// Why a request ends on an error page (one type at the site's boundary).
#[derive(Debug)]
pub struct Fault {
    status: StatusCode,
    title: String,
    detail: String,
    /// Where to go instead (a login, for one who is not logged in).
    redirect: Option<String>,
}

impl Fault {
    pub fn bad(title: &str, detail: &str) -> Fault {
        Fault::new(StatusCode::BAD_REQUEST, title, detail)
    }

    pub fn forbidden(detail: &str) -> Fault {
        Fault::new(StatusCode::FORBIDDEN, "Accès refusé", detail)
    }

    pub fn not_found() -> Fault {
        let detail = "Cette demande n'existe pas, ou vous n'avez pas le droit de la voir.";
        Fault::new(StatusCode::NOT_FOUND, "Demande introuvable", detail)
    }

    pub fn internal(error: anyhow::Error) -> Fault {
        tracing::error!(error = %error, "a habilitation page failed");
        let detail = "Une erreur nous empêche de répondre. Réessayez dans quelques instants.";
        Fault::new(StatusCode::INTERNAL_SERVER_ERROR, "Erreur du service", detail)
    }

    pub(crate) fn new(status: StatusCode, title: &str, detail: &str) -> Fault {
        Fault {
            status,
            title: title.into(),
            detail: detail.into(),
            redirect: None,
        }
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        if let Some(to) = self.redirect {
            return Redirect::to(&to).into_response();
        }
        let page = views::Problem {
            base: BASE,
            who: None,
            title: &self.title,
            detail: &self.detail,
            back: BASE,
        };
        html(self.status, page)
    }
}

pub fn html(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => Fault::internal(e.into()).into_response(),
    }
}

fn page(page: impl Template) -> Result<Response, Fault> {
    Ok(html(StatusCode::OK, page))
}

/// The logged-in session, or a redirect to the login.
pub async fn logged_in(app: &App, headers: &HeaderMap) -> Result<Session, Fault> {
    match app.sessions.current(headers).await {
        Some(session) if session.agent.is_some() => Ok(session),
        _ => Err(Fault {
            redirect: Some(format!("{BASE}/connexion")),
            ..Fault::new(StatusCode::SEE_OTHER, "", "")
        }),
    }
}

/// The logged-in admin's session and the admin, or 403 for anyone else (an
/// impersonating admin included: their session's agent is the one they see the site as).
pub(crate) async fn admin(app: &App, headers: &HeaderMap) -> Result<(Session, workflow::Agent), Fault> {
    let session = logged_in(app, headers).await?;
    let agent = session.agent.clone().expect("logged in");
    if !app.site.staff.is_admin(&agent) {
        return Err(Fault::forbidden("Cette page est réservée aux administrateurs."));
    }
    Ok((session, agent))
}

/// Checks a posted form: its CSRF token, and that the session may change something.
/// Every POST that acts goes through here (or `posted`), so an admin seeing the site
/// as an agent is read-only everywhere; stopping that and logging out use
/// `check_form_token` alone.
pub fn check_csrf(session: &Session, sent: &str) -> Result<(), Fault> {
    check_form_token(session, sent)?;
    match (session.impersonator(), session.agent.as_ref()) {
        (Some(_), Some(agent)) => Err(Fault::forbidden(&format!(
            "Vous voyez le site comme {} : en lecture seule, rien n'y est changé. Arrêtez l'imitation pour agir.",
            agent.email
        ))),
        _ => Ok(()),
    }
}

/// Whether `sent` is the session's form token, else 403.
pub(crate) fn check_form_token(session: &Session, sent: &str) -> Result<(), Fault> {
    if csrf_matches(session, sent) {
        return Ok(());
    }
    let detail = "Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page et recommencez.";
    Err(Fault::new(StatusCode::FORBIDDEN, "Formulaire refusé", detail))
}

/// The demande and its form, if the session's agent may see it.
pub async fn load(app: &App, id: Uuid, session: &Session) -> Result<(Demande, DemandeForm), Fault> {
    let agent = session.agent.as_ref().ok_or_else(Fault::not_found)?;
    let record = app.store.demande(id).await.map_err(Fault::internal)?;
    let demande = record
        .map(Demande::read)
        .transpose()
        .map_err(Fault::internal)?
        .filter(|d| d.visible_to(agent, &app.site.staff))
        .ok_or_else(Fault::not_found)?;
    // DataPass's own forms are not ours: its demandes read with the bouquet's default.
    let form = match app.forms.get(&demande.form_id) {
        Some(form) => form.clone(),
        None if demande.managed_by_datapass() => app.forms.of(&demande.bouquet)[0].clone(),
        None => return Err(Fault::not_found()),
    };
    Ok((demande, form))
}

/// Runs `action` and commits what it writes; a refusal becomes a page saying why.
pub async fn commit(
    app: &App,
    demande: &Demande,
    form: &DemandeForm,
    session: &Session,
    action: Action,
) -> Result<Demande, Fault> {
    let agent = session.agent.as_ref().expect("logged in");
    let (next, change) = match workflow::act(demande, form, agent, action, &app.site, Utc::now()) {
        Ok(done) => done,
        Err(ActError::Refused(refusal)) => return Err(Fault::forbidden(&refusal.to_string())),
        Err(ActError::Incomplete(problems)) => {
            let list: Vec<String> = problems.into_iter().map(|p| p.message).collect();
            return Err(Fault::bad("La demande est incomplète", &list.join(" ")));
        }
        Err(ActError::Invalid(why)) => return Err(Fault::bad("Action impossible", &why)),
    };
    if !app.store.commit_demande(&change).await.map_err(Fault::internal)? {
        return Err(conflict());
    }
    forget(app, &change.token);
    Ok(next)
}

/// This replica's cache drops every token a change wrote; other replicas see it
/// within their cache's life.
pub(crate) fn forget(app: &App, change: &Option<passerelle_store::TokenChange>) {
    for jti in change.iter().flat_map(|c| c.touched()) {
        app.tokens.forget(jti);
    }
}

/// Another writer changed the demande first: nothing was written.
pub(crate) fn conflict() -> Fault {
    let detail = "Quelqu'un a modifié la demande en même temps que vous. Rechargez-la et recommencez.";
    Fault::new(StatusCode::CONFLICT, "Demande modifiée entre-temps", detail)
}

pub(crate) fn who(app: &App, session: Option<&Session>) -> Option<Who> {
    let session = session?;
    let agent = session.agent.as_ref()?;
    Some(Who {
        name: agent.name(),
        csrf: session.csrf.clone(),
        instructor: !app.site.staff.bouquets_of(agent).is_empty(),
        admin: app.site.staff.is_admin(agent),
        editor: app.editors.of(agent).is_some(),
        impersonated: session.impersonator().map(|_| agent.email.clone()),
        provider: !app.site.staff.is_admin(agent) && app.site.staff.provider_staff(agent),
    })
}

// Login.

/// At most this many login starts and returns per client address and minute.
const LOGINS_PER_MINUTE: u32 = 20;

/// A fixed window per client address; in memory, per replica.
#[derive(Default)]
pub struct Limiter {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    fn allow(&self, ip: IpAddr) -> bool {
        let mut windows = self.windows.lock().expect("login limiter");
        if windows.len() > 10_000 {
            windows.retain(|_, (at, _)| at.elapsed() < Duration::from_secs(60));
        }
        let window = windows.entry(ip).or_insert((Instant::now(), 0));
        if window.0.elapsed() >= Duration::from_secs(60) {
            *window = (Instant::now(), 0);
        }
        window.1 += 1;
        window.1 <= LOGINS_PER_MINUTE
    }
}

fn limited(app: &App, extensions: &Extensions, headers: &HeaderMap) -> Result<(), Fault> {
    let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<SocketAddr>>() else {
        return Ok(());
    };
    // Behind a reverse proxy, the client it names, not the proxy for everyone.
    let ip = passerelle_gateway::caller::forwarded_ip(&app.trusted_proxies, headers, *peer);
    if app.limiter.allow(ip) {
        return Ok(());
    }
    let detail = "Trop de tentatives de connexion depuis votre adresse. Réessayez dans une minute.";
    Err(Fault::new(StatusCode::TOO_MANY_REQUESTS, "Trop de tentatives", detail))
}

pub async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Fault> {
    let session = app.sessions.current(&headers).await;
    page(views::Home {
        base: BASE,
        who: who(&app, session.as_ref()),
        bouquets: cards(&app).await?,
    })
}

/// How long the home page's figures are kept: the page needs no login, and the
/// median reads every decided demande.
const CARDS_KEPT: Duration = Duration::from_secs(300);

async fn cards(app: &App) -> Result<Vec<views::BouquetCard>, Fault> {
    if let Some((at, cards)) = app.cards.lock().expect("home cards").as_ref() {
        if at.elapsed() < CARDS_KEPT {
            return Ok(cards.clone());
        }
    }
    let mut cards = Vec::new();
    for bouquet in ["particulier", "entreprise"] {
        let demandes = app.store.demandes_in(bouquet).await.map_err(Fault::internal)?;
        cards.push(views::BouquetCard {
            label: workflow::bouquet_label(bouquet),
            forms: app.forms.of(bouquet).len(),
            median: views::median_delay(&demandes, Utc::now()),
        });
    }
    *app.cards.lock().expect("home cards") = Some((Instant::now(), cards.clone()));
    Ok(cards)
}

pub async fn log_in(
    State(app): State<Arc<App>>,
    extensions: Extensions,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    limited(&app, &extensions, &headers)?;
    start_login(&app, false, format!("{BASE}/demandes")).await
}

async fn start_login(app: &App, step_up: bool, then: String) -> Result<Response, Fault> {
    let (url, pending) = app.login.start(step_up, then).await.map_err(|e| {
        tracing::warn!(error = %e, "ProConnect cannot be reached");
        Fault::new(
            StatusCode::BAD_GATEWAY,
            "ProConnect indisponible",
            "ProConnect ne répond pas. Réessayez dans quelques instants.",
        )
    })?;
    let (_, cookie) = app.sessions.open(None, Some(pending)).await.map_err(Fault::internal)?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response())
}

#[derive(Deserialize)]
pub struct Back {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn come_back(
    State(app): State<Arc<App>>,
    extensions: Extensions,
    headers: HeaderMap,
    Query(back): Query<Back>,
) -> Result<Response, Fault> {
    limited(&app, &extensions, &headers)?;
    let refused = |detail: &str| Fault::new(StatusCode::UNAUTHORIZED, "Connexion refusée", detail);
    let session = app.sessions.current(&headers).await;
    let Some(pending) = session.as_ref().and_then(|s| s.pending.clone()) else {
        return Err(refused("La connexion a expiré. Recommencez depuis la page d'accueil."));
    };
    if let Some(error) = back.error {
        tracing::info!(error = %error.escape_debug(), "ProConnect refused the login");
        return Err(refused("ProConnect n'a pas confirmé votre identité."));
    }
    let (Some(code), Some(state)) = (back.code, back.state) else {
        return Err(refused("Le retour de ProConnect est incomplet."));
    };
    if !crate::session::same(pending.state.as_bytes(), state.as_bytes()) {
        return Err(refused("Le retour de ProConnect ne correspond pas à cette connexion."));
    }
    let old = session.expect("a pending login has a session");
    let outcome = app.login.finish(code, &pending).await.map_err(|e| {
        tracing::warn!(error = %e, "a ProConnect login failed its checks");
        refused(&e.to_string())
    })?;
    let _ = app.sessions.close(&old).await;
    match outcome {
        Outcome::StepUp => start_login(&app, true, pending.then).await,
        Outcome::Agent(agent) => {
            // A new id at login: a session id planted before cannot be logged into.
            let (_, cookie) = app.sessions.open(Some(agent), None).await.map_err(Fault::internal)?;
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&pending.then)).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    pub csrf: String,
}

pub async fn log_out(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    check_form_token(&session, &form.csrf)?;
    // Logging out ends an impersonation too: journaled as its end.
    if let (Some(admin), Some(agent)) = (session.impersonator(), session.agent.as_ref()) {
        let path = format!("{BASE}/deconnexion");
        crate::admin::record(&app, admin, "impersonation_stop", &agent.email, &path, Utc::now()).await?;
    }
    let cookie = app.sessions.close(&session).await.map_err(Fault::internal)?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(BASE)).into_response())
}

// Demandes.

/// The demandes of the agent's organisation, and those naming them, that they may see.
pub(crate) async fn visible_demandes(app: &App, agent: &workflow::Agent) -> Result<Vec<Demande>, Fault> {
    let records = app
        .store
        .demandes_of(&agent.siret, &agent.email)
        .await
        .map_err(Fault::internal)?;
    let demandes = records.into_iter().filter_map(|r| Demande::read(r).ok());
    Ok(demandes.filter(|d| d.visible_to(agent, &app.site.staff)).collect())
}

pub async fn list(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let agent = session.agent.as_ref().expect("logged in");
    let demandes = visible_demandes(&app, agent).await?;
    let rows = demandes.iter().map(views::Row::of).collect();
    page(views::List {
        base: BASE,
        who: who(&app, Some(&session)),
        siret: &agent.siret,
        rows,
    })
}

#[derive(Deserialize)]
pub struct Choose {
    bouquet: Option<String>,
}

pub async fn choose(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<Choose>,
) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let bouquet = q.bouquet.unwrap_or_else(|| "particulier".into());
    let forms: Vec<views::FormCard> = app.forms.of(&bouquet).into_iter().map(views::FormCard::of).collect();
    if forms.is_empty() {
        return Err(Fault::bad(
            "Bouquet inconnu",
            "Choisissez API Particulier ou API Entreprise.",
        ));
    }
    page(views::Choose {
        base: BASE,
        who: who(&app, Some(&session)),
        label: workflow::bouquet_label(&bouquet),
        csrf: &session.csrf,
        forms,
    })
}

#[derive(Deserialize)]
pub struct Create {
    csrf: String,
    form: String,
}

pub async fn create(State(app): State<Arc<App>>, headers: HeaderMap, Form(f): Form<Create>) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    check_csrf(&session, &f.csrf)?;
    let agent = session.agent.as_ref().expect("logged in");
    let form = app
        .forms
        .get(&f.form)
        .ok_or_else(|| Fault::bad("Formulaire inconnu", "Choisissez un formulaire de la liste."))?;
    let organisation = app.organisations.find(&agent.siret).await;
    let demande = create_numbered(&app, form, agent, organisation).await?;
    Ok(Redirect::to(&format!("{BASE}/demandes/{}/modifier", demande.id)).into_response())
}

/// A new demande: numbered after the highest so far, which two creations at once can
/// both take on PostgreSQL; the loser tries again.
async fn create_numbered(
    app: &App,
    form: &DemandeForm,
    agent: &passerelle_habilitation::workflow::Agent,
    organisation: Option<passerelle_habilitation::workflow::Organisation>,
) -> Result<Demande, Fault> {
    let mut last = None;
    for _ in 0..3 {
        let (demande, change) =
            workflow::create(form, agent, organisation.clone(), Utc::now()).map_err(Fault::internal)?;
        match app.store.commit_demande(&change).await {
            Ok(true) => return Ok(demande),
            Ok(false) => last = Some(anyhow::anyhow!("a new demande's id was taken")),
            Err(e) => last = Some(e),
        }
    }
    Err(Fault::internal(last.expect("three attempts")))
}

#[derive(Deserialize)]
pub struct Shown {
    pub fait: Option<String>,
}

pub async fn show(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let (demande, form) = load(&app, id, &session).await?;
    let agent = session.agent.as_ref().expect("logged in");
    let events = app.store.demande_events(id).await.map_err(Fault::internal)?;
    let view = views::Show::of(
        &app,
        &demande,
        &form,
        agent,
        &session.csrf,
        &events,
        shown.fait.as_deref(),
    );
    page(views::ShowPage {
        who: who(&app, Some(&session)),
        ..view
    })
}

pub async fn edit(State(app): State<Arc<App>>, Path(id): Path<Uuid>, headers: HeaderMap) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let (demande, form) = load(&app, id, &session).await?;
    let agent = session.agent.as_ref().expect("logged in");
    if !demande.editable_by(agent, &app.site.staff) {
        return Err(Fault::forbidden(
            "Seul le demandeur modifie une demande, en brouillon ou quand des modifications sont demandées.",
        ));
    }
    page(views::Edit::of(
        &demande,
        &form,
        &session.csrf,
        who(&app, Some(&session)),
    ))
}

/// A form's fields, in order, repeated keys kept (checkboxes).
pub(crate) struct Sent(Vec<(String, String)>);

impl Sent {
    fn read(body: &Bytes) -> Result<Sent, Fault> {
        let unreadable = |_| Fault::bad("Envoi illisible", "Le formulaire envoyé n'a pas pu être lu.");
        serde_urlencoded::from_bytes(body).map(Sent).map_err(unreadable)
    }

    /// The first value of `key`, trimmed; empty when absent.
    pub(crate) fn one(&self, key: &str) -> String {
        let found = self.0.iter().find(|(k, _)| k == key);
        found.map(|(_, v)| v.trim().to_string()).unwrap_or_default()
    }

    fn many(&self, key: &str) -> BTreeSet<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// A form posted about a demande: the session, the form checked against its CSRF
/// token, the demande and its form.
pub(crate) async fn posted(
    app: &App,
    id: Uuid,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Session, Sent, Demande, DemandeForm), Fault> {
    let session = logged_in(app, headers).await?;
    let sent = Sent::read(body)?;
    check_csrf(&session, &sent.one("csrf"))?;
    let (demande, form) = load(app, id, &session).await?;
    Ok((session, sent, demande, form))
}

/// Refuses a form sent from a page older than the demande (another tab, another
/// person): acting on what one did not see.
pub(crate) fn stale(sent: &Sent, demande: &Demande) -> Result<(), Fault> {
    if sent.one("version") == demande.version.to_string() {
        return Ok(());
    }
    let detail = "La demande a changé depuis que vous l'avez ouverte. Relisez-la avant d'agir.";
    Err(Fault::new(StatusCode::CONFLICT, "Demande modifiée entre-temps", detail))
}

pub async fn save(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fault> {
    let (session, sent, demande, form) = posted(&app, id, &headers, &body).await?;
    stale(&sent, &demande)?;
    let fields: BTreeMap<String, String> = sent
        .0
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "scopes" | "modalities"))
        .map(|(k, v)| (k.clone(), v.chars().take(10_000).collect()))
        .collect();
    let action = Action::Update {
        fields,
        scopes: sent.many("scopes"),
        modalities: sent.many("modalities"),
    };
    commit(&app, &demande, &form, &session, action).await?;
    Ok(Redirect::to(&format!("{BASE}/demandes/{id}?fait=enregistree")).into_response())
}

pub async fn act(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fault> {
    let (session, sent, demande, form) = posted(&app, id, &headers, &body).await?;
    stale(&sent, &demande)?;
    let event =
        Event::parse(&sent.one("event")).ok_or_else(|| Fault::bad("Action inconnue", "Cette action n'existe pas."))?;
    let reason = views::reason(&demande, event, &sent.one("template"), &sent.one("reason"));
    let action = action_of(event, reason, &sent)?;
    commit(&app, &demande, &form, &session, action).await?;
    Ok(Redirect::to(&format!("{BASE}/demandes/{id}?fait={}", event.as_str())).into_response())
}

fn action_of(event: Event, reason: String, sent: &Sent) -> Result<Action, Fault> {
    Ok(match event {
        Event::Submit => Action::Submit {
            terms_accepted: !sent.one("terms").is_empty(),
            dpo_informed: !sent.one("dpo").is_empty(),
        },
        Event::RequestChanges => Action::RequestChanges(reason),
        Event::Approve => {
            let limit = sent.one("rate_limit");
            let rate_limit_per_minute = match limit.as_str() {
                "" => None,
                text => Some(text.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Fault::bad("Limite invalide", "La limite d'appels est un nombre entier positif.")
                })?),
            };
            let allowed_ips = sent
                .one("allowed_ips")
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>();
            if let Some(bad) = allowed_ips.iter().find(|ip| !views::ip_range(ip)) {
                return Err(Fault::bad(
                    "Adresse invalide",
                    &format!("« {bad} » n'est ni une adresse IP ni un bloc CIDR."),
                ));
            }
            Action::Approve {
                message: Some(reason).filter(|r| !r.is_empty()),
                rate_limit_per_minute,
                allowed_ips,
            }
        }
        Event::Refuse => Action::Refuse(reason),
        Event::Revoke => Action::Revoke(reason),
        Event::Archive => Action::Archive,
        Event::Reopen => Action::Reopen,
        Event::CancelReopening => Action::CancelReopening,
        Event::Transfer => Action::Transfer(sent.one("email")),
        Event::Message => Action::Message(reason),
        Event::Create | Event::Update => return Err(Fault::bad("Action inconnue", "Cette action n'existe pas ici.")),
    })
}

pub async fn token(State(app): State<Arc<App>>, Path(id): Path<Uuid>, headers: HeaderMap) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let (demande, _) = load(&app, id, &session).await?;
    let agent = session.agent.as_ref().expect("logged in");
    if !demande.may_see_token(agent, &app.site.staff) {
        return Err(Fault::forbidden(
            "Seuls le demandeur et le contact technique voient le jeton ; demandez-le au demandeur.",
        ));
    }
    let jti = demande.body.token.ok_or_else(Fault::not_found)?;
    let record = app
        .store
        .token(jti)
        .await
        .map_err(Fault::internal)?
        .ok_or_else(Fault::not_found)?;
    // An admin seeing the site as the agent never sees the token itself.
    if session.impersonator().is_some() {
        let masked = crate::admin::MASKED.to_string();
        return page(views::TokenPage::of(
            &demande,
            &record,
            masked,
            who(&app, Some(&session)),
        ));
    }
    let jwt = app.tokens.jwt(&record).map_err(Fault::internal)?;
    tracing::info!(demande = %demande.id, token = %jti, "a token was shown");
    page(views::TokenPage::of(&demande, &record, jwt, who(&app, Some(&session))))
}

// Instructors and admins.

#[derive(Deserialize)]
pub struct Filter {
    etat: Option<String>,
    q: Option<String>,
}

pub async fn instruct(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let agent = session.agent.as_ref().expect("logged in");
    let bouquets = app.site.staff.bouquets_of(agent);
    if bouquets.is_empty() {
        return Err(Fault::forbidden("Cette page est réservée aux instructeurs."));
    }
    let state = filter.etat.unwrap_or_else(|| "a_instruire".into());
    let q = filter.q.unwrap_or_default();
    let mut rows = Vec::new();
    for bouquet in &bouquets {
        for record in app.store.demandes_in(bouquet).await.map_err(Fault::internal)? {
            let Ok(demande) = Demande::read(record) else { continue };
            if !views::matches(&demande, &state, &q) {
                continue;
            }
            rows.push(views::QueueRow::of(&demande));
        }
    }
    rows.sort_by_key(|r| r.submitted_at);
    page(views::Instruct {
        base: BASE,
        who: who(&app, Some(&session)),
        states: views::state_filter(&state),
        q: &q,
        rows,
    })
}

pub async fn outbox(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Fault> {
    let (session, _) = admin(&app, &headers).await?;
    let mut items = app.store.outbox("mail", 200).await.map_err(Fault::internal)?;
    items.extend(app.store.outbox("webhook", 200).await.map_err(Fault::internal)?);
    items.sort_by_key(|i| std::cmp::Reverse(i.created_at));
    page(views::Outbox::of(&items, who(&app, Some(&session))))
}

pub async fn replay(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, Fault> {
    let (session, _) = admin(&app, &headers).await?;
    check_csrf(&session, &form.csrf)?;
    let replayed = passerelle_outbox::replay(app.store.as_ref(), id, Utc::now())
        .await
        .map_err(Fault::internal)?;
    if !replayed {
        return Err(Fault::bad(
            "Rien à rejouer",
            "Seul un envoi abandonné peut être rejoué.",
        ));
    }
    tracing::info!(item = %id, "an outbox item was replayed by an admin");
    Ok(Redirect::to(&format!("{BASE}/admin/courriels")).into_response())
}
