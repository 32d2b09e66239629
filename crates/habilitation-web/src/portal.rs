//! The portal: a habilitation's tokens and their usage, for its people. Everyone
//! named on a demande in force sees its tokens' states and usage; its applicant and
//! technical contact also rotate, retire, name and restrict them (`tokens::manage`).
//! Usage comes from the journal's rollups, never from a scan of the journal.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use passerelle_habilitation::content::ContactKind;
use passerelle_habilitation::state::State as DemandeState;
use passerelle_habilitation::tokens::{self, Held, TokenAction};
use passerelle_habilitation::workflow::{self, ActError, Demande};
use passerelle_store::{Grouping, Period, TimeRange, TokenRecord, UsageCounts, UsageLine};
use serde::Deserialize;
use uuid::Uuid;

use crate::pages::{forget, html, load, logged_in, posted, stale, visible_demandes, who, Fault, Shown};
use crate::session::Session;
use crate::views::{day, paris, paris_seconds, Who};
use crate::{App, BASE};
use sha2::{Digest, Sha256};

use tokens::PROLONG_WITHIN_DAYS;
const LAST_CALLS: u32 = 20;

// The list of one's habilitations.

#[derive(Template)]
#[template(path = "habilitations.html")]
pub struct HabilitationsPage {
    base: &'static str,
    who: Option<Who>,
    rows: Vec<HabilitationRow>,
}

pub struct HabilitationRow {
    id: Uuid,
    number: i64,
    title: String,
    bouquet: &'static str,
    token_state: &'static str,
    expires: String,
    days_left: i64,
    /// DSFR badge of the time left: green, orange under 90 days, red under 30.
    badge: &'static str,
    calls_7d: u64,
    expected: String,
}

pub async fn habilitations(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let agent = session.agent.as_ref().expect("logged in");
    let now = Utc::now();
    let mut rows = Vec::new();
    for demande in visible_demandes(&app, agent).await? {
        if let Some((main, retired)) = held_tokens(&app, &demande).await? {
            rows.push(habilitation_row(&app, &demande, &main, &retired, now).await?);
        }
    }
    rows.sort_by_key(|r| r.days_left);
    Ok(html(
        StatusCode::OK,
        HabilitationsPage {
            base: BASE,
            who: who(&app, Some(&session)),
            rows,
        },
    ))
}

async fn habilitation_row(
    app: &App,
    demande: &Demande,
    main: &TokenRecord,
    retired: &[TokenRecord],
    now: DateTime<Utc>,
) -> Result<HabilitationRow, Fault> {
    // Whole days left, rounded down: an expired token has a negative count.
    let days_left = (main.expires_at - now).num_seconds().div_euclid(86_400);
    let calls_7d = total(&usage(app, main.jti, now - Duration::days(7), now, By::Nothing).await?).calls;
    let mut retired_in_use = false;
    for old in retired
        .iter()
        .filter(|t| state_of(t, false, now) == tokens::Standing::Overlapping)
    {
        retired_in_use |= total(&usage(app, old.jti, now - Duration::days(1), now, By::Nothing).await?).calls > 0;
    }
    Ok(HabilitationRow {
        id: demande.id,
        number: demande.number,
        title: demande.title().to_string(),
        bouquet: workflow::bouquet_label(&demande.bouquet),
        token_state: label_of(state_of(main, true, now)),
        expires: day(main.expires_at),
        days_left,
        badge: badge(days_left),
        calls_7d,
        expected: match banned_on(main, retired, now) {
            Some(at) => format!(
                "Remplacez le jeton banni avant le {} : il cessera alors de répondre.",
                paris(at)
            ),
            None => expected(demande, main, days_left, calls_7d, retired_in_use),
        },
    })
}

/// The earliest ban an operator set for later on one of the habilitation's tokens.
fn banned_on(main: &TokenRecord, retired: &[TokenRecord], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let answering = std::iter::once(main).chain(retired).filter(|t| t.expires_at > now);
    answering.filter_map(|t| t.revoked_at).filter(|at| *at > now).min()
}

