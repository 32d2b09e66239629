//! A data provider behind one trait: the pipeline hands it a checked call and gets the
//! contract's `data` back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_core::{ApiError, Civility, ProviderInfo, Purpose, Query};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Endpoint, MaintenanceWindow, ProviderId};

/// Endpoint-specific parameters after parsing, in a stable order (they are part of
/// the cache key and of the journal's parameter hash).
pub type Extras = BTreeMap<String, String>;

/// Everything a provider needs for one call.
pub struct Call<'a> {
    pub endpoint: &'static Endpoint,
    /// The API version called (fields may differ between versions).
    pub version: u8,
    /// Who asks, for upstreams that want to know (a token id, or a citizen's key).
    pub caller: &'a str,
    pub civility: Option<&'a Civility>,
    pub extras: &'a Extras,
    /// The bouquet's mandatory purpose parameters, checked.
    pub purpose: &'a Purpose,
    pub request_id: &'a str,
    pub today: NaiveDate,
}

impl Call<'_> {
    /// The SIRET of the organisation the data is for.
    pub fn recipient(&self) -> &str {
        self.purpose.get("recipient").map(String::as_str).unwrap_or_default()
    }
}

#[async_trait]
pub trait Provider: Send + Sync {
    fn info(&self) -> ProviderInfo;

    /// Parses the endpoint's own parameters (beyond identity). Errors are 422s.
    fn parse_extras(&self, _endpoint: &Endpoint, _query: &Query, _today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        Ok(Extras::new())
    }

    /// Calls the upstream and maps its answer to the contract's `data` (unmasked) and `meta`.
    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError>;

    /// Whether the gateway may download `url` on a caller's behalf through one of its
    /// proxied links: only hosts the provider's settings name.
    fn may_proxy(&self, _url: &str) -> bool {
        false
    }

    /// The `{name}` in `/proxy/{name}/download/{token}`, the route of the documents
    /// this provider makes only when asked (see [`Deferred`]); `None` when it has none.
    fn download_route(&self) -> Option<&'static str> {
        None
    }

    /// Makes the deferred document `target` (as the provider wrote it in a
    /// [`Deferred`]): an answer whose `data` is `{}` and whose one attachment the
    /// gateway stores and links at `document_url`, with `expires_in`.
    async fn download(&self, _target: &str, _today: NaiveDate) -> Result<Fetched, ApiError> {
        Err(ApiError::gateway(passerelle_core::codes::INTERNAL))
    }

    /// The maintenance windows the provider publishes, which the gateway observes as
    /// it does the operator's `[[maintenance]]`; none by default.
    fn maintenance_windows(&self) -> &[MaintenanceWindow] {
        &[]
    }

    /// Checks the real upstream with a canned call. The gateway caps it at 5 s.
    async fn ping(&self) -> Health {
        Health::Unknown
    }
}

/// A provider's answer: the contract's `data`, before masking, and its `meta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fetched {
    pub data: Value,
    /// Absolute URLs of related resources of the same bouquet.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub links: serde_json::Map<String, Value>,
    #[serde(default)]
    pub meta: serde_json::Map<String, Value>,
    /// Documents for the gateway to store and link in `data`; never cached as such.
    #[serde(skip)]
    pub attachments: Vec<Attachment>,
    /// Upstream files the answer links to, which the gateway hands out as its own
    /// signed links (cached with the answer: each answer gets fresh links).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxied: Vec<Proxied>,
    /// Documents the upstream makes only when asked, which callers fetch later through
    /// the gateway (fresh links at each answer, like `proxied`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<Deferred>,
    /// What the upstream said that today's contract leaves out but a legacy one shows
    /// (MESRI's INE of the student, for API Particulier v2); never in today's answers.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub legacy: serde_json::Map<String, Value>,
}

/// A document a provider fetched (a PDF), which the gateway stores and links: it puts
/// the link's URL in `data[url_member]` and its lifetime in seconds in
/// `data[expiry_member]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub url_member: &'static str,
    pub expiry_member: &'static str,
    /// The name the download gets (`attestation_fiscale_dgfip.pdf`).
    pub file_name: &'static str,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    /// How long the link lives (24 h; CIBTP 10 min).
    pub lifetime_secs: u64,
}

/// A file an upstream serves itself, which callers download through the gateway:
/// the gateway writes, at `url_pointer` in `data`, a signed expiring link that names
/// `target` and the provider, and at `expiry_pointer` the seconds the link has left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proxied {
    /// A JSON pointer into `data` (`/documents_rna/0/url`).
    pub url_pointer: String,
    pub expiry_pointer: Option<String>,
    /// The upstream URL; the provider vouches for it (`Provider::may_proxy`).
    pub target: String,
    pub lifetime_secs: u64,
}

/// A document the upstream makes only when asked (INPI's actes, bilans, extraits):
/// the gateway writes at `url_pointer` in `data` a sealed link, valid `lifetime_secs`,
/// to `/proxy/{download_route}/download/{token}`, naming the provider, `target` and the
/// caller's token. Following it (no bearer: the link is the capability, but the token
/// must still be valid) calls `Provider::download(target)`, stores the document and
/// answers `{"data": {"document_url", "expires_in"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deferred {
    /// A JSON pointer into `data` (`/actes/0/url`).
    pub url_pointer: String,
    /// What the provider needs to make the document (`actes:<id>`), opaque to the gateway.
    pub target: String,
    pub lifetime_secs: u64,
}

impl From<Value> for Fetched {
    fn from(data: Value) -> Self {
        Fetched {
            data,
            links: serde_json::Map::new(),
            meta: serde_json::Map::new(),
            attachments: Vec::new(),
            proxied: Vec::new(),
            deferred: Vec::new(),
            legacy: serde_json::Map::new(),
        }
    }
}

/// What a provider ping found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// The upstream did not answer as expected; the reason is for the logs.
    Down(String),
    /// The provider has no way to check.
    Unknown,
}

/// The providers of a bouquet, by id.
pub type Registry = HashMap<ProviderId, Arc<dyn Provider>>;
