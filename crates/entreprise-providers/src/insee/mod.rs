//! INSEE's Sirene API (private 3.11), behind the nine INSEE routes of API Entreprise:
//! unités légales, établissements, sièges, adresses (each also in its "diffusibles"
//! form) and successions. A password-grant OAuth2 token, then one GET per call.

mod auth;
mod errors;
mod mapping;
pub(crate) mod referentials;
pub mod simulator;
#[cfg(test)]
mod tests;

use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query, Siren, Siret};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use errors::{Failure, Subject, INSEE};
pub use mapping::Version;

use mapping::Diffusion;

/// The provider id of the INSEE operations in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("insee");

/// The établissement the real gateway's ping asks for (§25.7).
pub const PING_SIRET: &str = "30613890002979";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// INSEE's API host: data under `<base_url>/api-sirene/prive/3.11`.
    pub base_url: String,
    /// The token endpoint; `<base_url>/token` when unset.
    pub token_url: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// The API manager account of the password grant.
    pub username: String,
    pub password: String,
    /// Per socket operation on data calls (§8: 2 s + 2 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// The token call keeps the default budget.
    pub token_timeout_secs: u64,
    pub max_body_bytes: usize,
    /// Where the answers' `links` point: the gateway's own public address.
    pub public_base_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/insee_sirene")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo credentials.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            token_url: None,
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            username: simulator::USERNAME.into(),
            password: simulator::PASSWORD.into(),
            connect_timeout_ms: 2000,
            read_timeout_ms: 2000,
            token_timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            public_base_url: "https://entreprise.api.gouv.fr".into(),
        }
    }
}

/// The nine routes, from the catalogue's `resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    UniteLegale { open_data: bool },
    Etablissement { open_data: bool },
    Siege { open_data: bool },
    Adresse { open_data: bool },
    Successions,
}

impl Route {
    fn of(resource: &str) -> Option<Route> {
        Some(match resource {
            "unites_legales" => Route::UniteLegale { open_data: false },
            "unites_legales_diffusables" => Route::UniteLegale { open_data: true },
            "etablissements" => Route::Etablissement { open_data: false },
            "etablissements_diffusables" => Route::Etablissement { open_data: true },
            "sieges_unites_legales" => Route::Siege { open_data: false },
            "sieges_diffusables_unites_legales" => Route::Siege { open_data: true },
            "adresses_etablissements" => Route::Adresse { open_data: false },
            "adresses_etablissements_diffusables" => Route::Adresse { open_data: true },
            "successions" => Route::Successions,
            _ => return None,
        })
    }

    fn subject(self) -> Subject {
        match self {
            Route::UniteLegale { .. } | Route::Siege { .. } => Subject::Siren,
            _ => Subject::Siret,
        }
    }

    fn open_data(self) -> bool {
        match self {
            Route::UniteLegale { open_data }
            | Route::Etablissement { open_data }
            | Route::Siege { open_data }
            | Route::Adresse { open_data } => open_data,
            Route::Successions => false,
        }
    }
}

/// A record INSEE returned, and the identifier first asked when it redirected.
struct Found {
    record: Map<String, Value>,
    redirected_from: Option<String>,
}

pub struct InseeProvider {
    client: Upstream,
    tokens: auth::TokenCache,
    api: String,
    siege_url: reqwest::Url,
    successions_url: reqwest::Url,
    max_body_bytes: usize,
    public_base_url: String,
}

