//! DSS, the "API Sécurité sociale" hosted by CNAV: eight prestations (quotient
//! familial, RSA, prime d'activité, ASF, AAH, C2S, AEEH, EAJE) behind one protocol:
//! an OAuth2 token per prestation, then a GET with the identity in the query string.

mod mapping;
pub mod simulator;
mod wire;

use passerelle_core::{codes, Subcode};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use passerelle_catalogue::Endpoint;
use passerelle_core::{ApiError, ProviderInfo, Query};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::http::TlsSettings;
use crate::oauth::{ClientAuth, TokenCache, TokenRequest};
use crate::upstream::Upstream;
use crate::{http, Call, Extras, Fetched, Health, Provider};

/// Published contract: DSS errors carry the CNAV prefix (see docs/known-differences.md).
pub const CNAV: ProviderInfo = ProviderInfo {
    name: "CNAV",
    prefix: "37",
};

/// Prestation names as the upstream knows them, by public resource.
pub const PRESTATIONS: &[(&str, &str)] = &[
    ("quotient_familial", "quotient_familial_v2"),
    ("revenu_solidarite_active", "revenu_solidarite_active"),
    ("prime_activite", "prime_activite"),
    ("allocation_soutien_familial", "allocation_soutien_familial"),
    ("allocation_adulte_handicape", "allocation_adulte_handicape"),
    ("complementaire_sante_solidaire", "complementaire_sante_solidaire"),
    ("allocation_enfant_handicape", "allocation_enfant_handicape"),
    ("participation_familiale_eaje", "participation_familiale_eaje"),
];

/// Per-prestation overrides: the real upstream gives each prestation its own URL,
/// credentials and OAuth scope.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct PrestationConfig {
    pub url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DssConfig {
    /// Base of the prestation URLs: `<base_url>/<prestation>`.
    pub base_url: String,
    /// OAuth2 token endpoint; `<base_url>/token` when absent.
    pub token_url: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    pub tls: TlsSettings,
    pub prestations: BTreeMap<String, PrestationConfig>,
}

impl Default for DssConfig {
    fn default() -> Self {
        DssConfig::simulated("http://127.0.0.1:8090/dss")
    }
}

impl DssConfig {
    pub fn simulated(base_url: &str) -> Self {
        DssConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            token_url: None,
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
            prestations: BTreeMap::new(),
        }
    }
}

struct Prestation {
    url: reqwest::Url,
    token: TokenCache,
}

pub struct DssProvider {
    client: Upstream,
    max_body_bytes: usize,
    prestations: HashMap<&'static str, Prestation>,
}

impl DssProvider {
    pub fn new(config: DssConfig) -> anyhow::Result<Self> {
        let token_url = http::parse_url(CNAV.name, &http::or_base(&config.token_url, &config.base_url, "token"))?;
        let prestations = PRESTATIONS
            .iter()
            .map(|(resource, name)| -> anyhow::Result<_> {
                let own = config.prestations.get(*name).cloned().unwrap_or_default();
                let request = TokenRequest {
                    url: token_url.clone(),
                    client_id: own.client_id.unwrap_or_else(|| config.client_id.clone()),
                    client_secret: own.client_secret.unwrap_or_else(|| config.client_secret.clone()),
                    scope: Some(own.scope.unwrap_or_else(|| name.to_string())),
                    auth: ClientAuth::Basic,
                };
                let url = http::parse_url(CNAV.name, &http::or_base(&own.url, &config.base_url, name))?;
                Ok((
                    *resource,
                    Prestation {
                        url,
                        token: TokenCache::new(request),
                    },
                ))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(DssProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            prestations,
        })
    }

    async fn call_upstream(
        &self,
        prestation: &Prestation,
        query: &[(&str, String)],
        request_id: &str,
        recipient: &str,
    ) -> Result<reqwest::Response, ApiError> {
        // Appended by form_urlencoded itself: `RequestBuilder::query` goes through
        // serde_urlencoded's serializer for the same bytes.
        let mut url = prestation.url.clone();
        url.query_pairs_mut().extend_pairs(query);
        let request = self
            .client
            .get(url)
            .header("Content-Type", "application/json")
            .header("X-Correlation-ID", request_id)
            .header("X-APIPART-FSFINAL", recipient);
        prestation.token.send(&self.client, &self.client, CNAV, request).await
    }
}

#[async_trait]
impl Provider for DssProvider {
    fn info(&self) -> ProviderInfo {
        CNAV
    }

    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        if endpoint.resource == "quotient_familial" {
            parse_period(query, today)
        } else {
            Ok(Extras::new())
        }
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let prestation = self
            .prestations
            .get(call.endpoint.resource)
            .ok_or_else(|| ApiError::gateway(codes::INTERNAL))?;
        let civility = call.civility.ok_or_else(|| ApiError::gateway(codes::INTERNAL))?;
        let query = wire::query(civility, call.endpoint.resource, call.extras);
        let response = self
            .call_upstream(prestation, &query, call.request_id, call.recipient())
            .await?;
        let regime = response
            .headers()
            .get("X-APISECU-FD")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (status, body) = http::read(CNAV, response, self.max_body_bytes).await?;
        if status != StatusCode::OK {
            return Err(mapping::upstream_error(status, regime.as_deref(), &body));
        }
        let json: Value = serde_json::from_slice(&body).map_err(|_| CNAV.error(Subcode::Unknown))?;
        mapping::build(
            call.endpoint.resource,
            &json,
            regime.as_deref(),
            call.extras,
            call.today,
        )
        .map(Fetched::from)
    }

