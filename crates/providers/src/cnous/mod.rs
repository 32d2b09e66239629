//! CNOUS, "étudiant boursier": a student's scholarship, found by INE
//! (`GET <ine_url>/<ine>`), by civility (`POST <civility_url>` with a JSON search) or by
//! a FranceConnect identity (`GET <france_connect_url>` with a JSON body, as the upstream
//! wants it), after an OAuth2 token asked with HTTP Basic client credentials.

mod mapping;
pub mod simulator;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use passerelle_catalogue::{Endpoint, Mode};
use passerelle_core::{codes, ApiError, Civility, ProviderInfo, Query};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::TlsSettings;
use crate::insee::{Insee, InseeConfig};
use crate::oauth::{ClientAuth, TokenCache, TokenRequest};
use crate::upstream::Upstream;
use crate::{http, Call, Extras, Fetched, Health, Provider};
use mapping::Search;

pub const CNOUS: ProviderInfo = ProviderInfo {
    name: "CNOUS",
    prefix: "26",
};

/// First names travel joined, as the upstream wants them (names hold no comma).
const PRENOMS_SEPARATOR: &str = ", ";

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CnousConfig {
    /// Base of the upstream URLs when they are not given one by one.
    pub base_url: String,
    /// OAuth2 token endpoint; `<base_url>/token` when absent.
    pub token_url: Option<String>,
    /// Search by INE (`<ine_url>/<ine>`); `<base_url>/ine` when absent.
    pub ine_url: Option<String>,
    /// Search by civility; `<base_url>/civility` when absent.
    pub civility_url: Option<String>,
    /// Search by a FranceConnect identity; `<base_url>/france_connect` when absent.
    pub france_connect_url: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    pub tls: TlsSettings,
}

impl Default for CnousConfig {
    fn default() -> Self {
        CnousConfig::simulated("http://127.0.0.1:8090/cnous")
    }
}

impl CnousConfig {
    pub fn simulated(base_url: &str) -> Self {
        CnousConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            token_url: None,
            ine_url: None,
            civility_url: None,
            france_connect_url: None,
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
        }
    }

    fn url(&self, own: &Option<String>, path: &str) -> String {
        http::or_base(own, &self.base_url, path)
            .trim_end_matches('/')
            .to_string()
    }
}

pub struct CnousProvider {
    client: Upstream,
    max_body_bytes: usize,
    token: TokenCache,
    ine_url: String,
    civility_url: reqwest::Url,
    france_connect_url: reqwest::Url,
    insee: Insee,
}

