//! `/catalogue/reference`: Swagger UI on the bouquet's own OpenAPI document
//! (`/api/open-api.yml`). Swagger UI's files are served from the configured folder and
//! started by a script of ours, so the page needs no inline script and no CDN.

use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeDir;

use crate::{page as render, Frame, Site};

/// Where the reference's Swagger UI files are served.
pub const SWAGGER_ROUTE: &str = "/catalogue/reference/swagger";

/// Starts Swagger UI; a file, since the page's policy forbids inline scripts.
const INITIALISATION: &str = include_str!("../../assets/reference.js");

/// The site's policy, plus scripts from this site and fetching the document from it.
/// Swagger UI sets its elements' styles through the CSSOM, which needs no
/// `'unsafe-inline'`.
const REFERENCE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                             img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
                             frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "catalogue_reference.html")]
struct ReferencePage {
    frame: Frame,
    swagger: &'static str,
}

pub async fn page(State(site): State<Arc<Site>>) -> Response {
    let mut response = render(&ReferencePage {
        frame: Frame::new(&site, "catalogue"),
        swagger: SWAGGER_ROUTE,
    });
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(REFERENCE_CSP));
    response
}

pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        INITIALISATION,
    )
        .into_response()
}

/// A file of Swagger UI's folder; `ServeDir` keeps requests inside it.
pub async fn asset(State(site): State<Arc<Site>>, request: Request) -> Response {
    let rest = request
        .uri()
        .path()
        .strip_prefix(SWAGGER_ROUTE)
        .unwrap_or("/")
        .to_string();
    let Ok(uri) = rest.parse::<Uri>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (mut parts, body) = request.into_parts();
    parts.uri = uri;
    let inner = Request::from_parts(parts, body);
    match ServeDir::new(&site.config.swagger_dir).try_call(inner).await {
        Ok(response) => response.map(Body::new),
        Err(e) => {
            tracing::warn!(error = %e, "Swagger UI file unreadable");
            StatusCode::NOT_FOUND.into_response()
        }
    }
}
