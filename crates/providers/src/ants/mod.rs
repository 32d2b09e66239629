//! ANTS, the vehicle registration system (SIV): one SOAP 1.2 call over mutual TLS,
//! with a signed SAML assertion in the header, asking for the registration file of a
//! plate. The answer lists the vehicle's holders; the one FranceConnect identified is
//! shown (see `matching`).

mod mapping;
mod matching;
mod saml;
pub mod simulator;
mod xml;

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{NaiveDate, SecondsFormat, Utc};
use passerelle_catalogue::Endpoint;
use passerelle_core::{codes, ApiError, ErrorKind, ProviderInfo, Query};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::http::{self, TlsSettings};
use crate::upstream::Upstream;
use crate::{Call, Extras, Fetched, Health, Provider};

pub const ANTS: ProviderInfo = ProviderInfo {
    name: "ANTS",
    prefix: "42",
};

/// The plate the real gateway's ping asks for: any answer with HTTP 200 is healthy.
const PING_PLATE: &str = "AAA-000-AAA";

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AntsConfig {
    /// The SIV SOAP service (`ants_siv_url`).
    pub url: String,
    /// The gateway's partner code in the control block (`ants_siv_code_partenaire`).
    pub code_partenaire: String,
    /// The ministry's application code in the control block (`ants_siv_code_miat`).
    pub code_miat: String,
    /// The `CodePartenaire` attribute of the SAML assertion (`ants_siv_code_concentrateur`).
    pub code_concentrateur: String,
    /// Issuer and subject of the SAML assertion (`ants_siv_idp_name`).
    pub idp_name: String,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    /// Mutual TLS; the same key signs the SAML assertion. Without a client certificate
    /// the assertion goes unsigned (the simulator accepts both, the real SIV does not).
    pub tls: TlsSettings,
}

impl Default for AntsConfig {
    fn default() -> Self {
        AntsConfig::simulated("http://127.0.0.1:8090/ants")
    }
}

impl AntsConfig {
    pub fn simulated(base_url: &str) -> Self {
        AntsConfig {
            url: format!("{}/siv", base_url.trim_end_matches('/')),
            code_partenaire: simulator::CODE_PARTENAIRE.into(),
            code_miat: simulator::CODE_MIAT.into(),
            code_concentrateur: simulator::CODE_CONCENTRATEUR.into(),
            idp_name: "passerelle".into(),
            timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
        }
    }
}

pub struct AntsProvider {
    client: Upstream,
    max_body_bytes: usize,
    url: reqwest::Url,
    config: AntsConfig,
    signer: Option<saml::Signer>,
}

impl AntsProvider {
    pub fn new(config: AntsConfig) -> anyhow::Result<Self> {
        let signer = match (&config.tls.client_cert, &config.tls.client_key) {
            (Some(cert), key) => {
                let mut pem = std::fs::read_to_string(cert).with_context(|| format!("reading {}", cert.display()))?;
                if let Some(key) = key {
                    pem.push_str(&std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?);
                }
                Some(saml::Signer::from_pem(&pem).context("ANTS SAML signing key")?)
            }
            (None, _) => None,
        };
        Ok(AntsProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            url: http::parse_url(ANTS.name, &config.url)?,
            config,
            signer,
        })
    }

    /// The SOAP envelope asking for the file of `plate`.
    fn envelope(&self, plate: &str, session: &str) -> Result<String, ApiError> {
        let now = Utc::now();
        let assertion = saml::Assertion {
            id: saml::Assertion::new_id(),
            issuer: &self.config.idp_name,
            code_concentrateur: &self.config.code_concentrateur,
            now,
        }
        .to_xml(self.signer.as_ref())
        .map_err(|e| {
            tracing::error!(provider = ANTS.name, error = %e, "signing the SAML assertion failed");
            ApiError::gateway(codes::INTERNAL)
        })?;
        Ok(envelope(&EnvelopeParts {
            assertion: &assertion,
            code_partenaire: &self.config.code_partenaire,
            code_miat: &self.config.code_miat,
            session,
            sent_at: &now.to_rfc3339_opts(SecondsFormat::Secs, true)[..19],
            plate,
        }))
    }

    async fn post(&self, plate: &str, session: &str) -> Result<reqwest::Response, ApiError> {
        let body = self.envelope(plate, session)?;
        let request = self
            .client
            .post(self.url.clone())
            .header("Content-Type", "application/soap+xml; charset=utf-8")
            .header("SOAPAction", "")
            .body(body);
        self.client.send(ANTS, request).await
    }
}

/// The variable parts of a request.
pub struct EnvelopeParts<'a> {
    pub assertion: &'a str,
    pub code_partenaire: &'a str,
    pub code_miat: &'a str,
    pub session: &'a str,
    /// `YYYY-MM-DDTHH:MM:SS`, UTC.
    pub sent_at: &'a str,
    pub plate: &'a str,
}

