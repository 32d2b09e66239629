//! Editors and delegations. A habilitation's applicant and contacts delegate it to a
//! software editor declared in the configuration (`…/demandes/{id}/delegations`), and
//! revoke that delegation. The editor's users (agents of one of its organisations)
//! find their clients' delegated habilitations in their space (`/habilitation/editeur`),
//! export them as CSV, take a **delegated token** of their own for each, and read that
//! token's usage — never the client's token, nor its calls. Everything else about the
//! habilitation stays invisible to them (404).

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use passerelle_habilitation::delegations::{self, Editor};
use passerelle_habilitation::tokens::{self, Standing};
use passerelle_habilitation::workflow::{self, Demande};
use passerelle_store::{DelegatedToken, Delegation, DelegationWrite, DemandeChange, TokenRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::pages::{check_csrf, conflict, forget, html, logged_in, posted, stale, who, Fault, Shown};
use crate::portal::{held_tokens, label_of, no_token, opened, refused, usage_csv_of, usage_view, UsageOf};
use crate::session::Session;
use crate::views::{day, paris, Who};
use crate::{App, BASE};

// The client's side: a habilitation's delegations.

#[derive(Template)]
#[template(path = "delegations.html")]
pub struct DelegationsPage {
    base: &'static str,
    who: Option<Who>,
    id: Uuid,
    number: i64,
    title: String,
    version: i64,
    /// The applicant or a business or technical contact: the forms are theirs.
    delegates: bool,
    /// Declared editors the habilitation is not delegated to now.
    offered: Vec<(String, String)>,
    rows: Vec<DelegationRow>,
    done: Option<&'static str>,
}

pub struct DelegationRow {
    id: Uuid,
    editor: String,
    granted_by: String,
    granted_at: String,
    /// "En vigueur", or when and by whom it was revoked.
    state: String,
    live: bool,
    /// Its delegated tokens that answer.
    answering: usize,
}

/// `GET …/demandes/{id}/delegations`: who the habilitation is delegated to, since when,
/// and the delegations revoked.
pub async fn delegations_page(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Query(done): Query<Shown>,
) -> Result<Response, Fault> {
    let (session, demande, _, _) = opened(&app, id, &headers).await?;
    let agent = session.agent.as_ref().expect("logged in");
    let now = Utc::now();
    let delegations = app.store.delegations_of(id).await.map_err(Fault::internal)?;
    let mut rows = Vec::new();
    for d in &delegations {
        rows.push(delegation_row(&app, d, now).await?);
    }
    let offered = app
        .editors
        .all()
        .iter()
        .filter(|e| !delegations.iter().any(|d| d.editor == e.id && d.revoked_at.is_none()))
        .map(|e| (e.id.clone(), e.name.clone()))
        .collect();
    let page = DelegationsPage {
        base: BASE,
        who: who(&app, Some(&session)),
        id,
        number: demande.number,
        title: demande.title().to_string(),
        version: demande.version,
        delegates: delegations::may_delegate(&demande, agent, &app.site.staff),
        offered,
        rows,
        done: done.fait.as_deref().and_then(done_message),
    };
    Ok(html(StatusCode::OK, page))
}

async fn delegation_row(app: &App, d: &Delegation, now: DateTime<Utc>) -> Result<DelegationRow, Fault> {
    let state = match (&d.revoked_at, &d.revoked_by) {
        (Some(at), by) => format!("révoquée le {} par {}", paris(*at), by.as_deref().unwrap_or("—")),
        (None, _) => "en vigueur".into(),
    };
    let mut answering = 0;
    for taken in app.store.delegated_tokens(d.id).await.map_err(Fault::internal)? {
        let record = app.store.token(taken.jti).await.map_err(Fault::internal)?;
        answering += usize::from(record.is_some_and(|r| tokens::standing(&r, true, now) == Standing::Active));
    }
    Ok(DelegationRow {
        id: d.id,
        editor: app
            .editors
            .get(&d.editor)
            .map_or_else(|| d.editor.clone(), |e| e.name.clone()),
        granted_by: d.granted_by.clone(),
        granted_at: paris(d.granted_at),
        state,
        live: d.revoked_at.is_none(),
        answering,
    })
}

fn done_message(what: &str) -> Option<&'static str> {
    Some(match what {
        "grant" => "La délégation est accordée : les utilisateurs de l'éditeur voient l'habilitation dans leur espace et peuvent prendre un jeton délégué.",
        "revoke" => "La délégation est révoquée : ses jetons délégués ne répondent plus.",
        _ => return None,
    })
}

