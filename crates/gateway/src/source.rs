//! Where a v3 call's answer comes from once it has passed every check: the data
//! providers (production), or a book of recorded answers (the sandbox).

use std::sync::Arc;

use passerelle_catalogue::Endpoint;
use passerelle_core::{ApiError, Query};
use serde_json::Value;

pub enum Source {
    Providers,
    Recorded(Arc<dyn Recorded>),
}

/// An answer served as recorded: its status and its whole body, unmasked.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub status: u16,
    pub body: Value,
}

pub trait Recorded: Send + Sync {
    /// The recorded answer to a valid call of `endpoint` in `version`; `query` is the
    /// query string as sent (`recipient` included).
    fn answer(&self, endpoint: &Endpoint, version: u8, query: &Query) -> Result<Recording, ApiError>;

    /// The person behind a FranceConnect access token (`50002` when unknown): on
    /// `france_connect` paths the call is answered with the query plus this identity.
    fn france_connect(&self, token: &str) -> Result<FranceConnectUser, ApiError>;
}

/// A FranceConnect access token as a recorded source knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FranceConnectUser {
    /// The identity as v3 query parameters (`nomNaissance`, `prenoms`, …).
    pub identity: Vec<(String, String)>,
    pub scopes: Vec<String>,
}
