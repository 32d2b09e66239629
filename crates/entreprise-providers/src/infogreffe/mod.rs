//! Infogreffe's RCS extract web service, behind two API Entreprise routes: the extrait
//! RCS and the mandataires sociaux. Both make the same call: one SOAP 1.1 POST carrying
//! the subscriber's code and password inside the body, answered by an `<Extrait>` or,
//! still with HTTP 200, by an error text `NNN -MESSAGE-`.

mod errors;
mod mapping;
pub mod simulator;
mod soap;
#[cfg(test)]
mod tests;
mod xml;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use serde::{Deserialize, Serialize};

pub use errors::{Failure, INFOGREFFE};

/// The provider id of the Infogreffe operations in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("infogreffe");

/// The company the real gateway's ping asks for (§25.7).
pub const PING_SIREN: &str = "831386297";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The web service's address (the SOAP endpoint itself).
    pub url: String,
    /// The subscriber's account, sent inside every request body.
    pub code_abonne: String,
    pub mot_passe: String,
    /// Per socket operation (§8: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// An extract is a few kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/infogreffe")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo account.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            url: format!("{}{}", base_url.trim_end_matches('/'), simulator::PATH),
            code_abonne: simulator::CODE_ABONNE.into(),
            mot_passe: simulator::MOT_PASSE.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// The two routes, from the catalogue's `resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    ExtraitRcs,
    MandatairesSociaux,
}

impl Route {
    fn of(resource: &str) -> Option<Route> {
        match resource {
            "extraits_rcs" => Some(Route::ExtraitRcs),
            "mandataires_sociaux" => Some(Route::MandatairesSociaux),
            _ => None,
        }
    }
}

pub struct InfogreffeProvider {
    client: Upstream,
    url: reqwest::Url,
    code_abonne: String,
    mot_passe: String,
    max_body_bytes: usize,
}

impl InfogreffeProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        Ok(InfogreffeProvider {
            client,
            url: http::parse_url(INFOGREFFE.name, &settings.url)?,
            code_abonne: settings.code_abonne,
            mot_passe: settings.mot_passe,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// The extract of `siren`, or the failure Infogreffe reported.
    async fn extrait(&self, siren: &str) -> Result<xml::Element, Failure> {
        let account = soap::Account {
            code_abonne: &self.code_abonne,
            mot_passe: &self.mot_passe,
        };
        let request = self
            .client
            .post(self.url.clone())
            .header("Content-Type", "text/xml")
            // Sent as a header of its own, as the real gateway does.
            .header("charset", "utf-8")
            .header("SOAPAction", soap::ACTION)
            .body(soap::envelope(&account, siren));
        let (status, body) = http::send_and_read(&self.client, INFOGREFFE, request, self.max_body_bytes).await?;
        soap::extrait(status.as_u16(), &body)
    }

    async fn answer(&self, route: Route, siren: &str) -> Result<Fetched, Failure> {
        let extrait = self.extrait(siren).await?;
        match route {
            Route::ExtraitRcs => Ok(Fetched::from(mapping::extrait_rcs(&extrait, siren)?)),
            Route::MandatairesSociaux => {
                let (items, meta) = mapping::mandataires_sociaux(&extrait)?;
                let mut fetched = Fetched::from(serde_json::Value::Array(items));
                fetched.meta = meta;
                Ok(fetched)
            }
        }
    }
}

#[async_trait]
impl Provider for InfogreffeProvider {
    fn info(&self) -> ProviderInfo {
        INFOGREFFE
    }

    /// The path's SIREN (`00301`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        Route::of(endpoint.resource).ok_or_else(|| vec![internal()])?;
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let route = Route::of(call.endpoint.resource).ok_or_else(internal)?;
        let siren = call.extras.get("siren").ok_or_else(internal)?;
        self.answer(route, siren).await.map_err(Failure::into_error)
    }

    /// The real gateway's ping: the extract of a known company must come back.
    async fn ping(&self) -> Health {
        match self.extrait(PING_SIREN).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
