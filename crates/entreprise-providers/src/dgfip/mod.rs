//! DGFIP's Adélie, through the DGFIP API manager, behind four API Entreprise routes:
//! the attestation fiscale (a PDF, v3 and v4), chiffres d'affaires, liasses fiscales
//! and liens capitalistiques. A client-credentials OAuth2 token, then one GET per call
//! carrying the caller's uid (`userId`) and the request id (`X-Request-ID`).

mod errors;
mod mapping;
mod pdf;
pub mod simulator;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use passerelle_bouquet::{Attachment, Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::oauth::{ClientAuth, TokenCache, TokenRequest};
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::sync::Mutex;

pub use errors::{Failure, Wording, DGFIP};

pub(crate) use mapping::Dictionary;
use mapping::Liasse;

/// The provider id of the DGFIP operations in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("dgfip");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The API manager: the token at `<base_url>/token`, Adélie under `<base_url>/adelie/v1`.
    pub base_url: String,
    /// The token endpoint; `<base_url>/token` when unset.
    pub token_url: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// Per socket operation (§8: 10 s + 10 s), the attestation 15 s + 15 s.
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    pub attestation_timeout_ms: u64,
    /// The attestation PDF weighs a few hundred kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/dgfip")
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
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            attestation_timeout_ms: 15_000,
            max_body_bytes: 10 * 1024 * 1024,
        }
    }
}

/// The four routes, from the catalogue's `resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Attestation,
    ChiffresAffaires,
    Liasses,
    Liens,
}

impl Route {
    fn of(resource: &str) -> Option<Route> {
        Some(match resource {
            "attestations_fiscales" => Route::Attestation,
            "chiffres_affaires" => Route::ChiffresAffaires,
            "liasses_fiscales" => Route::Liasses,
            "liens_capitalistiques" => Route::Liens,
            _ => return None,
        })
    }

    fn wording(self) -> Wording {
        match self {
            Route::Attestation => Wording::Attestation,
            _ => Wording::Other,
        }
    }
}

/// What every Adélie call carries besides its own query.
struct Asker<'a> {
    user_id: &'a str,
    request_id: &'a str,
}

/// Adélie's routes, resolved once.
struct Urls {
    attestation: reqwest::Url,
    chiffres_affaires: reqwest::Url,
    liasse: reqwest::Url,
    dictionnaire: reqwest::Url,
    etat_sante: reqwest::Url,
}

pub struct DgfipProvider {
    client: Upstream,
    attestation_client: Upstream,
    tokens: TokenCache,
    urls: Urls,
    max_body_bytes: usize,
    /// Dictionaries by year: they never change once published.
    dictionaries: Mutex<HashMap<u16, Arc<Dictionary>>>,
}

