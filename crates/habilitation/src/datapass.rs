//! DataPass in front: a [`Sink`] for the DataPass webhook receiver
//! (`passerelle_webhooks::datapass::router`) that applies DataPass's decisions to our
//! own demandes, so that an approval in DataPass yields a Passerelle token.
//!
//! Each DataPass demande (`model_id`) becomes one of our demandes (form
//! `datapass:<form_uid>`), created by the first delivery about it. Every delivery is
//! one transaction in the store (`DataPassStore::apply_datapass`): the claim of its
//! key, its ordering against the newest event applied to that DataPass demande, and
//! its effects. So a copy has one effect and repeats the first answer, an event
//! arriving after a newer one has no effect, and a failure records nothing (DataPass
//! retries). What the historical portal does on reception (reference c.3), and more:
//!
//! - the state is mirrored from `data.state`, the applicant and organisation from
//!   `data.applicant` and `data.organization`, the fields from `data.data` by wire key;
//! - scopes our catalogue does not know are dropped, and named in the history;
//! - while a validated demande is reopened in DataPass (any event other than
//!   `approve`, `revoke` or `archive` on a local copy still validated), the demande in
//!   force is kept as is, and the history records what the reopening proposes;
//! - `approve` (with the `params` modality for API Particulier) issues a token the
//!   first time, 18 months long, and later approvals give the same token the new
//!   scopes and 18 more months; the answer names it (`token_id`);
//! - `revoke` revokes the token at once, `archive` archives the demande;
//! - every delivery applied is an event of the demande's history (actor `datapass`,
//!   kind the DataPass event, body with `fired_at`, the delivery key and what changed).
//!
//! No e-mail leaves from this path, and nothing goes to the outbox: DataPass sends
//! its own e-mails to the applicant and the contacts.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use passerelle_store::{
    DataPassDelivery, DeliveryOutcome, DemandeChange, DemandeEvent, Store, TokenChange, PARTICULIER,
};
use passerelle_webhooks::datapass::{
    Applied, Bouquet, DeliveryKey, DemandeState, Event as Wire, Notification, Sink, SinkError,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::content::Content;
use crate::state::{Standing, State};
use crate::workflow::{Agent, Body, Demande, Habilitation};

/// The actor of the history events this path writes.
pub const ACTOR: &str = "datapass";

/// The form id of a demande DataPass instructs: `datapass:<form_uid>`.
pub const FORM_PREFIX: &str = "datapass:";

/// How many times a change is rebuilt when its demande moved meanwhile (another
/// delivery about the same DataPass demande committed first).
const ATTEMPTS: usize = 5;

/// The [`Sink`] that keeps DataPass's notifications in the store, see the module.
pub struct StoreSink {
    store: Arc<dyn Store>,
}

impl StoreSink {
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreSink { store }
    }

    /// Our demande for that DataPass demande, if a delivery created it.
    async fn current(&self, bouquet: &str, model_id: i64) -> anyhow::Result<Option<Demande>> {
        let Some(id) = self.store.datapass_demande(bouquet, model_id).await? else {
            return Ok(None);
        };
        let record = self.store.demande(id).await?;
        let record = record.ok_or_else(|| anyhow::anyhow!("demande {id} is linked but absent"))?;
        Ok(Some(Demande::read(record)?))
    }
}

#[async_trait]
impl Sink for StoreSink {
    async fn apply(&self, key: DeliveryKey, n: Notification) -> Result<Applied, SinkError> {
        let bouquet = bouquet(n.bouquet);
        let model_id = i64::try_from(n.model_id)
            .map_err(|_| SinkError::Rejected(format!("model_id {} is out of range", n.model_id)))?;
        for _ in 0..ATTEMPTS {
            let now = Utc::now();
            let current = self.current(bouquet, model_id).await?;
            let (change, token_id) = plan(current.as_ref(), &n, &key, now)?;
            let delivery = DataPassDelivery {
                key: key.to_string(),
                bouquet: bouquet.into(),
                model_id,
                event: n.event.as_str().into(),
                fired_at: n.fired_at,
                received_at: now,
                token_id: token_id.clone(),
            };
            let answer = match self.store.apply_datapass(&delivery, &change).await? {
                DeliveryOutcome::Conflict => continue,
                DeliveryOutcome::Applied => Applied {
                    token_id,
                    ..Applied::default()
                },
                DeliveryOutcome::Stale => Applied {
                    stale: true,
                    ..Applied::default()
                },
                DeliveryOutcome::Duplicate(first) => Applied {
                    token_id: first.token_id,
                    duplicate: true,
                    stale: first.stale,
                },
            };
            return Ok(answer);
        }
        Err(anyhow::anyhow!("the demande kept changing during {ATTEMPTS} attempts").into())
    }
}