    /// Asks for a token, then searches a person nobody has: the upstream must answer 404.
    async fn ping(&self) -> Health {
        let Some(prestation) = self.prestations.get("quotient_familial") else {
            return Health::Unknown;
        };
        let query = [
            ("nomNaissance", "PING".to_string()),
            ("dateNaissance", "2000-01-01".into()),
            ("codePaysNaissance", "99100".into()),
            ("genre", "M".into()),
        ];
        let request_id = "00000000-0000-4000-8000-000000000000";
        let answer = self
            .call_upstream(prestation, &query, request_id, "13002526500013")
            .await;
        http::health(answer.map(|r| r.status()), &[StatusCode::NOT_FOUND])
    }
}

/// The quotient familial's period: `annee` (N, N-1 or N-2) and `mois`, defaulting to
/// the current month. Both are always resolved, so that the cache key and the
/// upstream call agree on which month is asked for.
fn parse_period(query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
    let mut errors = Vec::new();
    let year = today.year();
    let annee = match query.get("annee").map(|v| v.trim().parse::<i32>()) {
        None => Some(year),
        Some(Ok(a)) if (year - 2..=year).contains(&a) => Some(a),
        Some(Ok(a)) if a > 999 && a <= 9999 => {
            errors.push(ApiError::gateway(codes::ANNEE_OUT_OF_RANGE));
            None
        }
        Some(_) => {
            errors.push(ApiError::gateway(codes::ANNEE_INVALID));
            None
        }
    };
    let mois = match query.get("mois").map(|v| v.trim().parse::<u32>()) {
        None => Some(today.month()),
        Some(Ok(m)) if (1..=12).contains(&m) && !(annee == Some(year) && m > today.month()) => Some(m),
        Some(_) => {
            errors.push(ApiError::gateway(codes::MOIS_INVALID));
            None
        }
    };
    match (annee, mois) {
        (Some(a), Some(m)) if errors.is_empty() => Ok(Extras::from([
            ("annee".into(), a.to_string()),
            ("mois".into(), m.to_string()),
        ])),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Query {
        Query::from_pairs(pairs)
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn period_defaults_to_current_month() {
        let extras = parse_period(&q(&[]), today()).unwrap();
        assert_eq!((extras["annee"].as_str(), extras["mois"].as_str()), ("2026", "11"));
    }

    #[test]
    fn period_rules() {
        let codes = |pairs: &[(&str, &str)]| parse_period(&q(pairs), today()).err().map(|e| e[0].code.clone());
        assert_eq!(codes(&[("annee", "2023")]), Some("00356".into()));
        assert_eq!(codes(&[("annee", "20x4")]), Some("00353".into()));
        assert_eq!(codes(&[("annee", "2026"), ("mois", "12")]), Some("00354".into()));
        assert_eq!(codes(&[("annee", "2025"), ("mois", "12")]), None);
        assert_eq!(codes(&[("mois", "0")]), Some("00354".into()));
    }
}
