//! `passerelle sandbox` serving API Entreprise beside API Particulier from one case
//! folder, over real HTTP: recorded cases come back exactly, a call matching no case
//! gets the 200 generated from the OpenAPI schema, and every check of production runs.
//! The cases are `crates/sandbox/tests/cases` (copied from the official sandbox).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use passerelle_bouquet::Endpoint;
use passerelle_gateway::{Answers, AppState, GatewayConfig};
use passerelle_sandbox::{Report, Sandbox, Schemas};
use passerelle_store::Store;
use passerelle_tokens::TokenRequest;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::binary::{cli, Running};
use crate::helpers::*;

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sandbox/tests/cases");

const TRACE: &[(&str, &str)] = &[("context", "Test"), ("recipient", RECIPIENT), ("object", "Essai")];

/// Both bouquets in sandbox mode on port 0, with a fresh store.
struct App {
    particulier: String,
    entreprise: String,
    client: reqwest::Client,
    store: Arc<dyn Store>,
    state: Arc<AppState>,
    report: Report,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

impl App {
    async fn start(cases: &Path) -> App {
        let dir = tempfile::tempdir().unwrap();
        let config = GatewayConfig {
            data_dir: dir.path().to_path_buf(),
            ..GatewayConfig::default()
        };
        let (sandbox, report) = Sandbox::open(cases).unwrap();
        let store = passerelle_journal::open(&config.database_url()).await.unwrap();
        let particulier = passerelle_particulier::bouquet(&config.providers).unwrap();
        let entreprise = passerelle_entreprise::bouquet(passerelle_sandbox::entreprise::registry());
        let state = AppState::answered_by(config, store.clone(), Answers::Recorded(sandbox))
            .await
            .unwrap();
        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let second = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let particulier_base = format!("http://{}", first.local_addr().unwrap());
        let entreprise_base = format!("http://{}", second.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            let listeners = vec![(first, particulier), (second, entreprise)];
            passerelle_gateway::serve(listeners, serving, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        App {
            particulier: particulier_base,
            entreprise: entreprise_base,
            client: reqwest::Client::new(),
            store,
            state,
            report,
            _dir: dir,
            _shutdown: tx,
        }
    }

    async fn token(&self, bouquet: &str, scopes: &[&str]) -> String {
        let mut request: TokenRequest = token_request(scopes);
        request.bouquet = bouquet.into();
        let (_, jwt) = passerelle_tokens::issue(self.store.as_ref(), self.state.tokens.keys(), request, Utc::now())
            .await
            .unwrap();
        jwt
    }

    async fn entreprise_token(&self) -> String {
        self.token(passerelle_entreprise::NAME, &passerelle_entreprise::all_scopes())
            .await
    }

    /// An API Entreprise call; 429s are waited out (a replay is a burst).
    async fn call(&self, path: &str, query: &[(String, String)], token: &str) -> (u16, Value) {
        loop {
            let response = self
                .client
                .get(format!("{}{path}", self.entreprise))
                .query(query)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            match wait {
                Some(secs) if response.status() == 429 => tokio::time::sleep(Duration::from_secs(secs)).await,
                _ => return json(response).await,
            }
        }
    }
}

/// One case of a folder, read here independently of the sandbox's loader.
struct Official {
    name: String,
    params: Vec<(String, String)>,
    status: u16,
    body: Value,
}

fn official_cases(folder: &Path) -> Vec<Official> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let doc: Value = serde::Deserialize::deserialize(document).unwrap();
            let params = doc["params"].as_object().cloned().unwrap_or_default();
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
            cases.push(Official {
                name: file.file_name().unwrap().to_string_lossy().into_owned(),
                params: params.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
                status: doc["status"].as_u64().unwrap() as u16,
                body: serde_json::from_str(doc["payload"].as_str().unwrap()).unwrap(),
            });
        }
    }
    cases
}