/// What the habilitation's people should do next, in one sentence.
fn expected(demande: &Demande, main: &TokenRecord, days_left: i64, calls_7d: u64, retired_in_use: bool) -> String {
    if main.revoked_at.is_some() || days_left < 0 {
        return "Le jeton ne répond plus : demandez une nouvelle habilitation.".into();
    }
    if demande.standing.reopening {
        return "Une mise à jour est en cours : finissez-la ou attendez l'instruction.".into();
    }
    if retired_in_use {
        return "L'ancien jeton sert encore : déployez le nouveau avant la fin du chevauchement.".into();
    }
    if days_left < PROLONG_WITHIN_DAYS {
        return format!(
            "Le jeton expire dans {days_left} jours : prolongez-le (« Prolonger » sur la page des jetons)."
        );
    }
    if calls_7d == 0 {
        return "Le jeton n'a servi à aucun appel ces 7 derniers jours : utilisez-le, ou vérifiez votre logiciel."
            .into();
    }
    "Aucune action attendue.".into()
}

fn badge(days_left: i64) -> &'static str {
    match days_left {
        d if d < 30 => "fr-badge--error",
        d if d < PROLONG_WITHIN_DAYS => "fr-badge--warning",
        _ => "fr-badge--success",
    }
}

// One habilitation's tokens.

#[derive(Template)]
#[template(path = "jetons.html")]
pub struct TokensPage {
    base: &'static str,
    who: Option<Who>,
    id: Uuid,
    number: i64,
    title: String,
    version: i64,
    /// The applicant or the technical contact: the forms are theirs.
    manages: bool,
    /// The applicant, in the token's last 90 days: the wizard is offered.
    prolongable: bool,
    /// API Entreprise's attestations this agent may download with the token.
    attestations: bool,
    main: TokenRow,
    others: Vec<TokenRow>,
    overlaps: Vec<(u32, bool)>,
    allowed_ips: String,
    per_minute: String,
    allowance: String,
    /// The addresses each token called from ("the IPs actually used").
    addresses: Vec<crate::alerts::AddressRow>,
    /// The main token's scopes under the providers they open.
    rights: Vec<(String, Vec<String>)>,
    contacts: Vec<ContactRow>,
    done: Option<&'static str>,
}

/// One of the habilitation's people, as its tokens page lists them.
pub struct ContactRow {
    role: &'static str,
    name: String,
    email: String,
    is_me: bool,
}

pub struct TokenRow {
    jti: Uuid,
    label: String,
    state: String,
    badge: &'static str,
    issued: String,
    expires: String,
    last_used: String,
    calls_7d: u64,
    retirable: bool,
}

pub async fn tokens_page(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Query(done): Query<Shown>,
) -> Result<Response, Fault> {
    let (session, demande, main, retired) = opened(&app, id, &headers).await?;
    let agent = session.agent.as_ref().expect("logged in");
    let now = Utc::now();
    let mut others = Vec::new();
    for old in retired.iter().rev() {
        others.push(token_row(&app, &demande, old, false, now).await?);
    }
    // Before any allowance was kept, the token's own restrictions are its ceiling.
    let allowance = demande.body.allowance.clone().unwrap_or_else(|| workflow::Allowance {
        rate_limit_per_minute: main.rate_limit_per_minute,
        allowed_ips: main.allowed_ips.clone(),
    });
    let page = TokensPage {
        base: BASE,
        who: who(&app, Some(&session)),
        id,
        number: demande.number,
        title: demande.title().to_string(),
        version: demande.version,
        manages: demande.may_see_token(agent, &app.site.staff),
        prolongable: tokens::prolong(&demande, &main, agent, &app.site, now).is_ok(),
        attestations: app.entreprise.is_some()
            && passerelle_habilitation::attestations::may_download(&demande, agent, &app.site.staff)
            && !passerelle_habilitation::attestations::available(&demande, &main).is_empty(),
        main: token_row(&app, &demande, &main, true, now).await?,
        others,
        overlaps: [0, 1, 7, 14, 30]
            .into_iter()
            .map(|d| (d, d == tokens::DEFAULT_OVERLAP_DAYS))
            .collect(),
        allowed_ips: main.allowed_ips.join("\n"),
        per_minute: main.rate_limit_per_minute.map(|n| n.to_string()).unwrap_or_default(),
        allowance: allowance_text(&allowance, app.default_per_minute),
        addresses: crate::alerts::addresses_of(
            &app,
            &demande,
            &std::iter::once(&main).chain(&retired).collect::<Vec<_>>(),
        )
        .await?,
        rights: app.providers.scopes_by_provider(&demande.bouquet, &main.scopes),
        contacts: contacts(&demande, agent),
        done: done.fait.as_deref().and_then(done_message),
    };
    Ok(html(StatusCode::OK, page))
}

