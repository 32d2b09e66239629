//! A simulator of VIES's REST service: `GET {REST}/ms/{country}/vat/{number}`, no
//! authentication, answering a JSON verdict (`isValid`, `userError`, `name`,
//! `address`, `vatNumber`, `viesApproximate`) as the real one does: a number it knows
//! is `VALID`, any other `INVALID`. Its data is `vies.json`, written by
//! `tools/derive_vies.py`: the valid French numbers, and raw answers for failures
//! (`IP_BLOCKED`, `MS_MAX_CONCURRENT_REQ`, `MS_UNAVAILABLE`, a proxy's block page,
//! garbage, a slow answer, verdicts under HTTP 5xx) that win over the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::{json, Value};

/// VIES's REST service under the simulator's base.
const REST: &str = "/taxation_customs/vies/rest-api";
/// The part of the address the gateway is configured with: French numbers.
pub const FRENCH_NUMBERS: &str = "/taxation_customs/vies/rest-api/ms/FR/vat";

const DATA: &str = include_str!("vies.json");

#[derive(Deserialize)]
struct Registered {
    #[serde(rename = "vatNumber")]
    vat_number: String,
    name: String,
    address: String,
}

#[derive(Deserialize)]
struct Canned {
    #[serde(rename = "vatNumber")]
    vat_number: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    registered: Vec<Registered>,
    answers: Vec<Canned>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub country: String,
    pub number: String,
}

pub struct Simulator {
    /// French numbers (without `FR`) → name and address.
    registered: HashMap<String, (String, String)>,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            registered: data
                .registered
                .into_iter()
                .map(|r| (r.vat_number, (r.name, r.address)))
                .collect(),
            answers: data.answers.into_iter().map(|c| (c.vat_number, c.answer)).collect(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The questions received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(&format!("{REST}/ms/{{country}}/vat/{{number}}"), get(check))
        .with_state(simulator)
}

async fn check(State(sim): State<Arc<Simulator>>, Path((country, number)): Path<(String, String)>) -> Response {
    sim.seen.lock().expect("call log").push(Seen {
        country: country.clone(),
        number: number.clone(),
    });
    if country == "FR" {
        if let Some(canned) = sim.answers.get(&number) {
            return canned.clone().respond(&[]).await;
        }
        if let Some((name, address)) = sim.registered.get(&number) {
            return Json(verdict(true, &number, name, address)).into_response();
        }
    }
    Json(verdict(false, &number, "", "")).into_response()
}

/// VIES's answer, `VALID` or `INVALID`; the approximate matching is never asked for.
fn verdict(valid: bool, number: &str, name: &str, address: &str) -> Value {
    json!({
        "isValid": valid,
        "requestDate": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "userError": if valid { "VALID" } else { "INVALID" },
        "name": name,
        "address": address,
        "requestIdentifier": "",
        "vatNumber": number,
        "viesApproximate": {
            "name": "---", "street": "---", "postalCode": "---", "city": "---", "companyType": "---",
            "matchName": 3, "matchStreet": 3, "matchPostalCode": 3, "matchCity": 3, "matchCompanyType": 3
        }
    })
}