impl CnousProvider {
    pub fn new(config: CnousConfig, insee: &InseeConfig) -> anyhow::Result<Self> {
        let request = TokenRequest::new(
            http::parse_url(CNOUS.name, &config.url(&config.token_url, "token"))?,
            config.client_id.clone(),
            config.client_secret.clone(),
            ClientAuth::Basic,
        );
        // The INE goes after this base per call: only the base is checked here.
        let ine_url = config.url(&config.ine_url, "ine");
        http::parse_url(CNOUS.name, &ine_url)?;
        Ok(CnousProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            token: TokenCache::new(request),
            ine_url,
            civility_url: http::parse_url(CNOUS.name, &config.url(&config.civility_url, "civility"))?,
            france_connect_url: http::parse_url(CNOUS.name, &config.url(&config.france_connect_url, "france_connect"))?,
            insee: Insee::new(insee)?,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ApiError> {
        self.token.send(&self.client, &self.client, CNOUS, request).await
    }

    fn by_ine(&self, ine: &str, campaign_year: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.client.get(format!("{}/{ine}", self.ine_url));
        match campaign_year {
            Some(year) => request.query(&[("campaignYear", year)]),
            None => request,
        }
    }

    async fn by_civility(&self, civility: &Civility, campaign_year: Option<&str>) -> reqwest::RequestBuilder {
        let birth_place = self.insee.commune_code(civility).await;
        let body = search_body(civility, birth_place, campaign_year);
        self.client
            .post(self.civility_url.clone())
            .header("Content-Type", "application/json")
            .body(body.to_string())
    }

    /// A GET with a JSON body, as the upstream's FranceConnect search is.
    fn by_france_connect(&self, civility: &Civility, campaign_year: Option<&str>) -> reqwest::RequestBuilder {
        self.client
            .get(self.france_connect_url.clone())
            .header("Content-Type", "application/json")
            .body(france_connect_body(civility, campaign_year).to_string())
    }
}

#[async_trait]
impl Provider for CnousProvider {
    fn info(&self) -> ProviderInfo {
        CNOUS
    }

    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        let mut errors = Vec::new();
        let mut extras = Extras::new();
        if endpoint.mode == Mode::Ine {
            match parse_ine(query.get("ine")) {
                Ok(ine) => {
                    extras.insert("ine".into(), ine);
                }
                Err(e) => errors.push(e),
            }
        }
        match parse_campaign_year(query.get("campaignYear"), today) {
            Ok(Some(year)) => {
                extras.insert("campaignYear".into(), year.to_string());
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
        if errors.is_empty() {
            Ok(extras)
        } else {
            Err(errors)
        }
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let campaign_year = call.extras.get("campaignYear").map(String::as_str);
        let (search, request) = match (call.extras.get("ine"), call.civility) {
            (Some(ine), _) => (Search::Ine, self.by_ine(ine, campaign_year)),
            (None, Some(civility)) if call.endpoint.mode == Mode::FranceConnect => {
                (Search::Civility, self.by_france_connect(civility, campaign_year))
            }
            (None, Some(civility)) => (Search::Civility, self.by_civility(civility, campaign_year).await),
            (None, None) => return Err(ApiError::gateway(codes::INTERNAL)),
        };
        let (status, body) = http::read(CNOUS, self.send(request).await?, self.max_body_bytes).await?;
        if status != StatusCode::OK {
            return Err(mapping::upstream_error(status, search, &body));
        }
        mapping::build(call.version, &body).map(Fetched::from)
    }

    /// Asks for a token, then searches an INE nobody has: the upstream must answer 404.
    async fn ping(&self) -> Health {
        let answer = self.send(self.by_ine("1234567890G", None)).await;
        http::health(answer.map(|r| r.status()), &[StatusCode::NOT_FOUND])
    }
}

/// The INE, in any of its four formats (RNIE, BEA, base 36, SIFA), case-insensitive.
fn parse_ine(raw: Option<&str>) -> Result<String, ApiError> {
    let Some(raw) = raw.map(str::trim) else {
        return Err(
            ApiError::gateway(codes::INE_MALFORMED).with_detail("Le numéro d'INE (paramètre ine) est obligatoire.")
        );
    };
    if is_ine(&raw.to_ascii_uppercase()) {
        Ok(raw.to_string())
    } else {
        Err(ApiError::gateway(codes::INE_MALFORMED)
            .with_detail("Le numéro d'INE n'est pas correctement formatté : 11 caractères, chiffres et lettres."))
    }
}

fn is_ine(ine: &str) -> bool {
    let b = ine.as_bytes();
    if b.len() != 11 || !b.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let letter = |c: u8, allowed: &[u8]| allowed.contains(&c);
    const RNIE: &[u8] = b"ABCDEFGHJK";
    const BEA: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
    let rnie = digits(0..9) && letter(b[9], RNIE) && letter(b[10], RNIE);
    let bea = digits(0..10) && letter(b[10], BEA);
    let base36 = b[10].is_ascii_digit();
    let sifa = digits(0..4) && b[4] == b'A' && digits(5..10) && letter(b[10], BEA);
    rnie || bea || base36 || sifa
}

/// `campaignYear`: four digits, from 2021 to the current year minus one.
fn parse_campaign_year(raw: Option<&str>, today: NaiveDate) -> Result<Option<i32>, ApiError> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(None);
    };
    let last = today.year() - 1;
    match raw.parse::<i32>() {
        Ok(year) if raw.len() == 4 && (2021..=last).contains(&year) => Ok(Some(year)),
        _ => Err(ApiError::gateway(codes::CAMPAIGN_YEAR_INVALID).with_detail(format!(
            "L'année de campagne (campaignYear) n'est pas correctement formatée : elle doit être comprise entre 2021 et {last}."
        ))),
    }
}

/// The civility search, as the upstream expects it: absent members are left out.
fn search_body(civility: &Civility, birth_place: Option<String>, campaign_year: Option<&str>) -> Value {
    let n = civility.naissance;
    let mut body = Map::new();
    body.insert("lastName".into(), json!(civility.nom_naissance));
    body.insert("firstNames".into(), json!(civility.prenoms.join(PRENOMS_SEPARATOR)));
    body.insert(
        "birthDate".into(),
        json!(format!(
            "{:02}/{:02}/{:04}",
            n.jour.unwrap_or(0),
            n.mois.unwrap_or(0),
            n.annee.unwrap_or(0)
        )),
    );
    if let Some(code) = birth_place {
        body.insert("birthPlace".into(), json!(code));
    }
    if let Some(sexe) = civility.sexe {
        body.insert("civility".into(), json!(sexe.as_str()));
    }
    if let Some(year) = campaign_year.and_then(|y| y.parse::<i32>().ok()) {
        body.insert("campaignYear".into(), json!(year));
    }
    Value::Object(body)
}

/// The FranceConnect search: the identity pivot with the upstream's own names; the
/// birthplace is an empty string for people born abroad.
fn france_connect_body(civility: &Civility, campaign_year: Option<&str>) -> Value {
    let n = civility.naissance;
    let mut body = json!({
        "given_name": civility.prenoms.join(PRENOMS_SEPARATOR),
        "family_name": civility.nom_naissance,
        "birthdate": format!("{:02}/{:02}/{:04}", n.jour.unwrap_or(0), n.mois.unwrap_or(0), n.annee.unwrap_or(0)),
        "gender": civility.sexe.map(|s| s.as_str()).unwrap_or("F"),
        "birthplace": civility.code_commune_naissance.clone().unwrap_or_default(),
    });
    if let Some(year) = campaign_year.and_then(|y| y.parse::<i32>().ok()) {
        body["campaignYear"] = json!(year);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    }

    #[test]
    fn ine_formats() {
        for ok in [
            "1234567890C",
            "123456789AB",
            "123456789ak",
            "ABCDEFGHIJ1",
            "1234A12345Z",
        ] {
            assert!(parse_ine(Some(ok)).is_ok(), "{ok}");
        }
        for bad in ["1234567890I", "12345", "1234567890CC", "1234567890-", "ABCDEFGHIJK"] {
            assert_eq!(parse_ine(Some(bad)).unwrap_err().code, "00360", "{bad}");
        }
        let missing = parse_ine(None).unwrap_err();
        assert_eq!((missing.code.as_str(), missing.status()), ("00360", 422));
    }

    #[test]
    fn campaign_year_range() {
        assert_eq!(parse_campaign_year(Some("2021"), today()).unwrap(), Some(2021));
        assert_eq!(parse_campaign_year(Some("2025"), today()).unwrap(), Some(2025));
        assert_eq!(parse_campaign_year(None, today()).unwrap(), None);
        for bad in ["2020", "2026", "25", "deux", "02025"] {
            let e = parse_campaign_year(Some(bad), today()).unwrap_err();
            assert_eq!((e.code.as_str(), e.status()), ("00368", 422), "{bad}");
        }
    }

    #[test]
    fn search_body_leaves_out_absent_members() {
        let endpoint = passerelle_catalogue::find("cnous/etudiant_boursier", "identite", 4).unwrap();
        let rules = endpoint.civility.unwrap();
        let query = Query::from_pairs(&[
            ("nomNaissance", "Pagnol"),
            ("prenoms[]", "Marcel"),
            ("prenoms[]", "Jean-Pierre"),
            ("anneeDateNaissance", "1998"),
            ("moisDateNaissance", "7"),
            ("jourDateNaissance", "2"),
            ("sexeEtatCivil", "m"),
            ("codeCogInseeCommuneNaissance", "75000"),
            ("nomUsage", "ignoré"),
        ]);
        let civility = Civility::parse(&query, &rules, today()).unwrap();
        let body = search_body(&civility, Some("75000".into()), Some("2024"));
        assert_eq!(
            body,
            json!({"lastName": "Pagnol", "firstNames": "Marcel, Jean-Pierre", "birthDate": "02/07/1998",
                   "birthPlace": "75000", "civility": "M", "campaignYear": 2024})
        );
        let bare = Query::from_pairs(&[
            ("nomNaissance", "Noel"),
            ("prenoms[]", "Paul"),
            ("anneeDateNaissance", "2000"),
            ("moisDateNaissance", "1"),
            ("jourDateNaissance", "1"),
        ]);
        let civility = Civility::parse(&bare, &rules, today()).unwrap();
        assert_eq!(
            search_body(&civility, None, None),
            json!({"lastName": "Noel", "firstNames": "Paul", "birthDate": "01/01/2000"})
        );
    }
}
