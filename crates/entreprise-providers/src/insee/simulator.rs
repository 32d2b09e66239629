//! A simulator of INSEE's Sirene API 3.11: `POST /token` (OAuth2 password grant), then
//! with the bearer `GET /api-sirene/prive/3.11/siren/{siren}`, `…/siret/{siret}`, the
//! search `…/siret?q=etablissementSiege:true AND siren:{siren}` and
//! `…/siret/liensSuccession?q=…`. Its units come from `sirene.json` (derived from the
//! official sandbox cases and the real service's recorded answers by
//! `tools/derive_insee_sirene.py`) and `sirene_synthetic.json` (our own error cases);
//! canned `answers` (301 duplicates, 403 protected units, slow or broken answers) win
//! over records.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use passerelle_providers::simulation::{self, Answer};
use serde::Deserialize;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-insee";
pub const USERNAME: &str = "passerelle-apim";
pub const PASSWORD: &str = "demo-password-insee";

const RECORDS: &str = include_str!("sirene.json");
const SYNTHETIC: &str = include_str!("sirene_synthetic.json");
/// About a week, as INSEE gives.
const TOKEN_LIFETIME_SECS: u64 = 604_800;

#[derive(Deserialize)]
struct Canned {
    call: String,
    id: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Records {
    unites_legales: Vec<Value>,
    etablissements: Vec<Value>,
    liens_succession: Vec<Value>,
    answers: Vec<Canned>,
}

pub struct Simulator {
    unites: HashMap<String, Value>,
    etablissements: Vec<Value>,
    liens: Vec<Value>,
    answers: HashMap<(String, String), Answer>,
    tokens: Mutex<HashSet<String>>,
    issued: AtomicUsize,
}

fn id_of(record: &Value, key: &str) -> String {
    record.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let mut simulator = Simulator {
            unites: HashMap::new(),
            etablissements: Vec::new(),
            liens: Vec::new(),
            answers: HashMap::new(),
            tokens: Mutex::new(HashSet::new()),
            issued: AtomicUsize::new(0),
        };
        for file in [RECORDS, SYNTHETIC] {
            let records: Records = serde_json::from_str(file).expect("the simulator's data files are valid");
            for unit in records.unites_legales {
                simulator.unites.entry(id_of(&unit, "siren")).or_insert(unit);
            }
            simulator.etablissements.extend(records.etablissements);
            simulator.liens.extend(records.liens_succession);
            for canned in records.answers {
                simulator.answers.insert((canned.call, canned.id), canned.answer);
            }
        }
        Arc::new(simulator)
    }

    /// Forgets every token issued, as INSEE does when it rotates them: the next data
    /// call with an old token gets a 401.
    pub fn revoke_tokens(&self) {
        self.tokens.lock().expect("token table").clear();
    }

    /// How many tokens were issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        simulation::bearer(headers).is_some_and(|t| self.tokens.lock().expect("token table").contains(t))
    }

    fn canned(&self, call: &str, id: &str) -> Option<Answer> {
        self.answers.get(&(call.to_string(), id.to_string())).cloned()
    }

    fn etablissement(&self, siret: &str) -> Option<&Value> {
        self.etablissements.iter().find(|e| id_of(e, "siret") == siret)
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/api-sirene/prive/3.11/siren/{siren}", get(siren))
        .route("/api-sirene/prive/3.11/siret", get(search))
        .route("/api-sirene/prive/3.11/siret/liensSuccession", get(successions))
        .route("/api-sirene/prive/3.11/siret/{siret}", get(siret))
        .with_state(simulator)
}

#[derive(Deserialize)]
struct PasswordForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

async fn token(State(sim): State<Arc<Simulator>>, Form(form): Form<PasswordForm>) -> Response {
    let known = form.grant_type.as_deref() == Some("password")
        && form.client_id.as_deref() == Some(CLIENT_ID)
        && form.client_secret.as_deref() == Some(CLIENT_SECRET)
        && form.username.as_deref() == Some(USERNAME)
        && form.password.as_deref() == Some(PASSWORD);
    if !known {
        return simulation::invalid_client("Client or user credentials are invalid");
    }
    let access_token = format!("insee-{:032x}", rand::random::<u128>());
    sim.tokens.lock().expect("token table").insert(access_token.clone());
    sim.issued.fetch_add(1, Ordering::SeqCst);
    simulation::token_answer(&access_token, TOKEN_LIFETIME_SECS, Some("am_application_scope default"))
}

