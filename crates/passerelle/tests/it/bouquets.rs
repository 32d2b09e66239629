//! A second bouquet, made here in the test alone (its catalogue entry, its mandatory
//! purpose parameter, its error code and a provider stub), served beside API
//! Particulier on its own listener: the proof that a new bouquet is an addition, with
//! no change to the pipeline.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use passerelle_bouquet::{
    Bouquet, Cache, Call, Endpoint, Extras, Fetched, Mode, Provider, ProviderId, PurposeParam, ThrottleGroup,
};
use passerelle_core::{codes, ApiError, Code, ErrorKind, ProviderInfo, Query};
use passerelle_gateway::{AppState, GatewayConfig};
use passerelle_tokens::{self as tokens, TokenRequest};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::helpers::*;

const METEO: ProviderId = ProviderId::new("meteo");

const RELEVE: Endpoint = Endpoint {
    provider: METEO,
    resource: "releve",
    path: "meteo/releve",
    mode: Mode::Identifiant,
    versions: &[1],
    operation: "meteo_releve",
    title: "Relevé météo d'une station",
    civility: None,
    extra_params: &[],
    access_scopes: &["meteo_releve"],
    fields: &["station", "temperature"],
    masks: &[],
    cache: Cache::Never,
};

/// The subject named in the path, as API Entreprise does.
const STATION_RELEVES: Endpoint = Endpoint {
    resource: "releves",
    path: "meteo/stations/{station}/releves",
    mode: Mode::Subject,
    operation: "meteo_station_releves",
    cache: Cache::UntilTomorrowAt { hour: 8 },
    ..RELEVE
};

/// Open to any token of the bouquet, as API Entreprise's VIES endpoint.
const STATIONS_OUVERTES: Endpoint = Endpoint {
    resource: "ouvertes",
    path: "meteo/stations_ouvertes/{station}",
    mode: Mode::Subject,
    operation: "meteo_stations_ouvertes",
    access_scopes: &[],
    ..RELEVE
};

const CONTEXT_MISSING: Code = Code {
    code: "90001",
    kind: ErrorKind::WrongParameter,
    title: "Entité non traitable",
    detail: "Le paramètre context est manquant",
    source: Some(("parameter", "context")),
};

const PURPOSE: &[PurposeParam] = &[PurposeParam {
    name: "context",
    parse: |v| (!v.trim().is_empty()).then(|| v.trim().to_string()),
    missing: CONTEXT_MISSING,
    invalid: CONTEXT_MISSING,
}];

/// Answers with the station it was asked about.
struct MeteoStub;

#[async_trait]
impl Provider for MeteoStub {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            name: "Météo",
            prefix: "90",
        }
    }

    fn parse_extras(&self, _: &Endpoint, query: &Query, _: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        match query.get("identifiant").or_else(|| query.get("station")) {
            Some(station) => Ok(Extras::from([("identifiant".to_string(), station.to_string())])),
            None => Err(vec![ApiError::gateway(codes::IDENTIFIANT_INVALID)]),
        }
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let station = call.extras.get("identifiant").cloned().unwrap_or_default();
        Ok(json!({"station": station, "temperature": 12.5, "context": call.purpose.get("context")}).into())
    }
}

fn no_group(_: &Endpoint) -> Option<ThrottleGroup> {
    None
}

fn meteo() -> Bouquet {
    Bouquet {
        name: "meteo",
        title: "API Météo (test)",
        operation_prefix: "api_meteo",
        endpoints: vec![&RELEVE, &STATION_RELEVES, &STATIONS_OUVERTES],
        providers: HashMap::from([(METEO, Arc::new(MeteoStub) as Arc<dyn Provider>)]),
        purpose: PURPOSE,
        throttle: no_group,
        codes: &[CONTEXT_MISSING],
        openapi: "openapi: 3.0.0\ninfo:\n  title: API Météo (test)\n".into(),
        privileges: false,
        documents: false,
        legacy: None,
    }
}

