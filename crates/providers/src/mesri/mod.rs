//! MESRI statut étudiant: one URL, a static API key per mode (no OAuth), `GET ?INE=`
//! for a search by INE and `POST` with a JSON identity for a search by civility.

mod mapping;
pub mod simulator;

use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_catalogue::{Endpoint, Mode};
use passerelle_core::{codes, ApiError, Civility, ProviderInfo, Query, Sexe};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::http::TlsSettings;
use crate::insee::{Insee, InseeConfig};
use crate::upstream::Upstream;
use crate::{http, Call, Extras, Fetched, Health, Provider};

pub const MESRI: ProviderInfo = ProviderInfo {
    name: "MESRI",
    prefix: "25",
};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MesriConfig {
    /// Base of the upstream: the student status URL is `<base_url>/etudiant`.
    pub base_url: String,
    /// The full student status URL, when it does not end in `/etudiant`.
    pub url: Option<String>,
    /// `X-API-Key` of searches by INE.
    pub api_key_ine: String,
    /// `X-API-Key` of searches by civility.
    pub api_key_civility: String,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    pub tls: TlsSettings,
}

impl Default for MesriConfig {
    fn default() -> Self {
        MesriConfig::simulated("http://127.0.0.1:8090/mesri")
    }
}

impl MesriConfig {
    pub fn simulated(base_url: &str) -> Self {
        MesriConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            url: None,
            api_key_ine: simulator::API_KEY_INE.into(),
            api_key_civility: simulator::API_KEY_CIVILITY.into(),
            timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
        }
    }
}

pub struct MesriProvider {
    client: Upstream,
    max_body_bytes: usize,
    url: reqwest::Url,
    api_key_ine: String,
    api_key_civility: String,
    insee: Insee,
}

impl MesriProvider {
    pub fn new(config: MesriConfig, insee: &InseeConfig) -> anyhow::Result<Self> {
        Ok(MesriProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            url: http::parse_url(MESRI.name, &http::or_base(&config.url, &config.base_url, "etudiant"))?,
            api_key_ine: config.api_key_ine,
            api_key_civility: config.api_key_civility,
            insee: Insee::new(insee)?,
        })
    }

    fn by_ine(&self, ine: &str) -> reqwest::RequestBuilder {
        self.client
            .get(self.url.clone())
            .query(&[("INE", ine)])
            .header("X-API-Key", &self.api_key_ine)
    }

    fn by_civility(&self, body: &Value) -> reqwest::RequestBuilder {
        self.client
            .post(self.url.clone())
            .json(body)
            .header("X-API-Key", &self.api_key_civility)
    }

    /// The upstream's identity body; the birthplace comes from INSEE when only the
    /// commune's name was given.
    async fn civility_body(&self, civility: &Civility) -> Value {
        let mut body = Map::new();
        body.insert("nomFamille".into(), civility.nom_naissance.clone().into());
        let prenom = civility.prenoms.first().cloned().unwrap_or_default();
        body.insert("prenom1".into(), prenom.into());
        body.insert("dateNaissance".into(), civility.naissance.formatted().into());
        let sexe = match civility.sexe {
            Some(Sexe::F) => "2",
            _ => "1",
        };
        body.insert("sexe".into(), sexe.into());
        if let Some(code) = self.insee.commune_code(civility).await {
            body.insert("lieuNaissance".into(), code.into());
        }
        Value::Object(body)
    }

    async fn send(&self, request: reqwest::RequestBuilder, caller: &str) -> Result<Fetched, ApiError> {
        let request = request.header("X-Caller", format!("DINUM - {caller}"));
        let response = self.client.send(MESRI, request).await?;
        if let Some(error) = http::soft_status_error(MESRI, response.status()) {
            return Err(error);
        }
        let (status, body) = http::read(MESRI, response, self.max_body_bytes).await?;
        mapping::answer(status, &body)
    }
}

