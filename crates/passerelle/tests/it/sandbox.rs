//! `passerelle sandbox`: the gateway answering from a folder of recorded cases, with
//! every check of production, over real HTTP (in-process, and the real binary for
//! the signal and the printed example).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use passerelle_gateway::Answers;
use passerelle_gateway::{AppState, GatewayConfig};
use passerelle_providers::france_connect::simulator::citizens;
use passerelle_providers::france_connect::FranceConnectConfig;
use passerelle_sandbox::reach::{self, Reach};
use passerelle_sandbox::{Report, Sandbox};
use passerelle_store::Store;
use passerelle_tokens::TokenRequest;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::binary::{issue_token, Running};
use crate::helpers::*;

const QF: &str = "api_particulier_v3_cnav_quotient_familial_with_civility";
const QF_PATH: &str = "/v3/dss/quotient_familial/identite";

/// A gateway in sandbox mode on port 0, with a fresh store.
struct SandboxApp {
    base: String,
    client: reqwest::Client,
    store: Arc<dyn Store>,
    state: Arc<AppState>,
    sandbox: Arc<Sandbox>,
    report: Report,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

impl SandboxApp {
    async fn start(cases: &Path) -> SandboxApp {
        SandboxApp::start_with(cases, false).await
    }

    /// With `france_connect`, the FranceConnect simulator runs beside the sandbox and
    /// is asked about the tokens no mock of the folder holds (`--france-connect-simulator`).
    async fn start_with(cases: &Path, france_connect: bool) -> SandboxApp {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = GatewayConfig {
            data_dir: dir.path().to_path_buf(),
            sandbox_france_connect: france_connect,
            ..GatewayConfig::default()
        };
        if france_connect {
            let simulator = start_simulators(&format!("{base}/api/france_connect_jwks")).await;
            config.providers.france_connect =
                FranceConnectConfig::simulated(&format!("http://{simulator}/france_connect"));
        }
        let (sandbox, report) = Sandbox::open(cases).unwrap();
        let store = passerelle_journal::open(&config.database_url()).await.unwrap();
        let bouquet = passerelle_particulier::bouquet(&config.providers).unwrap();
        let state = AppState::answered_by(config, store.clone(), Answers::Recorded(sandbox.clone()))
            .await
            .unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            passerelle_gateway::serve(vec![(listener, bouquet)], serving, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        SandboxApp {
            base,
            client: reqwest::Client::new(),
            store,
            state,
            sandbox,
            report,
            _dir: dir,
            _shutdown: tx,
        }
    }

    async fn token(&self, request: TokenRequest) -> String {
        let (_, jwt) = passerelle_tokens::issue(self.store.as_ref(), self.state.tokens.keys(), request, Utc::now())
            .await
            .unwrap();
        jwt
    }

    async fn all_scopes_token(&self) -> String {
        self.token(token_request(&passerelle_catalogue::all_scopes())).await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)], token: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const DUPONT_PAYLOAD: &str = r#"{"data": {"allocataires": [], "enfants": [], "adresse": {"pays": "FRANCE"}, "quotient_familial": {"fournisseur": "CNAF", "valeur": 777, "annee": 2021, "mois": 3}, "hors_contrat": true}, "links": {}, "meta": {"enregistre": "tel quel"}}"#;

const NOT_FOUND_PAYLOAD: &str = r#"{"errors": [{"code": "37003", "title": "Dossier allocataire absent CNAV", "detail": "Le dossier allocataire n'a pas été trouvé auprès de la CNAV.", "source": null, "meta": {"provider": "CNAV"}}]}"#;

fn case_file(params: &str, status: u16, payload: &str) -> String {
    format!("---\ndescription: test\nparams:\n{params}\nstatus: {status}\npayload: |-\n  {payload}\n")
}

const DUPONT_PARAMS: &str = "  nomNaissance: 'DUPONT'\n  prenoms:\n    - 'JEAN'\n    - 'ÉMILE'\n  anneeDateNaissance: 1980\n  moisDateNaissance: 8\n  jourDateNaissance: 14\n  sexeEtatCivil: 'M'\n  codeCogInseePaysNaissance: '99100'\n  codeCogInseeCommuneNaissance: '08480'";

/// A call for DUPONT as an integrator may write it: other case, other order,
/// `moisDateNaissance=08`.
const DUPONT: &[(&str, &str)] = &[
    ("codeCogInseeCommuneNaissance", "08480"),
    ("recipient", RECIPIENT),
    ("nomNaissance", "Dupont"),
    ("prenoms[]", "jean"),
    ("prenoms[]", "Émile"),
    ("anneeDateNaissance", "1980"),
    ("moisDateNaissance", "08"),
    ("jourDateNaissance", "14"),
    ("sexeEtatCivil", "M"),
    ("codeCogInseePaysNaissance", "99100"),
];

/// A small case folder: one hit, the fallback, a README, and malformed files.
fn cases() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        &format!("{QF}/200-dupont.yaml"),
        &case_file(DUPONT_PARAMS, 200, DUPONT_PAYLOAD),
    );
    write(
        d,
        &format!("{QF}/404.yaml"),
        &case_file("  nomNaissance: 'INCONNU'", 404, NOT_FOUND_PAYLOAD),
    );
    write(d, &format!("{QF}/README.md"), "# not a case\n");
    write(d, &format!("{QF}/broken.yaml"), "params: {nomNaissance: [\n");
    write(
        d,
        &format!("{QF}/no-status.yaml"),
        "params:\n  nomNaissance: X\npayload: '{}'\n",
    );
    write(
        d,
        &format!("{QF}/not-json.yml"),
        &case_file("  nomNaissance: Y", 200, "<html>"),
    );
    dir
}

