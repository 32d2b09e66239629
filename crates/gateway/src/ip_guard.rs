//! The per-IP guard, outside every token's own limit: one quota a minute for each
//! client IP over all of a bouquet's routes (`/api/*` aside), shared by the replicas
//! through the limiter; and a ban, for `ban_secs`, of an IP that keeps calling while
//! refused. The real service bans at its edge and answers nothing; here a banned IP
//! is told why and until when, the refused calls are journaled (this layer is inside
//! the record), and operators list and lift bans (`passerelle ip-bans`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use passerelle_core::{codes, ApiError};
use passerelle_store::{IpBan, Store};
use serde::{Deserialize, Serialize};

use crate::caller::{client_ip, ClientIp};
use crate::concern::{self, concern, Inner, Next};
use crate::error::Errors;
use crate::limits::{Decision, Quota};
use crate::{throttle, AppState, Served};

/// `[ip_limits]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct IpLimits {
    /// Calls a minute from one IP over all of a bouquet's routes.
    pub per_minute: u32,
    /// Refused calls (429) a minute from one IP past which it is banned.
    pub refusals_before_ban: u32,
    /// How long a ban lasts, in seconds.
    pub ban_secs: u64,
    /// How often each replica reads the bans in force: a ban made by another replica,
    /// or lifted by an operator, takes effect within this.
    pub bans_refresh_ms: u64,
}

impl Default for IpLimits {
    fn default() -> Self {
        IpLimits {
            per_minute: 1000,
            refusals_before_ban: 100,
            ban_secs: 12 * 3600,
            bans_refresh_ms: 2000,
        }
    }
}

pub const BAN_REASON: &str = "appels répétés malgré les refus (429)";

/// The bans in force, as this replica last read them from the store.
pub struct IpBans {
    store: Arc<dyn Store>,
    in_force: RwLock<HashMap<IpAddr, DateTime<Utc>>>,
}

impl IpBans {
    pub async fn load(store: Arc<dyn Store>, every: Duration) -> anyhow::Result<Arc<IpBans>> {
        let bans = Arc::new(IpBans {
            store,
            in_force: RwLock::new(HashMap::new()),
        });
        bans.refresh().await?;
        tokio::spawn(refresh_loop(Arc::downgrade(&bans), every));
        Ok(bans)
    }

    pub async fn refresh(&self) -> anyhow::Result<()> {
        let read = self.store.ip_bans(Some(Utc::now())).await?;
        let mut in_force = HashMap::new();
        for ban in read {
            if let Ok(ip) = ban.ip.parse::<IpAddr>() {
                let until = in_force.entry(ip).or_insert(ban.until);
                *until = (*until).max(ban.until);
            }
        }
        *self.in_force.write().expect("ip bans") = in_force;
        Ok(())
    }

    /// When the ban of `ip` ends, if it is banned now.
    pub fn until(&self, ip: IpAddr) -> Option<DateTime<Utc>> {
        let until = *self.in_force.read().expect("ip bans").get(&ip)?;
        (until > Utc::now()).then_some(until)
    }

    /// Bans `ip` here at once and, through the store, on every replica.
    async fn ban(&self, ip: IpAddr, length: Duration) {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(length).unwrap_or(chrono::Duration::hours(12));
        self.in_force.write().expect("ip bans").insert(ip, until);
        let ban = IpBan {
            ip: ip.to_string(),
            banned_at: now,
            until,
            reason: BAN_REASON.into(),
            lifted_at: None,
        };
        match self.store.insert_ip_ban(&ban).await {
            Ok(()) => tracing::warn!(%ip, until = %until.to_rfc3339(), "client IP banned"),
            Err(e) => tracing::error!(%ip, error = %e, "an IP ban could not be stored: this replica alone holds it"),
        }
    }
}

async fn refresh_loop(bans: Weak<IpBans>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(bans) = bans.upgrade() else {
            return;
        };
        if let Err(e) = bans.refresh().await {
            tracing::warn!(error = %e, "IP bans could not be read: the last ones read still hold");
        }
    }
}

concern!(
    /// The per-IP quota and bans.
    Guard = guard
);

async fn guard<S: Inner>(served: Arc<Served>, mut request: Request, next: Next<S>) -> Response {
    let Some(peer) = concern::peer(&request) else {
        return Errors::from(ApiError::gateway(codes::INTERNAL)).into_response();
    };
    let app = &served.app;
    let ip = client_ip(&app.config, request.headers(), peer);
    request.extensions_mut().insert(ClientIp(ip));
    if let Some(until) = app.ip_bans.until(ip) {
        return banned(ip, until);
    }
    let limits = &app.config.ip_limits;
    let key = format!("ip:{}:{ip}", served.bouquet.name);
    let decision = app
        .limiter
        .check("ip", &key, Quota::per_minute(limits.per_minute))
        .await;
    let response = if decision.allowed {
        next.run(request).await
    } else {
        over_limit(decision)
    };
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        count_refusal(app, ip).await;
    }
    response
}

/// 429 past the IP's quota, with its `RateLimit-*` headers.
fn over_limit(decision: Decision) -> Response {
    let error = ApiError::gateway(codes::TOO_MANY_REQUESTS)
        .with_detail("Vous avez dépassé la limite d'appels par minute de votre adresse IP.");
    let mut response = Errors::from(error).into_response();
    throttle::headers(response.headers_mut(), decision);
    response
}

async fn count_refusal(app: &AppState, ip: IpAddr) {
    let limits = &app.config.ip_limits;
    let quota = Quota::per_minute(limits.refusals_before_ban);
    if !app
        .limiter
        .check("ip_refusals", &format!("refused:{ip}"), quota)
        .await
        .allowed
    {
        app.ip_bans.ban(ip, Duration::from_secs(limits.ban_secs)).await;
    }
}

/// 429 to a banned IP: why, until when, and `Retry-After`.
fn banned(ip: IpAddr, until: DateTime<Utc>) -> Response {
    let detail = format!(
        "L'adresse IP {ip} est bannie jusqu'au {} : elle a continué d'appeler malgré les refus (429).",
        until.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let mut response = Errors::from(ApiError::gateway(codes::TOO_MANY_REQUESTS).with_detail(detail)).into_response();
    let wait = (until - Utc::now()).num_seconds().max(1);
    if let Ok(value) = wait.to_string().parse() {
        response.headers_mut().insert("retry-after", value);
    }
    response
}
