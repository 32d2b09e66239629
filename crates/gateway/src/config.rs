//! Gateway configuration: a TOML file overlaid by `PASSERELLE_*` environment
//! variables (`__` separates levels: `PASSERELLE_PROVIDERS__DSS__BASE_URL`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use passerelle_documents::DocumentsConfig;
use passerelle_entreprise_providers::EntrepriseProvidersConfig;
use passerelle_journal::JournalSettings;
use passerelle_providers::ProvidersConfig;
use serde::{Deserialize, Serialize};

use crate::ip_guard::IpLimits;
use crate::maintenance::MaintenanceWindow;
use crate::redis_link::RedisConfig;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Limits {
    /// Calls per second per token (v3), unless the token has its own per-minute limit.
    pub per_second: u32,
    /// Time budget of one provider call, in seconds.
    pub provider_timeout_secs: u64,
    /// How long a token record is trusted before the store is asked again: the
    /// delay for a revocation to take effect.
    pub token_cache_ms: u64,
    /// How often the answer-signing keys are read again: a rotation reaches every
    /// replica within this (`passerelle keys rotate --answers` dates keys further ahead).
    pub answer_keys_refresh_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_second: 20,
            provider_timeout_secs: 10,
            token_cache_ms: 4000,
            answer_keys_refresh_secs: 30,
        }
    }
}

/// What a connection may cost the server (`[server]`, `PASSERELLE_SERVER__…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerConfig {
    /// How long a client has to send a whole request head, counted from the accepted
    /// connection or from the first byte of its next request.
    pub header_read_timeout_ms: u64,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout_secs: u64,
    /// Connections served at once on each listener; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout_ms: 10_000,
            idle_timeout_secs: 60,
            max_connections: 10_000,
        }
    }
}

impl ServerConfig {
    /// A zero would close every connection at once, or never accept one.
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.header_read_timeout_ms > 0 && self.idle_timeout_secs > 0 && self.max_connections > 0,
            "server.header_read_timeout_ms, server.idle_timeout_secs and server.max_connections must be above 0"
        );
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct GatewayConfig {
    /// API Particulier's base URL.
    pub listen: String,
    /// API Entreprise's base URL.
    pub entreprise_listen: String,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `<data_dir>/passerelle.db`.
    pub database_url: Option<String>,
    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the caller:
    /// the caller's IP is the last hop that is not one of them. From any other peer the
    /// header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Per client IP: the quota over all of a bouquet's routes and the bans.
    pub ip_limits: IpLimits,
    pub limits: Limits,
    pub redis: RedisConfig,
    /// Where Prometheus scrapes `/metrics`; none (the default): no metrics listener.
    pub metrics_listen: Option<String>,
    /// On SIGTERM/SIGINT, how long calls in flight may take to finish, in seconds.
    pub shutdown_grace_secs: u64,
    pub server: ServerConfig,
    #[serde(skip_serializing)]
    pub providers: ProvidersConfig,
    /// API Entreprise's providers.
    pub entreprise: EntrepriseProvidersConfig,
    pub maintenance: Vec<MaintenanceWindow>,
    pub journal: JournalSettings,
    /// Where the documents providers fetch are kept, and their links.
    pub documents: DocumentsConfig,
    /// Case folder of `passerelle sandbox` (official sandbox format); unused otherwise.
    pub sandbox_cases: Option<PathBuf>,
    /// `passerelle sandbox`: a FranceConnect token that no mock of the case folder holds
    /// is asked to FranceConnect (`providers.france_connect`) instead of refused.
    pub sandbox_france_connect: bool,
    /// "Qui a consulté mes données ?": each call about a person keeps a keyed lookup key
    /// in its journal row, and citizens read their calls on API Particulier's site.
    pub citizen_record: CitizenRecordConfig,
    /// The habilitation site (docs/habilitation.md): agents apply, instructors decide,
    /// the approval gives the token.
    pub habilitation: HabilitationConfig,
    /// Each bouquet's public site at its root: catalogue, status, stats (docs/portal.md).
    pub public_site: PublicSiteConfig,
}

/// The public pages of each bouquet; off unless a deployment opts in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PublicSiteConfig {
    pub enabled: bool,
    /// The built DSFR (`npm ci` in `web/`).
    pub dsfr_dir: PathBuf,
    /// Swagger UI's files (`web/node_modules/swagger-ui-dist`), for the API reference.
    pub swagger_dir: PathBuf,
    /// Where visitors get a sandbox token: API Particulier's sandbox base URL. None: the
    /// page says no sandbox is offered.
    pub sandbox_url: Option<String>,
    /// `passerelle sandbox` sets it: `/bac-a-sable` hands a token to whoever asks.
    /// Never read from a file or the environment: a production gateway cannot be
    /// made to give tokens away by configuration.
    #[serde(skip)]
    pub self_service_tokens: bool,
    /// A call (path and query) per bouquet that the sandbox answers, for the page's curl.
    #[serde(skip)]
    pub example_calls: BTreeMap<String, String>,
    /// How often each provider's ping is run and recorded for the status page, in seconds.
    pub probe_every_secs: u64,
    /// How often new journal rows are added to the usage rollups, in seconds.
    pub rollup_every_secs: u64,
}