fn with(
    base: &[(&'static str, &'static str)],
    key: &'static str,
    value: &'static str,
) -> Vec<(&'static str, &'static str)> {
    let mut pairs: Vec<_> = base.iter().filter(|(k, _)| *k != key).copied().collect();
    pairs.push((key, value));
    pairs
}

#[tokio::test]
async fn answers_the_matching_case_as_recorded_and_falls_back_to_404_yaml() {
    let dir = cases();
    let app = SandboxApp::start(dir.path()).await;
    // A token without the address scope: a recorded payload is not masked.
    let token = app.token(token_request(&["cnaf_quotient_familial"])).await;

    let response = app.get(QF_PATH, DUPONT, &token).await;
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.headers()["ratelimit-limit"], "20");
    assert_eq!(response.headers()["content-type"], "application/json");
    let (status, body) = json(response).await;
    let recorded: Value = serde_json::from_str(DUPONT_PAYLOAD).unwrap();
    assert_eq!((status, body), (200, recorded));

    let other = with(DUPONT, "jourDateNaissance", "15");
    let response = app.get(QF_PATH, &other, &token).await;
    assert_eq!(response.headers()["content-type"], "application/vnd.api+json");
    let (status, body) = json(response).await;
    let fallback: Value = serde_json::from_str(NOT_FOUND_PAYLOAD).unwrap();
    assert_eq!((status, body), (404, fallback));

    let rows = app.store.recent_journal(10).await.unwrap();
    let mut statuses: Vec<u16> = rows.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 404]);
    assert!(rows
        .iter()
        .all(|r| r.params_hash.is_some() && r.purpose.get("recipient").map(String::as_str) == Some(RECIPIENT)));
}

