//! MEN (Éducation nationale), scolarités: an OAuth2 token (client credentials in the
//! form body), then a GET by school or a JSON POST by perimeter, with the partner's
//! SIRET in a header.

mod mapping;
mod params;
pub mod simulator;

use passerelle_core::{codes, Subcode};
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_catalogue::Endpoint;
use passerelle_core::{ApiError, Civility, ProviderInfo, Query, Sexe};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::TlsSettings;
use crate::oauth::{ClientAuth, TokenCache, TokenRequest};
use crate::upstream::Upstream;
use crate::{http, Call, Extras, Fetched, Health, Provider};

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
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    pub tls: TlsSettings,
}

impl Default for MenConfig {
    fn default() -> Self {
        MenConfig::simulated("http://127.0.0.1:8090/men")
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
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
        }
    }

    fn or_base(&self, own: &Option<String>, path: &str) -> String {
        http::or_base(own, &self.base_url, path)
    }
}

/// The URLs, resolved once.
struct Urls {
    search: reqwest::Url,
    perimeter: reqwest::Url,
    ping: reqwest::Url,
}

pub struct MenProvider {
    client: Upstream,
    max_body_bytes: usize,
    urls: Urls,
    token: TokenCache,
}

impl MenProvider {
    pub fn new(config: MenConfig) -> anyhow::Result<Self> {
        let search = config.or_base(&config.url, "scolarites");
        let token_url = http::parse_url(MEN.name, &config.or_base(&config.token_url, "token"))?;
        Ok(MenProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            urls: Urls {
                search: http::parse_url(MEN.name, &search)?,
                perimeter: http::parse_url(MEN.name, &format!("{search}/perimetre"))?,
                ping: http::parse_url(MEN.name, &config.or_base(&config.ping_url, "ping"))?,
            },
            token: TokenCache::new(TokenRequest::new(
                token_url,
                config.client_id,
                config.client_secret,
                ClientAuth::Form,
            )),
        })
    }

    async fn search(&self, call: &Call<'_>) -> Result<reqwest::Response, ApiError> {
        let civility = call.civility.ok_or_else(|| ApiError::gateway(codes::INTERNAL))?;
        let request = match call.extras.get("codeEtablissement") {
            Some(uai) => self
                .client
                .get(self.urls.search.clone())
                .query(&by_school(civility, call.extras, uai)),
            None => self
                .client
                .post(self.urls.perimeter.clone())
                .body(by_perimeter(civility, call.extras).to_string()),
        };
        let request = request
            .header("X-Siret-Partenaire", call.recipient())
            .header("Content-Type", "application/json");
        self.token.send(&self.client, &self.client, MEN, request).await
    }
}

fn extra<'a>(extras: &'a Extras, key: &str) -> &'a str {
    extras.get(key).map(String::as_str).unwrap_or_default()
}

/// `1` for M, `2` for F; absent when the caller gave no sex.
fn sexe(civility: &Civility) -> Option<u8> {
    civility.sexe.map(|s| if s == Sexe::M { 1 } else { 2 })
}

/// Only the first first name is sent.
fn prenom(civility: &Civility) -> &str {
    civility.prenoms.first().map(String::as_str).unwrap_or_default()
}

fn by_school(civility: &Civility, extras: &Extras, uai: &str) -> Vec<(&'static str, String)> {
    let mut query = vec![
        ("nom", civility.nom_naissance.clone()),
        ("prenom", prenom(civility).to_string()),
    ];
    if let Some(sexe) = sexe(civility) {
        query.push(("sexe", sexe.to_string()));
    }
    query.extend([
        ("date-naissance", civility.naissance.formatted()),
        ("code-uai", uai.to_string()),
        ("annee-scolaire", extra(extras, "anneeScolaire").to_string()),
        ("scope", UPSTREAM_SCOPE.to_string()),
    ]);
    query
}

fn by_perimeter(civility: &Civility, extras: &Extras) -> Value {
    let valeurs: Vec<&str> = extra(extras, "valeursPerimetre").split(',').collect();
    json!({
        "nom": civility.nom_naissance,
        "prenom": prenom(civility),
        "sexe": sexe(civility),
        "date-naissance": civility.naissance.formatted(),
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

    fn parse_extras(&self, _endpoint: &Endpoint, query: &Query, _today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        params::parse(query)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let response = self.search(call).await?;
        if let Some(error) = http::soft_status_error(MEN, response.status()) {
            return Err(error);
        }
        let (status, body) = http::read(MEN, response, self.max_body_bytes).await?;
        if status != StatusCode::OK {
            return Err(mapping::upstream_error(status));
        }
        let json: Value = serde_json::from_slice(&body).map_err(|_| MEN.error(Subcode::Unknown))?;
        mapping::build(&json, call.version).map(Fetched::from)
    }

    /// A token, then the upstream's health URL, which must answer 200.
    async fn ping(&self) -> Health {
        let request = self.client.get(self.urls.ping.clone());
        let answer = self.token.send(&self.client, &self.client, MEN, request).await;
        http::health(answer.map(|r| r.status()), &[StatusCode::OK])
    }
}
