//! INPI's Registre national des entreprises behind three routes: bénéficiaires
//! effectifs and extrait RNE (one company call), actes et bilans (the attachments
//! call). A JSON login gives a JWT, with two accounts taken in turn (`auth.rs`). The
//! PDFs (actes, bilans, extrait) are made only when a caller follows the gateway's
//! link: the answers carry `Deferred` entries, and `download` fetches the document.

mod auth;
mod errors;
mod extrait;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Attachment, Call, Deferred, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query, Siren};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use errors::{Failure, INPI_RNE};

/// The provider id of the three INPI RNE operations in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("inpi_rne");

/// The company the real gateway's ping asks for (§25.7, bénéficiaires effectifs).
pub const PING_SIREN: &str = "900225095";

/// How long a downloaded document stays in the gateway's store (§6.5).
const DOCUMENT_LIFETIME_SECS: u64 = 86_400;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The login (`https://registre-national-entreprises.inpi.fr/api/sso/login`).
    pub login_url: String,
    /// The RNE API's base (`https://registre-national-entreprises.inpi.fr`): companies,
    /// attachments and the actes' and bilans' downloads are under `/api`.
    pub api_url: String,
    /// The extrait PDF's export (`https://data.inpi.fr/export/companies`), which takes
    /// `format=pdf&ids=["{siren}"]` and the same bearer.
    pub export_url: String,
    pub username: String,
    pub password: String,
    /// The second account; empty: the first one serves alone.
    pub fallback_username: String,
    pub fallback_password: String,
    /// The ping's own account; empty: the ping uses the two accounts like any call.
    pub ping_username: String,
    pub ping_password: String,
    /// How long an account refused at login is set aside before being tried again.
    pub refused_account_pause_secs: u64,
    /// Per socket operation (§25.1: 10 s to connect, 15 s between reads).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// A company or its attachments are tens of kilobytes.
    pub max_body_bytes: usize,
    /// Actes and bilans are scanned PDFs of a few megabytes.
    pub max_document_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/inpi_rne")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its two demo accounts.
    pub fn simulated(base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        Settings {
            login_url: format!("{base}{}", simulator::LOGIN_PATH),
            api_url: base.to_string(),
            export_url: format!("{base}{}", simulator::EXPORT_PATH),
            username: simulator::USERNAME.into(),
            password: simulator::PASSWORD.into(),
            fallback_username: simulator::FALLBACK_USERNAME.into(),
            fallback_password: simulator::FALLBACK_PASSWORD.into(),
            ping_username: String::new(),
            ping_password: String::new(),
            refused_account_pause_secs: 600,
            connect_timeout_ms: 10_000,
            read_timeout_ms: 15_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            max_document_bytes: 50 * 1024 * 1024,
        }
    }
}

/// A document the gateway may ask for, as written in a `Deferred` target.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Acte(String),
    Bilan(String),
    Extrait(String),
}

impl Target {
    /// `actes:<id>`, `bilans:<id>` (24 lowercase hex, else `00501`) or `extrait:<siren>`
    /// (the SIREN check, `00301`). Targets are ours: another kind is the gateway's bug.
    fn parse(target: &str) -> Result<Target, Failure> {
        match target.split_once(':') {
            Some(("actes", id)) => document_id(id).map(Target::Acte),
            Some(("bilans", id)) => document_id(id).map(Target::Bilan),
            Some(("extrait", siren)) => Siren::parse(siren)
                .map(|siren| Target::Extrait(siren.as_str().to_string()))
                .map_err(|e| Failure::BadTarget(Box::new(e))),
            _ => Err(Failure::BadTarget(Box::new(ApiError::gateway(
                passerelle_core::codes::INTERNAL,
            )))),
        }
    }

    fn file_name(&self) -> &'static str {
        match self {
            Target::Acte(_) => "actes_download_inpi.pdf",
            Target::Bilan(_) => "bilans_download_inpi.pdf",
            Target::Extrait(_) => "extrait_rne_download_inpi.pdf",
        }
    }
}

fn document_id(id: &str) -> Result<String, Failure> {
    let valid = id.len() == 24 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then(|| id.to_string()).ok_or(Failure::BadDocumentId)
}

pub struct InpiRneProvider {
    client: Upstream,
    accounts: auth::Accounts,
    ping_accounts: Option<auth::Accounts>,
    api_url: reqwest::Url,
    export_url: reqwest::Url,
    max_body_bytes: usize,
    max_document_bytes: usize,
}