#[tokio::test]
async fn every_check_of_production_still_applies() {
    let dir = cases();
    let app = SandboxApp::start(dir.path()).await;
    let all = app.all_scopes_token().await;

    let bad_recipient = with(DUPONT, "recipient", "12345678901234");
    assert_error(app.get(QF_PATH, &bad_recipient, &all).await, 422, "00210").await;
    let no_recipient: Vec<_> = DUPONT.iter().filter(|(k, _)| *k != "recipient").copied().collect();
    assert_error(app.get(QF_PATH, &no_recipient, &all).await, 422, "00210").await;

    let other_scope = app.token(token_request(&["revenu_solidarite_active"])).await;
    assert_error(app.get(QF_PATH, DUPONT, &other_scope).await, 403, "00100").await;
    assert_error(app.get(QF_PATH, DUPONT, "not-a-jwt").await, 401, "00101").await;

    let bad_sex = with(DUPONT, "sexeEtatCivil", "X");
    let response = app.get(QF_PATH, &bad_sex, &all).await;
    let body = assert_error(response, 422, "00427").await;
    assert_eq!(body["errors"][0]["source"]["parameter"], "sexeEtatCivil");

    assert_error(
        app.get("/v4/dss/quotient_familial/identite", DUPONT, &all).await,
        404,
        "00402",
    )
    .await;
    assert_error(app.get("/v3/dss/nope/identite", DUPONT, &all).await, 404, "00404").await;

    let mut limited = token_request(&["cnaf_quotient_familial"]);
    limited.rate_limit_per_minute = Some(1);
    let limited = app.token(limited).await;
    assert_eq!(app.get(QF_PATH, DUPONT, &limited).await.status(), 200);
    let refused = app.get(QF_PATH, DUPONT, &limited).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_error(refused, 429, "00429").await;
}

#[tokio::test]
async fn a_served_operation_without_cases_is_a_clear_404() {
    let dir = cases();
    let app = SandboxApp::start(dir.path()).await;
    let all = app.all_scopes_token().await;
    let query = [("recipient", RECIPIENT), ("identifiant", "12345")];
    let body = assert_error(
        app.get("/v3/sdh/statut_sportif/identifiant", &query, &all).await,
        404,
        "00404",
    )
    .await;
    let detail = body["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("api_particulier_v3_sdh_statut_sportif_with_identifiant"),
        "{detail}"
    );
}

#[tokio::test]
async fn malformed_files_are_reported_by_name_and_valid_ones_serve() {
    let dir = cases();
    let app = SandboxApp::start(dir.path()).await;
    let rejected: Vec<String> = app.report.rejected.iter().map(ToString::to_string).collect();
    let expected = [
        ("broken.yaml", "YAML syntax"),
        ("no-status.yaml", "missing `status`"),
        ("not-json.yml", "`payload` is not JSON"),
    ];
    assert_eq!(rejected.len(), expected.len(), "{rejected:#?}");
    for (file, reason) in expected {
        let name = format!("{QF}/{file}: ");
        assert!(
            rejected.iter().any(|r| r.starts_with(&name) && r.contains(reason)),
            "{name}{reason} in {rejected:#?}"
        );
    }
    assert_eq!((app.report.folders, app.report.cases), (1, 2));
    let all = app.all_scopes_token().await;
    assert_eq!(app.get(QF_PATH, DUPONT, &all).await.status(), 200);
}

