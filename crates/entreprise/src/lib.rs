//! API Entreprise as one `Bouquet` value. Its catalogue (`operations.rs`) lists every
//! operation of the public contract; the bouquet serves those whose provider is in
//! the registry it is handed, so its OpenAPI document says exactly what it serves.

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

mod openapi;
mod operations;
mod params;

use passerelle_bouquet::{
    Bouquet, Cache, Endpoint, ExtraParam, Mode, ProviderId, PurposeParam, Registry, ThrottleGroup,
};
use passerelle_core::{codes, Siret};

pub use operations::OPERATIONS;
pub use params::parameters;

/// The name kept in journal rows and token records.
pub const NAME: &str = "entreprise";
/// Prefix of operation ids: `api_entreprise_v3_insee_unites_legales`.
pub const OPERATION_PREFIX: &str = "api_entreprise";

/// One operation of the contract: its endpoint and what only API Entreprise needs.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub endpoint: Endpoint,
    /// The provider's name in `meta.provider` and its two-digit error prefix.
    pub provider: (&'static str, &'static str),
    /// Versions marked deprecated in the official OpenAPI document.
    pub deprecated: &'static [u8],
    pub document: Document,
    pub throttle: Throttle,
}

/// What an answer links to besides data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    None,
    /// A PDF the gateway stores and links to for `secs`.
    Stored {
        secs: u64,
    },
    /// Links through the gateway's download route to the provider's files.
    Proxied,
    /// Signed links to INPI documents, fetched on download.
    InpiLinks,
    /// URLs of the provider's own pages, passed through.
    ProviderUrls,
}

/// The contract's per-token limits (§6): one counter for a group of endpoints, or one
/// per endpoint (its versions sharing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Shared { group: &'static str, per_minute: u32 },
    PerEndpoint { group: &'static str, per_minute: u32 },
}

/// What every operation has in common; each entry of the catalogue sets the rest.
const BASE: Endpoint = Endpoint {
    provider: ProviderId::new(""),
    resource: "",
    path: "",
    mode: Mode::Subject,
    versions: &[],
    operation: "",
    title: "",
    civility: None,
    extra_params: &[],
    access_scopes: &[],
    fields: &[],
    masks: &[],
    cache: Cache::Never,
};

/// The catalogue entry of an endpoint of this bouquet.
pub fn operation(endpoint: &Endpoint) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.endpoint.operation == endpoint.operation)
}

/// Every call says in which frame, for whom and why the data is asked (§3).
const PURPOSE: &[PurposeParam] = &[
    PurposeParam {
        name: "context",
        parse: text,
        missing: codes::CONTEXT_MISSING,
        invalid: codes::CONTEXT_MISSING,
    },
    PurposeParam {
        name: "recipient",
        parse: siret,
        missing: codes::RECIPIENT_MISSING,
        invalid: codes::RECIPIENT_INVALID,
    },
    PurposeParam {
        name: "object",
        parse: text,
        missing: codes::OBJECT_MISSING,
        invalid: codes::OBJECT_MISSING,
    },
];

fn text(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

fn siret(value: &str) -> Option<String> {
    Siret::parse(value.trim()).map(|s| s.to_string())
}

/// The group whose counter an endpoint's calls count against.
fn throttle(endpoint: &Endpoint) -> Option<ThrottleGroup> {
    match operation(endpoint)?.throttle {
        Throttle::Shared { group, per_minute } => Some(ThrottleGroup {
            name: group,
            per_minute,
        }),
        // v3 and v4 of an operation are one endpoint here, so they share this counter.
        Throttle::PerEndpoint { per_minute, .. } => Some(ThrottleGroup {
            name: endpoint.operation,
            per_minute,
        }),
    }
}

/// Every scope of the catalogue, sorted (what `--scopes all` grants).
pub fn all_scopes() -> Vec<&'static str> {
    let endpoints: Vec<&Endpoint> = OPERATIONS.iter().map(|o| &o.endpoint).collect();
    passerelle_bouquet::scopes_of(&endpoints)
}

/// The endpoints whose provider `providers` holds.
pub fn served(providers: &Registry) -> Vec<&'static Endpoint> {
    OPERATIONS
        .iter()
        .map(|o| &o.endpoint)
        .filter(|e| providers.contains_key(&e.provider))
        .collect()
}

/// The bouquet, answered by `providers`.
pub fn bouquet(providers: Registry) -> Bouquet {
    let endpoints = served(&providers);
    let openapi = openapi::document(&endpoints);
    Bouquet {
        name: NAME,
        title: "API Entreprise",
        operation_prefix: OPERATION_PREFIX,
        endpoints,
        providers,
        purpose: PURPOSE,
        throttle,
        codes: codes::ALL,
        openapi,
        privileges: true,
        documents: true,
        legacy: None,
    }
}

#[cfg(test)]
mod tests;