/// `POST …/demandes/{id}/delegations`: `quoi=grant` (`editeur`) or `revoke` (`delegation`).
pub async fn delegate(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fault> {
    let (session, sent, demande, _) = posted(&app, id, &headers, &body).await?;
    stale(&sent, &demande)?;
    let (main, _) = held_tokens(&app, &demande).await?.ok_or_else(no_token)?;
    let agent = session.agent.as_ref().expect("logged in");
    let delegations = app.store.delegations_of(id).await.map_err(Fault::internal)?;
    let now = Utc::now();
    let what = sent.one("quoi");
    let done = match what.as_str() {
        "grant" => {
            let editor = app
                .editors
                .get(&sent.one("editeur"))
                .ok_or_else(|| Fault::bad("Éditeur inconnu", "Choisissez un éditeur dans la liste."))?;
            delegations::grant(&demande, &main, editor, &delegations, agent, &app.site, now)
        }
        "revoke" => {
            let chosen: Option<Uuid> = sent.one("delegation").parse().ok();
            let delegation = delegations.iter().find(|d| Some(d.id) == chosen).ok_or_else(|| {
                Fault::bad(
                    "Délégation inconnue",
                    "Cette délégation n'est pas celle de cette habilitation.",
                )
            })?;
            let editor = known_editor(&app, &delegation.editor)?;
            let taken = app
                .store
                .delegated_tokens(delegation.id)
                .await
                .map_err(Fault::internal)?;
            delegations::revoke(&demande, delegation, &editor, &taken, agent, &app.site, now)
        }
        _ => return Err(Fault::bad("Action inconnue", "Cette action n'existe pas.")),
    };
    let (change, write) = done.map_err(|e| {
        refused(
            e,
            "Délégation impossible",
            "Seuls le demandeur et les contacts métier et technique délèguent l'habilitation.",
        )
    })?;
    commit(&app, &change, &write).await?;
    tracing::info!(demande = %id, action = %what, "a delegation changed");
    Ok(Redirect::to(&format!("{BASE}/demandes/{id}/delegations?fait={what}")).into_response())
}

/// An editor's declaration, or the one a delegation keeps when the configuration no
/// longer declares it (it can still be revoked).
fn known_editor(app: &App, id: &str) -> Result<Editor, Fault> {
    Ok(app.editors.get(id).cloned().unwrap_or_else(|| Editor {
        id: id.into(),
        name: id.into(),
        sirets: Vec::new(),
    }))
}

// The editor's space.

#[derive(Template)]
#[template(path = "editeur.html")]
pub struct SpacePage {
    base: &'static str,
    who: Option<Who>,
    editor: String,
    q: String,
    rows: Vec<SpaceRow>,
}

pub struct SpaceRow {
    id: Uuid,
    number: i64,
    title: String,
    organisation: String,
    siret: String,
    applicant: String,
    token_state: &'static str,
    token_end: DateTime<Utc>,
    end: String,
    expected: String,
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

/// `GET /habilitation/editeur`: the habilitations delegated to the agent's editor.
pub async fn space(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(search): Query<Search>,
) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let editor = editor_of(&app, &session)?;
    let q = search.q.unwrap_or_default();
    let rows = space_rows(&app, editor, &q).await?;
    let page = SpacePage {
        base: BASE,
        who: who(&app, Some(&session)),
        editor: editor.name.clone(),
        q,
        rows,
    };
    Ok(html(StatusCode::OK, page))
}

/// `GET /habilitation/editeur/export.csv`: the same list (and search) as CSV.
pub async fn export(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(search): Query<Search>,
) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let editor = editor_of(&app, &session)?;
    let rows = space_rows(&app, editor, search.q.as_deref().unwrap_or_default()).await?;
    let mut csv = String::from("numero,intitule,fin_du_jeton,siret,email_demandeur\n");
    for r in &rows {
        let line = [
            r.number.to_string(),
            r.title.clone(),
            r.token_end.to_rfc3339(),
            r.siret.clone(),
            r.applicant.clone(),
        ];
        csv.push_str(&line.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    let name = format!("attachment; filename=\"habilitations-{}.csv\"", editor.id);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv,
    )
        .into_response())
}

