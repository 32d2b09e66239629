//! A simulator of the association API behind its Gravitee API manager:
//! `GET /apim/api-asso-partenaires/api/structure/{id}?proxy_only=true` with the
//! `X-Gravitee-Api-Key` header answers an `<asso>` XML record (HTTP 200 with the
//! not-found marker for an unknown id), and `GET /apim/api-asso/documents/{name}`
//! serves the files the records link to (no key, as the real file host). Its data is
//! `api_asso.json`, written by `tools/derive_mi.py`: records behind the official
//! sandbox cases, the real service's recorded records, and our failure cases (by id:
//! slow, statuses, garbage, empty or oversized bodies). Some file names fail on
//! purpose: see `document`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub const API_KEY: &str = "demo-gravitee-key-asso";

const DATA: &str = include_str!("api_asso.json");
const DOCUMENT: &[u8] = include_bytes!("document.pdf");

/// What the not-found answer looks like (HTTP 200).
const NOT_FOUND: &str = "<asso><erreur><proxy_correspondance>Erreur lors de l'appel au service de correspondance with statusCode: 404</proxy_correspondance></erreur></asso>";

/// How long a "slow" answer keeps the caller waiting: past any timeout the tests set.
const SLOW: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
struct Structure {
    ids: Vec<String>,
    xml: String,
}

#[derive(Deserialize)]
struct Data {
    structures: Vec<Structure>,
    /// Identifier → behaviour (`slow`, `status:<code>`, `garbage`, `empty`, `huge`,
    /// `redirect`, `status:<code>:<structure id>` to send a record with that status).
    failures: HashMap<String, String>,
}

pub struct Simulator {
    records: HashMap<String, Arc<str>>,
    failures: HashMap<String, String>,
    calls: AtomicUsize,
    downloads: AtomicUsize,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("api_asso.json is valid");
        let mut records = HashMap::new();
        for structure in data.structures {
            let xml: Arc<str> = structure.xml.into();
            for id in structure.ids {
                records.insert(id, xml.clone());
            }
        }
        Arc::new(Simulator {
            records,
            failures: data.failures,
            calls: AtomicUsize::new(0),
            downloads: AtomicUsize::new(0),
        })
    }

    /// Record calls received so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// File downloads received so far.
    pub fn downloads(&self) -> usize {
        self.downloads.load(Ordering::SeqCst)
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/apim/api-asso-partenaires/api/structure/{id}", get(structure))
        .route("/apim/api-asso/documents/{name}", get(document))
        .with_state(simulator)
}

#[derive(Deserialize)]
struct StructureQuery {
    proxy_only: Option<String>,
}

fn xml(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/xml")], body.into()).into_response()
}

/// Gravitee's refusal of a missing or wrong key.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"message":"Unauthorized","http_status_code":401}"#,
    )
        .into_response()
}

async fn structure(
    State(simulator): State<Arc<Simulator>>,
    Path(id): Path<String>,
    Query(query): Query<StructureQuery>,
    headers: HeaderMap,
) -> Response {
    simulator.calls.fetch_add(1, Ordering::SeqCst);
    let key = headers.get("x-gravitee-api-key").and_then(|v| v.to_str().ok());
    if key != Some(API_KEY) {
        return unauthorized();
    }
    if query.proxy_only.as_deref() != Some("true") {
        return xml(StatusCode::BAD_REQUEST, "<erreur>proxy_only attendu</erreur>");
    }
    if let Some(behaviour) = simulator.failures.get(&id) {
        return failure(&simulator, behaviour).await;
    }
    match simulator.records.get(&id) {
        Some(record) => xml(StatusCode::OK, record.to_string()),
        None => xml(StatusCode::OK, NOT_FOUND),
    }
}

async fn failure(simulator: &Simulator, behaviour: &str) -> Response {
    let mut parts = behaviour.split(':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("slow"), _, _) => {
            tokio::time::sleep(SLOW).await;
            xml(StatusCode::OK, NOT_FOUND)
        }
        (Some("garbage"), _, _) => xml(StatusCode::OK, "{\"not\": \"xml\"} <<<"),
        (Some("empty"), _, _) => xml(StatusCode::OK, ""),
        (Some("huge"), _, _) => xml(StatusCode::OK, format!("<asso>{}</asso>", " ".repeat(3 << 20))),
        (Some("redirect"), _, _) => {
            (StatusCode::FOUND, [(header::LOCATION, "http://example.invalid/")]).into_response()
        }
        (Some("status"), Some(code), record) => {
            let status = code.parse().ok().and_then(|c| StatusCode::from_u16(c).ok());
            let body = record
                .and_then(|id| simulator.records.get(id))
                .map_or_else(|| "<html><body>Erreur</body></html>".to_string(), |r| r.to_string());
            xml(status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body)
        }
        _ => xml(StatusCode::INTERNAL_SERVER_ERROR, ""),
    }
}

/// Files whose name says how they fail: `absent` 404, `interdit` 403, `limite` 429,
/// `panne` 500, `passerelle` 502, `indisponible` 503, `delai` 504, `methode` 405,
/// `lent` never in time, `redirige` a redirection, `enorme` 3 MiB announced, `flot`
/// 3 MiB streamed without a length; any other name is the sample PDF.
async fn document(State(simulator): State<Arc<Simulator>>, Path(name): Path<String>) -> Response {
    simulator.downloads.fetch_add(1, Ordering::SeqCst);
    let status = match name.as_str() {
        "absent" => StatusCode::NOT_FOUND,
        "interdit" => StatusCode::FORBIDDEN,
        "limite" => StatusCode::TOO_MANY_REQUESTS,
        "panne" => StatusCode::INTERNAL_SERVER_ERROR,
        "passerelle" => StatusCode::BAD_GATEWAY,
        "indisponible" => StatusCode::SERVICE_UNAVAILABLE,
        "delai" => StatusCode::GATEWAY_TIMEOUT,
        "methode" => StatusCode::METHOD_NOT_ALLOWED,
        "lent" => {
            tokio::time::sleep(SLOW).await;
            StatusCode::OK
        }
        "redirige" => {
            return (
                StatusCode::FOUND,
                [(header::LOCATION, "/apim/api-asso/documents/autre")],
            )
                .into_response()
        }
        "flot" => {
            let chunks = (0..48).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 << 10]));
            return Body::from_stream(futures::stream::iter(chunks)).into_response();
        }
        "enorme" => {
            return (
                [(header::CONTENT_TYPE, "application/octet-stream")],
                vec![b'x'; 3 << 20],
            )
                .into_response()
        }
        _ => StatusCode::OK,
    };
    if status != StatusCode::OK {
        return (status, "").into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.pdf\""),
            ),
        ],
        DOCUMENT,
    )
        .into_response()
}
