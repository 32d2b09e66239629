//! GIP-MDS's répertoire commun des déclarants (RCD), behind the two effectifs routes of
//! API Entreprise: annual headcounts of a unité légale, monthly ones of an
//! établissement. An OAuth2 client-credentials token, then one GET per call.
//! (API Particulier's service civique talks to another GIP-MDS API: see
//! `passerelle_providers::gip_mds`.)

mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, NatureEffectif, Profondeur, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::oauth::{ClientAuth, TokenCache, TokenRequest};
use passerelle_providers::upstream::Upstream;
use serde::{Deserialize, Serialize};

pub use errors::{Failure, GIP_MDS};

/// The provider id of the effectifs operations in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("gip_mds");

/// The unité légale and year the real gateway's ping asks for (§25.7).
pub const PING_SIREN: &str = "552032534";
pub const PING_YEAR: &str = "2023";

/// Who asks, as the RCD knows the gateway.
const REQUESTER: &str = "00000DINUM";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The GIP-MDS domain: token at `<base_url>/token`, data under `<base_url>/rcd-api/1.0.0`.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Data calls: 2 s to connect, 6 s per read (§25.1).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// The token call keeps the default budget.
    pub token_timeout_secs: u64,
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/gip_mds_effectifs")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo credentials.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            connect_timeout_ms: 2000,
            read_timeout_ms: 6000,
            token_timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// What one call asks the RCD.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ask {
    /// A unité légale's headcounts of a year.
    Annual { siren: String, year: String },
    /// An établissement's headcounts of a month, and of `depth` months before it.
    Monthly {
        siret: String,
        year: String,
        month: String,
        depth: Option<u8>,
    },
}

impl Ask {
    fn of(resource: &str, extras: &Extras) -> Option<Ask> {
        let get = |key: &str| extras.get(key).cloned();
        match resource {
            "effectifs_annuels_entreprise" => Some(Ask::Annual {
                siren: get("siren")?,
                year: get("year")?,
            }),
            "effectifs_mensuels_etablissement" => Some(Ask::Monthly {
                siret: get("siret")?,
                year: get("year")?,
                month: get("month")?,
                // Already checked by `parse_extras`: kept as sent, read here.
                depth: Profondeur::parse(extras.get("profondeur").map(String::as_str))
                    .ok()?
                    .map(Profondeur::months),
            }),
            _ => None,
        }
    }

    /// The query of `GET …/effectifs`, but for the time stamp.
    fn query(&self, nature: NatureEffectif) -> Vec<(&'static str, String)> {
        let number = match nature {
            NatureEffectif::Moyen => 1,
            NatureEffectif::Boeth => 2,
            NatureEffectif::Ecap => 3,
            NatureEffectif::AssujettissementOeth => 4,
        };
        let mut query = vec![("codeOPSDemandeur", REQUESTER.to_string()), ("source", "RA;RG".into())];
        match self {
            Ask::Annual { siren, year } => query.extend([
                ("nature", format!("A0{number}")),
                ("siren", siren.clone()),
                ("periode", format!("{year}1231")),
            ]),
            Ask::Monthly {
                siret,
                year,
                month,
                depth,
            } => {
                query.extend([
                    ("nature", format!("M0{number}")),
                    ("siret", siret.clone()),
                    ("periode", format!("{year}{month}01")),
                ]);
                if let Some(depth) = depth {
                    query.push(("profondeurHistorique", depth.to_string()));
                }
            }
        }
        query
    }
}

pub struct GipMdsEffectifsProvider {
    client: Upstream,
    token_client: Upstream,
    token: TokenCache,
    url: reqwest::Url,
    max_body_bytes: usize,
}

impl GipMdsEffectifsProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let base = settings.base_url.trim_end_matches('/');
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let token_client = Upstream::new(Duration::from_secs(settings.token_timeout_secs), &Default::default())?;
        let token_url = http::parse_url(GIP_MDS.name, &format!("{base}/token"))?;
        let request = TokenRequest::new(token_url, settings.client_id, settings.client_secret, ClientAuth::Form);
        Ok(GipMdsEffectifsProvider {
            client,
            token_client,
            token: TokenCache::new(request),
            url: http::parse_url(GIP_MDS.name, &format!("{base}/rcd-api/1.0.0/effectifs"))?,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    async fn effectifs(&self, ask: &Ask, nature: NatureEffectif) -> Result<Fetched, Failure> {
        let token = self.token.get(&self.token_client, GIP_MDS).await?;
        let stamp = Utc::now().with_timezone(&chrono_tz::Europe::Paris);
        let mut query = ask.query(nature);
        query.push(("dateHeure", stamp.format("%Y-%m-%dT%H:%M:%S%:z").to_string()));
        let request = self
            .client
            .get(self.url.clone())
            .bearer_auth(&token)
            .header("Content-Type", "application/json")
            .query(&query);
        let response = self.client.send(GIP_MDS, request).await.map_err(Failure::from)?;
        if matches!(response.status().as_u16(), 401 | 403) {
            // The next call asks for a fresh token.
            self.token.invalidate().await;
        }
        let (status, body) = http::read(GIP_MDS, response, self.max_body_bytes).await?;
        let items = mapping::answer(status, &body, Utc::now())?;
        let data = match ask {
            Ask::Annual { siren, .. } => mapping::annual(siren, &items),
            Ask::Monthly { siret, .. } => mapping::monthly(siret, &items),
        };
        Ok(Fetched::from(data))
    }
}

#[async_trait]
impl Provider for GipMdsEffectifsProvider {
    fn info(&self) -> ProviderInfo {
        GIP_MDS
    }

    /// The path's identifier, `year` (`00307`), `month` (`00305`) and `profondeur`
    /// (`00390`); `nature_effectif` is never refused.
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let ask = Ask::of(call.endpoint.resource, call.extras).ok_or_else(internal)?;
        let nature = NatureEffectif::parse(call.extras.get("nature_effectif").map(String::as_str));
        self.effectifs(&ask, nature).await.map_err(Failure::into_error)
    }

    /// The real gateway's ping: the annual headcounts of `PING_SIREN` must be served.
    async fn ping(&self) -> Health {
        let ask = Ask::Annual {
            siren: PING_SIREN.into(),
            year: PING_YEAR.into(),
        };
        match self.effectifs(&ask, NatureEffectif::Moyen).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