/// A CSV field: quoted, quotes doubled; a leading formula character is defused (a
/// title typed by a client must not run in a spreadsheet).
fn csv_field(text: &str) -> String {
    let text = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The editor's delegated habilitations matching `q` (number, title, organisation,
/// SIRET), soonest end first.
async fn space_rows(app: &App, editor: &Editor, q: &str) -> Result<Vec<SpaceRow>, Fault> {
    let now = Utc::now();
    let wanted = fold(q);
    let mut rows = Vec::new();
    for delegation in app.store.delegations_to(&editor.id).await.map_err(Fault::internal)? {
        let Some(demande) = demande_of(app, delegation.demande_id).await? else {
            continue;
        };
        let Some((main, _)) = held_tokens(app, &demande).await? else {
            continue;
        };
        let organisation = demande.body.organisation.clone().unwrap_or_default();
        let haystack = fold(&format!(
            "{} {} {} {}",
            demande.number,
            demande.title(),
            organisation,
            demande.siret
        ));
        if !wanted.is_empty() && !haystack.contains(&wanted) {
            continue;
        }
        let taken = app
            .store
            .delegated_tokens(delegation.id)
            .await
            .map_err(Fault::internal)?;
        let own = live_token(app, &demande, &taken).await?;
        rows.push(SpaceRow {
            id: demande.id,
            number: demande.number,
            title: demande.title().to_string(),
            organisation,
            siret: demande.siret.clone(),
            applicant: demande.body.applicant.email.clone(),
            token_state: label_of(tokens::standing(&main, true, now)),
            token_end: main.expires_at,
            end: day(main.expires_at),
            expected: expected(&demande, &main, own.as_ref(), now),
        });
    }
    rows.sort_by_key(|r| r.token_end);
    Ok(rows)
}

/// Lower case, accents and punctuation folded: what a search compares.
fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the editor should do next for one habilitation, in one sentence.
fn expected(demande: &Demande, main: &TokenRecord, own: Option<&TokenRecord>, now: DateTime<Utc>) -> String {
    if !delegations::in_force(demande, main, now) {
        return "Le jeton de l'habilitation ne répond plus : votre client doit la renouveler.".into();
    }
    let Some(own) = own else {
        return "Prenez un jeton délégué pour appeler au nom de ce client.".into();
    };
    if own.expires_at < main.expires_at {
        return "L'habilitation a été prolongée : prenez un nouveau jeton délégué, il ira jusqu'à la nouvelle fin."
            .into();
    }
    let days_left = (main.expires_at - now).num_days();
    if days_left < tokens::PROLONG_WITHIN_DAYS {
        return format!("Le jeton expire dans {days_left} jours : rappelez à votre client de le prolonger.");
    }
    "Aucune action attendue.".into()
}

// One delegated habilitation, for the editor.

#[derive(Template)]
#[template(path = "editeur_habilitation.html")]
pub struct HabilitationPage {
    base: &'static str,
    who: Option<Who>,
    id: Uuid,
    number: i64,
    title: String,
    organisation: String,
    siret: String,
    bouquet: &'static str,
    version: i64,
    editor: String,
    granted_by: String,
    granted_at: String,
    main_state: &'static str,
    main_end: String,
    in_force: bool,
    tokens: Vec<DelegatedRow>,
    /// A delegated token answers: it can be shown again.
    answering: bool,
}

pub struct DelegatedRow {
    label: String,
    state: &'static str,
    issued: String,
    expires: String,
    taken_by: String,
}

/// `GET /habilitation/editeur/{id}`: the delegated habilitation and the editor's tokens.
pub async fn habilitation(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    let found = delegated(&app, id, &headers).await?;
    let now = Utc::now();
    let mut rows = Vec::new();
    let mut answering = false;
    for taken in &found.taken {
        let Some(record) = app.store.token(taken.jti).await.map_err(Fault::internal)? else {
            continue;
        };
        let state = tokens::standing(&record, true, now);
        answering |= state == Standing::Active;
        rows.push(DelegatedRow {
            label: taken.label.clone(),
            state: label_of(state),
            issued: paris(record.issued_at),
            expires: paris(record.expires_at),
            taken_by: taken.taken_by.clone(),
        });
    }
    let d = &found.demande;
    let page = HabilitationPage {
        base: BASE,
        who: who(&app, Some(&found.session)),
        id,
        number: d.number,
        title: d.title().to_string(),
        organisation: d.body.organisation.clone().unwrap_or_default(),
        siret: d.siret.clone(),
        bouquet: workflow::bouquet_label(&d.bouquet),
        version: d.version,
        editor: found.editor.name.clone(),
        granted_by: found.delegation.granted_by.clone(),
        granted_at: paris(found.delegation.granted_at),
        main_state: label_of(tokens::standing(&found.main, true, now)),
        main_end: day(found.main.expires_at),
        in_force: delegations::in_force(d, &found.main, now),
        tokens: rows,
        answering,
    };
    Ok(html(StatusCode::OK, page))
}

#[derive(Template)]
#[template(path = "editeur_jeton.html")]
pub struct TokenPage {
    base: &'static str,
    who: Option<Who>,
    id: Uuid,
    number: i64,
    title: String,
    label: String,
    jwt: String,
    expires: String,
    /// Just taken: the earlier ones stopped.
    new: bool,
}

#[derive(Deserialize)]
pub struct TakeForm {
    csrf: String,
    version: String,
}

/// `POST /habilitation/editeur/{id}/jeton`: a new delegated token, shown now.
pub async fn take(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<TakeForm>,
) -> Result<Response, Fault> {
    let found = delegated(&app, id, &headers).await?;
    check_csrf(&found.session, &form.csrf)?;
    if form.version.trim() != found.demande.version.to_string() {
        return Err(conflict());
    }
    let agent = found.session.agent.as_ref().expect("logged in");
    let (change, write) = delegations::take_token(
        &found.demande,
        &found.main,
        &found.delegation,
        &found.editor,
        &found.taken,
        agent,
        Utc::now(),
    )
    .map_err(|e| {
        refused(
            e,
            "Jeton délégué impossible",
            "Seuls les utilisateurs de l'éditeur prennent ce jeton.",
        )
    })?;
    commit(&app, &change, &write).await?;
    let DelegationWrite::Take { token, record } = write else {
        return Err(Fault::internal(anyhow::anyhow!("taking a token wrote no token")));
    };
    tracing::info!(demande = %id, token = %record.jti, editor = %found.editor.id, "a delegated token was taken");
    token_page(&app, &found, &token, &record, true)
}

/// `GET /habilitation/editeur/{id}/jeton`: the delegated token that answers, again,
/// to the editor's users only.
pub async fn show_token(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    let found = delegated(&app, id, &headers).await?;
    read_only(&found.session)?;
    let now = Utc::now();
    for taken in &found.taken {
        let record = app.store.token(taken.jti).await.map_err(Fault::internal)?;
        if let Some(record) = record.filter(|r| tokens::standing(r, true, now) == Standing::Active) {
            tracing::info!(demande = %id, token = %record.jti, "a delegated token was shown");
            return token_page(&app, &found, taken, &record, false);
        }
    }
    Err(Fault::bad(
        "Aucun jeton délégué",
        "Aucun jeton délégué ne répond pour cette habilitation : prenez-en un.",
    ))
}

fn token_page(
    app: &App,
    found: &Delegated,
    taken: &DelegatedToken,
    record: &TokenRecord,
    new: bool,
) -> Result<Response, Fault> {
    let page = TokenPage {
        base: BASE,
        who: who(app, Some(&found.session)),
        id: found.demande.id,
        number: found.demande.number,
        title: found.demande.title().to_string(),
        label: taken.label.clone(),
        jwt: app.tokens.jwt(record).map_err(Fault::internal)?,
        expires: day(record.expires_at),
        new,
    };
    Ok(html(StatusCode::OK, page))
}

#[derive(Deserialize)]
pub struct UsageQuery {
    periode: Option<String>,
    jeton: Option<String>,
}

/// `GET /habilitation/editeur/{id}/usage`: the usage of the editor's delegated
/// tokens (the portal's view; never the client's token).
pub async fn usage(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Query(query): Query<UsageQuery>,
) -> Result<Response, Fault> {
    let found = delegated(&app, id, &headers).await?;
    let token = own_token(&found, query.jeton.as_deref())?;
    let label = |t: &DelegatedToken| format!("{} ({})", t.label, paris(t.taken_at));
    let choices = found
        .taken
        .iter()
        .map(|t| (t.jti, label(t), t.jti == token.jti))
        .collect();
    let shown = UsageOf {
        token: token.jti,
        label: label(token),
        choices,
        here: format!("{BASE}/editeur/{id}/usage"),
        back: format!("{BASE}/editeur/{id}"),
    };
    let month = query.periode.as_deref() == Some("30j");
    let page = usage_view(&app, who(&app, Some(&found.session)), &found.demande, shown, month).await?;
    Ok(html(StatusCode::OK, page))
}

/// `GET /habilitation/editeur/{id}/usage.csv`: the same figures as CSV.
pub async fn usage_csv(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Query(query): Query<UsageQuery>,
) -> Result<Response, Fault> {
    let found = delegated(&app, id, &headers).await?;
    let token = own_token(&found, query.jeton.as_deref())?;
    usage_csv_of(&app, found.demande.number, token.jti, query.periode.as_deref()).await
}

/// The delegated token the query names, if it is one of this delegation's; else the
/// newest.
fn own_token<'a>(found: &'a Delegated, asked: Option<&str>) -> Result<&'a DelegatedToken, Fault> {
    let asked: Option<Uuid> = asked.and_then(|t| t.parse().ok());
    found
        .taken
        .iter()
        .find(|t| Some(t.jti) == asked)
        .or_else(|| found.taken.first())
        .ok_or_else(|| {
            Fault::bad(
                "Aucun jeton délégué",
                "Prenez d'abord un jeton délégué : son usage s'affichera ici.",
            )
        })
}