/// Polls `check` until it holds (a loaded machine may take a while to notice).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what}: not seen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_changed_folder_is_reloaded() {
    let dir = cases();
    let app = SandboxApp::start(dir.path()).await;
    let (tx, mut reloads) = tokio::sync::mpsc::unbounded_channel();
    let _watch = passerelle_sandbox::watch(app.sandbox.clone(), true, move |trigger, report| {
        let _ = tx.send((trigger, report.map(|r| r.to_string()).unwrap_or_default()));
    })
    .unwrap();
    let all = app.all_scopes_token().await;
    let martin = with(DUPONT, "nomNaissance", "MARTIN");
    assert_eq!(app.get(QF_PATH, &martin, &all).await.status(), 404);

    let martin_params = DUPONT_PARAMS.replace("DUPONT", "MARTIN");
    let payload = r#"{"data": {"quotient_familial": {"valeur": 1}}, "links": {}, "meta": {}}"#;
    write(
        dir.path(),
        &format!("{QF}/200-martin.yaml"),
        &case_file(&martin_params, 200, payload),
    );
    std::fs::remove_file(dir.path().join(format!("{QF}/broken.yaml"))).unwrap();
    eventually("the new case", || async {
        let (status, body) = json(app.get(QF_PATH, &martin, &all).await).await;
        status == 200 && body["data"]["quotient_familial"]["valeur"] == 1
    })
    .await;
    let (trigger, summary) = reloads.recv().await.unwrap();
    assert_eq!(trigger, passerelle_sandbox::Trigger::FileChange);
    assert!(summary.contains("files rejected"), "{summary}");

    // A file broken by an edit is left out and reported; the others keep serving.
    write(dir.path(), &format!("{QF}/200-martin.yaml"), "params: [oops\n");
    eventually("the broken file left out", || async {
        app.get(QF_PATH, &martin, &all).await.status() == 404
    })
    .await;
    assert_eq!(app.get(QF_PATH, DUPONT, &all).await.status(), 200);
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_a_running_sandbox() {
    let cases = cases();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    // A token issued by the operator's command against the same data folder.
    let (_, jwt) = issue_token(data_dir, "Mairie", "cnaf_quotient_familial").await;
    let dubois = "  nomNaissance: DUBOIS\n  prenoms: [Angela, Claire, Louise]\n  anneeDateNaissance: 1962\n  moisDateNaissance: 8\n  jourDateNaissance: 24";
    write(
        cases.path(),
        &format!("{QF_FC}/200-dubois.yaml"),
        &case_file(dubois, 200, DUPONT_PAYLOAD),
    );
    let mut sandbox = Running::spawn(
        &[
            "sandbox",
            "--cases",
            cases.path().to_str().unwrap(),
            "--no-watch",
            "--listen",
            "127.0.0.1:0",
            "--entreprise-listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir,
            "--france-connect-simulator",
        ],
        &[],
    );
    let rejected = sandbox.line_after("rejected").await;
    assert!(
        rejected.starts_with(&format!("{QF}/broken.yaml: YAML syntax")),
        "{rejected}"
    );
    let summary = sandbox.line_after("cases:").await;
    assert!(
        summary.ends_with("(2 folders, 3 cases, 0 FranceConnect tokens, 3 files rejected)"),
        "{summary}"
    );
    let simulator = sandbox.line_after("FranceConnect simulator:").await;
    assert!(simulator.contains("/france_connect ("), "{simulator}");
    let base = sandbox.line_after("gateway:").await;
    let printed = sandbox.line_after("token (every scope):").await;
    let curl = sandbox.line_after("curl -sg").await;
    let example = curl.rsplit('\'').nth(1).unwrap().to_string();

    let client = reqwest::Client::new();
    let (status, body) = json(client.get(&example).bearer_auth(&printed).send().await.unwrap()).await;
    assert_eq!(
        (status, body),
        (200, serde_json::from_str::<Value>(DUPONT_PAYLOAD).unwrap())
    );
    // A FranceConnect citizen's token, checked by the simulator the sandbox started.
    let citizen = client
        .get(format!("{base}{QF_FC_PATH}?recipient={RECIPIENT}"))
        .bearer_auth("dubois_angela_19620824_75107")
        .send()
        .await
        .unwrap();
    assert_eq!(json(citizen).await.0, 200);

    let martin = with(DUPONT, "nomNaissance", "MARTIN");
    let call = || {
        client
            .get(format!("{base}{QF_PATH}"))
            .query(&martin)
            .bearer_auth(&jwt)
            .send()
    };
    assert_eq!(call().await.unwrap().status(), 404);
    write(
        cases.path(),
        &format!("{QF}/200-martin.yaml"),
        &case_file(&DUPONT_PARAMS.replace("DUPONT", "MARTIN"), 200, DUPONT_PAYLOAD),
    );
    // Without the watcher, only the signal reloads.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(call().await.unwrap().status(), 404);
    let pid = sandbox.child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let reloaded = sandbox.line_after("reloaded (SIGHUP):").await;
    assert!(reloaded.contains("4 cases"), "{reloaded}");
    assert_eq!(call().await.unwrap().status(), 200);
}

