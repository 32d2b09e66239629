//! A bouquet's routes: its own `/api/*`, one route per endpoint and version (a real
//! path template), and the contract's 404s for everything else.

mod api;
pub(crate) mod call;
mod deferred;
mod documents;
pub(crate) mod request_id;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, get_service, MethodRouter};
use axum::{Extension, Router};
use passerelle_bouquet::{Mode, NotServed};
use passerelle_core::{codes, ApiError};
use tower::ServiceBuilder;

use crate::error::Errors;
use crate::record::{Matched, Record};
use crate::{caller, concern, ip_guard, sign, throttle, Served};

pub fn routes(served: Arc<Served>) -> Router {
    let mut router = Router::new()
        .route("/api/ping", get(api::ping))
        .route("/api/introspect", get(api::introspect))
        .route("/api/open-api.yml", get(api::open_api))
        .route("/api/pings", get(api::pings))
        .route("/api/answers_jwks", get(api::answers_jwks))
        .route("/api/{provider}/ping", get(api::provider_ping));
    if served.bouquet.documents {
        router = router
            .route("/documents/{id}", get(documents::download))
            .route("/proxy/files/{token}", get(documents::proxied_file));
        for route in deferred_routes(&served) {
            router = router.route(&format!("/proxy/{route}/download/{{token}}"), get(deferred::download));
        }
    }
    if served.bouquet.privileges {
        router = router
            .route("/privileges", get(api::privileges))
            .route("/v2/privileges", get(api::privileges));
    }
    if served.bouquet.endpoints.iter().any(|e| e.mode == Mode::FranceConnect) {
        router = router.route("/api/france_connect_jwks", get(crate::france_connect::jwks));
    }
    for route in served.bouquet.routes() {
        let matched = Matched {
            template: Arc::from(route.template.as_str()),
            version: route.version,
            endpoint: route.endpoint,
            legacy: None,
        };
        router = router.route(&route.template, call_route(&served, matched));
    }
    router = crate::legacy::routes(router, &served);
    // Unknown paths are calls too: recorded under the endpoint `unknown`.
    let unknown = ServiceBuilder::new()
        .layer(concern::layer(&served, Record))
        .layer(concern::layer(&served, ip_guard::Guard));
    router
        .fallback_service(any(unknown_route).layer(unknown).with_state(served.clone()))
        .layer(concern::layer(&served, request_id::Tag))
        .with_state(served)
}

/// A call's route. Outermost first: the route's match, the record, the signature, the
/// legacy translation on a legacy route, the IP's quota, who calls, the limit.
pub(crate) fn call_route(served: &Arc<Served>, matched: Matched) -> MethodRouter<Arc<Served>> {
    let legacy = matched.legacy.is_some();
    let layers = ServiceBuilder::new()
        .layer(Extension(matched))
        .layer(concern::layer(served, Record))
        .layer(concern::layer(served, sign::Sign))
        .option_layer(legacy.then(|| concern::layer(served, crate::legacy::Translate)))
        .layer(concern::layer(served, ip_guard::Guard))
        .layer(concern::layer(served, caller::Identify))
        .layer(concern::layer(served, throttle::Throttle));
    // The handler itself at the bottom, not a route: each layer clones what is inside
    // it at every call, and a route's clone is an allocation.
    get_service(layers.service(call::call.with_state(served.clone())))
}

/// An unknown path: a legacy one (`/api/v2/…`) in the legacy error's shape, any other
/// as `not_served` says.
async fn unknown_route(State(served): State<Arc<Served>>, request: Request) -> Response {
    let path = request.uri().path();
    match &served.bouquet.legacy {
        Some(legacy) if path.starts_with("/api/v2/") => {
            crate::legacy::flat_error(legacy, ApiError::gateway(codes::ROUTE_UNKNOWN).into())
        }
        _ => not_served(&served, path).into_response(),
    }
}

/// `00402` when the path is an endpoint's in another version, `00404` otherwise. Only
/// the plain `v<digits>` form names a version: `/v03/` and `/v+3/` name none.
fn not_served(served: &Served, path: &str) -> Errors {
    let versioned = path
        .strip_prefix("/v")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(digits, _)| {
            !digits.starts_with('0') && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        })
        .and_then(|(digits, rest)| Some((digits.parse::<u8>().ok()?, rest)));
    let Some((version, rest)) = versioned else {
        return ApiError::gateway(codes::ROUTE_UNKNOWN).into();
    };
    match served.bouquet.find(version, rest) {
        Err(NotServed::Version) => ApiError::gateway(codes::VERSION_UNSUPPORTED)
            .with_detail(format!("La version v{version} n'est pas supportée pour cet endpoint"))
            .into(),
        _ => ApiError::gateway(codes::ROUTE_UNKNOWN).into(),
    }
}

/// The names of the routes of the bouquet's deferred documents (`inpi`), once each.
fn deferred_routes(served: &Served) -> std::collections::BTreeSet<&'static str> {
    served
        .bouquet
        .providers
        .values()
        .filter_map(|p| p.download_route())
        .collect()
}