/// A `req_consulter_dossier` SOAP 1.2 envelope.
pub fn envelope(parts: &EnvelopeParts) -> String {
    use xml::text;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:ns1=\"{SERVICE}\">\
         <soap:Header><wsse:Security xmlns:wsse=\"{WSSE}\" soap:mustUnderstand=\"1\" soap:actor=\"\">{assertion}</wsse:Security>\
         </soap:Header><soap:Body><ns1:req_consulter_dossier><ns1:control>\
         <ns1:code_partenaire>{partenaire}</ns1:code_partenaire><ns1:code_miat>{miat}</ns1:code_miat>\
         <ns1:type_operation>Consultation Dossier</ns1:type_operation><ns1:numero_session>{session}</ns1:numero_session>\
         <ns1:date_envoi>{sent_at}</ns1:date_envoi></ns1:control><ns1:requete><ns1:mode_appel>L</ns1:mode_appel>\
         <ns1:informations><ns1:num_immat>{plate}</ns1:num_immat></ns1:informations></ns1:requete>\
         </ns1:req_consulter_dossier></soap:Body></soap:Envelope>",
        assertion = parts.assertion,
        partenaire = text(parts.code_partenaire),
        miat = text(parts.code_miat),
        session = text(parts.session),
        sent_at = text(parts.sent_at),
        plate = text(parts.plate),
    )
}

/// The SIV's service namespace.
pub const SERVICE: &str = "http://siv.mi.fr/DefinitionsServices/2007-06";
const WSSE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";

fn missing_plate() -> ApiError {
    let mut source = Map::new();
    source.insert("parameter".into(), Value::String("immatriculation".into()));
    ApiError {
        kind: ErrorKind::WrongParameter,
        code: "00430".into(),
        title: "Entité non traitable".into(),
        detail: "L'immatriculation du véhicule est manquante".into(),
        source: Some(Value::Object(source)),
        meta: Map::new(),
    }
}

#[async_trait]
impl Provider for AntsProvider {
    fn info(&self) -> ProviderInfo {
        ANTS
    }

    /// `immatriculation` must be there; it is sent upper-cased, its format is the SIV's
    /// business (old FNI plates are valid too).
    fn parse_extras(&self, _endpoint: &Endpoint, query: &Query, _today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        match query.get("immatriculation").map(str::trim).filter(|p| !p.is_empty()) {
            Some(plate) => Ok(Extras::from([("immatriculation".to_string(), plate.to_uppercase())])),
            None => Err(vec![missing_plate()]),
        }
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        // FranceConnect gives the identity; without it there is nobody to match.
        let identity = call.civility.ok_or_else(|| ApiError::gateway(codes::INTERNAL))?;
        let plate = crate::required(call.extras, "immatriculation")?;
        let response = self.post(plate, &format!("req_{}", call.request_id)).await?;
        let (status, body) = http::read(ANTS, response, self.max_body_bytes).await?;
        mapping::build(status, &body, identity)
    }

    /// The real gateway's canned check: a made-up plate must get an HTTP 200.
    async fn ping(&self) -> Health {
        let session = format!("rnd_{}", uuid_like());
        let answer = self.post(PING_PLATE, &session).await;
        http::health(answer.map(|r| r.status()), &[reqwest::StatusCode::OK])
    }
}

/// A random UUID-shaped string for sessions that belong to no request.
fn uuid_like() -> String {
    let hex = format!("{:032x}", rand::random::<u128>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> AntsProvider {
        AntsProvider::new(AntsConfig::simulated("http://127.0.0.1:1/ants")).unwrap()
    }

    #[test]
    fn plate_is_required_and_upcased() {
        let endpoint =
            passerelle_catalogue::find("ants/extrait_immatriculation_vehicule", "france_connect", 3).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let p = provider();
        let extras = p
            .parse_extras(
                endpoint,
                &Query::from_pairs(&[("immatriculation", " ab-123-cd ")]),
                today,
            )
            .unwrap();
        assert_eq!(extras["immatriculation"], "AB-123-CD");
        for query in [Query::from_pairs(&[]), Query::from_pairs(&[("immatriculation", "  ")])] {
            let errors = p.parse_extras(endpoint, &query, today).unwrap_err();
            assert_eq!((errors[0].code.as_str(), errors[0].status()), ("00430", 422));
        }
    }

    #[test]
    fn envelope_holds_control_and_request() {
        let body = provider().envelope("AB-123-CD<", "req_42").unwrap();
        let root = xml::Node::parse(&body).unwrap();
        assert_eq!(root.name, "Envelope");
        assert_eq!(root.text_of("num_immat"), Some("AB-123-CD<"));
        assert_eq!(root.text_of("numero_session"), Some("req_42"));
        assert_eq!(root.text_of("type_operation"), Some("Consultation Dossier"));
        assert_eq!(root.text_of("mode_appel"), Some("L"));
        assert_eq!(root.text_of("code_partenaire"), Some(simulator::CODE_PARTENAIRE));
        assert_eq!(root.text_of("AttributeValue"), Some(simulator::CODE_CONCENTRATEUR));
        let sent = root.text_of("date_envoi").unwrap();
        assert!(
            chrono::NaiveDateTime::parse_from_str(sent, "%Y-%m-%dT%H:%M:%S").is_ok(),
            "{sent}"
        );
        assert!(body.contains("soap:mustUnderstand=\"1\""));
    }
}
