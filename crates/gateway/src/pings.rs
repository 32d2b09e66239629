//! Provider health: `GET /api/pings` lists the checks, `GET /api/<provider>/ping` runs
//! one against the real upstream (5 s at most; an `ok` is kept a minute).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use passerelle_bouquet::{Health, Provider};
use serde_json::{json, Value};

use crate::maintenance::{self, MaintenanceWindow};

const CHECK_BUDGET: Duration = Duration::from_secs(5);
const OK_KEPT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    BadGateway,
    Unknown,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::BadGateway => "bad_gateway",
            Status::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Copy)]
struct Entry {
    status: Status,
    last_update: DateTime<Utc>,
    last_ok: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct Pings {
    entries: Mutex<HashMap<String, Entry>>,
}

/// HTTP status and body of a ping answer.
pub type Answer = (u16, Value);

impl Pings {
    pub async fn check(&self, name: &str, provider: &dyn Provider, maintenance: &[MaintenanceWindow]) -> Answer {
        let now = Utc::now();
        let previous = self.entries.lock().expect("pings").get(name).copied();
        let last_ok = previous.and_then(|e| e.last_ok);
        if let Some(until) = maintenance::whole_provider_until(maintenance, name, provider, now) {
            let body = json!({"status": "maintenance", "until": until.to_rfc3339(), "last_update": now.to_rfc3339(), "last_ok_status": last_ok.map(|t| t.to_rfc3339())});
            return (200, body);
        }
        let fresh_ok =
            previous.filter(|e| e.status == Status::Ok && (now - e.last_update).to_std().unwrap_or_default() < OK_KEPT);
        let entry = match fresh_ok {
            Some(entry) => entry,
            None => {
                let status = run(provider).await;
                let entry = Entry {
                    status,
                    last_update: now,
                    last_ok: if status == Status::Ok { Some(now) } else { last_ok },
                };
                self.entries.lock().expect("pings").insert(name.to_string(), entry);
                entry
            }
        };
        let code = if entry.status == Status::BadGateway { 502 } else { 200 };
        let body = json!({"status": entry.status.as_str(), "last_update": entry.last_update.to_rfc3339(), "last_ok_status": entry.last_ok.map(|t| t.to_rfc3339())});
        (code, body)
    }
}

async fn run(provider: &dyn Provider) -> Status {
    match tokio::time::timeout(CHECK_BUDGET, provider.ping()).await {
        Ok(Health::Ok) => Status::Ok,
        Ok(Health::Unknown) => Status::Unknown,
        Ok(Health::Down(reason)) => {
            tracing::warn!(provider = provider.info().name, reason, "provider ping failed");
            Status::BadGateway
        }
        Err(_) => Status::BadGateway,
    }
}
