//! What each event does to a demande: the checks (state, role, reason, completeness),
//! then everything it writes as one `DemandeChange` — the demande at its next
//! version, its history event, the e-mails and webhooks to send, its token — which the
//! store commits in one transaction (the outbox pattern: nothing is sent for an event
//! that did not commit, nothing is lost when a process dies).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use passerelle_mail::{self as mail, Address, Lifecycle, Parties};
use passerelle_store::{
    DemandeChange, DemandeEvent, DemandePerson, DemandeRecord, OutboxItem, TokenChange, TokenRecord,
};
use passerelle_webhooks::outgoing::Envelope;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::content::{ContactKind, Content, Problem};
use crate::form::{Form, Step};
use crate::state::{decide, Event, Refusal, Role, Standing, State};

/// The longest reason or message, in characters.
pub const MAX_TEXT: usize = 5_000;

/// 18 months, a token's lifetime from each approval.
pub const TOKEN_DAYS: i64 = 548;

/// A public agent, as ProConnect vouches for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub uid: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    /// The agent's organisation.
    pub siret: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
}

impl Agent {
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name).trim().to_string()
    }

    fn address(&self) -> Address {
        Address::new(self.name(), self.email.clone())
    }
}

/// Who instructs which bouquet, and who administers the service: by e-mail, and,
/// when `sirets` is set, only when ProConnect vouches for the agent in one of those
/// organisations (an e-mail claim alone never makes an instructor).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Staff {
    pub instructors: BTreeMap<String, Vec<String>>,
    pub admins: Vec<String>,
    #[serde(default)]
    pub sirets: Vec<String>,
    /// Each data provider's people (provider id → e-mails), who read their provider's
    /// page. The staff organisations do not apply: they work for the provider.
    #[serde(default)]
    pub providers: BTreeMap<String, Vec<String>>,
}

impl Staff {
    /// Whether `email` is listed as an instructor of `bouquet` (for showing who acted).
    pub fn listed_instructor(&self, email: &str, bouquet: &str) -> bool {
        self.instructors
            .get(bouquet)
            .is_some_and(|list| list.iter().any(|e| e.eq_ignore_ascii_case(email)))
    }

    /// Whether `email` is listed as an admin (for showing who acted).
    pub fn listed_admin(&self, email: &str) -> bool {
        self.admins.iter().any(|e| e.eq_ignore_ascii_case(email))
    }

    fn trusted(&self, agent: &Agent) -> bool {
        self.sirets.is_empty() || self.sirets.contains(&agent.siret)
    }

    pub fn instructs(&self, agent: &Agent, bouquet: &str) -> bool {
        self.trusted(agent) && self.listed_instructor(&agent.email, bouquet)
    }

    pub fn is_admin(&self, agent: &Agent) -> bool {
        self.trusted(agent) && self.listed_admin(&agent.email)
    }

    /// Whether `agent` is listed among some provider's people.
    pub fn provider_staff(&self, agent: &Agent) -> bool {
        let listed = |list: &Vec<String>| list.iter().any(|e| e.eq_ignore_ascii_case(&agent.email));
        self.providers.values().any(listed)
    }

    /// Whether `agent` may read provider `provider`'s page: an admin, or one of its people.
    pub fn reads_provider(&self, agent: &Agent, provider: &str) -> bool {
        self.is_admin(agent)
            || self
                .providers
                .get(provider)
                .is_some_and(|list| list.iter().any(|e| e.eq_ignore_ascii_case(&agent.email)))
    }

    /// The bouquets `agent` instructs (every one for an admin).
    pub fn bouquets_of(&self, agent: &Agent) -> Vec<String> {
        let all = self.instructors.keys();
        all.filter(|b| self.instructs(agent, b) || self.is_admin(agent))
            .cloned()
            .collect()
    }
}

/// A validated copy of a demande; a later approval makes the previous one obsolete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Habilitation {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// `active`, `obsolete` or `revoked`.
    pub state: String,
    pub scopes: Vec<String>,
    /// The content approved (what a refused or abandoned update goes back to).
    #[serde(default)]
    pub content: Option<Content>,
}