/// The endpoint and version of an `api_entreprise_*` folder.
fn operation(folder: &str) -> (&'static Endpoint, u8) {
    passerelle_entreprise::OPERATIONS
        .iter()
        .flat_map(|o| o.endpoint.versions.iter().map(move |v| (&o.endpoint, *v)))
        .find(|(e, v)| format!("api_entreprise_v{v}_{}", e.operation_stem()) == folder)
        .unwrap_or_else(|| panic!("{folder} is no operation of the catalogue"))
}

/// The path with its parameters taken from `params`, and the other params.
fn replay_request(endpoint: &Endpoint, version: u8, params: &[(String, String)]) -> (String, Vec<(String, String)>) {
    let mut path = endpoint.public_path(version);
    let mut query = pairs(TRACE);
    for (key, value) in params {
        let placeholder = format!("{{{key}}}");
        if path.contains(&placeholder) {
            path = path.replace(&placeholder, value);
        } else {
            query.push((key.clone(), value.clone()));
        }
    }
    assert!(!path.contains('{'), "{path}: a path parameter is missing");
    (path, query)
}

fn entreprise_folders(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("api_entreprise_"))
        .collect();
    names.sort();
    names
}

/// Every case of every `api_entreprise_*` folder: the names of those whose answer
/// differs, and how many came back exactly.
async fn replay_all(app: &App, folder: &Path, token: &str) -> (usize, Vec<String>) {
    let (mut exact, mut differ) = (0, Vec::new());
    for name in entreprise_folders(folder) {
        let (endpoint, version) = operation(&name);
        for case in official_cases(&folder.join(&name)) {
            let (path, query) = replay_request(endpoint, version, &case.params);
            let (status, body) = app.call(&path, &query, token).await;
            if (status, &body) == (case.status, &case.body) {
                exact += 1;
            } else {
                differ.push(format!("{name}/{}: {status} {body}", case.name));
            }
        }
    }
    (exact, differ)
}

fn copy_cases() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for folder in std::fs::read_dir(CASES).unwrap().map(|e| e.unwrap().path()) {
        if !folder.is_dir() {
            continue;
        }
        let target = dir.path().join(folder.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
        for file in std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()) {
            std::fs::copy(&file, target.join(file.file_name().unwrap())).unwrap();
        }
    }
    dir
}

#[tokio::test]
async fn recorded_cases_of_both_bouquets_come_back_exactly() {
    let cases = copy_cases();
    let app = App::start(cases.path()).await;
    assert!(app.report.rejected.is_empty(), "{:#?}", app.report.rejected);
    let token = app.entreprise_token().await;
    let (exact, differ) = replay_all(&app, cases.path(), &token).await;
    assert!(differ.is_empty(), "{differ:#?}");
    assert_eq!(exact, 9);

    // The API Particulier folder beside them is served on its own base URL.
    let particulier = app.token(passerelle_store::PARTICULIER, &["mesri_identite"]).await;
    let response = app
        .client
        .get(format!("{}/v3/mesri/statut_etudiant/ine", app.particulier))
        .query(&[("ine", "655888578AE"), ("recipient", RECIPIENT)])
        .bearer_auth(&particulier)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(
        (status, &body["data"]["identite"]["nom_naissance"]),
        (200, &Value::from("KOSAKAMI"))
    );
}

#[tokio::test]
async fn identifiers_are_checked_only_when_no_case_matches() {
    let app = App::start(Path::new(CASES)).await;
    let token = app.entreprise_token().await;
    let attestation = "/v4/urssaf/unites_legales/{siren}/attestation_vigilance";
    let at = |siren: &str| attestation.replace("{siren}", siren);
    // `000000001` fails the Luhn check, but a case records it: served as recorded.
    let (status, body) = app.call(&at("000000001"), &pairs(TRACE), &token).await;
    assert_eq!(
        (status, &body["data"]["entity_status"]["code"]),
        (200, &Value::from("ok"))
    );
    let (status, body) = app.call(&at("000000002"), &pairs(TRACE), &token).await;
    assert_eq!((status, codes(&body)), (422, vec!["00301".to_string()]));
    // Several bad path parameters: every error at once.
    let monthly = "/v3/gip_mds/etablissements/13002526500001/effectifs_mensuels/13/annee/20x4";
    let (status, body) = app.call(monthly, &pairs(TRACE), &token).await;
    assert_eq!(
        (status, codes(&body)),
        (422, vec!["00302".into(), "00305".into(), "00307".into()])
    );
}

