//! INPI's login with two accounts. A JSON POST of an account's name and password
//! answers `{"token": "<JWT>", "user": …}`; the token is kept per account until ten
//! seconds before its `exp` claim (read without checking the signature: INPI's
//! business). Calls take the accounts in turn (round-robin: the load is shared evenly
//! and the tests can tell which account served, where the real gateway draws at
//! random). An account whose login answers 401 is set aside for `pause` (the real
//! gateway flags it for the cache store's 7 days, or until a restart) and the other is
//! tried; when neither logs in, the call is a maintenance (`34020`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::upstream::jwt_lifetime;

use super::{Failure, INPI_RNE};

/// One account's name, password, kept token and refusal mark.
pub struct Account {
    username: String,
    password: String,
    token: Mutex<Option<(String, Instant)>>,
    refused_until: std::sync::Mutex<Option<Instant>>,
}

impl Account {
    pub fn new(username: String, password: String) -> Self {
        Account {
            username,
            password,
            token: Mutex::new(None),
            refused_until: std::sync::Mutex::new(None),
        }
    }

    fn set_aside(&self) -> bool {
        let until = *self.refused_until.lock().expect("refusal mark");
        until.is_some_and(|until| Instant::now() < until)
    }

    fn mark_refused(&self, pause: Duration) {
        *self.refused_until.lock().expect("refusal mark") = Some(Instant::now() + pause);
    }
}

/// What a login gave: a token, or a refusal of the account (401).
enum Login {
    Token(String),
    Refused,
}

pub struct Accounts {
    url: reqwest::Url,
    accounts: Vec<Account>,
    next: AtomicUsize,
    pause: Duration,
    max_body_bytes: usize,
}

impl Accounts {
    pub fn new(url: reqwest::Url, accounts: Vec<Account>, pause: Duration, max_body_bytes: usize) -> Self {
        Accounts {
            url,
            accounts,
            next: AtomicUsize::new(0),
            pause,
            max_body_bytes,
        }
    }

    /// A token and the account it belongs to, from the account whose turn it is, or the
    /// other when that one is set aside or refused.
    pub async fn token(&self, client: &Upstream) -> Result<(usize, String), Failure> {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        for index in (0..self.accounts.len()).map(|i| (first + i) % self.accounts.len()) {
            let account = &self.accounts[index];
            if account.set_aside() {
                continue;
            }
            match self.account_token(client, account).await? {
                Login::Token(token) => return Ok((index, token)),
                Login::Refused => {
                    tracing::warn!(
                        provider = INPI_RNE.name,
                        account = index,
                        "INPI login refused, account set aside"
                    );
                    account.mark_refused(self.pause);
                }
            }
        }
        Err(Failure::AccountsRefused)
    }

    /// Forgets the token of account `index` (after INPI refused it).
    pub async fn forget(&self, index: usize) {
        if let Some(account) = self.accounts.get(index) {
            *account.token.lock().await = None;
        }
    }

    async fn account_token(&self, client: &Upstream, account: &Account) -> Result<Login, Failure> {
        let mut kept = account.token.lock().await;
        if let Some((token, until)) = kept.as_ref() {
            if Instant::now() < *until {
                return Ok(Login::Token(token.clone()));
            }
        }
        let login = self.log_in(client, account).await?;
        if let Login::Token(token) = &login {
            *kept = jwt_lifetime(token).map(|left| (token.clone(), Instant::now() + left));
        }
        Ok(login)
    }

    /// Only a 401 refuses the account; any other answer without a token is `34999`.
    async fn log_in(&self, client: &Upstream, account: &Account) -> Result<Login, Failure> {
        let request = client
            .post(self.url.clone())
            .json(&json!({"username": account.username, "password": account.password}));
        let (status, body) = http::send_and_read(client, INPI_RNE, request, self.max_body_bytes).await?;
        if status == StatusCode::UNAUTHORIZED {
            return Ok(Login::Refused);
        }
        let answer: Value = serde_json::from_slice(&body).map_err(|_| Failure::Unknown)?;
        match answer.get("token").and_then(Value::as_str) {
            Some(token) if !token.is_empty() => Ok(Login::Token(token.to_string())),
            _ => Err(Failure::Unknown),
        }
    }
}