/// Our name of the bouquet.
fn bouquet(b: Bouquet) -> &'static str {
    match b {
        Bouquet::ApiParticulier => PARTICULIER,
        Bouquet::ApiEntreprise => "entreprise",
    }
}

fn state(s: DemandeState) -> State {
    match s {
        DemandeState::Draft => State::Draft,
        DemandeState::Submitted => State::Submitted,
        DemandeState::ChangesRequested => State::ChangesRequested,
        DemandeState::Validated => State::Validated,
        DemandeState::Refused => State::Refused,
        DemandeState::Revoked => State::Revoked,
        DemandeState::Archived => State::Archived,
    }
}

/// What `n` writes to `current` (`None`: the first delivery about that DataPass
/// demande), and the token to answer with.
fn plan(
    current: Option<&Demande>,
    n: &Notification,
    key: &DeliveryKey,
    now: DateTime<Utc>,
) -> anyhow::Result<(DemandeChange, Option<String>)> {
    let (content, dropped) = content(n);
    let mut next = current.cloned().unwrap_or_else(|| blank(n, now));
    next.version += 1;
    next.updated_at = now;
    let mut detail = json!({
        "fired_at": n.fired_at,
        "delivery": key.as_str(),
        "datapass_state": state(n.data.state).as_str(),
    });
    if !dropped.is_empty() {
        detail["dropped_scopes"] = json!(dropped);
    }
    let mut token = None;
    if current.is_some_and(|d| in_reopening(d, n.event)) {
        // The habilitation in force stays until DataPass approves the reopening.
        detail["kept_in_force"] = json!(true);
        detail["proposed"] = json!(crate::workflow::changes(&next.body.content, &content));
    } else {
        let before = next.clone();
        mirror(&mut next, n, content);
        token = token_change(&mut next, n.event, now);
        detail["changes"] = json!(crate::workflow::changes(&before.body.content, &next.body.content));
        if before.standing.state != next.standing.state {
            detail["state"] = json!({"before": before.standing.state, "after": next.standing.state});
        }
        if let Some(token) = &token {
            detail["token"] = token_detail(token);
        }
    }
    let token_id = match &token {
        Some(TokenChange::Issue(t)) => Some(t.jti.to_string()),
        Some(TokenChange::Update { jti, .. }) => Some(jti.to_string()),
        _ => None,
    };
    let change = DemandeChange {
        demande: next.record()?,
        people: next.people(),
        event: DemandeEvent {
            demande_id: next.id,
            seq: next.version,
            at: now,
            actor: ACTOR.into(),
            kind: n.event.as_str().into(),
            body: detail.to_string(),
        },
        outbox: Vec::new(),
        token,
    };
    Ok((change, token_id))
}

/// Whether `event` belongs to a reopening of the validated `local` copy.
fn in_reopening(local: &Demande, event: Wire) -> bool {
    local.standing.state == State::Validated && !matches!(event, Wire::Approve | Wire::Revoke | Wire::Archive)
}

/// A demande not written yet (version 0), for the DataPass demande of `n`.
fn blank(n: &Notification, now: DateTime<Utc>) -> Demande {
    Demande {
        id: Uuid::new_v4(),
        number: 0,
        bouquet: bouquet(n.bouquet).into(),
        form_id: format!("{FORM_PREFIX}{}", n.data.form_uid),
        siret: n.data.organization.siret.clone(),
        standing: Standing {
            state: State::Draft,
            reopening: false,
        },
        version: 0,
        body: Body {
            form_version: 0,
            applicant: applicant(n),
            organisation: None,
            address: None,
            content: Content::default(),
            token: None,
            habilitations: Vec::new(),
            unanswered: false,
            allowance: None,
            retired_tokens: Vec::new(),
            token_labels: Default::default(),
            delegated_tokens: Vec::new(),
        },
        created_at: now,
        updated_at: now,
        submitted_at: None,
        decided_at: None,
    }
}

fn applicant(n: &Notification) -> Agent {
    let a = &n.data.applicant;
    Agent {
        uid: a.uid.clone().unwrap_or_default(),
        email: a.email.trim().to_lowercase(),
        given_name: a.given_name.clone().unwrap_or_default(),
        family_name: a.family_name.clone().unwrap_or_default(),
        siret: n.data.organization.siret.clone(),
        phone: None,
        job_title: None,
    }
}

