//! DSNJ, the service national: one JSON POST with a static bearer token, carrying the
//! person's identity pivot; the answer says whether the person is "en règle".

mod mapping;
pub mod simulator;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use passerelle_catalogue::Endpoint;
use passerelle_core::identity::FRANCE;
use passerelle_core::translit::fold;
use passerelle_core::{codes, ApiError, Civility, ErrorKind, ProviderInfo, Query, Sexe};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::{self, TlsSettings};
use crate::upstream::Upstream;
use crate::{Call, Extras, Fetched, Health, Provider};

pub const DSNJ: ProviderInfo = ProviderInfo {
    name: "DSNJ",
    prefix: "39",
};

/// The service national concerns people from 16 years old (see `parse_extras`).
const MIN_AGE: i32 = 16;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DsnjConfig {
    /// Base of the upstream: the call goes to `<base_url>/service_national`.
    pub base_url: String,
    /// The full URL of the service, when it does not end in `/service_national`.
    pub url: Option<String>,
    /// The static bearer token DSNJ gives the gateway.
    pub token: String,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    pub tls: TlsSettings,
}

impl Default for DsnjConfig {
    fn default() -> Self {
        DsnjConfig::simulated("http://127.0.0.1:8090/dsnj")
    }
}

impl DsnjConfig {
    pub fn simulated(base_url: &str) -> Self {
        DsnjConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            url: None,
            token: simulator::TOKEN.into(),
            timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
        }
    }
}

pub struct DsnjProvider {
    client: Upstream,
    max_body_bytes: usize,
    url: reqwest::Url,
    token: String,
}

impl DsnjProvider {
    pub fn new(config: DsnjConfig) -> anyhow::Result<Self> {
        let url = http::parse_url(
            DSNJ.name,
            &http::or_base(&config.url, &config.base_url, "service_national"),
        )?;
        Ok(DsnjProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            url,
            token: config.token,
        })
    }

    async fn post(&self, body: &Value) -> Result<reqwest::Response, ApiError> {
        let request = self
            .client
            .post(self.url.clone())
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json; charset=utf-8")
            // The upstream's filter expects this user agent (the real gateway sends it).
            .header("User-Agent", "curl/8.15.0")
            .body(body.to_string());
        self.client.send(DSNJ, request).await
    }
}

/// The request body: one identity pivot, names without accents, the first name
/// capitalised and the birth name upper-cased, the commune only for people born in France.
pub fn request_body(civility: &Civility) -> Value {
    let prenom = civility.prenoms.first().map(String::as_str).unwrap_or("");
    let birthplace = match (&civility.code_commune_naissance, civility.code_pays_naissance.as_str()) {
        (Some(code), FRANCE) => Value::String(code.clone()),
        _ => Value::Null,
    };
    let gender = match civility.sexe {
        Some(Sexe::M) => "male",
        _ => "female",
    };
    json!({"identites_pivot": [{
        "given_name": fold(&capitalize(prenom)),
        "family_name": fold(&civility.nom_naissance.to_uppercase()),
        "birthdate": civility.naissance.formatted(),
        "gender": gender,
        "birthplace": birthplace,
        "birthcountry": civility.code_pays_naissance,
    }]})
}