impl Default for PublicSiteConfig {
    fn default() -> Self {
        PublicSiteConfig {
            enabled: false,
            dsfr_dir: PathBuf::from("web/node_modules/@gouvfr/dsfr/dist"),
            swagger_dir: PathBuf::from("web/node_modules/swagger-ui-dist"),
            sandbox_url: None,
            self_service_tokens: false,
            example_calls: BTreeMap::new(),
            probe_every_secs: 60,
            rollup_every_secs: 60,
        }
    }
}

/// The habilitation site; off unless a deployment opts in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct HabilitationConfig {
    pub enabled: bool,
    /// ProConnect's OpenID Connect issuer (`…/api/v2`), for the agents' login.
    pub issuer: String,
    pub client_id: String,
    #[serde(skip_serializing)]
    pub client_secret: Option<String>,
    /// The site's address as browsers reach it; API Particulier's listener when empty.
    pub public_url: String,
    /// The built DSFR (`npm ci` in `web/`).
    pub dsfr_dir: PathBuf,
    /// Instructors' e-mail addresses, per bouquet (`particulier`, `entreprise`).
    pub instructors: BTreeMap<String, Vec<String>>,
    pub admins: Vec<String>,
    /// The organisations (SIRET) whose agents may hold those roles; none: any.
    pub staff_sirets: Vec<String>,
    /// Each data provider's people (provider id → e-mails): they read their provider's
    /// back-office page (calls on its endpoints, habilitations holding its scopes).
    pub providers: BTreeMap<String, Vec<String>>,
    /// The mail server; none: e-mails stay in the outbox, readable by admins.
    pub smtp: Option<SmtpConfig>,
    /// Integrators' webhooks, each signed with its secrets (two during a rotation).
    pub webhooks: Vec<WebhookConfig>,
    /// The secret DataPass signs its webhooks with; none: no DataPass receiver.
    #[serde(skip_serializing)]
    pub datapass_secret: Option<String>,
    /// How often the outbox is read, in milliseconds.
    pub dispatch_every_ms: u64,
    /// Software editors whose agents act for their clients through delegations
    /// (`[[habilitation.editors]]`).
    pub editors: Vec<EditorConfig>,
    /// API Entreprise's address as the site calls it, for the portal's attestations;
    /// `passerelle run` and the demo fill it with their own listener when empty.
    pub entreprise_url: String,
    /// The portal's alerts about tokens (`[habilitation.alerts]`).
    pub alerts: AlertsConfig,
}

impl Default for HabilitationConfig {
    fn default() -> Self {
        HabilitationConfig {
            enabled: false,
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            public_url: String::new(),
            dsfr_dir: PathBuf::from("web/node_modules/@gouvfr/dsfr/dist"),
            instructors: BTreeMap::new(),
            admins: Vec::new(),
            staff_sirets: Vec::new(),
            providers: BTreeMap::new(),
            smtp: None,
            webhooks: Vec::new(),
            datapass_secret: None,
            dispatch_every_ms: 1000,
            editors: Vec::new(),
            entreprise_url: String::new(),
            alerts: AlertsConfig::default(),
        }
    }
}

/// The portal's alerts about a habilitation's tokens (docs/portal.md, "Alerts").
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AlertsConfig {
    /// How often each replica checks the tokens, in seconds.
    pub every_secs: u64,
    /// A spike is at least this many refused calls (401, 403, 429) since the start of
    /// the previous hour…
    pub spike_min_calls: u64,
    /// … and more than this many times the token's hourly mean over the 7 days before.
    pub spike_factor: f64,
    /// Hours without another spike alert for the same token.
    pub spike_quiet_hours: i64,
    /// Days without a call before a token is reported unused.
    pub unused_days: i64,
    /// Whether a habilitation's alert webhook may go to this machine (`http://127.0.0.1…`):
    /// the demo and tests only. Otherwise only https to public addresses.
    pub allow_loopback_webhooks: bool,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            every_secs: 300,
            spike_min_calls: 50,
            spike_factor: 10.0,
            spike_quiet_hours: 6,
            unused_days: 60,
            allow_loopback_webhooks: false,
        }
    }
}