impl InseeProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let base = settings.base_url.trim_end_matches('/');
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let token_client = Upstream::new(Duration::from_secs(settings.token_timeout_secs), &Default::default())?;
        let credentials = auth::Credentials {
            url: http::parse_url(INSEE.name, &http::or_base(&settings.token_url, base, "token"))?,
            client_id: settings.client_id,
            client_secret: settings.client_secret,
            username: settings.username,
            password: settings.password,
        };
        let api = format!("{base}/api-sirene/prive/3.11");
        // The identifier goes after this base per call: only the base is checked here.
        http::parse_url(INSEE.name, &api)?;
        Ok(InseeProvider {
            client,
            tokens: auth::TokenCache::new(credentials, token_client),
            siege_url: http::parse_url(INSEE.name, &format!("{api}/siret"))?,
            successions_url: http::parse_url(INSEE.name, &format!("{api}/siret/liensSuccession"))?,
            api,
            max_body_bytes: settings.max_body_bytes,
            public_base_url: settings.public_base_url.trim_end_matches('/').to_string(),
        })
    }

    async fn get(
        &self,
        url: impl reqwest::IntoUrl + Clone,
        query: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>, Option<String>), Failure> {
        let response = self
            .tokens
            .send(&self.client, |token| {
                let request = self
                    .client
                    .get(url.clone())
                    .bearer_auth(token)
                    .header("Content-Type", "application/json");
                match query {
                    Some(q) => request.query(&[("q", q)]),
                    None => request,
                }
            })
            .await?;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (status, body) = http::read(INSEE, response, self.max_body_bytes).await?;
        Ok((status, body, location))
    }

    /// `siren/{id}` or `siret/{id}`; a 301 (duplicate unit) is followed once to the last
    /// segment of its `Location`, and the first identifier is kept for `meta`.
    async fn direct(&self, subject: Subject, id: &str) -> Result<Found, Failure> {
        let (status, body, location) = self.get(&self.direct_url(subject, id), None).await?;
        if status != StatusCode::MOVED_PERMANENTLY {
            return Ok(Found {
                record: read_record(subject, status, &body)?,
                redirected_from: None,
            });
        }
        let target = location
            .as_deref()
            .and_then(|l| redirect_target(subject, l))
            .ok_or(Failure::Internal)?;
        let (status, body, _) = self.get(&self.direct_url(subject, &target), None).await?;
        if status.is_redirection() {
            return Err(Failure::Internal);
        }
        Ok(Found {
            record: read_record(subject, status, &body)?,
            redirected_from: Some(id.to_string()),
        })
    }

    /// The name of the organisation at `siret` (its unité légale's denomination), for
    /// pages that show a SIRET to people; `None` when INSEE does not name it publicly.
    pub async fn organisation_name(&self, siret: &str) -> Option<String> {
        self.organisation(siret).await.map(|o| o.name)
    }

    /// The organisation at `siret`: its name and its établissement's postal address;
    /// `None` when INSEE does not name it publicly.
    pub async fn organisation(&self, siret: &str) -> Option<Organisation> {
        let found = self.direct(Subject::Siret, siret).await.ok()?;
        let unit = found.record.get("uniteLegale")?;
        let public = unit.get("statutDiffusionUniteLegale").and_then(Value::as_str) == Some("O");
        let name = unit.get("denominationUniteLegale").and_then(Value::as_str)?;
        let address = found
            .record
            .get("adresseEtablissement")
            .map(postal_address)
            .unwrap_or_default();
        public.then(|| Organisation {
            name: name.to_string(),
            address,
        })
    }

    fn direct_url(&self, subject: Subject, id: &str) -> String {
        let kind = match subject {
            Subject::Siren => "siren",
            Subject::Siret => "siret",
        };
        format!("{}/{kind}/{id}", self.api)
    }

    /// The siège of a unité légale through the search: exactly one établissement.
    async fn siege(&self, siren: &str) -> Result<Map<String, Value>, Failure> {
        let (status, body, _) = self
            .get(
                self.siege_url.clone(),
                Some(&format!("etablissementSiege:true AND siren:{siren}")),
            )
            .await?;
        let list = read_search(Subject::Siren, status, &body, "etablissements")?;
        match list.as_slice() {
            [Value::Object(one)] => Ok(one.clone()),
            [] => Err(Failure::NotFound(Subject::Siren)),
            [_] => Err(Failure::Unknown),
            _ => Err(Failure::SeveralSieges),
        }
    }

    async fn successions(&self, siret: &str) -> Result<Vec<Value>, Failure> {
        let q = format!("siretEtablissementSuccesseur:{siret} OR siretEtablissementPredecesseur:{siret}");
        let (status, body, _) = self.get(self.successions_url.clone(), Some(&q)).await?;
        read_search(Subject::Siret, status, &body, "liensSuccession")
    }

    fn link(&self, version: u8, path: &str) -> Value {
        json!(format!("{}/v{version}/insee/sirene/{path}", self.public_base_url))
    }

    async fn answer(&self, route: Route, id: &str, version: u8) -> Result<Fetched, Failure> {
        let v = if version >= 4 { Version::V4 } else { Version::V3 };
        let mut links = Map::new();
        let mut meta = Map::new();
        let data = match route {
            Route::UniteLegale { .. } => {
                let found = self.direct(Subject::Siren, id).await?;
                let status = found.record.get("statutDiffusionUniteLegale").and_then(Value::as_str);
                let mut data = mapping::unite_legale(&found.record, v);
                if route.open_data() && hide(status, route)? {
                    mapping::mask_unit(&mut data);
                }
                if let Some(siege) = data.get("siret_siege_social").and_then(Value::as_str) {
                    links.insert(
                        "siege_social".into(),
                        self.link(version, &format!("etablissements/{siege}")),
                    );
                    let adresse = format!("etablissements/{siege}/adresse");
                    links.insert("siege_social_adresse".into(), self.link(version, &adresse));
                }
                let updated = found
                    .record
                    .get("dateDernierTraitementUniteLegale")
                    .and_then(Value::as_str);
                meta.insert("date_derniere_mise_a_jour".into(), mapping::epoch(updated));
                meta.insert("redirect_from_siren".into(), json!(found.redirected_from));
                data
            }
            Route::Etablissement { .. } | Route::Siege { .. } | Route::Adresse { .. } => {
                let found = match route {
                    Route::Siege { .. } => Found {
                        record: self.siege(id).await?,
                        redirected_from: None,
                    },
                    _ => self.direct(Subject::Siret, id).await?,
                };
                let record = &found.record;
                let status = record.get("statutDiffusionEtablissement").and_then(Value::as_str);
                let masked = route.open_data() && hide(status, route)?;
                let siren = record.get("siren").and_then(Value::as_str).unwrap_or_default();
                links.insert(
                    "unite_legale".into(),
                    self.link(version, &format!("unites_legales/{siren}")),
                );
                let updated = record.get("dateDernierTraitementEtablissement").and_then(Value::as_str);
                meta.insert("date_derniere_mise_a_jour".into(), mapping::epoch(updated));
                if let Route::Adresse { .. } = route {
                    let siret = record.get("siret").and_then(Value::as_str).unwrap_or(id);
                    links.insert(
                        "etablissement".into(),
                        self.link(version, &format!("etablissements/{siret}")),
                    );
                    let mut data = mapping::adresse(record);
                    if masked {
                        mapping::mask_address(&mut data);
                    }
                    data
                } else {
                    meta.insert("redirect_from_siret".into(), json!(found.redirected_from));
                    let mut data = mapping::etablissement(record, v);
                    if masked {
                        mapping::mask_etablissement(&mut data);
                    }
                    data
                }
            }
            Route::Successions => {
                let links = self.successions(id).await?;
                return Ok(Fetched::from(mapping::successions(&links, id)));
            }
        };
        Ok(Fetched {
            data: Value::Object(data),
            links,
            meta,
            attachments: Vec::new(),
            proxied: Vec::new(),
            deferred: Vec::new(),
            legacy: serde_json::Map::new(),
        })
    }
}