/// Replays every case of the official folder (PASSERELLE_SANDBOX_CASES, set by
/// .ci/run) of the operations Passerelle serves against the sandbox, with the
/// FranceConnect simulator beside it: each must come back exactly, status and whole
/// body, FranceConnect cases with the token `--france-connect-table` names for them
/// (every one must have one). A case whose parameters production refuses (a
/// `404.yaml` written with a partial identity, say) cannot be reached: it is counted
/// apart, and must get the contract's 422. The table in docs/sandbox.md must be the
/// one this folder gives.
#[tokio::test]
async fn official_cases_come_back_exactly_from_the_sandbox() {
    let Some(folder) = official_folder() else {
        return;
    };
    let app = SandboxApp::start_with(&folder, true).await;
    assert!(app.report.rejected.is_empty(), "{:#?}", app.report.rejected);
    // A replay is a burst: the token's own per-minute limit keeps the quota out of it.
    let mut request = token_request(&passerelle_catalogue::all_scopes());
    request.rate_limit_per_minute = Some(1_000_000);
    let token = app.token(request).await;
    let reach = reach::france_connect_reach(&app.sandbox.book(), &citizens());
    let tally = replay(&app, &folder, &token, &reach).await;
    let by_simulator = reach
        .iter()
        .filter(|r| matches!(r.token, Some((_, reach::Holder::FranceConnect))))
        .count();
    println!(
        "official cases: {} exact ({} FranceConnect cases, {by_simulator} of them through the simulator's tokens), {} v2 exact, {} v2 on a retired route (410), {} refused by parameter checks, {} FranceConnect cases no token reaches, {} differ",
        tally.exact,
        reach.len(),
        tally.exact_v2,
        tally.retired.len(),
        tally.refused.len(),
        tally.unreached.len(),
        tally.differ.len()
    );
    for line in &tally.refused {
        println!("  {line}");
    }
    assert!(tally.differ.is_empty(), "{:#?}", tally.differ);
    assert!(tally.unreached.is_empty(), "{:#?}", tally.unreached);
    assert!(tally.exact >= 150, "{} exact", tally.exact);
    assert_docs_table(&reach::table(&reach));
}

/// docs/sandbox.md holds the table of the shared sample between two markers.
fn assert_docs_table(table: &str) {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/sandbox.md")).unwrap();
    let (start, end) = ("<!-- france-connect-table -->\n", "<!-- /france-connect-table -->");
    let from = doc.find(start).expect("docs/sandbox.md has the table's start marker") + start.len();
    let to = doc.find(end).expect("docs/sandbox.md has the table's end marker");
    assert!(
        doc[from..to] == *table,
        "docs/sandbox.md's FranceConnect table is not this folder's: regenerate it with `passerelle sandbox --cases DIR --france-connect-table`"
    );
}

fn official_folder() -> Option<std::path::PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let Ok(folder) = std::env::var("PASSERELLE_SANDBOX_CASES") else {
        assert!(!ci, "CI must set PASSERELLE_SANDBOX_CASES");
        eprintln!("PASSERELLE_SANDBOX_CASES not set: official sandbox replay not run");
        return None;
    };
    let folder = std::path::PathBuf::from(folder);
    if !folder.is_dir() {
        assert!(!ci, "PASSERELLE_SANDBOX_CASES={} is not a folder", folder.display());
        eprintln!("{} is not a folder: official sandbox replay not run", folder.display());
        return None;
    }
    Some(folder)
}

#[derive(Default)]
struct Tally {
    exact: usize,
    exact_v2: usize,
    retired: Vec<String>,
    refused: Vec<String>,
    unreached: Vec<String>,
    differ: Vec<String>,
}

/// One official case, read here independently of the sandbox's loader.
struct Official {
    name: String,
    query: Vec<(String, String)>,
    status: u16,
    body: Value,
}

