//! A simulator of INSEE's commune search (`GET /geo/communes?filtreNom=…&date=…`),
//! with a small table of communes (several homonyms, to exercise the département rule).

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use passerelle_core::translit::fold;
use serde_json::json;

/// (COG code, name): a sample of communes, homonyms included.
const COMMUNES: &[(&str, &str)] = &[
    ("92036", "Gennevilliers"),
    ("35238", "Rennes"),
    ("75056", "Paris"),
    ("13055", "Marseille"),
    ("69123", "Lyon"),
    ("33063", "Bordeaux"),
    ("44109", "Nantes"),
    ("08105", "Charleville-Mézières"),
    ("51108", "Châlons-en-Champagne"),
    ("2A004", "Ajaccio"),
    ("97411", "Saint-Denis"),
    ("93066", "Saint-Denis"),
    ("11341", "Saint-Denis"),
];

fn normal(name: &str) -> String {
    fold(name.trim()).to_uppercase().replace(['-', '\''], " ")
}

pub fn router() -> Router {
    Router::new().route("/geo/communes", get(communes))
}

async fn communes(Query(query): Query<HashMap<String, String>>) -> Response {
    let Some(name) = query.get("filtreNom") else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "filtreNom est obligatoire"})),
        )
            .into_response();
    };
    let found: Vec<_> = COMMUNES
        .iter()
        .filter(|(_, n)| normal(n) == normal(name))
        .map(|(code, n)| json!({"code": code, "type": "Commune", "intitule": n, "intituleSansArticle": n}))
        .collect();
    if found.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Aucune commune trouvée"})),
        )
            .into_response();
    }
    Json(found).into_response()
}
