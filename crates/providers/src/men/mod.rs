//! MEN (Éducation nationale), scolarités: an OAuth2 token (client credentials in the
//! form body), then a GET by school or a JSON POST by perimeter, with the partner's
//! SIRET in a header.

mod mapping;
mod params;
pub mod simulator;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_catalogue::Endpoint;
use passerelle_core::{ApiError, ProviderInfo, Query};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::http::TlsSettings;
use crate::{http, Call, Extras, Health, Provider};

pub const MEN: ProviderInfo = ProviderInfo {
    name: "MEN",
    prefix: "30",
};

/// The data the gateway asks for: constant, whatever the caller's scopes.
pub const UPSTREAM_SCOPE: &str = "men_statut_scolarite,men_statut_boursier,men_echelon_bourse";

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MenConfig {
    /// Base of the default URLs below.
    pub base_url: String,
    /// The scolarités URL (`men_scolarites_url_v2`), `<base_url>/scolarites` when absent;
    /// perimeter searches go to `<url>/perimetre`.
    pub url: Option<String>,
    /// OAuth2 token endpoint (`men_scolarites_authenticate_url`), `<base_url>/token` when absent.
    pub token_url: Option<String>,
    /// Health URL (`men_scolarites_ping_url`), `<base_url>/ping` when absent.
    pub ping_url: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub timeout_secs: u64,
    pub tls: TlsSettings,
}

impl Default for MenConfig {
    fn default() -> Self {
        MenConfig::simulated("http://127.0.0.1:8081/men")
    }
}

impl MenConfig {
    pub fn simulated(base_url: &str) -> Self {
        MenConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            url: None,
            token_url: None,
            ping_url: None,
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            timeout_secs: 10,
            tls: TlsSettings::default(),
        }
    }

    fn or_base(&self, own: &Option<String>, path: &str) -> String {
        own.clone().unwrap_or_else(|| format!("{}/{path}", self.base_url))
    }
}

/// The URLs, resolved once.
struct Urls {
    search: String,
    token: String,
    ping: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

pub struct MenProvider {
    client: reqwest::Client,
    urls: Urls,
    client_id: String,
    client_secret: String,
    /// The shared `oauth::TokenCache` sends credentials as HTTP Basic; MEN wants them
    /// in the form, so this provider keeps its own token.
    token: Mutex<Option<(String, Instant)>>,
}

impl MenProvider {
    pub fn new(config: MenConfig) -> anyhow::Result<Self> {
        Ok(MenProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            urls: Urls {
                search: config.or_base(&config.url, "scolarites"),
                token: config.or_base(&config.token_url, "token"),
                ping: config.or_base(&config.ping_url, "ping"),
            },
            client_id: config.client_id,
            client_secret: config.client_secret,
            token: Mutex::new(None),
        })
    }

    async fn token(&self) -> Result<String, ApiError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let fresh = self.fetch_token().await?;
        // Ten seconds of margin so that a token never expires in flight.
        let until = Instant::now() + Duration::from_secs(fresh.expires_in.saturating_sub(10));
        *cached = Some((fresh.access_token.clone(), until));
        Ok(fresh.access_token)
    }

    async fn fetch_token(&self) -> Result<TokenResponse, ApiError> {
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let response = self
            .client
            .post(&self.urls.token)
            .form(&form)
            .send()
            .await
            .map_err(|e| http::transport_error(MEN, &e))?;
        let status = response.status();
        if let Some(error) = http::soft_status_error(MEN, status) {
            return Err(error);
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            tracing::error!(provider = MEN.name, %status, "upstream refused the gateway's client credentials");
            return Err(MEN.error("006"));
        }
        let body = response.bytes().await.map_err(|e| http::transport_error(MEN, &e))?;
        serde_json::from_slice(&body).map_err(|_| {
            tracing::error!(provider = MEN.name, %status, "upstream token answer is not a token");
            MEN.error("999")
        })
    }

    async fn search(&self, call: &Call<'_>) -> Result<reqwest::Response, ApiError> {
        let token = self.token().await?;
        let request = match call.extras.get("codeEtablissement") {
            Some(uai) => self.client.get(&self.urls.search).query(&by_school(call.extras, uai)),
            None => self
                .client
                .post(format!("{}/perimetre", self.urls.search))
                .body(by_perimeter(call.extras).to_string()),
        };
        let response = request
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Siret-Partenaire", call.recipient.as_str())
            .header("Content-Type", "application/json")
            .send()
            .await
            .map_err(|e| http::transport_error(MEN, &e))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            *self.token.lock().await = None;
        }
        Ok(response)
    }
}

fn extra<'a>(extras: &'a Extras, key: &str) -> &'a str {
    extras.get(key).map(String::as_str).unwrap_or_default()
}

/// `1` for M, `2` for F; absent when the caller gave no sex.
fn sexe(extras: &Extras) -> Option<u8> {
    extras.get("sexe").map(|s| if s == "M" { 1 } else { 2 })
}

fn by_school(extras: &Extras, uai: &str) -> Vec<(&'static str, String)> {
    let mut query = vec![
        ("nom", extra(extras, "nom").to_string()),
        ("prenom", extra(extras, "prenom").to_string()),
    ];
    if let Some(sexe) = sexe(extras) {
        query.push(("sexe", sexe.to_string()));
    }
    query.extend([
        ("date-naissance", extra(extras, "dateNaissance").to_string()),
        ("code-uai", uai.to_string()),
        ("annee-scolaire", extra(extras, "anneeScolaire").to_string()),
        ("scope", UPSTREAM_SCOPE.to_string()),
    ]);
    query
}

fn by_perimeter(extras: &Extras) -> Value {
    let valeurs: Vec<&str> = extra(extras, "valeursPerimetre").split(',').collect();
    json!({
        "nom": extra(extras, "nom"),
        "prenom": extra(extras, "prenom"),
        "sexe": sexe(extras),
        "date-naissance": extra(extras, "dateNaissance"),
        "annee-scolaire": extra(extras, "anneeScolaire"),
        "scope": UPSTREAM_SCOPE,
        "degre-etablissement": extra(extras, "degreEtablissement"),
        "type-perimetre": extra(extras, "typePerimetre"),
        "valeurs-perimetre": valeurs,
    })
}

#[async_trait]
impl Provider for MenProvider {
    fn info(&self) -> ProviderInfo {
        MEN
    }

    fn parse_extras(&self, _endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        params::parse(query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Value, ApiError> {
        let response = self.search(call).await?;
        let status = response.status();
        if let Some(error) = http::soft_status_error(MEN, status) {
            return Err(error);
        }
        let body = response.bytes().await.map_err(|e| http::transport_error(MEN, &e))?;
        if status != StatusCode::OK {
            return Err(mapping::upstream_error(status));
        }
        let json: Value = serde_json::from_slice(&body).map_err(|_| MEN.error("999"))?;
        mapping::build(&json, call.version)
    }

    /// A token, then the upstream's health URL, which must answer 200.
    async fn ping(&self) -> Health {
        let token = match self.token().await {
            Ok(token) => token,
            Err(e) => return Health::Down(e.code),
        };
        let response = self
            .client
            .get(&self.urls.ping)
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await;
        match response {
            Ok(r) if r.status() == StatusCode::OK => Health::Ok,
            Ok(r) => Health::Down(format!("unexpected status {}", r.status())),
            Err(e) => Health::Down(http::transport_error(MEN, &e).code),
        }
    }
}