impl InpiRneProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let api_url = http::parse_url(INPI_RNE.name, &settings.api_url)?;
        let export_url = http::parse_url(INPI_RNE.name, &settings.export_url)?;
        let login_url = http::parse_url(INPI_RNE.name, &settings.login_url)?;
        let pause = Duration::from_secs(settings.refused_account_pause_secs);
        let account = auth::Account::new;
        // Without a fallback account, every call uses the primary one.
        let mut pool = vec![account(settings.username, settings.password)];
        if !settings.fallback_username.is_empty() {
            pool.push(account(settings.fallback_username, settings.fallback_password));
        }
        let accounts = auth::Accounts::new(login_url.clone(), pool, pause, settings.max_body_bytes);
        let ping_accounts = (!settings.ping_username.is_empty()).then(|| {
            auth::Accounts::new(
                login_url,
                vec![account(settings.ping_username, settings.ping_password)],
                pause,
                settings.max_body_bytes,
            )
        });
        Ok(InpiRneProvider {
            client,
            accounts,
            ping_accounts,
            api_url,
            export_url,
            max_body_bytes: settings.max_body_bytes,
            max_document_bytes: settings.max_document_bytes,
        })
    }

    /// `{api_url}/api/<segments…>`.
    fn api(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.api_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("api").extend(segments);
        }
        url
    }

    fn export(&self, siren: &str) -> reqwest::Url {
        let mut url = self.export_url.clone();
        url.query_pairs_mut()
            .append_pair("format", "pdf")
            .append_pair("ids", &format!("[\"{siren}\"]"));
        url
    }

    /// One authenticated GET, its status and body under `max_bytes`. A token INPI
    /// refuses (401) is forgotten so that the next call logs in again; this call fails,
    /// as the real gateway retries nothing.
    async fn get(
        &self,
        accounts: &auth::Accounts,
        url: reqwest::Url,
        max_bytes: usize,
    ) -> Result<(StatusCode, Vec<u8>), Failure> {
        let (account, token) = accounts.token(&self.client).await?;
        let request = self
            .client
            .get(url)
            .bearer_auth(token)
            .header("Content-Type", "application/json");
        let (status, body) = http::send_and_read(&self.client, INPI_RNE, request, max_bytes).await?;
        if status == StatusCode::UNAUTHORIZED {
            accounts.forget(account).await;
        }
        Ok((status, body))
    }

    /// The company's JSON (§6.3's checks).
    async fn company(&self, accounts: &auth::Accounts, siren: &str) -> Result<Value, Failure> {
        let (status, body) = self
            .get(accounts, self.api(&["companies", siren]), self.max_body_bytes)
            .await?;
        match status.as_u16() {
            200 => mapping::company(&body),
            404 => Err(Failure::NotFound),
            429 => Err(Failure::RateLimited),
            _ => Err(Failure::Unknown),
        }
    }

    async fn actes_bilans(&self, siren: &str) -> Result<Fetched, Failure> {
        let url = self.api(&["companies", siren, "attachments"]);
        let (status, body) = self.get(&self.accounts, url, self.max_body_bytes).await?;
        match status.as_u16() {
            200 => mapping::actes_bilans(&body),
            404 => Err(Failure::NoAttachments),
            500 => Err(Failure::Internal),
            429 => Err(Failure::RateLimited),
            _ => Err(Failure::Unknown),
        }
    }

    /// The extrait's data, with `document_url` the gateway's link to the PDF.
    async fn extrait(&self, siren: &str) -> Result<Fetched, Failure> {
        let company = self.company(&self.accounts, siren).await?;
        let mut data = extrait::extrait(&company)?;
        let object = data
            .as_object_mut()
            .ok_or_else(|| Failure::Unreadable("the extrait is not an object".into()))?;
        object.insert("document_url".into(), Value::Null);
        let mut fetched = Fetched::from(data);
        fetched.deferred.push(Deferred {
            url_pointer: "/document_url".into(),
            target: format!("extrait:{siren}"),
            lifetime_secs: mapping::LINK_LIFETIME_SECS,
        });
        Ok(fetched)
    }

    async fn fetch_resource(&self, resource: &str, siren: &str) -> Result<Fetched, Failure> {
        match resource {
            "beneficiaires_effectifs" => mapping::beneficiaires(&self.company(&self.accounts, siren).await?),
            "extrait_rne" => self.extrait(siren).await,
            "actes_bilans" => self.actes_bilans(siren).await,
            _ => Err(Failure::Unknown),
        }
    }

    /// Fetches one document, which must be a PDF (§6.5's checks).
    async fn document(&self, target: &Target) -> Result<Vec<u8>, Failure> {
        let url = match target {
            Target::Acte(id) => self.api(&["actes", id, "download"]),
            Target::Bilan(id) => self.api(&["bilans", id, "download"]),
            Target::Extrait(siren) => self.export(siren),
        };
        let (status, body) = self.get(&self.accounts, url, self.max_document_bytes).await?;
        match status.as_u16() {
            200 if crate::pdf::is_pdf(&body) => Ok(body),
            200 => Err(Failure::NotPdf),
            404 => Err(Failure::NotFound),
            403 => Err(Failure::Forbidden),
            429 => Err(Failure::RateLimited),
            _ => Err(Failure::Unknown),
        }
    }
}

#[async_trait]
impl Provider for InpiRneProvider {
    fn info(&self) -> ProviderInfo {
        INPI_RNE
    }

    /// The path's SIREN (`00301`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siren = call
            .extras
            .get("siren")
            .ok_or_else(|| ApiError::gateway(passerelle_core::codes::INTERNAL))?;
        self.fetch_resource(call.endpoint.resource, siren)
            .await
            .map_err(Failure::into_error)
    }

    fn download_route(&self) -> Option<&'static str> {
        Some("inpi")
    }

    async fn download(&self, target: &str, _today: NaiveDate) -> Result<Fetched, ApiError> {
        let target = Target::parse(target).map_err(Failure::into_error)?;
        let bytes = self.document(&target).await.map_err(Failure::into_error)?;
        let mut fetched = Fetched::from(json!({}));
        fetched.attachments.push(Attachment {
            url_member: "document_url",
            expiry_member: "expires_in",
            file_name: target.file_name(),
            content_type: "application/pdf",
            bytes,
            lifetime_secs: DOCUMENT_LIFETIME_SECS,
        });
        Ok(fetched)
    }

    /// A canned company call (the real gateway's bénéficiaires effectifs ping), with
    /// the ping's own account when one is set.
    async fn ping(&self) -> Health {
        let accounts = self.ping_accounts.as_ref().unwrap_or(&self.accounts);
        match self.company(accounts, PING_SIREN).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}