/// A software editor: an agent ProConnect vouches for in one of its organisations is
/// one of its users.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EditorConfig {
    /// A short stable name (`[a-z0-9-]`), kept on delegations.
    pub id: String,
    pub name: String,
    pub sirets: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` (required, no fallback) or `tls`.
    pub tls: String,
    pub username: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<String>,
    pub from_name: String,
    pub from_email: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WebhookConfig {
    pub name: String,
    pub url: String,
    /// The events it receives (none: all).
    #[serde(default)]
    pub events: Vec<String>,
    /// The bouquets whose demandes it follows (none: all).
    #[serde(default)]
    pub bouquets: Vec<String>,
    #[serde(skip_serializing, default)]
    pub secrets: Vec<String>,
}

/// The citizen record (docs/citizen-record.md); off unless a deployment opts in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct CitizenRecordConfig {
    pub enabled: bool,
    /// The key of the lookup keys: whoever holds it and the database can test
    /// identities against the journal, so it lives in configuration, not in the store.
    #[serde(skip_serializing)]
    pub secret: Option<String>,
    /// FranceConnect's OpenID Connect issuer (`…/api/v2`), for the citizens' login.
    pub issuer: String,
    pub client_id: String,
    #[serde(skip_serializing)]
    pub client_secret: Option<String>,
    /// The site's address as citizens' browsers reach it (the login's redirect URI is
    /// built on it); API Particulier's listener when empty.
    pub public_url: String,
    /// The built DSFR (`npm ci` in `web/`), served under `/dsfr`.
    pub dsfr_dir: PathBuf,
}

impl Default for CitizenRecordConfig {
    fn default() -> Self {
        CitizenRecordConfig {
            enabled: false,
            secret: None,
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            public_url: String::new(),
            dsfr_dir: PathBuf::from("web/node_modules/@gouvfr/dsfr/dist"),
        }
    }
}

impl CitizenRecordConfig {
    /// The secret, when the record is on; starting with it on and no usable secret is
    /// refused rather than keys made with a guessable one.
    pub fn key_secret(&self) -> anyhow::Result<Option<Vec<u8>>> {
        if !self.enabled {
            return Ok(None);
        }
        match &self.secret {
            Some(secret) if secret.len() >= 32 => Ok(Some(secret.as_bytes().to_vec())),
            _ => anyhow::bail!("citizen_record.enabled needs citizen_record.secret, at least 32 characters"),
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: "127.0.0.1:8080".into(),
            entreprise_listen: "127.0.0.1:8081".into(),
            data_dir: PathBuf::from("./passerelle-data"),
            database_url: None,
            trusted_proxies: Vec::new(),
            ip_limits: IpLimits::default(),
            limits: Limits::default(),
            redis: RedisConfig::default(),
            metrics_listen: None,
            shutdown_grace_secs: 30,
            server: ServerConfig::default(),
            providers: ProvidersConfig::default(),
            entreprise: EntrepriseProvidersConfig::default(),
            maintenance: Vec::new(),
            journal: JournalSettings::default(),
            documents: DocumentsConfig::default(),
            sandbox_cases: None,
            sandbox_france_connect: false,
            citizen_record: CitizenRecordConfig::default(),
            habilitation: HabilitationConfig::default(),
            public_site: PublicSiteConfig::default(),
        }
    }
}

impl GatewayConfig {
    /// Defaults, then the TOML file if any, then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<GatewayConfig> {
        let mut figment = Figment::from(Serialized::defaults(GatewayConfig::default()));
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "configuration file {} not found", file.display());
            figment = figment.merge(Toml::file(file));
        }
        let config: GatewayConfig = figment.merge(Env::prefixed("PASSERELLE_").split("__")).extract()?;
        config.server.check()?;
        config.citizen_record.key_secret()?;
        Ok(config)
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("passerelle.db").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_loads() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../passerelle.example.toml");
        let config = GatewayConfig::load(Some(&file)).unwrap();
        assert_eq!(config.limits.per_second, 20);
        assert_eq!(config.providers.dss.client_id, "passerelle-demo");
        assert_eq!(config.maintenance.len(), 2);
        assert_eq!(
            (config.journal.checkpoint_rows, config.journal.retention_months),
            (1000, 36)
        );
        let france_connect = &config.providers.france_connect;
        assert_eq!(france_connect.timeout_secs, 10);
        assert_eq!(
            france_connect.clients["quotient_familial"].client_id,
            "passerelle-demo-quotient_familial"
        );
        assert_eq!(config.database_url(), "sqlite://./passerelle-data/passerelle.db");
        assert_eq!(config.redis.url, None);
        assert_eq!(config.redis.budget_ms, 5);
        assert_eq!(config.metrics_listen, None);
        assert_eq!(config.shutdown_grace_secs, 30);
        let server = &config.server;
        assert_eq!(
            (
                server.header_read_timeout_ms,
                server.idle_timeout_secs,
                server.max_connections
            ),
            (10_000, 60, 10_000)
        );
    }

    #[test]
    fn a_zero_server_limit_is_an_error() {
        assert!(ServerConfig::default().check().is_ok());
        let no_connection = ServerConfig {
            max_connections: 0,
            ..ServerConfig::default()
        };
        assert!(no_connection.check().is_err());
        let no_idle = ServerConfig {
            idle_timeout_secs: 0,
            ..ServerConfig::default()
        };
        assert!(no_idle.check().is_err());
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(GatewayConfig::load(Some(Path::new("/nonexistent.toml"))).is_err());
    }
}