fn official_cases(folder: &Path) -> Vec<Official> {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| {
            let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            let mut query = Vec::new();
            for (key, value) in doc["params"].as_object().into_iter().flatten() {
                let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                match value {
                    Value::Array(items) => query.extend(items.iter().map(|i| (format!("{key}[]"), text(i)))),
                    other => query.push((key.clone(), text(other))),
                }
            }
            Official {
                name: file.file_name().unwrap().to_string_lossy().to_string(),
                query,
                status: doc["status"].as_u64().unwrap() as u16,
                body: serde_json::from_str(doc["payload"].as_str().unwrap()).unwrap(),
            }
        })
        .collect()
}

async fn replay(app: &SandboxApp, folder: &Path, token: &str, reach: &[Reach]) -> Tally {
    let mut tally = Tally::default();
    for endpoint in passerelle_catalogue::all() {
        for version in endpoint.versions {
            let operation = passerelle_catalogue::operation_id(endpoint, *version);
            let cases_dir = folder.join(&operation);
            if !cases_dir.is_dir() {
                continue;
            }
            let url = format!("{}{}", app.base, endpoint.public_path(*version));
            for case in official_cases(&cases_dir) {
                let name = format!("{operation}/{}", case.name);
                let mut query = vec![("recipient".to_string(), RECIPIENT.to_string())];
                let bearer = if endpoint.mode == passerelle_catalogue::Mode::FranceConnect {
                    // The identity is the bearer's: only the endpoint's own parameters
                    // (ANTS' `immatriculation`, say) go in the query.
                    match reach.iter().find(|r| r.case == name) {
                        Some(Reach {
                            token: Some((bearer, _)),
                            query: own,
                            ..
                        }) => {
                            query.extend(own.iter().cloned());
                            bearer.as_str()
                        }
                        _ => {
                            tally.unreached.push(name);
                            continue;
                        }
                    }
                } else {
                    query.extend(case.query.iter().cloned());
                    token
                };
                let response = app
                    .client
                    .get(&url)
                    .query(&query)
                    .bearer_auth(bearer)
                    .send()
                    .await
                    .unwrap();
                match json(response).await {
                    (status, body) if (status, &body) == (case.status, &case.body) => tally.exact += 1,
                    (422, body) if codes(&body).iter().all(|c| c.starts_with("00")) => {
                        tally.refused.push(format!("{name}: 422 {}", codes(&body).join(",")))
                    }
                    (status, body) => tally.differ.push(format!("{name} (bearer {bearer}): {status} {body}")),
                }
            }
        }
    }
    replay_v2(app, folder, token, &mut tally).await;
    tally
}

/// The v2 folders, called as v2 clients do (the key in `X-Api-Key`, v2 names). A
/// retired route's cases get 410.
async fn replay_v2(app: &SandboxApp, folder: &Path, token: &str, tally: &mut Tally) {
    let legacy = passerelle_particulier::v2::legacy();
    let retired = legacy
        .retired
        .iter()
        .map(|r| (r.path, "api_particulier_v2_cnaf_quotient_familial"));
    let served = legacy.routes.iter().map(|r| (r.path, r.operation_id));
    for (path, operation) in served.chain(retired.take(1)) {
        let cases_dir = folder.join(operation);
        if !cases_dir.is_dir() {
            continue;
        }
        for case in official_cases(&cases_dir) {
            let name = format!("{operation}/{}", case.name);
            let mut query = vec![("recipient".to_string(), RECIPIENT.to_string())];
            // Two official cases misspell `nomNaissance`: an integrator spells it right.
            let spelt = |(k, v): &(String, String)| (k.replace("nomNaissange", "nomNaissance"), v.clone());
            query.extend(case.query.iter().map(spelt));
            let response = app
                .client
                .get(format!("{}{path}", app.base))
                .query(&query)
                .header("X-Api-Key", token)
                .send()
                .await
                .unwrap();
            if response.status() == 410 {
                tally.retired.push(name);
                continue;
            }
            match json(response).await {
                (status, body) if (status, &body) == (case.status, &case.body) => tally.exact_v2 += 1,
                (400, body) if body["error"] == "bad_request" => {
                    tally.refused.push(format!("{name}: 400 {}", body["reason"]))
                }
                (status, body) => tally.differ.push(format!("{name}: {status} {body}")),
            }
        }
    }
}