#[async_trait]
impl Provider for MesriProvider {
    fn info(&self) -> ProviderInfo {
        MESRI
    }

    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, _today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        match endpoint.mode {
            Mode::Ine => parse_ine(query).map_err(|e| vec![e]),
            _ => Ok(Extras::new()),
        }
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let request = match call.endpoint.mode {
            Mode::Ine => self.by_ine(crate::required(call.extras, "ine")?),
            // FranceConnect's identity is searched as a given one is.
            Mode::Identite | Mode::FranceConnect => {
                let civility = call.civility.ok_or_else(|| ApiError::gateway(codes::INTERNAL))?;
                self.by_civility(&self.civility_body(civility).await)
            }
            Mode::Identifiant | Mode::Subject => return Err(ApiError::gateway(codes::INTERNAL)),
        };
        self.send(request, call.caller).await
    }

    /// Searches an INE nobody has: the upstream must answer 404.
    async fn ping(&self) -> Health {
        let caller = "00000000-0000-4000-8000-000000000000";
        match self.send(self.by_ine(PING_INE), caller).await {
            Err(e) if e.code == "25003" => Health::Ok,
            Err(e) => Health::Down(e.code),
            Ok(_) => Health::Down("the ping INE was found".into()),
        }
    }
}

const PING_INE: &str = "1234567890G";

fn parse_ine(query: &Query) -> Result<Extras, ApiError> {
    match query.get("ine").map(str::trim) {
        Some(ine) if is_ine(ine) => Ok(Extras::from([("ine".into(), ine.to_string())])),
        Some(_) => Err(ApiError::gateway(codes::INE_MALFORMED).with_detail(
            "L'INE doit compter 11 caractères (chiffres et lettres) dans l'un des formats RNIE, BEA, base 36 ou SIFA.",
        )),
        None => Err(ApiError::gateway(codes::INE_MALFORMED).with_detail("Le paramètre ine est obligatoire.")),
    }
}

/// The four INE formats, case-insensitive: RNIE `\d{9}[A-HJK]{2}`, BEA
/// `\d{10}[A-HJ-NPR-Z]`, base 36 `[0-9A-Z]{10}\d`, SIFA `\d{4}A\d{5}[A-HJ-NPR-Z]`.
pub fn is_ine(value: &str) -> bool {
    let upper = value.to_ascii_uppercase();
    let b = upper.as_bytes();
    if b.len() != 11 {
        return false;
    }
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let rnie_key = |c: u8| matches!(c, b'A'..=b'H' | b'J' | b'K');
    let bea_key = |c: u8| matches!(c, b'A'..=b'H' | b'J'..=b'N' | b'P' | b'R'..=b'Z');
    let rnie = digits(0..9) && rnie_key(b[9]) && rnie_key(b[10]);
    let bea = digits(0..10) && bea_key(b[10]);
    let base36 = b[..10].iter().all(u8::is_ascii_alphanumeric) && b[10].is_ascii_digit();
    let sifa = digits(0..4) && b[4] == b'A' && digits(5..10) && bea_key(b[10]);
    rnie || bea || base36 || sifa
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ine_formats() {
        for good in [
            "655888578AE",
            "1234567890G",
            "0100008010j",
            "AB12CD34EF5",
            "1234A12345B",
        ] {
            assert!(is_ine(good), "{good}");
        }
        for bad in [
            "1234567890",
            "1234567890I",
            "655888578AI",
            "12345678901X",
            "ABCDEFGHIJK",
            "1234567890é",
        ] {
            assert!(!is_ine(bad), "{bad}");
        }
    }

    #[test]
    fn ine_errors_are_00360() {
        let missing = parse_ine(&Query::from_pairs(&[])).unwrap_err();
        let bad = parse_ine(&Query::from_pairs(&[("ine", "12")])).unwrap_err();
        assert_eq!((missing.code.as_str(), bad.code.as_str()), ("00360", "00360"));
        assert_eq!(bad.kind.status(), 422);
    }
}