/// Every member the schema requires is in `value`, at every depth.
fn missing_required(schema: &Value, value: &Value, at: &str, missing: &mut Vec<String>) {
    if let Some(items) = schema.get("items") {
        for (i, item) in value.as_array().into_iter().flatten().enumerate() {
            missing_required(items, item, &format!("{at}/{i}"), missing);
        }
    }
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for name in schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if value.get(name).is_none() {
            missing.push(format!("{at}/{name}"));
        }
    }
    for (name, property) in properties {
        if let Some(member) = value.get(name) {
            missing_required(property, member, &format!("{at}/{name}"), missing);
        }
    }
}

#[tokio::test]
async fn a_call_matching_no_case_gets_the_200_built_from_the_schema() {
    let app = App::start(Path::new(CASES)).await;
    let token = app.entreprise_token().await;
    let path = "/v3/insee/sirene/unites_legales/130025265";
    let (status, body) = app.call(path, &pairs(TRACE), &token).await;
    assert_eq!(status, 200, "{body}");
    let schemas = Schemas::bundled();
    let schema = schemas.schema("api_entreprise_v3_insee_unites_legales").unwrap();
    let mut missing = Vec::new();
    missing_required(schema, &body, "", &mut missing);
    assert!(missing.is_empty(), "{missing:?}");
    for member in ["data", "links", "meta"] {
        assert!(body.get(member).is_some(), "{member} in {body}");
    }
    // Values are the schema's examples, and the same call gets the same answer.
    let example = &schema["properties"]["data"]["properties"]["siren"]["example"];
    assert_eq!(&body["data"]["siren"], example);
    assert_eq!(app.call(path, &pairs(TRACE), &token).await, (200, body));
}

#[tokio::test]
async fn the_checks_of_production_run_before_any_case() {
    let app = App::start(Path::new(CASES)).await;
    let token = app.entreprise_token().await;
    // `association.yaml` records SIREN 775672272 (the call below matches it).
    let recorded = "/v3/insee/sirene/unites_legales/775672272";
    let (status, _) = app.call(recorded, &pairs(TRACE), &token).await;
    assert_eq!(status, 200);
    let (status, body) = app.call(recorded, &pairs(&TRACE[1..]), &token).await;
    assert_eq!((status, codes(&body)), (422, vec!["00201".to_string()]));
    let (status, body) = app.call(recorded, &[], &token).await;
    assert_eq!(
        (status, codes(&body)),
        (422, vec!["00201".into(), "00203".into(), "00202".into()])
    );
    let bad_recipient = pairs(&[("context", "Test"), ("recipient", "13002526500001"), ("object", "x")]);
    let (status, body) = app.call(recorded, &bad_recipient, &token).await;
    assert_eq!((status, codes(&body)), (422, vec!["00210".to_string()]));
    let no_scope = app.token(passerelle_entreprise::NAME, &["open_data"]).await;
    let (status, body) = app.call(recorded, &pairs(TRACE), &no_scope).await;
    assert_eq!((status, codes(&body)), (403, vec!["00100".to_string()]));
    let (status, body) = app.call(recorded, &pairs(TRACE), "not-a-token").await;
    assert_eq!((status, codes(&body)), (401, vec!["00101".to_string()]));
}

/// A valid value for each path parameter of the catalogue.
fn valid(name: &str) -> &'static str {
    match name {
        "siren" | "siren_or_rna" | "siren_or_siret_or_rna" => "130025265",
        "siret" | "siret_or_rna" | "siret_or_eori" => "13002526500013",
        "year" => "2020",
        "month" => "06",
        other => panic!("no valid value for {other}"),
    }
}