async fn token_row(
    app: &App,
    demande: &Demande,
    record: &TokenRecord,
    is_main: bool,
    now: DateTime<Utc>,
) -> Result<TokenRow, Fault> {
    let hourly = usage(app, record.jti, now - Duration::days(90), now, By::Period(Period::Hour)).await?;
    let last_used = hourly
        .iter()
        .filter(|l| l.counts.calls > 0)
        .filter_map(|l| l.period)
        .max()
        .map(|at| format!("heure du {}", paris(at)))
        .unwrap_or_else(|| "jamais (90 derniers jours)".into());
    let week: u64 = hourly
        .iter()
        .filter(|l| l.period.is_some_and(|p| p >= now - Duration::days(7)))
        .map(|l| l.counts.calls)
        .sum();
    let state = state_of(record, is_main, now);
    // The main token's own end is never set ahead: a date to come is an operator's ban.
    let banned_on = record
        .revoked_at
        .filter(|_| is_main && state == tokens::Standing::Active);
    Ok(TokenRow {
        jti: record.jti,
        label: demande.token_label(record.jti),
        state: match banned_on {
            Some(at) => format!("banni le {}", paris(at)),
            None => label_of(state).to_string(),
        },
        badge: match state {
            _ if banned_on.is_some() => "fr-badge--warning",
            tokens::Standing::Active => "fr-badge--success",
            tokens::Standing::Overlapping => "fr-badge--warning",
            _ => "fr-badge--error",
        },
        issued: paris(record.issued_at),
        expires: paris(record.expires_at),
        last_used,
        calls_7d: week,
        retirable: !is_main && state == tokens::Standing::Overlapping,
    })
}

/// The applicant and the contacts the bouquet's form names, "me" marked.
fn contacts(demande: &Demande, agent: &workflow::Agent) -> Vec<ContactRow> {
    let applicant = &demande.body.applicant;
    let mut rows = vec![ContactRow {
        role: "Demandeur",
        name: format!("{} {}", applicant.given_name, applicant.family_name),
        email: applicant.email.to_lowercase(),
        is_me: false,
    }];
    let content = &demande.body.content;
    for kind in ContactKind::of(&demande.bouquet) {
        let part = |p: &str| content.field(&format!("{}_{p}", kind.key())).trim().to_string();
        rows.push(ContactRow {
            role: kind.label(),
            name: format!("{} {}", part("given_name"), part("family_name")),
            email: part("email").to_lowercase(),
            is_me: false,
        });
    }
    for row in &mut rows {
        row.is_me = row.email.eq_ignore_ascii_case(&agent.email);
    }
    rows
}

fn allowance_text(allowance: &workflow::Allowance, default_per_minute: u32) -> String {
    let per_minute = allowance.rate_limit_per_minute.unwrap_or(default_per_minute);
    let ips = if allowance.allowed_ips.is_empty() {
        "toute adresse".to_string()
    } else {
        allowance.allowed_ips.join(", ")
    };
    format!("au plus {per_minute} appels par minute ; adresses : {ips}")
}

fn done_message(what: &str) -> Option<&'static str> {
    Some(match what {
        "rotate" => {
            "Le nouveau jeton est prêt : « Voir le jeton » le montre. L'ancien répond jusqu'à la fin du chevauchement."
        }
        "retire" => "L'ancien jeton ne répond plus.",
        "label" => "Le nom du jeton est enregistré.",
        "restrict" => {
            "Les restrictions du jeton sont enregistrées ; elles s'appliquent dans les secondes qui viennent."
        }
        "transmit" => "Le lien est envoyé. Il montre le jeton une seule fois, pendant 4 heures.",
        "prolong" => {
            "Le jeton est prolongé de 18 mois, ajoutés à sa date de fin : la même chaîne continue de répondre."
        }
        _ => return None,
    })
}