const QF_FC: &str = "api_particulier_v3_cnav_quotient_familial_with_france_connect";
const QF_FC_PATH: &str = "/v3/dss/quotient_familial/france_connect";

/// A FranceConnect mock of `france_connect/`: the access token and who it stands for.
fn france_connect_mock(token: &str, family_name: &str, scope: &str) -> String {
    format!(
        "---\ntitle: test\nparams:\n  token: '{token}'\nstatus: 200\npayload: |-\n  {{\"token_introspection\": {{\"active\": true, \"scope\": \"{scope}\", \"gender\": \"male\", \"family_name\": \"{family_name}\", \"given_name\": \"Jean Émile\", \"given_name_array\": [\"Jean\", \"Émile\"], \"birthdate\": \"1980-08-14\", \"birthplace\": \"08480\", \"birthcountry\": \"99100\"}}}}\n"
    )
}

/// The quotient familial's FranceConnect folder: a 200 case `file` of `params`, a
/// `404.yaml`, and the mock `dupont-token` (DUPONT Jean Émile); the scope mocks hold.
fn france_connect_folder(d: &Path, file: &str, params: &str) -> &'static str {
    write(d, &format!("{QF_FC}/{file}"), &case_file(params, 200, DUPONT_PAYLOAD));
    write(
        d,
        &format!("{QF_FC}/404.yaml"),
        &case_file("  nomNaissance: NOEL", 404, NOT_FOUND_PAYLOAD),
    );
    let scope = "openid identite_pivot cnaf_quotient_familial";
    write(
        d,
        "france_connect/dupont.yml",
        &france_connect_mock("dupont-token", "DUPONT", scope),
    );
    scope
}

#[tokio::test]
async fn france_connect_bearers_select_the_case_of_their_identity() {
    let dir = cases();
    let d = dir.path();
    // Recorded like the official FranceConnect cases: a part of the identity only.
    let fc_case = "  nomNaissance: DUPONT\n  prenoms: [Jean, Émile]\n  anneeDateNaissance: 1980\n  moisDateNaissance: 8\n  jourDateNaissance: 14";
    let scope = france_connect_folder(d, "200-dupont.yaml", fc_case);
    write(
        d,
        "france_connect/martin.yml",
        &france_connect_mock("martin-token", "MARTIN", scope),
    );
    write(
        d,
        "france_connect/no-scope.yml",
        &france_connect_mock("no-scope-token", "DUPONT", "openid identite_pivot"),
    );
    let app = SandboxApp::start(d).await;
    assert_eq!(app.report.france_connect, 3);
    let recipient = [("recipient", RECIPIENT)];

    let (status, body) = json(app.get(QF_FC_PATH, &recipient, "dupont-token").await).await;
    assert_eq!(
        (status, body),
        (200, serde_json::from_str::<Value>(DUPONT_PAYLOAD).unwrap())
    );
    let (status, body) = json(app.get(QF_FC_PATH, &recipient, "martin-token").await).await;
    assert_eq!(
        (status, body),
        (404, serde_json::from_str::<Value>(NOT_FOUND_PAYLOAD).unwrap())
    );

    assert_error(app.get(QF_FC_PATH, &recipient, "unknown-token").await, 401, "50002").await;
    assert_error(app.get(QF_FC_PATH, &recipient, "no-scope-token").await, 403, "00100").await;
    assert_error(
        app.get(QF_FC_PATH, &[("recipient", "123")], "dupont-token").await,
        422,
        "00210",
    )
    .await;
    // Our JWTs are no FranceConnect tokens.
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(QF_FC_PATH, &recipient, &jwt).await, 401, "50002").await;

    let rows = app.store.recent_journal(10).await.unwrap();
    assert!(rows.iter().any(|r| r.status == 200 && r.endpoint == QF_FC_PATH));
}

