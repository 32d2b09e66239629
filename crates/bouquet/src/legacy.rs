//! A bouquet's legacy surface (API Particulier v2): older paths that existing client
//! software still calls, served by today's endpoints through the same pipeline. Each
//! legacy route says which endpoint answers a call, how its parameters read today, and
//! how today's answer and errors are written back in the legacy shapes.

use passerelle_core::{ApiError, Query};
use serde_json::{Map, Value};

use crate::Endpoint;

pub struct Legacy {
    pub routes: Vec<LegacyRoute>,
    /// Paths that are gone: 410 with a plain-text message.
    pub retired: &'static [Retired],
    /// The legacy error body and status of today's errors (`status` is today's).
    pub error: fn(status: u16, errors: &[ApiError]) -> (u16, Value),
    /// The purpose parameter that a legacy call may leave out: it then takes the
    /// token's SIRET (v2's `recipient`).
    pub default_purpose: Option<&'static str>,
}

pub struct LegacyRoute {
    pub path: &'static str,
    /// The contract's operation id: the sandbox's folder of the route's cases.
    pub operation_id: &'static str,
    /// Tried in order: the first that applies to a call serves it.
    pub targets: Vec<Target>,
    /// The call's parameters under today's names (the identity split and renamed).
    pub parameters: fn(&Query) -> Query,
    /// The legacy body of today's answer.
    pub render: fn(&Answered) -> Value,
}

/// What a legacy body is written from.
pub struct Answered<'a> {
    /// Today's `data`, after the token's masks.
    pub data: &'a Value,
    /// The upstream's members that only the legacy contract shows (`Fetched::legacy`).
    pub legacy: &'a Map<String, Value>,
    /// The call as the caller sent it, under the legacy names.
    pub sent: &'a Query,
}

/// An endpoint (in one version) serving a legacy route, and when it does.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub endpoint: &'static Endpoint,
    pub version: u8,
    pub when: When,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The caller presents a FranceConnect access token.
    FranceConnect,
    /// The query has this parameter (the subject's identifier: `ine`).
    Param(&'static str),
    Otherwise,
}

#[derive(Debug, Clone, Copy)]
pub struct Retired {
    pub path: &'static str,
    pub message: &'static str,
}

impl LegacyRoute {
    /// The target serving a call; `france_connect` when the caller presents a
    /// FranceConnect token rather than a key. A call that names no subject goes to the
    /// first target that is not FranceConnect's, whose checks then say what is missing.
    pub fn target(&self, query: &Query, france_connect: bool) -> Option<&Target> {
        let applies = |t: &&Target| match t.when {
            When::FranceConnect => france_connect,
            When::Param(name) => query.get(name).is_some_and(|v| !v.trim().is_empty()),
            When::Otherwise => true,
        };
        self.targets
            .iter()
            .find(applies)
            .or_else(|| self.targets.iter().find(|t| t.when != When::FranceConnect))
    }
}
