//! The habilitation site (`/habilitation`): an administration's agent logs in with
//! ProConnect and files a demande from one of its bouquet's forms, attaches its legal
//! basis, submits; an instructor asks for changes, approves or refuses; the approval
//! gives the token, which the applicant and the technical contact read here. Every
//! event is written with its e-mails and webhooks in one transaction (the outbox).
//!
//! It shares the store with the gateway and only two things of its tokens: the key
//! ring (to show a token's JWT) and the cache to forget a revoked token at once.

mod admin;
mod alerts;
mod attestations;
mod audit;
mod documents;
mod editors;
mod jobs;
mod login;
mod pages;
mod portal;
mod providers;
mod session;
mod site;
mod views;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use object_store::ObjectStore;
use passerelle_habilitation::workflow::{Organisation, Site, Staff, WebhookTarget};
use passerelle_habilitation::Forms;
use passerelle_store::{Store, TokenRecord};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

pub use documents::objects_in;
pub use providers::Directory;
pub use site::{add_site, simulated};

/// Where the site lives on API Particulier's listener.
pub const BASE: &str = "/habilitation";

/// What the site needs from the configuration.
#[derive(Clone)]
pub struct Settings {
    /// ProConnect's OpenID Connect issuer.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The site's address as browsers reach it, without a trailing slash or `BASE`.
    pub public_url: String,
    /// The built DSFR (`web/node_modules/@gouvfr/dsfr/dist`).
    pub dsfr_dir: PathBuf,
    pub staff: Staff,
    pub webhooks: Vec<WebhookTarget>,
    /// Proxies whose `X-Forwarded-For` names the client (the gateway's list).
    pub trusted_proxies: Vec<String>,
    /// The highest per-minute limit holders may set when the instructor set none
    /// (the gateway's default rate).
    pub default_per_minute: u32,
    /// The software editors clients may delegate their habilitations to.
    pub editors: passerelle_habilitation::delegations::Editors,
    /// The data providers of the served bouquets (the per-provider pages).
    pub providers: Directory,
    /// API Entreprise's address from the site (the portal's attestations); none: no
    /// attestations page.
    pub entreprise_url: Option<String>,
    /// Whether alert webhooks may go to this machine (the demo and tests).
    pub allow_loopback_webhooks: bool,
}

/// The gateway's tokens, as far as the site needs them.
pub trait Tokens: Send + Sync {
    /// The token's JWT (signed again from its record: the same string each time).
    fn jwt(&self, record: &TokenRecord) -> anyhow::Result<String>;
    /// Drops the token from this replica's cache (a revocation applies at once).
    fn forget(&self, jti: Uuid);
}

/// Organisations by SIRET (INSEE Sirene in a deployment): the name and address a
/// new demande records.
pub trait Organisations: Send + Sync {
    fn find<'a>(&'a self, siret: &'a str) -> Found<'a>;
}

pub type Found<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Option<Organisation>> + Send + 'a>>;

impl Organisations for passerelle_entreprise_providers::insee::InseeProvider {
    fn find<'a>(&'a self, siret: &'a str) -> Found<'a> {
        Box::pin(async move {
            let found = self.organisation(siret).await?;
            Some(Organisation {
                name: found.name,
                address: found.address,
            })
        })
    }
}

pub struct App {
    store: Arc<dyn Store>,
    tokens: Arc<dyn Tokens>,
    forms: Forms,
    site: Site,
    sessions: session::Sessions,
    login: login::Login,
    objects: Arc<dyn ObjectStore>,
    organisations: Arc<dyn Organisations>,
    limiter: pages::Limiter,
    trusted_proxies: Vec<String>,
    default_per_minute: u32,
    editors: passerelle_habilitation::delegations::Editors,
    providers: Directory,
    entreprise: Option<attestations::Entreprise>,
    /// Whether alert webhooks may go to this machine (the demo and tests).
    allow_loopback_webhooks: bool,
    /// The home page's figures and when they were computed.
    cards: std::sync::Mutex<Option<(std::time::Instant, Vec<views::BouquetCard>)>>,
}