impl DgfipProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let base = settings.base_url.trim_end_matches('/');
        let token_url = http::parse_url(DGFIP.name, &http::or_base(&settings.token_url, base, "token"))?;
        let token = TokenRequest::new(token_url, settings.client_id, settings.client_secret, ClientAuth::Form);
        let adelie = |path: &str| http::parse_url(DGFIP.name, &format!("{base}/adelie/v1/{path}"));
        Ok(DgfipProvider {
            client: http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?,
            attestation_client: http::read_timeout_client(
                settings.attestation_timeout_ms,
                settings.attestation_timeout_ms,
            )?,
            tokens: TokenCache::new(token),
            urls: Urls {
                attestation: adelie("attestationFiscale")?,
                chiffres_affaires: adelie("chiffreAffaires")?,
                liasse: adelie("getLiasseFiscale")?,
                dictionnaire: adelie("dictionnaire")?,
                etat_sante: adelie("etatSante")?,
            },
            max_body_bytes: settings.max_body_bytes,
            dictionaries: Mutex::new(HashMap::new()),
        })
    }

    /// One Adélie GET. A refused token (401) is forgotten and the call replayed once
    /// with a fresh one.
    async fn get(
        &self,
        client: &Upstream,
        url: &reqwest::Url,
        query: &[(&str, &str)],
        asker: &Asker<'_>,
    ) -> Result<(StatusCode, Vec<u8>), Failure> {
        let request = || {
            client
                .get(url.clone())
                .query(query)
                .query(&[("userId", asker.user_id)])
                .header("X-Correlation-ID", asker.request_id)
                .header("X-Request-ID", asker.request_id)
                .header("Content-Type", "application/json")
        };
        let mut response = self.tokens.send(&self.client, client, DGFIP, request()).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            response = self.tokens.send(&self.client, client, DGFIP, request()).await?;
        }
        if let Some(error) = http::soft_status_error(DGFIP, response.status()) {
            return Err(error.into());
        }
        Ok(http::read(DGFIP, response, self.max_body_bytes).await?)
    }

    async fn attestation(&self, siren: &str, asker: &Asker<'_>) -> Result<Vec<u8>, Failure> {
        let query = [("siren", siren), ("groupeIS", "NON"), ("groupeTVA", "NON")];
        let (status, body) = self
            .get(&self.attestation_client, &self.urls.attestation, &query, asker)
            .await?;
        match status.as_u16() {
            404 => Err(Failure::NotFound),
            500 if temporary(&body) => Err(Failure::Temporary),
            200 if pdf::is_pdf(&body) => match pdf::is_refusal(&body) {
                true => Err(Failure::NotFound),
                false => Ok(body),
            },
            _ => Err(Failure::Unknown),
        }
    }

    async fn chiffres_affaires(&self, siret: &str, asker: &Asker<'_>) -> Result<Vec<Value>, Failure> {
        let (status, body) = self
            .get(&self.client, &self.urls.chiffres_affaires, &[("siret", siret)], asker)
            .await?;
        match status.as_u16() {
            200 => mapping::chiffres_affaires(&body),
            204 | 404 => Err(Failure::NotFound),
            500 if temporary(&body) => Err(Failure::Temporary),
            _ => Err(Failure::Unknown),
        }
    }

    async fn liasse(&self, siren: &str, year: &str, asker: &Asker<'_>) -> Result<Liasse, Failure> {
        let (status, body) = self
            .get(
                &self.client,
                &self.urls.liasse,
                &[("annee", year), ("siren", siren)],
                asker,
            )
            .await?;
        if contains(&body, ADELIE_ERROR_PAGE.as_bytes()) {
            return Err(Failure::Internal);
        }
        match status.as_u16() {
            200 => Liasse::parse(&body),
            404 => Err(Failure::NotFound),
            _ => Err(Failure::Unknown),
        }
    }

    async fn dictionary(&self, year: u16, asker: &Asker<'_>) -> Result<Arc<Dictionary>, Failure> {
        if let Some(known) = self.dictionaries.lock().await.get(&year) {
            return Ok(known.clone());
        }
        let annee = year.to_string();
        let (status, body) = self
            .get(&self.client, &self.urls.dictionnaire, &[("annee", &annee)], asker)
            .await?;
        if status != StatusCode::OK {
            return Err(Failure::Unknown);
        }
        let dictionary = Arc::new(Dictionary::parse(&body)?);
        self.dictionaries.lock().await.insert(year, dictionary.clone());
        Ok(dictionary)
    }

    /// The dictionary of `year` for another provider's answer (Banque de France's
    /// bilans), asked for the caller when its uid and request id are UUIDs, else for
    /// the gateway itself; failures are DGFIP's errors.
    pub(crate) async fn dictionary_for(
        &self,
        year: u16,
        user_id: &str,
        request_id: &str,
    ) -> Result<Arc<Dictionary>, ApiError> {
        let asker = Asker {
            user_id: uuid_or_gateway(user_id),
            request_id: uuid_or_gateway(request_id),
        };
        self.dictionary(year, &asker)
            .await
            .map_err(|f| f.into_error(Wording::Other))
    }

    async fn answer(&self, route: Route, call: &Call<'_>, asker: &Asker<'_>) -> Result<Fetched, Failure> {
        let extra = |key: &str| call.extras.get(key).map(String::as_str).ok_or(Failure::Unknown);
        match route {
            Route::Attestation => {
                let bytes = self.attestation(extra("siren")?, asker).await?;
                Ok(attestation_answer(bytes, call.version, call.today))
            }
            Route::ChiffresAffaires => {
                let items = self.chiffres_affaires(extra("siret")?, asker).await?;
                let mut meta = Map::new();
                meta.insert("count".into(), json!(items.len()));
                Ok(Fetched {
                    data: Value::Array(items),
                    links: Map::new(),
                    meta,
                    attachments: Vec::new(),
                    proxied: Vec::new(),
                    deferred: Vec::new(),
                    legacy: serde_json::Map::new(),
                })
            }
            Route::Liasses => {
                let year = extra("year")?;
                let liasse = self.liasse(extra("siren")?, year, asker).await?;
                let number = year.parse().map_err(|_| Failure::Unknown)?;
                let dictionary = self.dictionary(number, asker).await?;
                let (data, meta) = liasse.liasses(&dictionary);
                Ok(Fetched {
                    data,
                    links: Map::new(),
                    meta,
                    attachments: Vec::new(),
                    proxied: Vec::new(),
                    deferred: Vec::new(),
                    legacy: serde_json::Map::new(),
                })
            }
            Route::Liens => {
                let liasse = self.liasse(extra("siren")?, extra("year")?, asker).await?;
                Ok(Fetched::from(liasse.liens()?))
            }
        }
    }
}