/// A case recorded for an identity that no mock of the folder has is reached with a
/// token of FranceConnect (its simulator's citizen of that identity) when the sandbox
/// may ask FranceConnect; otherwise that token is unknown. Mocks still come first.
#[tokio::test]
async fn france_connect_tokens_reach_cases_no_mock_holds() {
    let dir = cases();
    let d = dir.path();
    let dubois = "  nomNaissance: DUBOIS\n  prenoms: [Angela, Claire, Louise]\n  anneeDateNaissance: 1962\n  moisDateNaissance: 8\n  jourDateNaissance: 24\n  codePaysLieuDaissance: '99100'";
    france_connect_folder(d, "200-dubois.yaml", dubois);
    let recipient = [("recipient", RECIPIENT)];
    let citizen = "dubois_angela_19620824_75107";

    let alone = SandboxApp::start(d).await;
    assert_error(alone.get(QF_FC_PATH, &recipient, citizen).await, 401, "50002").await;

    let app = SandboxApp::start_with(d, true).await;
    let (status, body) = json(app.get(QF_FC_PATH, &recipient, citizen).await).await;
    assert_eq!(
        (status, body),
        (200, serde_json::from_str::<Value>(DUPONT_PAYLOAD).unwrap())
    );
    // A citizen of another identity gets the folder's 404; the mock still answers as
    // recorded; a token FranceConnect does not know is refused.
    let (status, _) = json(app.get(QF_FC_PATH, &recipient, "placard_elsa_19870413_59226").await).await;
    assert_eq!(status, 404);
    let (status, _) = json(app.get(QF_FC_PATH, &recipient, "dupont-token").await).await;
    assert_eq!(status, 404);
    assert_error(app.get(QF_FC_PATH, &recipient, "nobody-token").await, 401, "50002").await;

    // The table names the simulator's token for the case, and the mock for the 404.
    let reach = reach::france_connect_reach(&app.sandbox.book(), &citizens());
    let token_of = |file: &str| {
        reach
            .iter()
            .find(|r| r.case == format!("{QF_FC}/{file}"))
            .and_then(|r| r.token.clone())
    };
    assert_eq!(
        token_of("200-dubois.yaml"),
        Some((citizen.to_string(), reach::Holder::FranceConnect))
    );
    assert_eq!(
        token_of("404.yaml"),
        Some(("dupont-token".to_string(), reach::Holder::Mock))
    );
}

/// `passerelle batch` against the sandbox: the CSV's people reach their recorded cases
/// (given names separated by spaces), the others the folder's 404.
#[tokio::test]
async fn a_batch_runs_against_the_sandbox() {
    let dir = cases();
    let app = SandboxApp::start(dir.path()).await;
    let token = app.token(token_request(&["cnaf_quotient_familial"])).await;
    let work = tempfile::tempdir().unwrap();
    let (input, output, token_file) = (
        work.path().join("people.csv"),
        work.path().join("results.csv"),
        work.path().join("token"),
    );
    std::fs::write(
        &input,
        "nomNaissance,prenoms,anneeDateNaissance,moisDateNaissance,jourDateNaissance,sexeEtatCivil,codeCogInseePaysNaissance,codeCogInseeCommuneNaissance\n\
         Dupont,Jean Émile,1980,8,14,M,99100,08480\n\
         Dupont,Jean,1980,8,14,M,99100,08480\n",
    )
    .unwrap();
    std::fs::write(&token_file, &token).unwrap();
    let args = crate::batch::batch_args(&app.base, &token_file, &input, &output);
    let (ok, printed) = crate::binary::cli(&args).await;
    assert!(ok, "{printed}");
    let rows = crate::batch::output_rows(&output);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["status"], "200");
    let data: Value = serde_json::from_str(&rows[0]["data"]).unwrap();
    assert_eq!(data["quotient_familial"]["valeur"], 777, "{data}");
    assert_eq!(
        (rows[1]["status"].as_str(), rows[1]["error_code"].as_str()),
        ("404", "37003")
    );
}