fn header(status: StatusCode, message: &str) -> Response {
    let body = json!({"header": {"statut": status.as_u16(), "message": message}});
    (status, Json(body)).into_response()
}

/// The API manager's refusal of a missing or unknown token.
fn unauthorized() -> Response {
    let body = json!({"fault": {"code": 900901, "message": "Invalid Credentials", "description": "Invalid Credentials. Make sure you have given the correct access token"}});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

async fn respond(answer: Answer) -> Response {
    answer.respond(&[("location", header::LOCATION)]).await
}

async fn siren(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Path(siren): Path<String>) -> Response {
    if !sim.authorized(&headers) {
        return unauthorized();
    }
    if let Some(answer) = sim.canned("siren", &siren) {
        return respond(answer).await;
    }
    match sim.unites.get(&siren) {
        Some(unit) => Json(json!({"header": {"statut": 200, "message": "OK"}, "uniteLegale": unit})).into_response(),
        None => header(
            StatusCode::NOT_FOUND,
            &format!("Aucun élément trouvé pour le siren {siren}"),
        ),
    }
}

async fn siret(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Path(siret): Path<String>) -> Response {
    if !sim.authorized(&headers) {
        return unauthorized();
    }
    if let Some(answer) = sim.canned("siret", &siret) {
        return respond(answer).await;
    }
    match sim.etablissement(&siret) {
        Some(etab) => Json(json!({"header": {"statut": 200, "message": "OK"}, "etablissement": etab})).into_response(),
        None => header(
            StatusCode::NOT_FOUND,
            &format!("Aucun élément trouvé pour le siret {siret}"),
        ),
    }
}

/// The terms of a Sirene query (`a:b AND c:d`, or `OR`), as (field, value) pairs.
fn terms<'a>(q: &'a str, joiner: &str) -> Vec<(&'a str, &'a str)> {
    q.split(joiner).filter_map(|t| t.trim().split_once(':')).collect()
}

fn list(key: &str, items: Vec<Value>, not_found: &str) -> Response {
    if items.is_empty() {
        return header(StatusCode::NOT_FOUND, not_found);
    }
    let n = items.len();
    let body = json!({"header": {"statut": 200, "message": "OK", "total": n, "debut": 0, "nombre": n}, key: items});
    Json(body).into_response()
}

/// Only the siège search the gateway makes is understood.
async fn search(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !sim.authorized(&headers) {
        return unauthorized();
    }
    let q = query.get("q").map(String::as_str).unwrap_or_default();
    let terms = terms(q, " AND ");
    let siren = terms.iter().find(|(f, _)| *f == "siren").map(|(_, v)| *v);
    let (Some(siren), true) = (siren, terms.contains(&("etablissementSiege", "true"))) else {
        return header(StatusCode::BAD_REQUEST, "Requête invalide");
    };
    if let Some(answer) = sim.canned("siege", siren) {
        return respond(answer).await;
    }
    let sieges = sim
        .etablissements
        .iter()
        .filter(|e| id_of(e, "siren") == siren && e.get("etablissementSiege") == Some(&json!(true)))
        .cloned()
        .collect();
    list("etablissements", sieges, "Aucun élément trouvé pour la requête")
}

async fn successions(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !sim.authorized(&headers) {
        return unauthorized();
    }
    let q = query.get("q").map(String::as_str).unwrap_or_default();
    let sirets: HashSet<&str> = terms(q, " OR ")
        .into_iter()
        .filter(|(f, _)| *f == "siretEtablissementSuccesseur" || *f == "siretEtablissementPredecesseur")
        .map(|(_, v)| v)
        .collect();
    if sirets.is_empty() {
        return header(StatusCode::BAD_REQUEST, "Requête invalide");
    }
    if let Some(answer) = sirets.iter().find_map(|s| sim.canned("successions", s)) {
        return respond(answer).await;
    }
    let touches = |l: &Value| {
        ["siretEtablissementSuccesseur", "siretEtablissementPredecesseur"]
            .iter()
            .any(|k| sirets.contains(id_of(l, k).as_str()))
    };
    let links = sim.liens.iter().filter(|l| touches(l)).cloned().collect();
    list("liensSuccession", links, "Aucun élément trouvé pour la requête")
}
