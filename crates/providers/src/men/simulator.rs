//! A simulator of the MEN scolarités upstream: OAuth2 client credentials in the form
//! on `/token`, then `GET /scolarites?<identity and school>` or
//! `POST /scolarites/perimetre` (JSON), both with the bearer, `X-Siret-Partenaire` and
//! the constant `scope`. Its people come from `people.json` (derived from the official
//! sandbox cases by `tools/derive_men_people.py`) and `people_synthetic.json`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::UPSTREAM_SCOPE;
use crate::oauth::ClientAuth;
use crate::simulation::{self, normal, Answer, TokenDesk, TokenForm};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-men";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

/// Who a pupil is and where they are enrolled.
#[derive(Debug, Clone, Deserialize)]
struct Pupil {
    nom: String,
    prenom: String,
    #[serde(default)]
    sexe: Option<u8>,
    #[serde(rename = "date-naissance")]
    date_naissance: String,
    #[serde(rename = "annee-scolaire")]
    annee_scolaire: String,
    #[serde(rename = "code-uai")]
    code_uai: String,
    /// `1D`/`2D`; any degree matches when absent.
    #[serde(default)]
    degre: Option<String>,
    /// BCN code of the académie's region, for perimeter searches.
    #[serde(default)]
    region: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Person {
    pupil: Pupil,
    answer: Answer,
}

/// What a search gives, by school or by perimeter.
struct Search {
    nom: String,
    prenom: String,
    sexe: Option<u8>,
    date_naissance: String,
    annee_scolaire: String,
    place: Place,
}

enum Place {
    School(String),
    Perimeter {
        degre: String,
        kind: String,
        values: Vec<String>,
    },
}

pub struct Simulator {
    people: Vec<Person>,
    tokens: TokenDesk,
}

/// Names match without accents nor case, as the upstream does.
fn same_name(a: &str, b: &str) -> bool {
    normal(a) == normal(b)
}

impl Pupil {
    fn matches(&self, search: &Search) -> bool {
        let who = same_name(&self.nom, &search.nom)
            && same_name(&self.prenom, &search.prenom)
            && self.sexe == search.sexe
            && self.date_naissance == search.date_naissance
            && self.annee_scolaire == search.annee_scolaire;
        who && match &search.place {
            Place::School(uai) => self.code_uai.eq_ignore_ascii_case(uai),
            Place::Perimeter { degre, kind, values } => {
                let degre_ok = self.degre.as_ref().is_none_or(|d| d == degre);
                // The first three characters of a UAI are the BCN département.
                let place = match kind.as_str() {
                    "departement" => self.code_uai.get(..3).map(str::to_string),
                    _ => self.region.clone(),
                };
                degre_ok && place.is_some_and(|p| values.contains(&p))
            }
        }
    }
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        let mut people: Vec<Person> = simulation::people(&[PEOPLE, SYNTHETIC_PEOPLE]);
        // The upstream's raw failures are HTML pages.
        for p in &mut people {
            p.answer.content_type = Some("text/html".into());
        }
        Arc::new(Simulator {
            people,
            tokens: TokenDesk::new("men", CLIENT_ID, CLIENT_SECRET, ClientAuth::Form),
        })
    }

    fn find(&self, search: &Search) -> Option<&Answer> {
        self.people.iter().find(|p| p.pupil.matches(search)).map(|p| &p.answer)
    }

    fn knows(&self, headers: &HeaderMap) -> bool {
        self.tokens.scope(headers).is_some()
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/ping", get(ping))
        .route("/scolarites", get(by_school))
        .route("/scolarites/perimetre", post(by_perimeter))
        .with_state(simulator)
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let Some(access_token) = sim.tokens.issue(&headers, Some(&form), "") else {
        let body = json!({"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    };
    Json(
        json!({"access_token": access_token, "expires_in": 300, "refresh_expires_in": 0,
        "token_type": "Bearer", "not-before-policy": 0, "scope": ""}),
    )
    .into_response()
}

/// The upstream's error shape (a problem document).
fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({
        "type": "Erreur backend",
        "title": "Un service web répond avec une erreur",
        "detail": detail,
        "instance": "/scolarites",
        "status": status.canonical_reason().unwrap_or_default().to_uppercase().replace(' ', "_"),
        "date-time": "2026-01-01",
    });
    (status, Json(body)).into_response()
}

async fn ping(State(sim): State<Arc<Simulator>>, headers: HeaderMap) -> Response {
    if !sim.knows(&headers) {
        return problem(StatusCode::UNAUTHORIZED, "Jeton d'accès absent ou invalide");
    }
    Json(json!({"status": "UP"})).into_response()
}

/// What the real service checks before searching.
fn refuse(sim: &Simulator, headers: &HeaderMap, scope: Option<&str>) -> Option<Response> {
    if !sim.knows(headers) {
        return Some(problem(StatusCode::UNAUTHORIZED, "Jeton d'accès absent ou invalide"));
    }
    let siret_ok = headers
        .get("x-siret-partenaire")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit()));
    if !siret_ok {
        return Some(problem(
            StatusCode::BAD_REQUEST,
            "En-tête X-Siret-Partenaire absent ou invalide",
        ));
    }
    if scope != Some(UPSTREAM_SCOPE) {
        return Some(problem(StatusCode::FORBIDDEN, "Scope absent ou non autorisé"));
    }
    None
}

async fn by_school(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = refuse(&sim, &headers, query.get("scope").map(String::as_str)) {
        return refused;
    }
    let field = |k: &str| query.get(k).cloned();
    let search = (|| {
        Some(Search {
            nom: field("nom")?,
            prenom: field("prenom")?,
            sexe: match field("sexe") {
                None => None,
                Some(s) => Some(s.parse().ok()?),
            },
            date_naissance: field("date-naissance")?,
            annee_scolaire: field("annee-scolaire")?,
            place: Place::School(field("code-uai")?),
        })
    })();
    answer(&sim, search).await
}

#[derive(Deserialize)]
struct PerimeterBody {
    nom: String,
    prenom: String,
    sexe: Option<u8>,
    #[serde(rename = "date-naissance")]
    date_naissance: String,
    #[serde(rename = "annee-scolaire")]
    annee_scolaire: String,
    scope: Option<String>,
    #[serde(rename = "degre-etablissement")]
    degre: String,
    #[serde(rename = "type-perimetre")]
    kind: String,
    #[serde(rename = "valeurs-perimetre")]
    values: Vec<String>,
}

async fn by_perimeter(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let parsed: Option<PerimeterBody> = serde_json::from_slice(&body).ok().filter(|_| json_type);
    let scope = parsed.as_ref().and_then(|b| b.scope.as_deref());
    if let Some(refused) = refuse(&sim, &headers, scope) {
        return refused;
    }
    let search = parsed
        .filter(|b| matches!(b.kind.as_str(), "departement" | "region"))
        .map(|b| Search {
            nom: b.nom,
            prenom: b.prenom,
            sexe: b.sexe,
            date_naissance: b.date_naissance,
            annee_scolaire: b.annee_scolaire,
            place: Place::Perimeter {
                degre: b.degre,
                kind: b.kind,
                values: b.values,
            },
        });
    answer(&sim, search).await
}

async fn answer(sim: &Simulator, search: Option<Search>) -> Response {
    let Some(search) = search else {
        return problem(StatusCode::BAD_REQUEST, "Paramètres de recherche incomplets");
    };
    match sim.find(&search).cloned() {
        Some(answer) => answer.respond(&[]).await,
        None => problem(
            StatusCode::NOT_FOUND,
            "Aucun élève ne correspond aux critères de recherche",
        ),
    }
}