/// A form of the tokens page: its action, checked and written with the demande.
pub async fn manage(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fault> {
    let (session, sent, demande, _) = posted(&app, id, &headers, &body).await?;
    stale(&sent, &demande)?;
    let (main, retired) = held_tokens(&app, &demande).await?.ok_or_else(no_token)?;
    let what = sent.one("quoi");
    let agent = session.agent.as_ref().expect("logged in");
    let now = Utc::now();
    if what == "transmit" {
        return transmit(&app, &demande, &main, agent, &sent.one("destinataire"), now).await;
    }
    let action = match what.as_str() {
        "rotate" => TokenAction::Rotate {
            overlap_days: number(&sent.one("chevauchement"), "La durée du chevauchement")?.unwrap_or(0),
            label: sent.one("nom"),
        },
        "retire" => TokenAction::Retire(uuid(&sent.one("jeton"))?),
        "label" => TokenAction::Label {
            jti: uuid(&sent.one("jeton"))?,
            label: sent.one("nom"),
        },
        "restrict" => TokenAction::Restrict {
            allowed_ips: sent.one("adresses").split_whitespace().map(str::to_string).collect(),
            rate_limit_per_minute: number(&sent.one("par_minute"), "La limite par minute")?,
        },
        _ => return Err(Fault::bad("Action inconnue", "Cette action n'existe pas.")),
    };
    let held = Held {
        main: &main,
        retired: &retired,
    };
    let done = tokens::manage(
        &demande,
        &held,
        agent,
        &app.site.staff,
        action,
        app.default_per_minute,
        now,
    );
    let (next, mut change) = done.map_err(|e| {
        refused(
            e,
            "Changement impossible",
            "Seuls le demandeur et le contact technique gèrent les jetons ; demandez-le au demandeur.",
        )
    })?;
    // A rotation is told to the applicant and the technical contact, in its commit.
    let letters = tokens::rotation_letters(&next, &change, agent, &app.site, now);
    change.outbox.extend(letters);
    write(&app, &change).await?;
    tracing::info!(demande = %demande.id, action = %what, "a habilitation's tokens changed");
    Ok(Redirect::to(&format!("{BASE}/demandes/{id}/jetons?fait={what}")).into_response())
}

#[derive(Template)]
#[template(path = "prolonger.html")]
pub struct ProlongPage {
    base: &'static str,
    who: Option<Who>,
    id: Uuid,
    number: i64,
    title: String,
    version: i64,
    expires: String,
    purpose: String,
    contacts: Vec<(&'static str, String)>,
    /// Why the token cannot be prolonged here, when it cannot.
    refusal: Option<String>,
}

/// `GET …/prolonger`: the wizard's three questions, all on one page.
pub async fn prolong_page(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    let (session, demande, main, _) = opened(&app, id, &headers).await?;
    let agent = session.agent.as_ref().expect("logged in");
    let refusal = match tokens::prolong(&demande, &main, agent, &app.site, Utc::now()) {
        Ok(_) => None,
        Err(ActError::Refused(_)) => {
            Some("Seul le demandeur prolonge le jeton ; les contacts peuvent le lui rappeler.".into())
        }
        Err(ActError::Invalid(why)) => Some(why),
        Err(ActError::Incomplete(_)) => Some("La demande est incomplète.".into()),
    };
    let content = &demande.body.content;
    let contacts = [
        ("Contact métier", ContactKind::ContactMetier),
        ("Contact technique", ContactKind::ContactTechnique),
    ]
    .into_iter()
    .map(|(label, kind)| (label, content.contact_email(kind).unwrap_or_else(|| "—".into())))
    .collect();
    let page = ProlongPage {
        base: BASE,
        who: who(&app, Some(&session)),
        id,
        number: demande.number,
        title: demande.title().to_string(),
        version: demande.version,
        expires: day(main.expires_at),
        purpose: content.field("description").to_string(),
        contacts,
        refusal,
    };
    Ok(html(StatusCode::OK, page))
}

/// `POST …/prolonger`: prolonged at once when nothing changed; otherwise the
/// demande is to be updated (and instructed) first.
pub async fn prolong(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fault> {
    let (session, sent, demande, _) = posted(&app, id, &headers, &body).await?;
    stale(&sent, &demande)?;
    let (main, _) = held_tokens(&app, &demande).await?.ok_or_else(no_token)?;
    let answers = [
        sent.one("responsable"),
        sent.one("meme_objet"),
        sent.one("memes_contacts"),
    ];
    if answers.iter().any(|a| a.is_empty()) {
        return Err(Fault::bad("Réponses manquantes", "Répondez aux trois questions."));
    }
    if answers[0] == "non" {
        let why = "Vous n'êtes plus en charge de cette habilitation : transférez la demande à la personne qui vous succède, depuis la page de la demande ; elle prolongera le jeton.";
        return Err(Fault::bad("Transférez d'abord la demande", why));
    }
    if answers[1] != "oui" || answers[2] != "oui" {
        let why = "L'objet ou les contacts ont changé : mettez à jour la demande depuis sa page (« Mettre à jour »). Le jeton en vigueur continue de répondre pendant l'instruction, et sa validation le prolonge.";
        return Err(Fault::bad("Mettez à jour la demande", why));
    }
    let agent = session.agent.as_ref().expect("logged in");
    let (_, change) = tokens::prolong(&demande, &main, agent, &app.site, Utc::now())
        .map_err(|e| refused(e, "Prolongation impossible", "Seul le demandeur prolonge le jeton."))?;
    write(&app, &change).await?;
    tracing::info!(demande = %demande.id, "a token was prolonged by its applicant");
    Ok(Redirect::to(&format!("{BASE}/demandes/{id}/jetons?fait=prolong")).into_response())
}

/// The main token sent to `to` as a one-time link: the link's record first (it opens
/// nothing until the letter, written with the demande, carries its code).
async fn transmit(
    app: &App,
    demande: &Demande,
    main: &TokenRecord,
    agent: &workflow::Agent,
    to: &str,
    now: DateTime<Utc>,
) -> Result<Response, Fault> {
    let code = hex::encode(rand::random::<[u8; 16]>());
    let (_, change) = tokens::transmit(demande, main, agent, to, &code, &app.site, now).map_err(|e| {
        refused(
            e,
            "Transmission impossible",
            "Seul le demandeur transmet le jeton ; le contact technique le voit sur cette page.",
        )
    })?;
    let link = passerelle_store::TokenLink {
        code_hash: link_hash(&code),
        demande_id: demande.id,
        jti: main.jti,
        recipient: to.trim().to_lowercase(),
        created_at: now,
        expires_at: now + Duration::hours(tokens::LINK_HOURS),
    };
    app.store.put_token_link(&link).await.map_err(Fault::internal)?;
    write(app, &change).await?;
    tracing::info!(demande = %demande.id, "a token was sent as a one-time link");
    Ok(Redirect::to(&format!("{BASE}/demandes/{}/jetons?fait=transmit", demande.id)).into_response())
}

/// A token action refused: the role's own message (403), or why (400).
pub(crate) fn refused(error: ActError, title: &str, role: &str) -> Fault {
    match error {
        ActError::Refused(_) => Fault::forbidden(role),
        ActError::Invalid(why) => Fault::bad(title, &why),
        ActError::Incomplete(_) => Fault::bad(title, "La demande est incomplète."),
    }
}

/// Commits the change under the demande's version; this replica forgets the tokens
/// it wrote.
async fn write(app: &App, change: &passerelle_store::DemandeChange) -> Result<(), Fault> {
    if !app.store.commit_demande(change).await.map_err(Fault::internal)? {
        return Err(crate::pages::conflict());
    }
    forget(app, &change.token);
    Ok(())
}

fn link_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

#[derive(Template)]
#[template(path = "lien.html")]
pub struct LinkPage {
    base: &'static str,
    who: Option<Who>,
    /// The token, when the link was good.
    jwt: Option<String>,
    /// Not opened yet: the button that opens it.
    unopened: bool,
    title: String,
    until: String,
}

/// `GET /habilitation/lien/{code}`: a button, not the token: mail filters that
/// follow links to scan them must not use the link up.
pub async fn link_page() -> Response {
    let page = LinkPage {
        base: BASE,
        who: None,
        jwt: None,
        unopened: true,
        title: String::new(),
        until: String::new(),
    };
    html(StatusCode::OK, page)
}

/// `POST /habilitation/lien/{code}`: the token, once, to whoever holds the letter.
pub async fn open_link(State(app): State<Arc<App>>, Path(code): Path<String>) -> Result<Response, Fault> {
    let now = Utc::now();
    let gone = |title: &str| LinkPage {
        base: BASE,
        who: None,
        jwt: None,
        unopened: false,
        title: title.into(),
        until: String::new(),
    };
    let Some(link) = app
        .store
        .open_token_link(&link_hash(&code), now)
        .await
        .map_err(Fault::internal)?
    else {
        let page = gone("Ce lien a déjà servi, a expiré ou n'existe pas.");
        return Ok(html(StatusCode::GONE, page));
    };
    let record = app.store.token(link.jti).await.map_err(Fault::internal)?;
    let Some(record) = record.filter(|r| tokens::standing(r, true, now) == tokens::Standing::Active) else {
        return Ok(html(
            StatusCode::GONE,
            gone("Ce jeton ne répond plus : demandez-en un nouveau."),
        ));
    };
    let jwt = app.tokens.jwt(&record).map_err(Fault::internal)?;
    tracing::info!(demande = %link.demande_id, token = %link.jti, "a token was shown through its one-time link");
    let page = LinkPage {
        base: BASE,
        who: None,
        jwt: Some(jwt),
        unopened: false,
        title: record.name.clone(),
        until: day(record.expires_at),
    };
    Ok(html(StatusCode::OK, page))
}

fn number(text: &str, what: &str) -> Result<Option<u32>, Fault> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| Fault::bad("Nombre invalide", &format!("{what} est un nombre entier positif.")))
}

fn uuid(text: &str) -> Result<Uuid, Fault> {
    text.parse()
        .map_err(|_| Fault::bad("Jeton inconnu", "Ce jeton n'est pas celui de cette habilitation."))
}

pub(crate) fn no_token() -> Fault {
    Fault::bad(
        "Pas de jeton",
        "Cette demande n'a pas encore de jeton : il naît à la validation de l'habilitation.",
    )
}

// Usage.

#[derive(Template)]
#[template(path = "usage.html")]
pub struct UsagePage {
    base: &'static str,
    who: Option<Who>,
    number: i64,
    title: String,
    token: Uuid,
    token_label: String,
    choices: Vec<(Uuid, String, bool)>,
    /// The page's own path, and where "back" goes.
    here: String,
    back: String,
    month: bool,
    total: CountsRow,
    endpoints: Vec<CountsRow>,
    bars: Vec<Bar>,
    most: u64,
    last_throttled: Option<String>,
    recent: Vec<RecentCall>,
}

pub struct CountsRow {
    endpoint: String,
    calls: u64,
    ok: u64,
    client_errors: u64,
    server_errors: u64,
    throttled: u64,
    refused: u64,
    p50: String,
    p95: String,
}

pub struct Bar {
    label: String,
    calls: u64,
    throttled: u64,
}

pub struct RecentCall {
    at: String,
    request_id: String,
    endpoint: String,
    status: u16,
}

#[derive(Deserialize)]
pub struct UsageQuery {
    periode: Option<String>,
    jeton: Option<String>,
}

/// The usage of one of the habilitation's tokens over 24 hours or 30 days.
pub async fn usage_page(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Query(query): Query<UsageQuery>,
) -> Result<Response, Fault> {
    let (session, demande, main, retired) = opened(&app, id, &headers).await?;
    let token = chosen(&query, &main, &retired);
    let mut choices = vec![(main.jti, demande.token_label(main.jti), main.jti == token)];
    choices.extend(
        retired
            .iter()
            .rev()
            .map(|t| (t.jti, demande.token_label(t.jti), t.jti == token)),
    );
    let shown = UsageOf {
        token,
        label: demande.token_label(token),
        choices,
        here: format!("{BASE}/demandes/{id}/usage"),
        back: format!("{BASE}/demandes/{id}/jetons"),
    };
    let month = query.periode.as_deref() == Some("30j");
    let page = usage_view(&app, who(&app, Some(&session)), &demande, shown, month).await?;
    Ok(html(StatusCode::OK, page))
}

/// Which token a usage page shows, the others it offers, and where the page lives.
pub(crate) struct UsageOf {
    pub token: Uuid,
    pub label: String,
    pub choices: Vec<(Uuid, String, bool)>,
    /// The page's own path (its form and its CSV export hang from it).
    pub here: String,
    pub back: String,
}

/// The usage page of one token of `demande` over 24 hours or 30 days (`month`): what
/// the portal shows the habilitation's people, and an editor of its delegated token.
pub(crate) async fn usage_view(
    app: &App,
    who: Option<Who>,
    demande: &Demande,
    shown: UsageOf,
    month: bool,
) -> Result<UsagePage, Fault> {
    let token = shown.token;
    let now = Utc::now();
    let starts = if month { paris_days(now, 30) } else { hours(now, 24) };
    let from = starts.first().copied().unwrap_or(now - Duration::days(30));
    let by_endpoint = usage(app, token, from, now, By::Endpoint).await?;
    let by_period = usage(app, token, from, now, By::Period(Period::Hour)).await?;
    let bars = bars(&by_period, &starts, month);
    let total = total(&by_endpoint);
    let last_throttled = by_period
        .iter()
        .filter(|l| l.counts.throttled > 0)
        .filter_map(|l| l.period)
        .max()
        .map(paris);
    let recent = app
        .store
        .token_calls(token, LAST_CALLS)
        .await
        .map_err(Fault::internal)?
        .into_iter()
        .map(|c| RecentCall {
            at: paris_seconds(c.at),
            request_id: c.request_id,
            endpoint: c.endpoint,
            status: c.status,
        })
        .collect();
    Ok(UsagePage {
        base: BASE,
        who,
        number: demande.number,
        title: demande.title().to_string(),
        token,
        token_label: shown.label,
        choices: shown.choices,
        here: shown.here,
        back: shown.back,
        month,
        most: bars.iter().map(|b| b.calls).max().unwrap_or(0).max(1),
        bars,
        endpoints: by_endpoint.iter().map(counts_row).collect(),
        total: counts_row(&UsageLine {
            period: None,
            endpoint: Some("Tous".into()),
            counts: total,
        }),
        last_throttled,
        recent,
    })
}

/// The same figures per endpoint and period, as CSV (never the people's data).
pub async fn usage_csv(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Query(query): Query<UsageQuery>,
) -> Result<Response, Fault> {
    let (_, demande, main, retired) = opened(&app, id, &headers).await?;
    let token = chosen(&query, &main, &retired);
    usage_csv_of(&app, demande.number, token, query.periode.as_deref()).await
}

/// One token's usage per endpoint and period (`periode`: `30j` by day, else 24 hours
/// by hour), as a CSV download.
pub(crate) async fn usage_csv_of(
    app: &App,
    number: i64,
    token: Uuid,
    periode: Option<&str>,
) -> Result<Response, Fault> {
    let now = Utc::now();
    let (from, period) = match periode {
        Some("30j") => (now - Duration::days(30), Period::Day),
        _ => (now - Duration::hours(24), Period::Hour),
    };
    let lines = app
        .store
        .token_usage(
            token,
            range(from, now),
            Grouping {
                period: Some(period),
                endpoint: true,
            },
        )
        .await
        .map_err(Fault::internal)?;
    let mut csv = String::from("periode,point_d_acces,appels,succes_2xx,erreurs_4xx,erreurs_5xx,quota_depasse_429,refus_401_403,latence_p50_ms,latence_p95_ms\n");
    for line in &lines {
        let c = &line.counts;
        let period = line.period.map(|p| p.to_rfc3339()).unwrap_or_default();
        let endpoint = line.endpoint.clone().unwrap_or_default().replace(['"', ','], " ");
        csv.push_str(&format!(
            "{period},{endpoint},{},{},{},{},{},{},{},{}\n",
            c.calls,
            c.ok,
            c.client_errors,
            c.server_errors,
            c.throttled,
            c.refused,
            quantile(c, 0.5),
            quantile(c, 0.95)
        ));
    }
    let name = format!("attachment; filename=\"usage-demande-{number}-{token}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv,
    )
        .into_response())
}

