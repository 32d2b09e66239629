//! A bouquet as a value: everything the gateway needs to serve one public contract.

use std::sync::Arc;

use passerelle_core::{ApiError, Code, Purpose, Query};

use crate::{Endpoint, Provider, Registry};

/// A traceability parameter every call of the bouquet must carry (`recipient`).
#[derive(Debug, Clone, Copy)]
pub struct PurposeParam {
    pub name: &'static str,
    /// The value's normal form, or `None` when it is not valid.
    pub parse: fn(&str) -> Option<String>,
    /// The error of a value missing or blank.
    pub missing: Code,
    /// The error of a value `parse` refuses.
    pub invalid: Code,
}

/// A per-token limit shared by the endpoints of one group (calls a minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleGroup {
    pub name: &'static str,
    pub per_minute: u32,
}

pub struct Bouquet {
    /// Short name, kept in journal rows and token records: `particulier`.
    pub name: &'static str,
    /// Human title (OpenAPI, pages).
    pub title: &'static str,
    /// Prefix of operation ids: `api_particulier`.
    pub operation_prefix: &'static str,
    pub endpoints: Vec<&'static Endpoint>,
    pub providers: Registry,
    pub purpose: &'static [PurposeParam],
    /// The group whose limit applies to an endpoint; `None`: the token's own limit.
    pub throttle: fn(&Endpoint) -> Option<ThrottleGroup>,
    /// The bouquet's own error codes, beside the gateway's (`passerelle_core::codes`).
    pub codes: &'static [Code],
    /// The OpenAPI document of exactly what the bouquet serves (YAML).
    pub openapi: String,
    /// Whether `GET /privileges` lists the caller's scopes (API Entreprise's route).
    pub privileges: bool,
    /// Whether its providers may fetch documents, served by `GET /documents/{id}`.
    pub documents: bool,
    /// Older paths still served (API Particulier v2), when the bouquet has them.
    pub legacy: Option<crate::Legacy>,
}

/// Why no endpoint answers a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotServed {
    /// No endpoint has this path.
    Unknown,
    /// The endpoint exists, but not in this version.
    Version,
}

/// One served route: a path template and what answers it.
#[derive(Debug, Clone)]
pub struct Route {
    pub template: String,
    pub version: u8,
    pub endpoint: &'static Endpoint,
}

impl Bouquet {
    /// Every route, one per endpoint and version.
    pub fn routes(&self) -> Vec<Route> {
        self.endpoints
            .iter()
            .flat_map(|e| {
                e.versions.iter().map(|v| Route {
                    template: e.public_path(*v),
                    version: *v,
                    endpoint: e,
                })
            })
            .collect()
    }

    pub fn operation_id(&self, endpoint: &Endpoint, version: u8) -> String {
        format!("{}_v{version}_{}", self.operation_prefix, endpoint.operation_stem())
    }

    pub fn provider(&self, endpoint: &Endpoint) -> Option<&Arc<dyn Provider>> {
        self.providers.get(&endpoint.provider)
    }

    /// The endpoint at `/v{version}/{rest}`, or why none is.
    pub fn find(&self, version: u8, rest: &str) -> Result<&'static Endpoint, NotServed> {
        let path = format!("/v{version}/{rest}");
        let mut candidates = self.endpoints.iter().filter(|e| e.matches(version, &path)).peekable();
        if candidates.peek().is_none() {
            return Err(NotServed::Unknown);
        }
        candidates
            .find(|e| e.supports(version))
            .copied()
            .ok_or(NotServed::Version)
    }

    /// The purpose parameters of a call: every missing one at once, in the bouquet's
    /// order; then every invalid one.
    pub fn parse_purpose(&self, query: &Query) -> Result<Purpose, Vec<ApiError>> {
        let given = |param: &PurposeParam| query.get(param.name).map(str::trim).filter(|v| !v.is_empty());
        let missing: Vec<ApiError> = self
            .purpose
            .iter()
            .filter(|p| given(p).is_none())
            .map(|p| ApiError::gateway(p.missing))
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let mut purpose = Purpose::new();
        let mut invalid = Vec::new();
        for param in self.purpose {
            match given(param).and_then(param.parse) {
                Some(value) => {
                    purpose.insert(param.name.to_string(), value);
                }
                None => invalid.push(ApiError::gateway(param.invalid)),
            }
        }
        if invalid.is_empty() {
            Ok(purpose)
        } else {
            Err(invalid)
        }
    }

    /// Every scope the bouquet knows, sorted (what `--scopes all` grants).
    pub fn scopes(&self) -> Vec<&'static str> {
        scopes_of(&self.endpoints)
    }
}

/// Every scope that opens one of `endpoints` or one of their fields, sorted.
pub fn scopes_of(endpoints: &[&Endpoint]) -> Vec<&'static str> {
    let mut scopes: Vec<&str> = endpoints
        .iter()
        .flat_map(|e| {
            e.access_scopes
                .iter()
                .chain(e.masks.iter().flat_map(|m| m.scopes.iter()))
        })
        .copied()
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

/// The contract's error body, as an OpenAPI schema (`#/components/schemas/Error`).
pub fn error_schema() -> serde_json::Value {
    serde_json::json!({"type": "object", "required": ["errors"], "properties": {"errors": {"type": "array", "items": {
        "type": "object", "required": ["code", "title", "detail", "meta"],
        "properties": {"code": {"type": "string"}, "title": {"type": "string"}, "detail": {"type": "string"},
                       "source": {"type": "object", "nullable": true}, "meta": {"type": "object"}}
    }}}})
}