/// First letter upper case, the rest lower case (`JEAN-PIERRE` → `Jean-pierre`).
fn capitalize(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

/// Age in whole years on `today`.
fn age(birth: NaiveDate, today: NaiveDate) -> i32 {
    let had_birthday = (today.month(), today.day()) >= (birth.month(), birth.day());
    today.year() - birth.year() - i32::from(!had_birthday)
}

fn birth_date(query: &Query) -> Option<NaiveDate> {
    let part = |k: &str| query.get(k).and_then(|v| v.trim().parse::<u32>().ok());
    let year = i32::try_from(part("anneeDateNaissance")?).ok()?;
    NaiveDate::from_ymd_opt(year, part("moisDateNaissance")?, part("jourDateNaissance")?)
}

fn too_young(civility: &Civility, today: NaiveDate) -> bool {
    let n = civility.naissance;
    let birth = match (n.annee, n.mois, n.jour) {
        (Some(a), Some(m), Some(j)) => NaiveDate::from_ymd_opt(i32::from(a), u32::from(m), u32::from(j)),
        _ => None,
    };
    birth.is_some_and(|b| age(b, today) < MIN_AGE)
}

fn age_error() -> ApiError {
    ApiError {
        kind: ErrorKind::WrongParameter,
        code: "39400".into(),
        title: "Age non pertinent pour le Service National".into(),
        detail: "L'age renseigné n'est pas compris entre 16 et 25 ans incluts, et n'est donc pas concerné par le Service National.".into(),
        source: None,
        meta: Map::new(),
    }
}

#[async_trait]
impl Provider for DsnjProvider {
    fn info(&self) -> ProviderInfo {
        DSNJ
    }

    /// The age rule. Only the lower bound is enforced: the official sandbox case
    /// `200_pas_en_regle` answers 200 for a person older than 25 (see
    /// docs/providers/dsnj.md). An invalid date is left to the civility checks.
    fn parse_extras(&self, _endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        match birth_date(query) {
            Some(birth) if age(birth, today) < MIN_AGE => Err(vec![age_error()]),
            _ => Ok(Extras::new()),
        }
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let civility = call.civility.ok_or_else(|| ApiError::gateway(codes::INTERNAL))?;
        // A FranceConnect identity has not been through `parse_extras`.
        if too_young(civility, call.today) {
            return Err(age_error());
        }
        let (status, body) = http::read(DSNJ, self.post(&request_body(civility)).await?, self.max_body_bytes).await?;
        mapping::build(status, &body).map(Fetched::from)
    }

    /// The real gateway's canned check: a known test identity must get a 200.
    async fn ping(&self) -> Health {
        let body = json!({"identites_pivot": [{
            "given_name": "Jean", "family_name": "DUPONT", "birthdate": "2008-10-01",
            "gender": "male", "birthplace": "75101", "birthcountry": "99100",
        }]});
        let answer = self.post(&body).await;
        http::health(answer.map(|r| r.status()), &[reqwest::StatusCode::OK])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn age_counts_whole_years() {
        let today = date(2026, 11, 22);
        assert_eq!(age(date(2010, 11, 22), today), 16);
        assert_eq!(age(date(2010, 11, 23), today), 15);
        assert_eq!(age(date(1995, 6, 22), today), 31);
        let mut civility = Civility {
            nom_naissance: "MARTIN".into(),
            nom_usage: None,
            prenoms: vec!["Jean".into()],
            naissance: passerelle_core::BirthDate {
                annee: Some(2010),
                mois: Some(11),
                jour: Some(23),
            },
            sexe: None,
            code_pays_naissance: "99100".into(),
            code_commune_naissance: None,
            nom_commune_naissance: None,
            code_departement_naissance: None,
        };
        assert!(too_young(&civility, today));
        civility.naissance.jour = Some(22);
        assert!(!too_young(&civility, today));
    }

    #[test]
    fn capitalize_lowers_the_rest() {
        assert_eq!(capitalize("JEAN-PIERRE"), "Jean-pierre");
        assert_eq!(capitalize("élodie"), "Élodie");
        assert_eq!(capitalize(""), "");
    }

    #[test]
    fn body_follows_the_upstream_format() {
        let query = Query::from_pairs(&[
            ("nomNaissance", "Cañizares"),
            ("prenoms[]", "ÉLODIE"),
            ("prenoms[]", "MARIE"),
            ("anneeDateNaissance", "2007"),
            ("moisDateNaissance", "3"),
            ("jourDateNaissance", "9"),
            ("sexeEtatCivil", "f"),
            ("codeCogInseePaysNaissance", "99134"),
            ("codeCogInseeCommuneNaissance", "75056"),
        ]);
        let rules = passerelle_core::CivilityRules {
            prenoms_required: true,
            max_prenoms: 3,
            birth_date_required: true,
            sexe_required: true,
            pays_required: true,
            birth_date_until_yesterday: false,
            birthplace_required_in_france: false,
        };
        let civility = Civility::parse(&query, &rules, date(2026, 1, 1)).unwrap();
        assert_eq!(
            request_body(&civility),
            json!({"identites_pivot": [{"given_name": "Elodie", "family_name": "CANIZARES",
                "birthdate": "2007-03-09", "gender": "female", "birthplace": null, "birthcountry": "99134"}]})
        );
    }
}