// Shared.

/// What an editor's user reaches through a delegation in force.
struct Delegated {
    session: Session,
    editor: Editor,
    demande: Demande,
    main: TokenRecord,
    delegation: Delegation,
    /// Its delegated tokens, newest first.
    taken: Vec<DelegatedToken>,
}

/// The session's editor and its delegation in force on demande `id`; anyone else
/// gets "not found", as if the habilitation did not exist.
async fn delegated(app: &App, id: Uuid, headers: &HeaderMap) -> Result<Delegated, Fault> {
    let session = logged_in(app, headers).await?;
    let agent = session.agent.as_ref().expect("logged in");
    let editor = app.editors.of(agent).cloned().ok_or_else(Fault::not_found)?;
    let delegations = app.store.delegations_of(id).await.map_err(Fault::internal)?;
    let delegation = delegations
        .into_iter()
        .find(|d| d.editor == editor.id && d.revoked_at.is_none())
        .ok_or_else(Fault::not_found)?;
    let demande = demande_of(app, id).await?.ok_or_else(Fault::not_found)?;
    let (main, _) = held_tokens(app, &demande).await?.ok_or_else(Fault::not_found)?;
    let taken = app
        .store
        .delegated_tokens(delegation.id)
        .await
        .map_err(Fault::internal)?;
    Ok(Delegated {
        session,
        editor,
        demande,
        main,
        delegation,
        taken,
    })
}