/// On a "diffusibles" route: a non-diffusible unit does not exist (`01003`); a
/// partially diffusible one is served masked (`true`).
fn hide(status: Option<&str>, route: Route) -> Result<bool, Failure> {
    match Diffusion::of(status) {
        Some(Diffusion::Closed) => Err(Failure::NotFound(route.subject())),
        Some(Diffusion::Partial) => Ok(true),
        _ => Ok(false),
    }
}

/// The new identifier of a duplicate: the last segment of `Location`, if it is one.
fn redirect_target(subject: Subject, location: &str) -> Option<String> {
    let last = location.trim_end_matches('/').rsplit('/').next()?;
    let valid = match subject {
        Subject::Siren => Siren::parse(last).is_ok(),
        Subject::Siret => Siret::parse(last).is_some(),
    };
    valid.then(|| last.to_string())
}

/// The answer of a direct call: its `uniteLegale` or `etablissement` object.
fn read_record(subject: Subject, status: StatusCode, body: &[u8]) -> Result<Map<String, Value>, Failure> {
    let key = match subject {
        Subject::Siren => "uniteLegale",
        Subject::Siret => "etablissement",
    };
    match status.as_u16() {
        200 => object(body, key)
            .and_then(|v| v.as_object().cloned())
            .ok_or(Failure::Unknown),
        403 => Err(Failure::Protected(subject)),
        other => Err(common_status(subject, other)),
    }
}

/// The answer of a search: its list under `key`; a 403 is not understood here.
fn read_search(subject: Subject, status: StatusCode, body: &[u8], key: &str) -> Result<Vec<Value>, Failure> {
    match status.as_u16() {
        200 => object(body, key)
            .and_then(|v| v.as_array().cloned())
            .ok_or(Failure::Unknown),
        403 => Err(Failure::Unknown),
        other => Err(common_status(subject, other)),
    }
}

fn object(body: &[u8], key: &str) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get_mut(key)
        .map(Value::take)
}

fn common_status(subject: Subject, status: u16) -> Failure {
    if let Some(error) = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| http::soft_status_error(INSEE, s))
    {
        return Failure::from(error);
    }
    match status {
        404 => Failure::NotFound(subject),
        500 => Failure::Internal,
        _ => Failure::Unknown,
    }
}

#[async_trait]
impl Provider for InseeProvider {
    fn info(&self) -> ProviderInfo {
        INSEE
    }

    /// The path's SIREN (`00301`) or SIRET (`00302`, La Poste exempt from Luhn).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        Route::of(endpoint.resource).ok_or_else(|| vec![internal()])?;
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let route = Route::of(call.endpoint.resource).ok_or_else(internal)?;
        let key = match route.subject() {
            Subject::Siren => "siren",
            Subject::Siret => "siret",
        };
        let id = call.extras.get(key).ok_or_else(internal)?;
        self.answer(route, id, call.version).await.map_err(Failure::into_error)
    }

    /// The real gateway's ping: the établissement `PING_SIRET` must be served.
    async fn ping(&self) -> Health {
        match self.direct(Subject::Siret, PING_SIRET).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}

/// An organisation as pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub name: String,
    /// One line: number, street, postcode and town.
    pub address: String,
}

/// The one-line postal address of a Sirene `adresseEtablissement`.
fn postal_address(address: &Value) -> String {
    let part = |key: &str| {
        address
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let street = [
        part("numeroVoieEtablissement"),
        part("typeVoieEtablissement"),
        part("libelleVoieEtablissement"),
    ];
    let town = [part("codePostalEtablissement"), part("libelleCommuneEtablissement")];
    let join = |parts: &[String]| {
        parts
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    };
    [join(&street), join(&town)]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}
