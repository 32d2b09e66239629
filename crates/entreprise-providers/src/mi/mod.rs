//! The Ministère de l'Intérieur / DJEPVA association API ("API Association"), behind
//! four API Entreprise routes: the v3 RNA summary and RNA documents (provider `MI`),
//! the v4 unité légale, full and open data (provider `DJEPVA`). One GET returning
//! XML per call, authenticated by a Gravitee API key; document files stay upstream and
//! are handed out as the gateway's own signed links (`Fetched::proxied`).

mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;
mod xml;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

pub use errors::{Failure, DJEPVA, MI};

use mapping::{Audience, Bases};
use xml::Node;

/// The provider id of the association operations in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("mi");

#[derive(Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The API manager's domain: records under `<base_url>/apim/api-asso-partenaires`,
    /// documents under `<base_url>/apim/api-asso`.
    pub base_url: String,
    /// Sent as `X-Gravitee-Api-Key`.
    #[serde(skip_serializing)]
    pub api_key: String,
    /// Per socket operation (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    pub max_body_bytes: usize,
    /// Where the v4 answers' `links` point: the gateway's own public address.
    pub public_base_url: String,
    /// The hosts (`host` or `host:port`) whose files the gateway may proxy; the host of
    /// `base_url` is always allowed.
    pub document_hosts: Vec<String>,
}

// By hand, so that the API key never reaches a log.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("api_key", &"<hidden>")
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("read_timeout_ms", &self.read_timeout_ms)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("public_base_url", &self.public_base_url)
            .field("document_hosts", &self.document_hosts)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/mi")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo key.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: simulator::API_KEY.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            public_base_url: "https://entreprise.api.gouv.fr".into(),
            document_hosts: Vec::new(),
        }
    }
}

/// The four routes, from the catalogue's `resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Association,
    Documents,
    UniteLegale(Audience),
}

impl Route {
    fn of(resource: &str) -> Option<Route> {
        Some(match resource {
            "associations" => Route::Association,
            "documents_associations" => Route::Documents,
            "unites_legales" => Route::UniteLegale(Audience::Full),
            "unites_legales_open_data" => Route::UniteLegale(Audience::OpenData),
            _ => return None,
        })
    }

    /// The name the route's errors carry.
    fn info(self) -> ProviderInfo {
        match self {
            Route::UniteLegale(_) => DJEPVA,
            _ => MI,
        }
    }

    /// The path parameter holding the identifier.
    fn parameter(self) -> &'static str {
        match self {
            Route::UniteLegale(_) => "siren_or_rna",
            _ => "siret_or_rna",
        }
    }
}

pub struct MiProvider {
    client: Upstream,
    base_url: String,
    api_key: String,
    max_body_bytes: usize,
    public_base_url: String,
    document_hosts: Vec<String>,
}

impl MiProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let base_url = settings.base_url.trim_end_matches('/').to_string();
        // The identifier goes after this base per call: only the base is checked here.
        http::parse_url(MI.name, &base_url)?;
        let mut document_hosts = settings.document_hosts;
        document_hosts.extend(authority(&base_url));
        Ok(MiProvider {
            client,
            base_url,
            api_key: settings.api_key,
            max_body_bytes: settings.max_body_bytes,
            public_base_url: settings.public_base_url.trim_end_matches('/').to_string(),
            document_hosts,
        })
    }

    /// The record of `id` (SIRET, SIREN or RNA number, as given).
    async fn structure(&self, id: &str, info: ProviderInfo) -> Result<(StatusCode, Vec<u8>), Failure> {
        let url = format!("{}/apim/api-asso-partenaires/api/structure/{id}", self.base_url);
        let request = self
            .client
            .get(url)
            .query(&[("proxy_only", "true")])
            .header("X-Gravitee-Api-Key", &self.api_key)
            .header("Content-Type", "application/json");
        Ok(http::send_and_read(&self.client, info, request, self.max_body_bytes).await?)
    }

    async fn answer(&self, route: Route, id: &str) -> Result<Fetched, Failure> {
        let (status, body) = self.structure(id, route.info()).await?;
        let asso = validate(status, &body, route)?;
        let bases = Bases {
            public: &self.public_base_url,
            upstream: &self.base_url,
        };
        match route {
            Route::Association => Ok(Fetched::from(mapping::association_v3(&asso))),
            Route::Documents => mapping::documents_v3(&asso, bases.upstream),
            Route::UniteLegale(audience) => mapping::unite_legale(&asso, audience, &bases),
        }
    }
}

/// §9.5, in order: XML the parser rejects; a body with no element; no `<asso>` (the
/// documents route says so, the others not found); the not-found marker or an invalid
/// record; then only a 200 succeeds.
fn validate(status: StatusCode, body: &[u8], route: Route) -> Result<Node, Failure> {
    let root = xml::parse(body).map_err(|_| Failure::Unknown)?;
    let root = root.ok_or(Failure::Temporary)?;
    if root.name != "asso" {
        return Err(match route {
            Route::Documents => Failure::NoRecord,
            _ => Failure::NotFound,
        });
    }
    if mapping::is_not_found(&root) || !mapping::is_valid(&root) {
        return Err(Failure::NotFound);
    }
    if status != StatusCode::OK {
        return Err(Failure::Unknown);
    }
    Ok(root)
}

/// `host` or `host:port` of an absolute http(s) URL.
fn authority(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    (!authority.is_empty() && !authority.contains('@')).then(|| authority.to_ascii_lowercase())
}

#[async_trait]
impl Provider for MiProvider {
    fn info(&self) -> ProviderInfo {
        MI
    }

    /// The path's SIRET or RNA number (v3, `00303`) or SIREN or RNA number (v4).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        Route::of(endpoint.resource).ok_or_else(|| vec![internal()])?;
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let route = Route::of(call.endpoint.resource).ok_or_else(internal)?;
        let id = call.extras.get(route.parameter()).ok_or_else(internal)?;
        self.answer(route, id).await.map_err(|f| f.into_error(route.info()))
    }

    /// Only files of the association API's own hosts, over http(s).
    fn may_proxy(&self, url: &str) -> bool {
        authority(url).is_some_and(|a| self.document_hosts.iter().any(|h| h.eq_ignore_ascii_case(&a)))
    }

    /// The real gateway's ping: one association that must be found.
    async fn ping(&self) -> Health {
        match self.answer(Route::UniteLegale(Audience::OpenData), PING_RNA).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error(DJEPVA).code),
        }
    }
}

/// The association the real gateway's ping asks for.
pub const PING_RNA: &str = "W131015526";

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