/// What a demande keeps beyond its indexed columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    pub form_version: u32,
    pub applicant: Agent,
    pub organisation: Option<String>,
    /// The organisation's postal address, from INSEE Sirene.
    #[serde(default)]
    pub address: Option<String>,
    pub content: Content,
    pub token: Option<Uuid>,
    #[serde(default)]
    pub habilitations: Vec<Habilitation>,
    /// A message from the demande's side awaits the instructors (kept by each event,
    /// so the dashboard reads no history).
    #[serde(default)]
    pub unanswered: bool,
    /// What the instructor allowed at the first approval: the ceiling of the holders'
    /// own restrictions (none on demandes approved before it was kept: their token's
    /// restrictions at the first change are taken as the ceiling then).
    #[serde(default)]
    pub allowance: Option<Allowance>,
    /// Tokens replaced by a rotation, oldest first (`token` is the one in use).
    #[serde(default)]
    pub retired_tokens: Vec<Uuid>,
    /// The names their holders gave the tokens.
    #[serde(default)]
    pub token_labels: BTreeMap<Uuid, String>,
    /// Editors' delegated tokens that may still answer (`delegations`): revoked with
    /// the habilitation, given its new scopes on an update's approval.
    #[serde(default)]
    pub delegated_tokens: Vec<Uuid>,
}

impl Body {
    /// The tokens besides the main one that follow what the instructor decides: those
    /// a rotation replaced and the editors' delegated tokens.
    pub fn tokens_besides_main(&self) -> Vec<Uuid> {
        self.retired_tokens
            .iter()
            .chain(&self.delegated_tokens)
            .copied()
            .collect()
    }
}

/// The per-minute limit and client addresses an instructor set on approval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Allowance {
    pub rate_limit_per_minute: Option<u32>,
    pub allowed_ips: Vec<String>,
}

/// A demande read from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Demande {
    pub id: Uuid,
    pub number: i64,
    pub bouquet: String,
    pub form_id: String,
    pub siret: String,
    pub standing: Standing,
    pub version: i64,
    pub body: Body,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl Demande {
    pub fn read(record: DemandeRecord) -> anyhow::Result<Demande> {
        let state = State::parse(&record.state).ok_or_else(|| anyhow::anyhow!("unknown state {}", record.state))?;
        Ok(Demande {
            id: record.id,
            number: record.number,
            bouquet: record.bouquet,
            form_id: record.form_id,
            siret: record.siret,
            standing: Standing {
                state,
                reopening: record.reopening,
            },
            version: record.version,
            body: serde_json::from_str(&record.body)?,
            created_at: record.created_at,
            updated_at: record.updated_at,
            submitted_at: record.submitted_at,
            decided_at: record.decided_at,
        })
    }

    /// Whether DataPass instructs it (it came through DataPass's webhook): shown here,
    /// changed there.
    pub fn managed_by_datapass(&self) -> bool {
        self.form_id.starts_with(crate::datapass::FORM_PREFIX)
    }

    /// A token's name: the one its holders gave, or what it is to the demande.
    pub fn token_label(&self, jti: Uuid) -> String {
        match self.body.token_labels.get(&jti) {
            Some(label) => label.clone(),
            None if self.body.token == Some(jti) => "Jeton principal".into(),
            None => "Ancien jeton".into(),
        }
    }

    pub fn title(&self) -> &str {
        match self.body.content.field("intitule") {
            "" => "Demande sans intitulé",
            title => title,
        }
    }

    /// The roles `agent` holds on this demande. The applicant's rights need the
    /// organisation too: an e-mail alone never acts for another organisation.
    pub fn roles(&self, agent: &Agent, staff: &Staff) -> Vec<Role> {
        let mut roles = Vec::new();
        let email = agent.email.to_lowercase();
        if self.body.applicant.email.eq_ignore_ascii_case(&email) && agent.siret == self.siret {
            roles.push(Role::Applicant);
        }
        if ContactKind::of(&self.bouquet)
            .iter()
            .any(|k| self.body.content.contact_email(*k).as_deref() == Some(&email))
        {
            roles.push(Role::Contact);
        }
        if staff.instructs(agent, &self.bouquet) {
            roles.push(Role::Instructor);
        }
        if staff.is_admin(agent) {
            roles.push(Role::Admin);
        }
        roles
    }

    /// Whether `agent` may read the demande: its organisation's members, its people,
    /// its bouquet's instructors, the admins.
    pub fn visible_to(&self, agent: &Agent, staff: &Staff) -> bool {
        agent.siret == self.siret || !self.roles(agent, staff).is_empty()
    }

    /// Whether `agent` may change the demande's fields and documents now.
    pub fn editable_by(&self, agent: &Agent, staff: &Staff) -> bool {
        !self.managed_by_datapass()
            && self.standing.state.editable()
            && self.roles(agent, staff).contains(&Role::Applicant)
    }

    /// Whether `agent` may see the token (§d.3: the applicant and the technical
    /// contact; never the business contact, never an admin).
    pub fn may_see_token(&self, agent: &Agent, staff: &Staff) -> bool {
        let roles = self.roles(agent, staff);
        let technique = self.body.content.contact_email(ContactKind::ContactTechnique);
        roles.contains(&Role::Applicant) || technique.is_some_and(|t| t.eq_ignore_ascii_case(&agent.email))
    }

    /// The applicant and the contacts the bouquet's forms name, by e-mail.
    pub(crate) fn people(&self) -> Vec<DemandePerson> {
        let mut people = vec![DemandePerson {
            email: self.body.applicant.email.to_lowercase(),
            role: "applicant".into(),
        }];
        for kind in ContactKind::of(&self.bouquet) {
            if let Some(email) = self.body.content.contact_email(*kind) {
                people.push(DemandePerson {
                    email,
                    role: kind.key().into(),
                });
            }
        }
        people.sort_by(|a, b| (&a.email, &a.role).cmp(&(&b.email, &b.role)));
        people.dedup();
        people
    }

    pub(crate) fn record(&self) -> anyhow::Result<DemandeRecord> {
        Ok(DemandeRecord {
            id: self.id,
            number: self.number,
            bouquet: self.bouquet.clone(),
            form_id: self.form_id.clone(),
            siret: self.siret.clone(),
            state: self.standing.state.as_str().into(),
            reopening: self.standing.reopening,
            version: self.version,
            body: serde_json::to_string(&self.body)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            submitted_at: self.submitted_at,
            decided_at: self.decided_at,
        })
    }
}