/// The token the query names, if it is one of the habilitation's; else the main one.
fn chosen(query: &UsageQuery, main: &TokenRecord, retired: &[TokenRecord]) -> Uuid {
    query
        .jeton
        .as_deref()
        .and_then(|t| t.parse::<Uuid>().ok())
        .filter(|t| retired.iter().any(|r| r.jti == *t))
        .unwrap_or(main.jti)
}

/// One bar per period starting at `starts` (Paris days or hours), empty ones included;
/// the rollups' UTC hours fall in the Paris day they belong to.
fn bars(hourly: &[UsageLine], starts: &[DateTime<Utc>], days: bool) -> Vec<Bar> {
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts.get(i + 1).copied();
            let inside = hourly
                .iter()
                .filter(|l| l.period.is_some_and(|p| p >= start && end.is_none_or(|end| p < end)));
            let (calls, throttled) = inside.fold((0, 0), |(c, t), l| (c + l.counts.calls, t + l.counts.throttled));
            let local = start.with_timezone(&chrono_tz::Europe::Paris);
            let label = if days {
                local.format("%d/%m")
            } else {
                local.format("%Hh")
            };
            Bar {
                label: label.to_string(),
                calls,
                throttled,
            }
        })
        .collect()
}

/// The starts of the last `count` hours, the current one included.
fn hours(now: DateTime<Utc>, count: i64) -> Vec<DateTime<Utc>> {
    let this = hour_of(now);
    (0..count).rev().map(|i| this - Duration::hours(i)).collect()
}