/// The session's editor, or 403: the space is the editors' users' alone.
fn editor_of<'a>(app: &'a App, session: &Session) -> Result<&'a Editor, Fault> {
    let agent = session.agent.as_ref().expect("logged in");
    app.editors
        .of(agent)
        .ok_or_else(|| Fault::forbidden("Cet espace est réservé aux éditeurs de logiciels déclarés."))
}

async fn demande_of(app: &App, id: Uuid) -> Result<Option<Demande>, Fault> {
    let record = app.store.demande(id).await.map_err(Fault::internal)?;
    record.map(Demande::read).transpose().map_err(Fault::internal)
}

/// The delegation's newest token that answers.
async fn live_token(app: &App, demande: &Demande, taken: &[DelegatedToken]) -> Result<Option<TokenRecord>, Fault> {
    let now = Utc::now();
    for t in taken.iter().filter(|t| demande.body.delegated_tokens.contains(&t.jti)) {
        let record = app.store.token(t.jti).await.map_err(Fault::internal)?;
        if let Some(record) = record.filter(|r| tokens::standing(r, true, now) == Standing::Active) {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

/// Commits the change with its delegation under the demande's version; this replica
/// forgets the tokens it stopped.
async fn commit(app: &App, change: &DemandeChange, write: &DelegationWrite) -> Result<(), Fault> {
    if !app
        .store
        .commit_delegation(change, write)
        .await
        .map_err(Fault::internal)?
    {
        return Err(conflict());
    }
    forget(app, &change.token);
    Ok(())
}

/// An admin seeing the site as an agent sees no token (and, as `check_csrf` sees to
/// it, changes nothing).
fn read_only(session: &Session) -> Result<(), Fault> {
    match session.impersonator() {
        Some(_) => Err(Fault::forbidden(
            "En imitation, le site se lit sans rien changer, et les jetons restent masqués.",
        )),
        None => Ok(()),
    }
}