/// The text of Adélie's HTML error page.
const ADELIE_ERROR_PAGE: &str = "Une erreur applicative s'est produite sur le serveur ADELIE.";

fn contains(body: &[u8], needle: &[u8]) -> bool {
    body.windows(needle.len()).any(|w| w == needle)
}

/// A 500 whose JSON body names an `erreur.code`: Adélie's "try again".
fn temporary(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("erreur").and_then(|e| e.get("code")).is_some())
}

/// v3 carries only the link (the gateway writes it); v4 adds the delivery date (today)
/// and the period analysed (the last day of the previous month), both computed.
fn attestation_answer(bytes: Vec<u8>, version: u8, today: NaiveDate) -> Fetched {
    let (expiry_member, data) = if version >= 4 {
        let analysed = today.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(today);
        let data = json!({
            "date_delivrance_attestation": today.format("%Y-%m-%d").to_string(),
            "date_periode_analysee": analysed.format("%Y-%m-%d").to_string(),
        });
        ("document_url_expires_in", data)
    } else {
        ("expires_in", json!({}))
    };
    Fetched {
        data,
        links: Map::new(),
        meta: Map::new(),
        attachments: vec![Attachment {
            url_member: "document_url",
            expiry_member,
            file_name: "attestation_fiscale_dgfip.pdf",
            content_type: "application/pdf",
            bytes,
            lifetime_secs: 86_400,
        }],
        proxied: Vec::new(),
        deferred: Vec::new(),
        legacy: serde_json::Map::new(),
    }
}

/// A UUID in its canonical text form (8-4-4-4-12 hexadecimal digits).
fn is_uuid(raw: &str) -> bool {
    let groups: Vec<&str> = raw.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[async_trait]
impl Provider for DgfipProvider {
    fn info(&self) -> ProviderInfo {
        DGFIP
    }

    /// The path's SIREN (`00301`) or SIRET (`00302`), and on liasses and liens the
    /// year (`00307` badly formed, `00315` before 2006 or not yet closed): every
    /// refusal at once.
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        Route::of(endpoint.resource).ok_or_else(|| vec![internal()])?;
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    /// The caller's uid and the request id go to DGFIP, which wants UUIDs: checked
    /// before any call (`00308`, `00401`).
    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let route = Route::of(call.endpoint.resource).ok_or_else(internal)?;
        if !is_uuid(call.caller) {
            return Err(ApiError::gateway(errors::USER_ID_INVALID));
        }
        if !is_uuid(call.request_id) {
            return Err(ApiError::gateway(errors::REQUEST_ID_INVALID));
        }
        let asker = Asker {
            user_id: call.caller,
            request_id: call.request_id,
        };
        self.answer(route, call, &asker)
            .await
            .map_err(|f| f.into_error(route.wording()))
    }

    /// Adélie's own health route.
    async fn ping(&self) -> Health {
        let asker = Asker {
            user_id: PING_USER,
            request_id: PING_USER,
        };
        let answer = self.get(&self.client, &self.urls.etat_sante, &[], &asker).await;
        http::health(
            answer
                .map(|(status, _)| status)
                .map_err(|f| f.into_error(Wording::Other)),
            &[StatusCode::OK],
        )
    }
}

/// The ping asks for nobody: the nil UUID stands for the gateway itself.
const PING_USER: &str = "00000000-0000-0000-0000-000000000000";

/// `id` if DGFIP can take it (a UUID), else the gateway's own.
fn uuid_or_gateway(id: &str) -> &str {
    if is_uuid(id) {
        id
    } else {
        PING_USER
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