#[tokio::test]
async fn every_operation_of_the_catalogue_answers() {
    let empty = tempfile::tempdir().unwrap();
    let app = App::start(empty.path()).await;
    let token = app.entreprise_token().await;
    let mut routes = 0;
    for operation in passerelle_entreprise::OPERATIONS {
        let endpoint = &operation.endpoint;
        for version in endpoint.versions {
            let params: Vec<(String, String)> = endpoint
                .path_params()
                .map(|name| (name.to_string(), valid(name).to_string()))
                .collect();
            let (path, query) = replay_request(endpoint, *version, &params);
            let (status, body) = app.call(&path, &query, &token).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert!(body.get("data").is_some(), "{path}: {body}");
            routes += 1;
        }
    }
    assert_eq!(routes, 51);
}

/// Replays every case of the official API Entreprise folder
/// (PASSERELLE_SANDBOX_CASES_ENTREPRISE, set by .ci/run) against the sandbox: each must
/// come back exactly, status and whole body.
#[tokio::test]
async fn official_entreprise_cases_come_back_exactly() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let Ok(folder) = std::env::var("PASSERELLE_SANDBOX_CASES_ENTREPRISE") else {
        assert!(!ci, "CI must set PASSERELLE_SANDBOX_CASES_ENTREPRISE");
        eprintln!("PASSERELLE_SANDBOX_CASES_ENTREPRISE not set: official API Entreprise replay not run");
        return;
    };
    let folder = PathBuf::from(folder);
    assert!(folder.is_dir() || !ci, "{} is not a folder", folder.display());
    if !folder.is_dir() {
        return;
    }
    let app = App::start(&folder).await;
    assert!(app.report.rejected.is_empty(), "{:#?}", app.report.rejected);
    let token = app.entreprise_token().await;
    let (exact, differ) = replay_all(&app, &folder, &token).await;
    println!(
        "official API Entreprise cases: {exact} exact, {} differ, in {} folders",
        differ.len(),
        entreprise_folders(&folder).len()
    );
    assert!(differ.is_empty(), "{differ:#?}");
    assert!(exact >= 100, "{exact} exact");
}

#[tokio::test]
async fn the_binary_serves_both_bouquets_and_conformance_replays_them() {
    let cases = copy_cases();
    let data = tempfile::tempdir().unwrap();
    let folder = cases.path().to_str().unwrap();
    let mut sandbox = Running::spawn(
        &[
            "sandbox",
            "--cases",
            folder,
            "--no-watch",
            "--listen",
            "127.0.0.1:0",
            "--entreprise-listen",
            "127.0.0.1:0",
            "--data-dir",
            data.path().to_str().unwrap(),
        ],
        &[],
    );
    let gateway = sandbox.line_after("gateway:").await;
    let entreprise = sandbox.line_after("API Entreprise:").await;
    let token = sandbox.line_after("token (every scope):").await;
    let entreprise_token = sandbox.line_after("API Entreprise token (every scope):").await;
    let curl = sandbox.line_after("curl -s -H").await;
    let url = curl.rsplit('\'').nth(1).unwrap().to_string();
    assert!(
        url.starts_with(&entreprise) && curl.contains(&entreprise_token),
        "{curl}"
    );
    let response = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&entreprise_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let (ok, out) = cli(&[
        "conformance",
        "--cases",
        folder,
        "--base-url",
        &gateway,
        "--token",
        &token,
        "--entreprise-base-url",
        &entreprise,
        "--entreprise-token",
        &entreprise_token,
    ])
    .await;
    assert!(ok, "{out}");
    let entreprise_ok = out.lines().filter(|l| l.starts_with("ok    api_entreprise_")).count();
    assert_eq!(entreprise_ok, 9, "{out}");
    assert!(out.lines().any(|l| l.starts_with("ok    api_particulier_")), "{out}");

    // Without API Entreprise's base URL the replay says what it needs.
    let (ok, out) = cli(&[
        "conformance",
        "--cases",
        folder,
        "--base-url",
        &gateway,
        "--token",
        &token,
    ])
    .await;
    assert!(!ok && out.contains("--entreprise-base-url"), "{out}");
}