/// The Paris midnights of the last `count` days, today included (in UTC).
fn paris_days(now: DateTime<Utc>, count: i64) -> Vec<DateTime<Utc>> {
    let today = now.with_timezone(&chrono_tz::Europe::Paris).date_naive();
    (0..count)
        .rev()
        .filter_map(|i| {
            let day = today - Duration::days(i);
            let midnight = day.and_hms_opt(0, 0, 0)?;
            let local = chrono_tz::Europe::Paris.from_local_datetime(&midnight).earliest()?;
            Some(local.with_timezone(&Utc))
        })
        .collect()
}

/// The start of `at`'s hour (the rollups' period).
fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::hours(1)).unwrap_or(at)
}

// Shared.

/// The session, the demande it may see, its main token and the ones it replaced.
pub(crate) async fn opened(
    app: &App,
    id: Uuid,
    headers: &HeaderMap,
) -> Result<(Session, Demande, TokenRecord, Vec<TokenRecord>), Fault> {
    let session = logged_in(app, headers).await?;
    let (demande, _) = load(app, id, &session).await?;
    let (main, retired) = held_tokens(app, &demande).await?.ok_or_else(no_token)?;
    Ok((session, demande, main, retired))
}

/// The demande's main token and the ones it replaced, when it has a token.
pub(crate) async fn held_tokens(
    app: &App,
    demande: &Demande,
) -> Result<Option<(TokenRecord, Vec<TokenRecord>)>, Fault> {
    let Some(jti) = demande.body.token else {
        return Ok(None);
    };
    let approved = demande.standing.state == DemandeState::Validated
        || demande.standing.state == DemandeState::Revoked
        || demande.standing.reopening;
    if !approved {
        return Ok(None);
    }
    let Some(main) = app.store.token(jti).await.map_err(Fault::internal)? else {
        return Ok(None);
    };
    let mut retired = Vec::new();
    for old in &demande.body.retired_tokens {
        if let Some(record) = app.store.token(*old).await.map_err(Fault::internal)? {
            retired.push(record);
        }
    }
    Ok(Some((main, retired)))
}

