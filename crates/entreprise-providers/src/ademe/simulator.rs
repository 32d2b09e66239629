//! A simulator of ADEME's data-fair lines endpoint for the `historique-rge` dataset:
//! `GET {PATH}?size=N&qs=siret:{siret} AND traitement_termine:false` with the key in
//! `x-apiKey`. It answers `{"total", "next"?, "results"}` (200) with the first `size`
//! unfinished lines of the SIRET, `results: []` when there are none, as data-fair
//! does; a missing or wrong key gets a 401, a query of another shape a 400 (ours).
//! Its data is `historique_rge.json`, written by `tools/derive_ademe.py`, with raw
//! answers for failures (SIRETs `99900…`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The dataset's lines endpoint under the simulator's base.
pub const PATH: &str = "/data-fair/api/v1/datasets/historique-rge/lines";
pub const API_KEY: &str = "passerelle-demo-rge";

/// data-fair's page size when `size` is absent.
const DEFAULT_SIZE: usize = 12;

const DATA: &str = include_str!("historique_rge.json");

#[derive(Deserialize)]
struct Canned {
    siret: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    lines: Vec<Map<String, Value>>,
    answers: Vec<Canned>,
}

#[derive(Deserialize)]
struct Params {
    size: Option<usize>,
    qs: Option<String>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siret: String,
    pub size: Option<usize>,
    pub referer: Option<String>,
    pub content_type: Option<String>,
}

pub struct Simulator {
    lines: Vec<Map<String, Value>>,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            lines: data.lines,
            answers: data.answers.into_iter().map(|c| (c.siret, c.answer)).collect(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The questions received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }

    /// The SIRET's unfinished lines.
    fn open_lines(&self, siret: &str) -> Vec<&Map<String, Value>> {
        self.lines
            .iter()
            .filter(|l| l.get("siret").and_then(Value::as_str) == Some(siret))
            .filter(|l| l.get("traitement_termine") == Some(&Value::Bool(false)))
            .collect()
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new().route(PATH, get(lines)).with_state(simulator)
}

async fn lines(State(sim): State<Arc<Simulator>>, Query(params): Query<Params>, headers: HeaderMap) -> Response {
    if header(&headers, "x-apikey").as_deref() != Some(API_KEY) {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let Some(siret) = params.qs.as_deref().and_then(siret_of) else {
        return (StatusCode::BAD_REQUEST, "qs: requête non reconnue").into_response();
    };
    sim.seen.lock().expect("call log").push(Seen {
        siret: siret.clone(),
        size: params.size,
        referer: header(&headers, "referer"),
        content_type: header(&headers, "content-type"),
    });
    if let Some(canned) = sim.answers.get(&siret) {
        let location = [("location", HeaderName::from_static("location"))];
        return canned.clone().respond(&location).await;
    }
    let open = sim.open_lines(&siret);
    let size = params.size.unwrap_or(DEFAULT_SIZE);
    let mut page = json!({"total": open.len(), "results": open.iter().take(size).collect::<Vec<_>>()});
    if open.len() > size {
        page["next"] = json!(format!("{PATH}?size={size}&after={size}"));
    }
    Json(page).into_response()
}

/// The SIRET of `siret:{siret} AND traitement_termine:false`, the only query asked.
fn siret_of(qs: &str) -> Option<String> {
    let siret = qs
        .strip_prefix("siret:")?
        .strip_suffix(" AND traitement_termine:false")?;
    (siret.len() == 14 && siret.bytes().all(|b| b.is_ascii_digit())).then(|| siret.to_string())
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}