/// The form as DataPass holds it, and the scopes our catalogue does not know.
fn content(n: &Notification) -> (Content, Vec<String>) {
    let known = crate::known_scopes(bouquet(n.bouquet));
    let (scopes, dropped): (Vec<&str>, Vec<&str>) = n.data.scopes().into_iter().partition(|s| known.contains(s));
    let content = Content {
        fields: fields(&n.data.data),
        scopes: scopes.into_iter().map(String::from).collect(),
        modalities: n.data.modalities().into_iter().map(String::from).collect(),
        ..Content::default()
    };
    (content, dropped.into_iter().map(String::from).collect())
}

/// The text and number fields by wire key; lists (scopes, modalities) are read apart.
fn fields(data: &Map<String, Value>) -> std::collections::BTreeMap<String, String> {
    let text = |value: &Value| match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    data.iter()
        .filter_map(|(key, value)| Some((key.clone(), text(value)?)))
        .collect()
}

/// Copies DataPass's demande onto ours.
fn mirror(next: &mut Demande, n: &Notification, content: Content) {
    let at = fired_at(n);
    next.siret = n.data.organization.siret.clone();
    next.standing = Standing {
        state: state(n.data.state),
        reopening: false,
    };
    next.body.applicant = applicant(n);
    next.body.organisation = n.data.organization.name.clone();
    next.body.content = content;
    if next.submitted_at.is_none() && next.standing.state != State::Draft {
        next.submitted_at = Some(at);
    }
    if matches!(n.event, Wire::Approve | Wire::Refuse) {
        next.decided_at = Some(at);
    }
}

/// When the event happened in DataPass (reception time if `fired_at` is absurd).
fn fired_at(n: &Notification) -> DateTime<Utc> {
    DateTime::from_timestamp(n.fired_at, 0).unwrap_or_else(Utc::now)
}

/// What `event` does to the token and habilitations of `next` (already mirrored).
fn token_change(next: &mut Demande, event: Wire, now: DateTime<Utc>) -> Option<TokenChange> {
    match event {
        Wire::Approve => {
            let scopes: Vec<String> = next.body.content.scopes.iter().cloned().collect();
            for h in next.body.habilitations.iter_mut().filter(|h| h.state == "active") {
                h.state = "obsolete".into();
            }
            next.body.habilitations.push(Habilitation {
                id: Uuid::new_v4(),
                created_at: now,
                state: "active".into(),
                scopes: scopes.clone(),
                content: Some(next.body.content.clone()),
            });
            if issues_token(next) {
                Some(crate::workflow::approved_token(next, scopes, None, &[], now))
            } else {
                // An update that gives up calls with parameters ends the token it had.
                revoked(next, now)
            }
        }
        // Archived while in force: nothing may call with its token any more.
        Wire::Revoke | Wire::Archive => revoked(next, now),
        _ => None,
    }
}

/// The habilitation in force revoked, and its token with it.
fn revoked(next: &mut Demande, now: DateTime<Utc>) -> Option<TokenChange> {
    for h in next.body.habilitations.iter_mut().filter(|h| h.state == "active") {
        h.state = "revoked".into();
    }
    next.body.token.map(|jti| TokenChange::Revoke {
        jti,
        at: now,
        also: next.body.tokens_besides_main(),
    })
}

/// API Entreprise always gives a token; API Particulier when the applicant asked for
/// calls with parameters (not only the QF form or FranceConnect).
fn issues_token(d: &Demande) -> bool {
    d.bouquet != PARTICULIER || d.body.content.modalities.contains("params")
}

fn token_detail(token: &TokenChange) -> Value {
    match token {
        TokenChange::Issue(t) => json!({"issued": t.jti, "scopes": t.scopes, "expires_at": t.expires_at}),
        TokenChange::Update {
            jti,
            scopes,
            expires_at,
            ..
        } => json!({"updated": jti, "scopes": scopes, "expires_at": expires_at}),
        TokenChange::Revoke { jti, .. } => json!({"revoked": jti}),
        // DataPass never rotates nor restricts: its holders do, here.
        TokenChange::Rotate { new, old, .. } => json!({"rotated": old, "new": new.jti}),
        TokenChange::Restrict { jti, .. } => json!({"restricted": jti}),
    }
}