/// How a token's usage is cut.
#[derive(Clone, Copy)]
enum By {
    Nothing,
    Endpoint,
    Period(Period),
}

async fn usage(app: &App, jti: Uuid, from: DateTime<Utc>, to: DateTime<Utc>, by: By) -> Result<Vec<UsageLine>, Fault> {
    let grouping = Grouping {
        period: match by {
            By::Period(period) => Some(period),
            _ => None,
        },
        endpoint: matches!(by, By::Endpoint),
    };
    app.store
        .token_usage(jti, range(from, to), grouping)
        .await
        .map_err(Fault::internal)
}

/// The hours whose start is in [from, to]: from's own hour included.
fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> TimeRange {
    TimeRange {
        since: Some(hour_of(from)),
        until: Some(to),
    }
}

fn total(lines: &[UsageLine]) -> UsageCounts {
    let mut total = UsageCounts::default();
    for line in lines {
        total.add(&line.counts);
    }
    total
}

fn counts_row(line: &UsageLine) -> CountsRow {
    let c = &line.counts;
    CountsRow {
        endpoint: line.endpoint.clone().unwrap_or_default(),
        calls: c.calls,
        ok: c.ok,
        client_errors: c.client_errors,
        server_errors: c.server_errors,
        throttled: c.throttled,
        refused: c.refused,
        p50: quantile(c, 0.5),
        p95: quantile(c, 0.95),
    }
}

fn quantile(counts: &UsageCounts, p: f64) -> String {
    passerelle_usage::percentile::estimate(&counts.latency, p)
        .map(|ms| format!("{ms:.0}"))
        .unwrap_or_default()
}

pub(crate) fn state_of(record: &TokenRecord, is_main: bool, now: DateTime<Utc>) -> tokens::Standing {
    tokens::standing(record, is_main, now)
}

pub(crate) fn label_of(state: tokens::Standing) -> &'static str {
    match state {
        tokens::Standing::Active => "actif",
        tokens::Standing::Overlapping => "remplacé, répond encore",
        tokens::Standing::Expired => "expiré",
        tokens::Standing::Revoked => "révoqué",
    }
}