/// What an agent asks for.
#[derive(Debug, Clone)]
pub enum Action {
    Update {
        fields: BTreeMap<String, String>,
        scopes: BTreeSet<String>,
        modalities: BTreeSet<String>,
    },
    /// A legal-basis document was stored; it joins the demande.
    AttachDocument(crate::content::Document),
    RemoveDocument(Uuid),
    Submit {
        terms_accepted: bool,
        dpo_informed: bool,
    },
    RequestChanges(String),
    Approve {
        message: Option<String>,
        rate_limit_per_minute: Option<u32>,
        allowed_ips: Vec<String>,
    },
    Refuse(String),
    Revoke(String),
    Archive,
    Reopen,
    CancelReopening,
    Transfer(String),
    Message(String),
}

impl Action {
    fn event(&self) -> Event {
        match self {
            Action::Update { .. } | Action::AttachDocument(_) | Action::RemoveDocument(_) => Event::Update,
            Action::Submit { .. } => Event::Submit,
            Action::RequestChanges(_) => Event::RequestChanges,
            Action::Approve { .. } => Event::Approve,
            Action::Refuse(_) => Event::Refuse,
            Action::Revoke(_) => Event::Revoke,
            Action::Archive => Event::Archive,
            Action::Reopen => Event::Reopen,
            Action::CancelReopening => Event::CancelReopening,
            Action::Transfer(_) => Event::Transfer,
            Action::Message(_) => Event::Message,
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Action::RequestChanges(r) | Action::Refuse(r) | Action::Revoke(r) | Action::Message(r) => Some(r),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("la demande est incomplète")]
    Incomplete(Vec<Problem>),
    #[error("{0}")]
    Invalid(String),
}

/// What the letters and webhooks need to know about the service.
#[derive(Debug, Clone)]
pub struct Site {
    /// The habilitation site's address, without a trailing slash.
    pub base_url: String,
    pub staff: Staff,
    /// Integrators' webhooks: name → events (none: every event).
    pub webhooks: Vec<WebhookTarget>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookTarget {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub events: Vec<String>,
    /// The bouquets whose demandes it follows (none: all).
    #[serde(default)]
    pub bouquets: Vec<String>,
}

/// An organisation as INSEE Sirene names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub name: String,
    pub address: String,
}

/// A new draft from `form`, filed by `agent` for their organisation.
pub fn create(
    form: &Form,
    agent: &Agent,
    organisation: Option<Organisation>,
    now: DateTime<Utc>,
) -> anyhow::Result<(Demande, DemandeChange)> {
    let demande = Demande {
        id: Uuid::new_v4(),
        number: 0,
        bouquet: form.bouquet.clone(),
        form_id: form.id.clone(),
        siret: agent.siret.clone(),
        standing: Standing {
            state: State::Draft,
            reopening: false,
        },
        version: 1,
        body: Body {
            form_version: form.version,
            applicant: agent.clone(),
            address: organisation
                .as_ref()
                .map(|o| o.address.clone())
                .filter(|a| !a.is_empty()),
            organisation: organisation.map(|o| o.name),
            content: Content::from_form(form),
            token: None,
            habilitations: Vec::new(),
            unanswered: false,
            allowance: None,
            retired_tokens: Vec::new(),
            token_labels: BTreeMap::new(),
            delegated_tokens: Vec::new(),
        },
        created_at: now,
        updated_at: now,
        submitted_at: None,
        decided_at: None,
    };
    let event = event(
        &demande,
        agent,
        Event::Create,
        json!({"form": form.id, "form_version": form.version}),
    );
    let change = DemandeChange {
        demande: demande.record()?,
        people: demande.people(),
        event,
        outbox: Vec::new(),
        token: None,
    };
    Ok((demande, change))
}

/// `action` by `actor` on `demande`: refused, or everything it writes.
pub fn act(
    demande: &Demande,
    form: &Form,
    actor: &Agent,
    action: Action,
    site: &Site,
    now: DateTime<Utc>,
) -> Result<(Demande, DemandeChange), ActError> {
    if demande.managed_by_datapass() {
        return Err(ActError::Invalid(
            "Cette demande est instruite dans DataPass : elle s'y modifie, pas ici.".into(),
        ));
    }
    if action.reason().is_some_and(|r| r.chars().count() > MAX_TEXT) {
        return Err(ActError::Invalid(format!(
            "Un message compte au plus {MAX_TEXT} caractères."
        )));
    }
    let roles = demande.roles(actor, &site.staff);
    let event_kind = action.event();
    let to = decide(event_kind, demande.standing, &roles, action.reason())?;
    let mut next = demande.clone();
    next.standing = to;
    next.version += 1;
    next.updated_at = now;
    let mut detail = json!({});
    let mut token = None;
    let mut lifecycle = None;
    match &action {
        Action::Update {
            fields,
            scopes,
            modalities,
        } => {
            next.body
                .content
                .edit(form, fields.clone(), scopes.clone(), modalities.clone());
            detail = json!({"changes": changes(&demande.body.content, &next.body.content)});
        }
        Action::AttachDocument(document) => {
            if form.locks(Step::Legal) {
                return Err(ActError::Invalid(
                    "Le cadre juridique de ce formulaire est fixé.".into(),
                ));
            }
            if next.body.content.documents.len() >= crate::content::MAX_DOCUMENTS {
                return Err(ActError::Invalid(format!(
                    "Au plus {} documents peuvent être joints.",
                    crate::content::MAX_DOCUMENTS
                )));
            }
            next.body.content.documents.push(document.clone());
            detail = json!({"document": document.filename, "sha256": document.sha256});
        }
        Action::RemoveDocument(id) => {
            let before = next.body.content.documents.len();
            next.body.content.documents.retain(|d| d.id != *id);
            if before == next.body.content.documents.len() {
                return Err(ActError::Invalid("Ce document n'est pas joint à la demande.".into()));
            }
            detail = json!({"document_removed": id});
        }
        Action::Submit {
            terms_accepted,
            dpo_informed,
        } => {
            next.body.content.terms_accepted = *terms_accepted;
            next.body.content.dpo_informed = *dpo_informed;
            let problems = next.body.content.problems(form, &crate::known_scopes(&demande.bouquet));
            if !problems.is_empty() {
                return Err(ActError::Incomplete(problems));
            }
            let resubmission = demande.standing.state == State::ChangesRequested;
            // Each round (the first filing, an update) is timed from its first submission.
            next.submitted_at = match demande.standing.state {
                State::Draft => Some(now),
                _ => demande.submitted_at.or(Some(now)),
            };
            lifecycle = Some(Lifecycle::Submitted {
                resubmission,
                reopening: to.reopening,
            });
        }
        Action::RequestChanges(reason) => {
            detail = json!({"reason": reason});
            lifecycle = Some(Lifecycle::ChangesRequested {
                reason: reason.clone(),
                reopening: to.reopening,
            });
        }
        Action::Approve {
            message,
            rate_limit_per_minute,
            allowed_ips,
        } => {
            let problems = next.body.content.problems(form, &crate::known_scopes(&demande.bouquet));
            if !problems.is_empty() {
                return Err(ActError::Incomplete(problems));
            }
            next.decided_at = Some(now);
            let scopes: Vec<String> = next.body.content.scopes.iter().cloned().collect();
            for h in next.body.habilitations.iter_mut().filter(|h| h.state == "active") {
                h.state = "obsolete".into();
            }
            let habilitation = Habilitation {
                id: Uuid::new_v4(),
                created_at: now,
                state: "active".into(),
                scopes: scopes.clone(),
                content: Some(next.body.content.clone()),
            };
            next.body.habilitations.push(habilitation.clone());
            let first = demande.body.token.is_none();
            token = Some(approved_token(
                &mut next,
                scopes,
                *rate_limit_per_minute,
                allowed_ips,
                now,
            ));
            detail = json!({"message": message, "habilitation": habilitation, "frozen": next.body.content});
            lifecycle = Some(Lifecycle::Approved {
                first,
                message: message.clone(),
            });
        }
        Action::Refuse(reason) => {
            if demande.standing.reopening {
                restore_in_force(&mut next);
            }
            next.decided_at = Some(now);
            detail = json!({"reason": reason});
            lifecycle = Some(Lifecycle::Refused {
                reason: reason.clone(),
                reopening: demande.standing.reopening,
            });
        }
        Action::Revoke(reason) => {
            for h in next.body.habilitations.iter_mut().filter(|h| h.state == "active") {
                h.state = "revoked".into();
            }
            token = next.body.token.map(|jti| TokenChange::Revoke {
                jti,
                at: now,
                also: next.body.tokens_besides_main(),
            });
            detail = json!({"reason": reason});
            lifecycle = Some(Lifecycle::Revoked { reason: reason.clone() });
        }
        Action::CancelReopening => restore_in_force(&mut next),
        Action::Archive | Action::Reopen => {}
        Action::Transfer(email) => {
            let email = email.trim().to_lowercase();
            if !crate::content::email_address(&email) || email.eq_ignore_ascii_case(&demande.body.applicant.email) {
                return Err(ActError::Invalid("Indiquez l'adresse du nouveau demandeur.".into()));
            }
            let from = demande.body.applicant.address();
            next.body.applicant = Agent {
                uid: String::new(),
                email: email.clone(),
                given_name: String::new(),
                family_name: String::new(),
                siret: demande.siret.clone(),
                phone: None,
                job_title: None,
            };
            detail = json!({"from": from.email, "to": email});
            lifecycle = Some(Lifecycle::Transferred {
                from,
                to: Address::new(String::new(), email),
            });
        }
        Action::Message(text) => {
            detail = json!({"message": text});
            let by_instructor = roles.contains(&Role::Instructor) || roles.contains(&Role::Admin);
            lifecycle = Some(Lifecycle::MessagePosted {
                by_instructor,
                excerpt: text.chars().take(280).collect(),
            });
        }
    }
    let by_staff = roles.contains(&Role::Instructor) || roles.contains(&Role::Admin);
    if by_staff {
        next.body.unanswered = false;
    } else if event_kind == Event::Message {
        next.body.unanswered = true;
    }
    let record = next.record().map_err(|e| ActError::Invalid(e.to_string()))?;
    let mut outbox = Vec::new();
    if let Some(lifecycle) = lifecycle {
        outbox.extend(letters(&next, &lifecycle, site, now));
    }
    outbox.extend(webhooks(&next, event_kind, site, now));
    let change = DemandeChange {
        demande: record,
        people: next.people(),
        event: event(&next, actor, event_kind, detail),
        outbox,
        token,
    };
    Ok((next, change))
}

/// An abandoned or refused update: the demande says again what was approved.
fn restore_in_force(next: &mut Demande) {
    let approved = next.body.habilitations.iter().rev().find(|h| h.state == "active");
    if let Some(content) = approved.and_then(|h| h.content.clone()) {
        next.body.content = content;
    }
}

/// The token of an approval: a new one on the first, the same one (same string)
/// with the new scopes and 18 more months on a reopening's.
pub(crate) fn approved_token(
    next: &mut Demande,
    scopes: Vec<String>,
    rate_limit_per_minute: Option<u32>,
    allowed_ips: &[String],
    now: DateTime<Utc>,
) -> TokenChange {
    let expires_at = now + Duration::days(TOKEN_DAYS);
    if let Some(jti) = next.body.token {
        return TokenChange::Update {
            jti,
            scopes,
            expires_at,
            also: next.body.tokens_besides_main(),
        };
    }
    let jti = Uuid::new_v4();
    next.body.token = Some(jti);
    next.body.allowance = Some(Allowance {
        rate_limit_per_minute,
        allowed_ips: allowed_ips.to_vec(),
    });
    TokenChange::Issue(TokenRecord {
        jti,
        name: next.title().to_string(),
        siret: next.siret.clone(),
        bouquet: next.bouquet.clone(),
        scopes,
        issued_at: now,
        expires_at,
        revoked_at: None,
        rate_limit_per_minute,
        allowed_ips: allowed_ips.to_vec(),
        dpo_email: next.body.content.contact_email(ContactKind::DelegueProtectionDonnees),
    })
}

fn event(demande: &Demande, actor: &Agent, kind: Event, detail: serde_json::Value) -> DemandeEvent {
    DemandeEvent {
        demande_id: demande.id,
        seq: demande.version,
        at: demande.updated_at,
        actor: actor.email.to_lowercase(),
        kind: kind.as_str().into(),
        body: detail.to_string(),
    }
}

/// What changed between two contents, field by field (for the history).
pub(crate) fn changes(before: &Content, after: &Content) -> Vec<serde_json::Value> {
    let keys: BTreeSet<&String> = before.fields.keys().chain(after.fields.keys()).collect();
    let mut changed: Vec<serde_json::Value> = keys
        .into_iter()
        .filter(|k| before.field(k) != after.field(k))
        .map(|k| json!({"field": k, "before": before.field(k), "after": after.field(k)}))
        .collect();
    if before.scopes != after.scopes {
        changed.push(json!({"field": "scopes", "before": before.scopes, "after": after.scopes}));
    }
    if before.modalities != after.modalities {
        changed.push(json!({"field": "modalities", "before": before.modalities, "after": after.modalities}));
    }
    changed
}

fn person(content: &Content, kind: ContactKind) -> Option<Address> {
    let email = content.contact_email(kind)?;
    let part = |p: &str| content.field(&format!("{}_{p}", kind.key())).to_string();
    Some(Address::new(
        format!("{} {}", part("given_name"), part("family_name")).trim(),
        email,
    ))
}

/// The e-mails of `lifecycle`, each an outbox item.
/// Everyone a letter about `demande` may go to.
pub fn parties(demande: &Demande, site: &Site) -> Parties {
    let content = &demande.body.content;
    let instructors = site
        .staff
        .instructors
        .get(&demande.bouquet)
        .cloned()
        .unwrap_or_default();
    Parties {
        demandeur: demande.body.applicant.address(),
        technique: person(content, ContactKind::ContactTechnique),
        metier: person(content, ContactKind::ContactMetier),
        dpo: person(content, ContactKind::DelegueProtectionDonnees),
        responsable_traitement: person(content, ContactKind::ResponsableTraitement),
        instructors: instructors
            .iter()
            .map(|e| Address::new(String::new(), e.clone()))
            .collect(),
        reporters: Vec::new(),
    }
}

/// What letters about `demande` name and link to.
pub fn mail_context(demande: &Demande, site: &Site, expires_on: Option<chrono::NaiveDate>) -> mail::Context {
    let url = format!("{}/demandes/{}", site.base_url, demande.id);
    mail::Context {
        bouquet_label: bouquet_label(&demande.bouquet).into(),
        bouquet: if demande.bouquet == "entreprise" {
            mail::Bouquet::Entreprise
        } else {
            mail::Bouquet::Particulier
        },
        demande_title: demande.title().into(),
        demande_number: demande.number.max(0) as u64,
        token_url: format!("{url}/jeton"),
        demande_url: url,
        portal_url: site.base_url.clone(),
        expires_on,
    }
}

pub(crate) fn letters(demande: &Demande, lifecycle: &Lifecycle, site: &Site, now: DateTime<Utc>) -> Vec<OutboxItem> {
    let (parties, ctx) = (parties(demande, site), mail_context(demande, site, None));
    mail::letters(lifecycle, &parties, &ctx)
        .iter()
        // One letter per person: a refused address loses no one else's letter.
        .flat_map(mail::Letter::each_recipient)
        .map(|letter| {
            OutboxItem::new(
                "mail",
                serde_json::to_string(&letter).expect("a letter serializes"),
                now,
            )
        })
        .collect()
}

/// The webhook deliveries of `event`: the payload is built now, at event time, and
/// kept as is for every retry and replay.
fn webhooks(demande: &Demande, event: Event, site: &Site, now: DateTime<Utc>) -> Vec<OutboxItem> {
    let follows = |t: &WebhookTarget| {
        (t.events.is_empty() || t.events.iter().any(|e| e == event.as_str()))
            && (t.bouquets.is_empty() || t.bouquets.contains(&demande.bouquet))
    };
    let data = json!({
        "id": demande.id,
        "number": demande.number,
        "bouquet": demande.bouquet,
        "form": demande.form_id,
        "state": demande.standing.state.as_str(),
        "reopening": demande.standing.reopening,
        "siret": demande.siret,
        "intitule": demande.title(),
        "scopes": demande.body.content.scopes,
        "token_id": demande.body.token,
    });
    site.webhooks
        .iter()
        .filter(|t| follows(t))
        .map(|t| {
            let envelope = Envelope {
                id: Uuid::new_v4(),
                event: event.as_str().into(),
                occurred_at: now,
                data: data.clone(),
            };
            let body = json!({"target": t.name, "envelope": envelope});
            OutboxItem::new("webhook", body.to_string(), now)
        })
        .collect()
}

pub fn bouquet_label(bouquet: &str) -> &'static str {
    match bouquet {
        "entreprise" => "API Entreprise",
        _ => "API Particulier",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::form::Forms;

    pub(crate) fn agent(email: &str, siret: &str) -> Agent {
        Agent {
            uid: email.into(),
            email: email.into(),
            given_name: "Camille".into(),
            family_name: "Martin".into(),
            siret: siret.into(),
            phone: None,
            job_title: None,
        }
    }

    pub(crate) const TOWN: &str = "21349910600010";

    pub(crate) fn site() -> Site {
        Site {
            base_url: "http://127.0.0.1:3000/habilitation".into(),
            staff: Staff {
                sirets: Vec::new(),
                instructors: BTreeMap::from([("particulier".into(), vec!["nadia@numerique.example".into()])]),
                admins: vec!["elise@numerique.example".into()],
                providers: BTreeMap::new(),
            },
            webhooks: vec![WebhookTarget {
                name: "crm".into(),
                url: "https://crm.example/hook".into(),
                events: vec!["approve".into()],
                bouquets: vec![],
            }],
        }
    }

    pub(crate) fn filled(form: &Form) -> Action {
        let mut fields = BTreeMap::from([
            ("intitule".to_string(), "Cantine".to_string()),
            (
                "cadre_juridique_url".into(),
                "https://ville.example/deliberation.pdf".into(),
            ),
        ]);
        for kind in ContactKind::of(&form.bouquet) {
            for (part, value) in [
                ("given_name", "Karim"),
                ("family_name", "Benali"),
                ("email", "karim@ville.example"),
                ("phone_number", "0123456789"),
                ("job_title", "DSI"),
            ] {
                fields.insert(format!("{}_{part}", kind.key()), value.into());
            }
        }
        Action::Update {
            fields,
            scopes: BTreeSet::new(),
            modalities: BTreeSet::from(["params".to_string()]),
        }
    }

    pub(crate) fn submit() -> Action {
        Action::Submit {
            terms_accepted: true,
            dpo_informed: true,
        }
    }

    #[test]
    fn from_draft_to_token_and_back() {
        let forms = Forms::built_in(crate::known_scopes).unwrap();
        let form = forms.get("api-particulier-editeur-restauscol").unwrap();
        let (camille, nadia) = (
            agent("camille@ville.example", TOWN),
            agent("nadia@numerique.example", "13002526500013"),
        );
        let site = site();
        let now = Utc::now();
        let (d, change) = create(form, &camille, None, now).unwrap();
        assert_eq!(change.demande.version, 1);
        let (d, _) = act(&d, form, &camille, filled(form), &site, now).unwrap();
        let (d, change) = act(&d, form, &camille, submit(), &site, now).unwrap();
        assert_eq!(d.standing.state, State::Submitted);
        let mails = change.outbox.iter().filter(|i| i.channel == "mail").count();
        assert_eq!(mails, 2, "one receipt, one letter to the instructor");
        assert!(matches!(
            act(
                &d,
                form,
                &camille,
                Action::Approve {
                    message: None,
                    rate_limit_per_minute: None,
                    allowed_ips: vec![]
                },
                &site,
                now
            ),
            Err(ActError::Refused(_))
        ));

        let approve = || Action::Approve {
            message: None,
            rate_limit_per_minute: Some(120),
            allowed_ips: vec!["192.0.2.0/24".into()],
        };
        let (d, change) = act(&d, form, &nadia, approve(), &site, now).unwrap();
        let Some(TokenChange::Issue(token)) = &change.token else {
            panic!("a token")
        };
        assert_eq!(token.scopes, ["cnaf_allocataires", "cnaf_quotient_familial"]);
        assert_eq!(
            (token.rate_limit_per_minute, token.dpo_email.as_deref()),
            (Some(120), Some("karim@ville.example"))
        );
        assert_eq!(change.outbox.iter().filter(|i| i.channel == "webhook").count(), 1);

        // A reopening's approval keeps the token string.
        let (d, _) = act(&d, form, &camille, Action::Reopen, &site, now).unwrap();
        let (d, _) = act(&d, form, &camille, submit(), &site, now).unwrap();
        let (d, change) = act(&d, form, &nadia, approve(), &site, now).unwrap();
        assert!(matches!(change.token, Some(TokenChange::Update { jti, .. }) if jti == token.jti));
        assert_eq!(
            d.body
                .habilitations
                .iter()
                .map(|h| h.state.as_str())
                .collect::<Vec<_>>(),
            ["obsolete", "active"]
        );

        let (_, change) = act(&d, form, &nadia, Action::Revoke("fin du marché".into()), &site, now).unwrap();
        assert!(matches!(change.token, Some(TokenChange::Revoke { jti, .. }) if jti == token.jti));
    }

    #[test]
    fn an_incomplete_demande_is_not_submitted() {
        let forms = Forms::built_in(crate::known_scopes).unwrap();
        let form = forms.get("api-particulier-libre").unwrap();
        let camille = agent("camille@ville.example", TOWN);
        let (d, _) = create(form, &camille, None, Utc::now()).unwrap();
        let Err(ActError::Incomplete(problems)) = act(&d, form, &camille, submit(), &site(), Utc::now()) else {
            panic!("incomplete")
        };
        assert!(problems.iter().any(|p| p.field == "intitule"));
    }

    #[test]
    fn staff_roles_need_the_staff_organisation_too() {
        let mut staff = site().staff;
        staff.sirets = vec!["13002526500013".into()];
        let at_dinum = agent("nadia@numerique.example", "13002526500013");
        let elsewhere = agent("nadia@numerique.example", TOWN);
        assert!(staff.instructs(&at_dinum, "particulier"));
        assert!(
            !staff.instructs(&elsewhere, "particulier"),
            "an e-mail claim alone is not enough"
        );
        assert!(staff.bouquets_of(&elsewhere).is_empty());
    }

    #[test]
    fn the_same_email_in_another_organisation_is_not_the_applicant() {
        let forms = Forms::built_in(crate::known_scopes).unwrap();
        let form = forms.get("api-particulier-libre").unwrap();
        let camille = agent("camille@ville.example", TOWN);
        let (d, _) = create(form, &camille, None, Utc::now()).unwrap();
        let elsewhere = agent("camille@ville.example", "21359920200016");
        assert!(d.roles(&elsewhere, &site().staff).is_empty());
        assert!(!d.visible_to(&elsewhere, &site().staff));
        assert!(act(&d, form, &elsewhere, Action::Archive, &site(), Utc::now()).is_err());
        assert!(
            d.visible_to(&agent("karim@ville.example", TOWN), &site().staff),
            "a colleague reads it"
        );
    }
}