struct TwoBouquets {
    particulier: String,
    meteo: String,
    store: Arc<dyn passerelle_store::Store>,
    state: Arc<AppState>,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

async fn start() -> TwoBouquets {
    let dir = tempfile::tempdir().unwrap();
    let config = GatewayConfig {
        data_dir: dir.path().to_path_buf(),
        ..GatewayConfig::default()
    };
    let store = passerelle_journal::open(&config.database_url()).await.unwrap();
    let particulier = passerelle_particulier::bouquet(&config.providers).unwrap();
    let state = AppState::new(config, store.clone()).await.unwrap();
    let (first, second) = (
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let urls = (
        format!("http://{}", first.local_addr().unwrap()),
        format!("http://{}", second.local_addr().unwrap()),
    );
    let (tx, rx) = oneshot::channel::<()>();
    let serving = state.clone();
    tokio::spawn(async move {
        let listeners = vec![(first, particulier), (second, meteo())];
        passerelle_gateway::serve(listeners, serving, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TwoBouquets {
        particulier: urls.0,
        meteo: urls.1,
        store,
        state,
        _dir: dir,
        _shutdown: tx,
    }
}

async fn get(url: String, token: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn a_bouquet_made_in_a_test_is_served_beside_api_particulier() {
    let app = start().await;
    let (_, jwt) = tokens::issue(
        app.store.as_ref(),
        app.state.tokens.keys(),
        TokenRequest {
            bouquet: "meteo".into(),
            ..token_request(&["meteo_releve"])
        },
        Utc::now(),
    )
    .await
    .unwrap();

    let response = get(
        format!(
            "{}/v1/meteo/releve/identifiant?context=ALERTE&identifiant=BREST",
            app.meteo
        ),
        &jwt,
    )
    .await;
    assert!(response.headers().contains_key("ratelimit-limit"));
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({"station": "BREST", "temperature": 12.5, "context": "ALERTE"})
    );

    // Its purpose parameter and the endpoint's own, every error at once for the purpose.
    let missing = get(
        format!("{}/v1/meteo/releve/identifiant?identifiant=BREST", app.meteo),
        &jwt,
    )
    .await;
    let body = assert_error(missing, 422, "90001").await;
    assert_eq!(body["errors"][0]["source"]["parameter"], "context");

    // Each base URL serves its own bouquet only.
    let qf = format!("{}/v3/dss/quotient_familial/identite?recipient={RECIPIENT}", app.meteo);
    assert_error(get(qf, &jwt).await, 404, "00404").await;
    let releve = format!(
        "{}/v1/meteo/releve/identifiant?context=A&identifiant=B",
        app.particulier
    );
    assert_error(get(releve, &jwt).await, 404, "00404").await;
    // A version the endpoint does not have.
    let v2 = format!("{}/v2/meteo/releve/identifiant?context=A&identifiant=B", app.meteo);
    assert_error(get(v2, &jwt).await, 404, "00402").await;

    let openapi = reqwest::get(format!("{}/api/open-api.yml", app.meteo)).await.unwrap();
    assert!(openapi.text().await.unwrap().contains("API Météo (test)"));
    let pings: serde_json::Value = reqwest::get(format!("{}/api/pings", app.meteo))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pings, json!([{"name": "meteo", "url": "/api/meteo/ping"}]));

    let rows = app.store.recent_journal(10).await.unwrap();
    let row = rows.iter().find(|r| r.status == 200).expect("the call is journaled");
    assert_eq!(
        (row.bouquet.as_str(), row.endpoint.as_str()),
        ("meteo", "/v1/meteo/releve/identifiant")
    );
    assert_eq!(row.purpose.get("context").map(String::as_str), Some("ALERTE"));
}

#[tokio::test]
async fn a_bouquets_tokens_and_scopes_are_its_own() {
    let app = start().await;
    let issue = |request| tokens::issue(app.store.as_ref(), app.state.tokens.keys(), request, Utc::now());
    let (_, particulier) = issue(token_request(&["meteo_releve"])).await.unwrap();
    let url = format!("{}/v1/meteo/releve/identifiant?context=A&identifiant=B", app.meteo);
    assert_error(get(url.clone(), &particulier).await, 401, "00101").await;
    let other_scope = TokenRequest {
        bouquet: "meteo".into(),
        ..token_request(&["meteo_autre"])
    };
    let (_, meteo) = issue(other_scope).await.unwrap();
    assert_error(get(url, &meteo).await, 403, "00100").await;
    // An endpoint without scopes opens to any token of its bouquet, and to no other.
    let open = format!("{}/v1/meteo/stations_ouvertes/BREST?context=A", app.meteo);
    assert_eq!(get(open.clone(), &meteo).await.status(), 200);
    assert_error(get(open, &particulier).await, 401, "00101").await;
    let qf = format!(
        "{}/v3/dss/quotient_familial/identite?recipient={RECIPIENT}",
        app.particulier
    );
    assert_error(get(qf, &meteo).await, 401, "00101").await;
}

#[tokio::test]
async fn path_parameters_name_the_subject_and_the_journal_keeps_the_template() {
    let app = start().await;
    let request = TokenRequest {
        bouquet: "meteo".into(),
        ..token_request(&["meteo_releve"])
    };
    let (_, jwt) = tokens::issue(app.store.as_ref(), app.state.tokens.keys(), request, Utc::now())
        .await
        .unwrap();
    // The path names the station; the same name in the query string does not override it.
    let url = format!("{}/v1/meteo/stations/BREST/releves?context=A&station=NICE", app.meteo);
    let (status, body) = json(get(url.clone(), &jwt).await).await;
    assert_eq!((status, &body["data"]["station"]), (200, &json!("BREST")), "{body}");
    let cached = get(url, &jwt).await;
    assert_eq!(
        cached.headers()["x-response-cached"],
        "true",
        "cached until 08:00 tomorrow"
    );
    let left: u64 = cached.headers()["x-cache-expires-in"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=32 * 3600).contains(&left), "{left}");

    let v2 = format!("{}/v2/meteo/stations/BREST/releves?context=A", app.meteo);
    assert_error(get(v2, &jwt).await, 404, "00402").await;
    let deeper = format!("{}/v1/meteo/stations/BREST/extra/releves?context=A", app.meteo);
    assert_error(get(deeper, &jwt).await, 404, "00404").await;

    let rows = app.store.recent_journal(10).await.unwrap();
    let endpoints: Vec<_> = rows
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.endpoint.as_str())
        .collect();
    assert_eq!(endpoints, ["/v1/meteo/stations/{station}/releves"; 2]);
}
