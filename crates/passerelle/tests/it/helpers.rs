//! `TestApp`: a gateway serving both bouquets and their simulators, started in-process
//! on port 0.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use passerelle_entreprise_providers::EntrepriseProvidersConfig;
use passerelle_gateway::config::{HabilitationConfig, PublicSiteConfig, ServerConfig};
use passerelle_gateway::ip_guard::IpLimits;
use passerelle_gateway::maintenance::MaintenanceWindow;
use passerelle_gateway::{AppState, GatewayConfig};
use passerelle_providers::ProvidersConfig;
use passerelle_store::Store;
use passerelle_tokens::TokenRequest;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use uuid::Uuid;

pub const RECIPIENT: &str = "13002526500013";

/// A known person of the DSS simulator (from the official sandbox cases).
pub const AXELLE: &[(&str, &str)] = &[
    ("nomNaissance", "MARTIN"),
    ("prenoms[]", "AXELLE"),
    ("anneeDateNaissance", "1989"),
    ("moisDateNaissance", "12"),
    ("jourDateNaissance", "3"),
    ("sexeEtatCivil", "F"),
    ("codeCogInseePaysNaissance", "99100"),
    ("codeCogInseeCommuneNaissance", "35238"),
];

/// A synthetic person of the DSS simulator whose answer depends on `nom`.
pub fn synthetic(nom: &str) -> Vec<(String, String)> {
    [
        ("nomNaissance", nom),
        ("prenoms[]", "TEST"),
        ("anneeDateNaissance", "1980"),
        ("moisDateNaissance", "1"),
        ("jourDateNaissance", "1"),
        ("sexeEtatCivil", "M"),
        ("codeCogInseePaysNaissance", "99100"),
        ("codeCogInseeCommuneNaissance", "75056"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// MARTIN Samuel, a DSS simulator person with every prestation (v3 names).
pub fn samuel() -> Vec<(String, String)> {
    pairs(&[
        ("nomNaissance", "MARTIN"),
        ("prenoms[]", "SAMUEL"),
        ("anneeDateNaissance", "1980"),
        ("moisDateNaissance", "9"),
        ("jourDateNaissance", "20"),
        ("sexeEtatCivil", "M"),
        ("codeCogInseePaysNaissance", "99100"),
        ("codeCogInseeCommuneNaissance", "08480"),
    ])
}

/// A fresh name the DSS simulator does not know (letters only, so it is a valid name).
pub fn unknown_name() -> String {
    Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .map(|c| (b'A' + c.to_digit(16).unwrap_or(0) as u8) as char)
        .collect()
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// `recipient`, then `query`: an API Particulier call's parameters.
pub fn with_recipient(query: &[(String, String)]) -> Vec<(String, String)> {
    let mut q = vec![("recipient".to_string(), RECIPIENT.to_string())];
    q.extend_from_slice(query);
    q
}

/// A change to the habilitation site's test settings.
type Adjust = Box<dyn FnOnce(&mut HabilitationConfig) + Send>;

pub struct TestAppBuilder {
    config: GatewayConfig,
    dead_upstream: bool,
    france_connect_url: Option<String>,
    france_connect_secret: Option<String>,
    sdh_endpoint_url: Option<String>,
    citizen_record: bool,
    habilitation: Option<Adjust>,
    own_dsnj_simulator: bool,
}

pub struct TestApp {
    pub base: String,
    /// API Entreprise's base URL, answered by its providers against the simulators.
    pub entreprise_base: String,
    /// Where the simulators listen (`http://host:port`).
    pub simulators: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub state: Arc<AppState>,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
    /// Stops DSNJ's own simulator (`own_dsnj_simulator`).
    dsnj_simulator: Option<oneshot::Sender<()>>,
}

impl TestAppBuilder {
    pub fn provider_timeout_secs(mut self, secs: u64) -> Self {
        self.config.limits.provider_timeout_secs = secs;
        self
    }

    pub fn per_second(mut self, limit: u32) -> Self {
        self.config.limits.per_second = limit;
        self
    }

    pub fn token_cache_ms(mut self, ms: u64) -> Self {
        self.config.limits.token_cache_ms = ms;
        self
    }

    pub fn maintenance(mut self, window: MaintenanceWindow) -> Self {
        self.config.maintenance.push(window);
        self
    }

    /// Points the DSS provider at a port where nothing listens.
    pub fn dead_upstream(mut self) -> Self {
        self.dead_upstream = true;
        self
    }

    pub fn server(mut self, server: ServerConfig) -> Self {
        self.config.server = server;
        self
    }

    pub fn ip_limits(mut self, limits: IpLimits, trusted_proxies: &[&str]) -> Self {
        self.config.ip_limits = limits;
        self.config.trusted_proxies = trusted_proxies.iter().map(|p| p.to_string()).collect();
        self
    }

    pub fn answer_keys_refresh_secs(mut self, secs: u64) -> Self {
        self.config.limits.answer_keys_refresh_secs = secs;
        self
    }

    pub fn checkpoint_rows(mut self, rows: u64) -> Self {
        self.config.journal.checkpoint_rows = rows;
        self
    }

    /// Points FranceConnect's check-token at a port where nothing listens.
    pub async fn dead_france_connect(mut self) -> Self {
        self.france_connect_url = Some(format!("http://{}/check", dead_address().await));
        self
    }

    /// Changes the FranceConnect client secret of every API.
    pub fn france_connect_secret(mut self, secret: &str) -> Self {
        self.france_connect_secret = Some(secret.into());
        self
    }

    /// Points SDH's athlete resource (not its token endpoint) at `url`.
    /// The citizen record on: keys in the journal, `/mon-historique` served, its login
    /// through the FranceConnect simulator.
    pub fn citizen_record(mut self) -> Self {
        self.citizen_record = true;
        self
    }

    /// The habilitation site on: `/habilitation` served, its login through the
    /// ProConnect simulator, its agents as staff; `adjust` changes the rest.
    pub fn habilitation(mut self, adjust: impl FnOnce(&mut HabilitationConfig) + Send + 'static) -> Self {
        self.habilitation = Some(Box::new(adjust));
        self
    }

    /// Each bouquet's public site on (catalogue, status, stats, sandbox page);
    /// `adjust` changes its settings.
    pub fn public_site(mut self, adjust: impl FnOnce(&mut PublicSiteConfig)) -> Self {
        let mut site = PublicSiteConfig {
            enabled: true,
            dsfr_dir: dsfr_dir(),
            swagger_dir: swagger_dir(),
            ..PublicSiteConfig::default()
        };
        adjust(&mut site);
        self.config.public_site = site;
        self
    }

    /// Points DSNJ at simulators of its own, which `stop_dsnj_simulator` stops.
    pub fn own_dsnj_simulator(mut self) -> Self {
        self.own_dsnj_simulator = true;
        self
    }

    pub fn sdh_endpoint_url(mut self, url: &str) -> Self {
        self.sdh_endpoint_url = Some(url.into());
        self
    }

    pub fn dss_secret(mut self, secret: &str) -> Self {
        self.config.providers.dss.client_secret = secret.into();
        self
    }

    pub async fn start(mut self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let entreprise_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let entreprise_base = format!("http://{}", entreprise_listener.local_addr().unwrap());
        let simulators = start_simulators(&format!("{base}/api/france_connect_jwks")).await;
        let upstream = if self.dead_upstream {
            dead_address().await
        } else {
            simulators
        };
        let secret = self.config.providers.dss.client_secret.clone();
        self.config.providers = ProvidersConfig::simulated(&format!("http://{upstream}"));
        self.config.providers.dss.client_secret = secret;
        self.config.providers.dss.timeout_secs = self.config.limits.provider_timeout_secs;
        self.config.providers.sdh.endpoint_url = self.sdh_endpoint_url.clone();
        let dsnj_simulator = match self.own_dsnj_simulator {
            true => Some(stoppable_simulators(&format!("{base}/api/france_connect_jwks")).await),
            false => None,
        };
        if let Some((address, _)) = &dsnj_simulator {
            self.config.providers.dsnj = ProvidersConfig::simulated(&format!("http://{address}")).dsnj;
        }
        self.config.entreprise = EntrepriseProvidersConfig::simulated(&format!("http://{upstream}"), &entreprise_base);
        self.config.data_dir = dir.path().to_path_buf();
        if self.citizen_record {
            let mut record = passerelle_citizen_record::simulated(&format!("http://{simulators}"), &base);
            record.dsfr_dir = dsfr_dir();
            self.config.citizen_record = record;
        }
        if let Some(adjust) = self.habilitation.take() {
            let mut habilitation = passerelle_habilitation_web::simulated(&format!("http://{simulators}"), &base);
            habilitation.dsfr_dir = dsfr_dir();
            habilitation.entreprise_url = entreprise_base.clone();
            adjust(&mut habilitation);
            self.config.habilitation = habilitation;
        }
        let store = passerelle_journal::open(&self.config.database_url()).await.unwrap();
        let france_connect = &mut self.config.providers.france_connect;
        if let Some(url) = &self.france_connect_url {
            france_connect.check_token_url = url.clone();
        }
        if let Some(secret) = &self.france_connect_secret {
            for credentials in france_connect.clients.values_mut() {
                credentials.client_secret = secret.clone();
            }
        }
        let bouquets = vec![
            (
                listener,
                passerelle_particulier::bouquet(&self.config.providers).unwrap(),
            ),
            (
                entreprise_listener,
                passerelle_entreprise::bouquet(
                    passerelle_entreprise_providers::registry(&self.config.entreprise).unwrap(),
                ),
            ),
        ];
        let state = AppState::new(self.config, store.clone()).await.unwrap();
        let mut sites = passerelle_citizen_record::sites(&state, &base).unwrap();
        let listen = base.trim_start_matches("http://").to_string();
        passerelle_habilitation_web::add_site(&mut sites, &state, &listen).unwrap();
        let pages = passerelle_public_site::pages(&state).into_iter().collect();
        let (tx, rx) = oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            passerelle_gateway::serve_with_pages(bouquets, sites, pages, serving, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base,
            entreprise_base,
            simulators: format!("http://{simulators}"),
            client: reqwest::Client::new(),
            store,
            state,
            _dir: dir,
            _shutdown: tx,
            dsnj_simulator: dsnj_simulator.map(|(_, stop)| stop),
        }
    }
}

/// Swagger UI as `npm ci` in `web/` fetches it.
pub fn swagger_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/node_modules/swagger-ui-dist")
}

/// The DSFR as `npm ci` in `web/` builds it.
pub fn dsfr_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/node_modules/@gouvfr/dsfr/dist")
}

pub(crate) async fn start_simulators(gateway_jwks_url: &str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let simulators =
        passerelle_providers::simulators_for(gateway_jwks_url).merge(passerelle_entreprise_providers::simulators());
    tokio::spawn(async move { axum::serve(listener, simulators).await.unwrap() });
    address
}

/// Simulators on a port of their own, and what stops them (idle connections closed).
async fn stoppable_simulators(gateway_jwks_url: &str) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let simulators = passerelle_providers::simulators_for(gateway_jwks_url);
    let serving = axum::serve(listener, simulators).with_graceful_shutdown(async {
        let _ = stopped.await;
    });
    tokio::spawn(async move { serving.await.unwrap() });
    (address, stop)
}

/// An address that refuses connections (bound, then closed).
async fn dead_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A token request with sensible test defaults.
pub fn token_request(scopes: &[&str]) -> TokenRequest {
    TokenRequest {
        name: "Mairie de test".into(),
        siret: RECIPIENT.into(),
        bouquet: passerelle_store::PARTICULIER.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_in_days: 30,
        rate_limit_per_minute: None,
        allowed_ips: Vec::new(),
        dpo_email: Some("dpd@mairie-de-test.example".into()),
    }
}

/// A token request for API Entreprise with every scope.
pub fn entreprise_token_request() -> TokenRequest {
    TokenRequest {
        bouquet: passerelle_entreprise::NAME.into(),
        scopes: passerelle_entreprise::all_scopes()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..token_request(&[])
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        // Tests of the other layers call far faster from one IP than a client may:
        // the per-IP quota and bans are tested on their own (`ip_limits.rs`).
        let config = GatewayConfig {
            ip_limits: IpLimits {
                per_minute: 100_000_000,
                refusals_before_ban: 100_000_000,
                ..IpLimits::default()
            },
            ..GatewayConfig::default()
        };
        TestAppBuilder {
            config,
            dead_upstream: false,
            france_connect_url: None,
            france_connect_secret: None,
            sdh_endpoint_url: None,
            citizen_record: false,
            habilitation: None,
            own_dsnj_simulator: false,
        }
    }

    pub async fn start() -> TestApp {
        TestApp::builder().start().await
    }

    /// Stops DSNJ's own simulator: its checks fail from then on.
    pub fn stop_dsnj_simulator(&mut self) {
        let stop = self.dsnj_simulator.take().expect("started with own_dsnj_simulator()");
        let _ = stop.send(());
    }

    pub async fn issue(&self, request: TokenRequest) -> (Uuid, String) {
        let (record, jwt) =
            passerelle_tokens::issue(self.store.as_ref(), self.state.tokens.keys(), request, Utc::now())
                .await
                .unwrap();
        (record.jti, jwt)
    }

    pub async fn token(&self, scopes: &[&str]) -> String {
        self.issue(token_request(scopes)).await.1
    }

    pub async fn all_scopes_token(&self) -> String {
        let all = passerelle_catalogue::all_scopes();
        self.token(&all).await
    }

    /// GET `path` with `recipient` and `query`, as the bearer of `token`.
    pub async fn get(&self, path: &str, query: &[(String, String)], token: Option<&str>) -> reqwest::Response {
        self.get_raw(path, &with_recipient(query), token, &[]).await
    }

    pub async fn get_raw(
        &self,
        path: &str,
        query: &[(String, String)],
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base)).query(query);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send().await.unwrap()
    }
}

/// Status and JSON body of a response.
pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The codes of an error body.
pub fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["code"].as_str().map(str::to_string))
        .collect()
}

pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.headers()["content-type"], "application/vnd.api+json");
    assert!(response.headers().contains_key("x-request-id"));
    let (got, body) = json(response).await;
    assert_eq!(
        (got, codes(&body).first().cloned()),
        (status, Some(code.to_string())),
        "{body}"
    );
    for error in body["errors"].as_array().unwrap() {
        assert!(
            error["meta"].is_object() && error["title"].is_string() && error["detail"].is_string(),
            "{error}"
        );
    }
    body
}
