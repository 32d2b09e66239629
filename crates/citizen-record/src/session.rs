//! Sessions as signed cookies: the value is the session itself, HMAC-signed with a key
//! derived from the deployment's secret, so that every replica reads it without a
//! shared table. `HttpOnly`, `SameSite=Lax` (the login comes back by a top-level
//! redirect), `Secure` when the site is served over HTTPS, 30 minutes at most.

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use ring::hmac;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::login::Pending;
use crate::BASE;

pub const SESSION: &str = "passerelle_citoyen";
pub const LOGIN: &str = "passerelle_citoyen_connexion";
const SESSION_SECS: i64 = 30 * 60;
const LOGIN_SECS: i64 = 10 * 60;

/// A logged-in citizen: their lookup key, a name to greet them with, and the token
/// their forms must carry (CSRF).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub key: String,
    pub name: String,
    pub csrf: String,
    expires: i64,
}

#[derive(Serialize, Deserialize)]
struct Stamped<T> {
    value: T,
    expires: i64,
}

pub struct Sessions {
    key: hmac::Key,
    secure: bool,
}

impl Sessions {
    pub fn new(secret: &[u8], secure: bool) -> Sessions {
        // A key of its own: a session cookie can never be mistaken for a lookup key.
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            b"passerelle citizen sessions",
        );
        Sessions {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            secure,
        }
    }

    pub fn open(&self, key: String, name: String) -> (Session, String) {
        let session = Session {
            key,
            name,
            csrf: random_token(),
            expires: Utc::now().timestamp() + SESSION_SECS,
        };
        let cookie = self.cookie(SESSION, &self.seal(&session), SESSION_SECS);
        (session, cookie)
    }

    pub fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let session: Session = self.unseal(cookie(headers, SESSION)?)?;
        (session.expires > Utc::now().timestamp()).then_some(session)
    }

    pub fn pending_cookie(&self, pending: &Pending) -> String {
        let stamped = Stamped {
            value: pending,
            expires: Utc::now().timestamp() + LOGIN_SECS,
        };
        self.cookie(LOGIN, &self.seal(&stamped), LOGIN_SECS)
    }

    pub fn pending(&self, headers: &HeaderMap) -> Option<Pending> {
        let stamped: Stamped<Pending> = self.unseal(cookie(headers, LOGIN)?)?;
        (stamped.expires > Utc::now().timestamp()).then_some(stamped.value)
    }

    pub fn cleared(&self, name: &str) -> String {
        self.cookie(name, "", 0)
    }

    fn cookie(&self, name: &str, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{name}={value}; Path={BASE}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
    }

    fn seal<T: Serialize>(&self, value: &T) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("a session serializes"));
        let tag = hmac::sign(&self.key, body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    fn unseal<T: DeserializeOwned>(&self, sealed: &str) -> Option<T> {
        let (body, tag) = sealed.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.key, body.as_bytes(), &tag).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }
}

/// Whether `sent` is the session's form token (compared in constant time).
pub fn csrf_matches(session: &Session, sent: &str) -> bool {
    same(session.csrf.as_bytes(), sent.as_bytes())
}

/// Equal bytes, in a time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let pair = cookie.split(';').next().unwrap();
        h.insert(axum::http::header::COOKIE, HeaderValue::from_str(pair).unwrap());
        h
    }

    #[test]
    fn a_session_reads_back_and_a_forged_one_does_not() {
        let sessions = Sessions::new(&[7; 32], false);
        let (session, cookie) = sessions.open("ab".repeat(32), "Marie".into());
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"));
        let read = sessions.session(&headers(&cookie)).unwrap();
        assert_eq!((&read.key, &read.csrf), (&session.key, &session.csrf));
        assert!(csrf_matches(&read, &session.csrf) && !csrf_matches(&read, "x"));
        let other = Sessions::new(&[8; 32], true);
        assert!(other.session(&headers(&cookie)).is_none());
        let tampered = cookie.replacen("passerelle_citoyen=e", "passerelle_citoyen=f", 1);
        assert!(tampered == cookie || sessions.session(&headers(&tampered)).is_none());
        let (_, secure) = other.open("k".into(), "n".into());
        assert!(secure.contains("; Secure"));
    }

    #[test]
    fn a_login_in_progress_is_not_a_session() {
        let sessions = Sessions::new(&[7; 32], false);
        let pending = Pending {
            state: "s".into(),
            nonce: "n".into(),
        };
        let cookie = sessions.pending_cookie(&pending);
        let value = cookie.split(';').next().unwrap().replacen(LOGIN, SESSION, 1);
        assert!(sessions.session(&headers(&value)).is_none());
        assert_eq!(sessions.pending(&headers(&cookie)).unwrap().state, "s");
    }
}
