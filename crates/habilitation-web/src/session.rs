//! Sessions kept in the store, so that every replica reads them: the cookie holds a
//! random 256-bit id, the store its SHA-256 (a stolen table opens no session). The
//! cookie is `HttpOnly`, `SameSite=Lax` (ProConnect comes back by a top-level
//! redirect) and `Secure` over HTTPS; a login gets a new id (no fixation); every form
//! carries the session's CSRF token. An admin may see the site as another agent
//! (read-only impersonation): the session then holds that agent, and the admin
//! behind it, for an hour at most.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use passerelle_habilitation::workflow::Agent;
use passerelle_store::{Store, WebSession};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::login::Pending;

pub const COOKIE: &str = "passerelle_habilitation";
const LOGGED_IN_HOURS: i64 = 8;
const LOGGING_IN_MINUTES: i64 = 15;
const IMPERSONATING_MINUTES: i64 = 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    #[serde(skip)]
    pub id: String,
    pub csrf: String,
    pub agent: Option<Agent>,
    pub pending: Option<Pending>,
    /// Set while an admin sees the site as `agent`.
    #[serde(default)]
    pub impersonation: Option<Impersonation>,
    /// When the stored session ends (none before it is first stored): saving it again
    /// never pushes this back.
    #[serde(skip)]
    expires_at: Option<DateTime<Utc>>,
}

/// Who is really behind a session that shows the site as another agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Impersonation {
    pub admin: Agent,
}

impl Session {
    /// The admin behind the session, while they see the site as another agent.
    pub fn impersonator(&self) -> Option<&Agent> {
        self.impersonation.as_ref().map(|i| &i.admin)
    }

    /// The session's agent becomes `target`; the admin is kept aside.
    pub fn impersonate(&mut self, target: Agent) {
        if let Some(admin) = self.agent.replace(target) {
            self.impersonation = Some(Impersonation { admin });
        }
    }

    /// Back to the admin; the agent who was shown, if one was.
    pub fn stop_impersonating(&mut self) -> Option<Agent> {
        let impersonation = self.impersonation.take()?;
        self.agent.replace(impersonation.admin)
    }
}

pub struct Sessions {
    store: Arc<dyn Store>,
    secure: bool,
    path: String,
}

impl Sessions {
    pub fn new(store: Arc<dyn Store>, secure: bool, path: &str) -> Sessions {
        Sessions {
            store,
            secure,
            path: path.into(),
        }
    }

    /// The session the request's cookie names, if it is alive.
    pub async fn current(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, COOKIE)?;
        let kept = self.store.session(&hash(id), Utc::now()).await.ok()??;
        let mut session: Session = serde_json::from_str(&kept.body).ok()?;
        session.id = id.to_string();
        session.expires_at = Some(kept.expires_at);
        Some(session)
    }

    /// A new session (a new id), stored; returns it with its cookie.
    pub async fn open(&self, agent: Option<Agent>, pending: Option<Pending>) -> anyhow::Result<(Session, String)> {
        let session = Session {
            id: random(),
            csrf: random(),
            agent,
            pending,
            impersonation: None,
            expires_at: None,
        };
        self.save(&session).await?;
        let cookie = self.cookie(&session.id, lifetime(&session).num_seconds());
        Ok((session, cookie))
    }

    /// Stores `session` (see `ends_at`): seeing the site as an agent and coming back
    /// never lengthens an admin's session.
    pub async fn save(&self, session: &Session) -> anyhow::Result<()> {
        let kept = WebSession {
            id_hash: hash(&session.id),
            body: serde_json::to_string(session)?,
            expires_at: ends_at(session, Utc::now()),
        };
        self.store.put_session(&kept).await
    }

    pub async fn close(&self, session: &Session) -> anyhow::Result<String> {
        self.store.drop_session(&hash(&session.id)).await?;
        Ok(self.cookie("", 0))
    }

    fn cookie(&self, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{COOKIE}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.path
        )
    }
}

fn lifetime(session: &Session) -> Duration {
    match session.agent {
        // Seeing the site as someone else ends the whole session within the hour.
        Some(_) if session.impersonation.is_some() => Duration::minutes(IMPERSONATING_MINUTES),
        Some(_) => Duration::hours(LOGGED_IN_HOURS),
        None => Duration::minutes(LOGGING_IN_MINUTES),
    }
}

/// When `session`, saved at `now`, ends: its lifetime from now, never later than the
/// end it had.
fn ends_at(session: &Session, now: DateTime<Utc>) -> DateTime<Utc> {
    let fresh = now + lifetime(session);
    session.expires_at.map_or(fresh, |end| end.min(fresh))
}

/// Whether `sent` is the session's form token (compared in constant time).
pub fn csrf_matches(session: &Session, sent: &str) -> bool {
    same(session.csrf.as_bytes(), sent.as_bytes())
}

/// Equal bytes, compared in a time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn random() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(email: &str) -> Agent {
        Agent {
            uid: email.into(),
            email: email.into(),
            given_name: "Élise".into(),
            family_name: "Moreau".into(),
            siret: "13002526500013".into(),
            phone: None,
            job_title: None,
        }
    }

    #[test]
    fn seeing_the_site_as_an_agent_and_coming_back_never_lengthens_the_session() {
        let now = Utc::now();
        let mut session = Session {
            id: random(),
            csrf: random(),
            agent: Some(agent("elise@numerique.example")),
            pending: None,
            impersonation: None,
            expires_at: None,
        };
        let logged_in = ends_at(&session, now);
        assert_eq!(logged_in, now + Duration::hours(LOGGED_IN_HOURS));
        session.expires_at = Some(logged_in);

        session.impersonate(agent("karim@ville.example"));
        let impersonating = ends_at(&session, now);
        assert_eq!(impersonating, now + Duration::minutes(IMPERSONATING_MINUTES));
        session.expires_at = Some(impersonating);

        assert!(session.stop_impersonating().is_some());
        let later = now + Duration::minutes(30);
        assert_eq!(ends_at(&session, later), impersonating, "no fresh eight hours");
    }
}