/// The site's routes, to merge into API Particulier's router.
pub fn router(
    settings: Settings,
    store: Arc<dyn Store>,
    tokens: Arc<dyn Tokens>,
    objects: Arc<dyn ObjectStore>,
    organisations: Arc<dyn Organisations>,
) -> anyhow::Result<Router> {
    let forms = Forms::built_in(passerelle_habilitation::known_scopes)?;
    let dsfr = ServeDir::new(&settings.dsfr_dir);
    let site = Site {
        base_url: format!("{}{BASE}", settings.public_url),
        staff: settings.staff.clone(),
        webhooks: settings.webhooks.clone(),
    };
    let app = Arc::new(App {
        login: login::Login::new(
            &settings.issuer,
            &settings.client_id,
            &settings.client_secret,
            format!("{}{BASE}/retour", settings.public_url),
        ),
        sessions: session::Sessions::new(store.clone(), settings.public_url.starts_with("https://"), BASE),
        store,
        tokens,
        forms,
        site,
        objects,
        organisations,
        limiter: pages::Limiter::default(),
        trusted_proxies: settings.trusted_proxies.clone(),
        default_per_minute: settings.default_per_minute,
        editors: settings.editors.clone(),
        providers: settings.providers.clone(),
        entreprise: settings
            .entreprise_url
            .as_deref()
            .map(attestations::Entreprise::new)
            .transpose()?,
        allow_loopback_webhooks: settings.allow_loopback_webhooks,
        cards: std::sync::Mutex::new(None),
    });
    let pages = Router::new()
        .route(BASE, get(pages::home))
        .route(&format!("{BASE}/connexion"), get(pages::log_in))
        .route(&format!("{BASE}/retour"), get(pages::come_back))
        .route(&format!("{BASE}/deconnexion"), post(pages::log_out))
        .route(&format!("{BASE}/demandes"), get(pages::list).post(pages::create))
        .route(&format!("{BASE}/demandes/nouvelle"), get(pages::choose))
        .route(&format!("{BASE}/demandes/{{id}}"), get(pages::show))
        .route(
            &format!("{BASE}/demandes/{{id}}/modifier"),
            get(pages::edit).post(pages::save),
        )
        .route(&format!("{BASE}/demandes/{{id}}/action"), post(pages::act))
        .route(&format!("{BASE}/demandes/{{id}}/jeton"), get(pages::token))
        .route(
            &format!("{BASE}/demandes/{{id}}/documents"),
            // Only an upload carries a document; the handler checks its size as it reads.
            post(documents::upload).layer(DefaultBodyLimit::max(documents::MAX_UPLOAD)),
        )
        .route(
            &format!("{BASE}/demandes/{{id}}/documents/{{doc}}"),
            get(documents::download),
        )
        .route(
            &format!("{BASE}/demandes/{{id}}/documents/{{doc}}/retrait"),
            post(documents::remove),
        )
        .route(&format!("{BASE}/habilitations"), get(portal::habilitations))
        .route(
            &format!("{BASE}/lien/{{code}}"),
            get(portal::link_page).post(portal::open_link),
        )
        .route(
            &format!("{BASE}/demandes/{{id}}/jetons"),
            get(portal::tokens_page).post(portal::manage),
        )
        .route(&format!("{BASE}/demandes/{{id}}/usage"), get(portal::usage_page))
        .route(
            &format!("{BASE}/demandes/{{id}}/prolonger"),
            get(portal::prolong_page).post(portal::prolong),
        )
        .route(&format!("{BASE}/demandes/{{id}}/usage.csv"), get(portal::usage_csv))
        .route(
            &format!("{BASE}/demandes/{{id}}/attestations"),
            get(attestations::page).post(attestations::download),
        )
        .route(
            &format!("{BASE}/demandes/{{id}}/delegations"),
            get(editors::delegations_page).post(editors::delegate),
        )
        .route(&format!("{BASE}/editeur"), get(editors::space))
        .route(&format!("{BASE}/editeur/export.csv"), get(editors::export))
        .route(&format!("{BASE}/editeur/{{id}}"), get(editors::habilitation))
        .route(
            &format!("{BASE}/editeur/{{id}}/jeton"),
            get(editors::show_token).post(editors::take),
        )
        .route(&format!("{BASE}/editeur/{{id}}/usage"), get(editors::usage))
        .route(&format!("{BASE}/editeur/{{id}}/usage.csv"), get(editors::usage_csv))
        .route(
            &format!("{BASE}/demandes/{{id}}/alertes"),
            get(alerts::alerts_page).post(alerts::save_alerts),
        )
        .route(&format!("{BASE}/instruction"), get(pages::instruct))
        .route(&format!("{BASE}/admin/courriels"), get(pages::outbox))
        .route(&format!("{BASE}/admin/courriels/{{id}}/rejouer"), post(pages::replay))
        .route(&format!("{BASE}/admin/audit"), get(audit::page).post(audit::send))
        .route(&format!("{BASE}/admin/fournisseurs"), get(providers::list))
        .route(&format!("{BASE}/admin/fournisseurs/{{provider}}"), get(providers::show))
        .route(&format!("{BASE}/admin"), get(admin::home))
        .route(&format!("{BASE}/admin/organisations"), get(admin::organisations))
        .route(
            &format!("{BASE}/admin/organisations/{{siret}}"),
            get(admin::organisation),
        )
        .route(
            &format!("{BASE}/admin/demandes/{{id}}/jetons"),
            post(admin::token_action),
        )
        .route(&format!("{BASE}/admin/imitation"), post(admin::impersonate))
        .route(&format!("{BASE}/admin/imitation/fin"), post(admin::stop))
        .route(&format!("{BASE}/admin/journal"), get(admin::journal))
        // An admin seeing the site as an agent: journaled, read-only.
        .layer(axum::middleware::from_fn_with_state(app.clone(), admin::guard))
        // A form of every field at its longest fits; nothing bigger is read.
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .with_state(app)
        // Pages show tokens and personal data: never cached, never framed.
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    Ok(pages.nest_service(&format!("{BASE}/dsfr"), dsfr))
}

/// The largest form body but an upload's.
const MAX_FORM: usize = 256 * 1024;

/// Only the site's own styles, fonts and images; no script at all.
const CSP: &str = "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn header_layer(name: header::HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}
