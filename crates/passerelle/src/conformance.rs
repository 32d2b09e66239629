//! `passerelle conformance`: replays a folder of cases in the official sandbox format
//! (`<operation id>/<case>.yaml` with `params`, `status`, `payload`) against a running
//! gateway, and reports which answers differ. FranceConnect cases are keyed by the
//! citizen's identity: they are replayed with the access token of the FranceConnect
//! simulator's citizen who has that identity (so against a gateway using the simulator).
//! API Entreprise's folders (`api_entreprise_*`) are replayed against its own base URL
//! with its own token: the path is filled from each case's `params`, the other params
//! go in the query with `context`, `recipient` and `object`, and the status and the
//! whole body must be the recorded ones; with `--live` (a gateway calling its providers,
//! not a sandbox) the status and `data`, as for API Particulier, the members the gateway
//! computes at the call aside (document links, their expiries, the delivery dates), and
//! operations the gateway does not serve yet are counted apart. Counts are printed per
//! provider.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{Datelike, Utc};
use chrono_tz::Europe::Paris;
use clap::Args;
use passerelle_catalogue::{Endpoint, Mode};
use passerelle_providers::france_connect::simulator::citizens;
use passerelle_sandbox::entreprise;
use serde_json::Value;

#[derive(Args, Debug)]
pub struct Options {
    /// Folder of official cases (one sub-folder per operation id).
    #[arg(long, env = "PASSERELLE_SANDBOX_CASES")]
    cases: PathBuf,
    /// Base URL of the gateway under test.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Bearer token to call with (every scope, so that payloads are complete).
    #[arg(long, env = "PASSERELLE_TOKEN")]
    token: String,
    /// Base URL of API Entreprise on the gateway under test; needed when the folder
    /// holds `api_entreprise_*` cases.
    #[arg(long)]
    entreprise_base_url: Option<String>,
    /// API Entreprise token to call with (every scope).
    #[arg(long, env = "PASSERELLE_ENTREPRISE_TOKEN")]
    entreprise_token: Option<String>,
    /// Only operation ids containing every one of these fragments.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    #[arg(long, default_value = "13002526500013")]
    recipient: String,
    /// Cases to leave out (fragments of `<folder>/<file>`), e.g. cases recorded with
    /// dates that have passed since.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// FranceConnect token for FranceConnect cases that state no identity.
    #[arg(long, default_value = "all_fc")]
    france_connect_token: String,
    /// The API Entreprise under test calls its providers (`serve`, `demo`), it is not a
    /// sandbox: compare the status and `data` of its answers, not whole bodies.
    #[arg(long)]
    live: bool,
}

/// Members of a live answer's `data` that the gateway computes at the call: a stored
/// document's link and expiry, an attestation's delivery date and analysed period (the
/// links to its download routes are recognised by their value, at any depth).
const COMPUTED_AT_THE_CALL: &[&str] = &[
    "document_url",
    "expires_in",
    "document_url_expires_in",
    "date_delivrance_attestation",
    "date_periode_analysee",
];

/// Replays of one provider.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
}

/// Identity parameters of the cases, with the v2 spellings and typos some FranceConnect
/// cases use: on FranceConnect endpoints they select the citizen and are not sent.
const IDENTITY_PARAMS: &[(&str, &str)] = &[
    ("nomNaissance", "family_name"),
    ("prenoms", "given_name"),
    ("sexeEtatCivil", "gender"),
    ("codeCogInseeCommuneNaissance", "birthplace"),
    ("codeInseeLieuDeNaissance", "birthplace"),
    ("codeInseeLieuDaissance", "birthplace"),
    ("codeCogInseePaysNaissance", "birthcountry"),
    ("codePaysLieuDeNaissance", "birthcountry"),
    ("codePaysLieuDaissance", "birthcountry"),
    ("anneeDateNaissance", "birthdate"),
    ("moisDateNaissance", "birthdate"),
    ("jourDateNaissance", "birthdate"),
    ("anneeDateDaissance", "birthdate"),
    ("moisDateDaissance", "birthdate"),
    ("jourDateDaissance", "birthdate"),
    ("nomUsage", ""),
    ("nomCommuneNaissance", ""),
    ("codeCogInseeDepartementNaissance", ""),
];

/// Statuses a replay cannot reproduce through an upstream: quota, concurrency,
/// gateway failure and maintenance.
const NOT_REPLAYABLE: &[u64] = &[409, 429, 500, 503];

/// Which bouquet a case folder belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bouquet {
    Particulier,
    Entreprise,
}

struct Case {
    name: String,
    bouquet: Bouquet,
    endpoint: &'static Endpoint,
    version: u8,
    /// The v2 route of a v2 case (`/api/v2/prime-activite`): called with the key in
    /// `X-Api-Key` and its parameters as recorded; the whole v2 body is compared.
    legacy_path: Option<&'static str>,
    params: serde_json::Map<String, Value>,
    status: u64,
    payload: Value,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let cases = load(&options.cases, &options.only)?;
    anyhow::ensure!(
        !cases.is_empty(),
        "no replayable case found in {}",
        options.cases.display()
    );
    let entreprise_target = entreprise_target(&options, &cases)?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let served = match (&entreprise_target, options.live) {
        (Some((base, _)), true) => Some(served_paths(&client, base).await?),
        _ => None,
    };
    let citizens = citizens();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for case in &cases {
        let tally = tallies.entry(case.endpoint.provider.to_string()).or_default();
        let outcome = match skip_reason(case, &options, served.as_deref()) {
            Some(why) => Outcome::Skipped(why),
            None => replay_one(&client, &options, &entreprise_target, &citizens, case).await,
        };
        match outcome {
            Outcome::Same(note) => {
                tally.passed += 1;
                println!("ok    {}{note}", case.name);
            }
            Outcome::Skipped(why) => {
                tally.skipped += 1;
                println!("skip  {}: {why}", case.name);
            }
            Outcome::Differs(why) => {
                tally.failed += 1;
                println!("FAIL  {}: {why}", case.name);
            }
        }
    }
    let mut total = Tally::default();
    for (provider, tally) in &tallies {
        println!(
            "provider {provider}: {} passed, {} failed, {} skipped",
            tally.passed, tally.failed, tally.skipped
        );
        total.passed += tally.passed;
        total.failed += tally.failed;
        total.skipped += tally.skipped;
    }
    println!(
        "{} passed, {} failed, {} skipped",
        total.passed, total.failed, total.skipped
    );
    anyhow::ensure!(total.failed == 0, "{} case(s) differ", total.failed);
    Ok(())
}

/// Why a case is not replayed: asked on the command line, or (live) its operation is
/// not served by the gateway under test.
fn skip_reason(case: &Case, options: &Options, served: Option<&str>) -> Option<String> {
    if options.skip.iter().any(|f| case.name.contains(f.as_str())) {
        return Some("left out on request".into());
    }
    let path = case.endpoint.public_path(case.version);
    match served {
        Some(document) if case.bouquet == Bouquet::Entreprise && !document.contains(&format!("{path}:")) => {
            Some(format!("{path} is not served by this gateway"))
        }
        _ => None,
    }
}

async fn replay_one(
    client: &reqwest::Client,
    options: &Options,
    entreprise_target: &Option<(String, String)>,
    citizens: &[(String, Value)],
    case: &Case,
) -> Outcome {
    let bearer = match case.endpoint.mode {
        Mode::FranceConnect => match citizen_for(case, citizens, &options.france_connect_token) {
            Some(token) => token,
            None => return Outcome::Skipped("no FranceConnect citizen has this identity".into()),
        },
        _ => options.token.clone(),
    };
    match (case.bouquet, entreprise_target, case.legacy_path) {
        (Bouquet::Entreprise, Some((base, token)), _) => replay_entreprise(client, base, token, options, case).await,
        (_, _, Some(path)) => replay_v2(client, options, case, path).await,
        _ => replay(client, options, case, &bearer).await,
    }
}

/// The OpenAPI document of the gateway's API Entreprise: it names exactly the routes
/// it serves.
async fn served_paths(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let url = format!("{}/api/open-api.yml", base.trim_end_matches('/'));
    let response = client.get(&url).send().await?.error_for_status()?;
    Ok(response.text().await?)
}

/// What one replay found.
enum Outcome {
    /// Same status and data; the note tells an error code that differs from the record.
    Same(String),
    /// Not replayed, and why.
    Skipped(String),
    Differs(String),
}

/// API Entreprise's base URL and token, when the folder holds its cases.
fn entreprise_target(options: &Options, cases: &[Case]) -> anyhow::Result<Option<(String, String)>> {
    if !cases.iter().any(|c| c.bouquet == Bouquet::Entreprise) {
        return Ok(None);
    }
    match (&options.entreprise_base_url, &options.entreprise_token) {
        (Some(base), Some(token)) => Ok(Some((base.clone(), token.clone()))),
        _ => anyhow::bail!(
            "the folder holds api_entreprise_* cases: give --entreprise-base-url and --entreprise-token (or --only api_particulier)"
        ),
    }
}

/// What serves a folder's cases: an endpoint in one version, and for a v2 folder its
/// v2 route (whose first target stands for the endpoint).
fn endpoint_for(operation_id: &str) -> Option<(Bouquet, &'static Endpoint, u8, Option<&'static str>)> {
    let particulier = passerelle_catalogue::all()
        .into_iter()
        .flat_map(|e| e.versions.iter().map(move |v| (e, *v)))
        .find(|(e, v)| passerelle_catalogue::operation_id(e, *v) == operation_id)
        .map(|(e, v)| (Bouquet::Particulier, e, v, None));
    let legacy = || {
        let routes = passerelle_particulier::v2::legacy().routes;
        let route = routes.into_iter().find(|r| r.operation_id == operation_id)?;
        let target = route.target(&passerelle_core::Query::new(Vec::new()), false)?;
        Some((Bouquet::Particulier, target.endpoint, target.version, Some(route.path)))
    };
    particulier.or_else(legacy).or_else(|| {
        passerelle_entreprise::OPERATIONS
            .iter()
            .map(|o| &o.endpoint)
            .flat_map(|e| e.versions.iter().map(move |v| (e, *v)))
            .find(|(e, v)| {
                format!(
                    "{}_v{v}_{}",
                    passerelle_entreprise::OPERATION_PREFIX,
                    e.operation_stem()
                ) == operation_id
            })
            .map(|(e, v)| (Bouquet::Entreprise, e, v, None))
    })
}

fn load(dir: &Path, only: &[String]) -> anyhow::Result<Vec<Case>> {
    let mut cases = Vec::new();
    let mut folders: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let operation_id = folder
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if !only.iter().all(|f| operation_id.contains(f.as_str())) {
            continue;
        }
        let Some((bouquet, endpoint, version, legacy_path)) = endpoint_for(&operation_id) else {
            continue;
        };
        let mut files: Vec<_> = std::fs::read_dir(&folder)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for file in files
            .iter()
            .filter(|f| matches!(f.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        {
            let text = std::fs::read_to_string(file)?;
            for (i, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
                let doc: Value = serde::Deserialize::deserialize(document)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                let Some(status) = doc.get("status").and_then(Value::as_u64) else {
                    continue;
                };
                // v2 says 503 for a provider's failure, which an upstream can give.
                let provider_failure = legacy_path.is_some() && status == 503;
                if NOT_REPLAYABLE.contains(&status) && !provider_failure {
                    continue;
                }
                let payload = match doc.get("payload") {
                    Some(Value::String(s)) => serde_json::from_str(s)?,
                    Some(v) => v.clone(),
                    None => Value::Null,
                };
                let file_name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                cases.push(Case {
                    name: format!("{operation_id}/{file_name}#{i}"),
                    bouquet,
                    endpoint,
                    version,
                    legacy_path,
                    params: doc
                        .get("params")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                    status,
                    payload,
                });
            }
        }
    }
    Ok(cases)
}

/// The identity a FranceConnect case states, as FranceConnect claims (the birth date
/// only when complete).
fn case_identity(case: &Case) -> Vec<(&'static str, String)> {
    let mut claims = Vec::new();
    let mut date = [None, None, None];
    for (key, value) in &case.params {
        let Some((_, claim)) = IDENTITY_PARAMS.iter().find(|(name, _)| name == key) else {
            continue;
        };
        let text = match value {
            Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(" "),
            other => scalar(other),
        };
        match *claim {
            "birthdate" => {
                let part = ["annee", "mois", "jour"].iter().position(|p| key.starts_with(p));
                if let (Some(i), Ok(n)) = (part, text.trim().parse::<u32>()) {
                    date[i] = Some(n);
                }
            }
            "gender" => claims.push((
                "gender",
                if text.eq_ignore_ascii_case("M") {
                    "male"
                } else {
                    "female"
                }
                .into(),
            )),
            "" => {}
            claim => claims.push((claim, text)),
        }
    }
    if let [Some(y), Some(m), Some(d)] = date {
        claims.push(("birthdate", format!("{y:04}-{m:02}-{d:02}")));
    }
    claims
}

/// The token of the simulator's citizen whose identity has every claim the case states;
/// `fallback` when the case states none.
fn citizen_for(case: &Case, citizens: &[(String, Value)], fallback: &str) -> Option<String> {
    let wanted = case_identity(case);
    if wanted.is_empty() {
        return Some(fallback.to_string());
    }
    // Case-insensitive, blanks collapsed (some cases put spaces after first names).
    let words = |text: &str| text.to_uppercase().split_whitespace().collect::<Vec<_>>().join(" ");
    citizens
        .iter()
        .find(|(_, ti)| {
            wanted
                .iter()
                .all(|(claim, value)| words(ti[*claim].as_str().unwrap_or_default()) == words(value))
        })
        .map(|(token, _)| token.clone())
}

fn query(case: &Case, recipient: &str) -> Vec<(String, String)> {
    let mut pairs = vec![("recipient".to_string(), recipient.to_string())];
    let france_connect = case.endpoint.mode == Mode::FranceConnect;
    for (key, value) in &case.params {
        if france_connect && IDENTITY_PARAMS.iter().any(|(name, _)| name == key) {
            continue;
        }
        match value {
            Value::Array(items) => pairs.extend(items.iter().map(|i| (format!("{key}[]"), scalar(i)))),
            other => pairs.push((key.clone(), scalar(other))),
        }
    }
    pairs
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The quotient familial's `annee`/`mois` are the requested period, the current month
/// by default: a recorded case holds the month it was recorded in.
fn expected_data(case: &Case) -> Value {
    let mut data = case.payload.get("data").cloned().unwrap_or(Value::Null);
    let asks_period = case.params.contains_key("annee") || case.params.contains_key("mois");
    if case.endpoint.resource == "quotient_familial" && !asks_period {
        if let Some(qf) = data.get_mut("quotient_familial").and_then(Value::as_object_mut) {
            let now = Utc::now().with_timezone(&Paris);
            qf.insert("annee".into(), now.year().into());
            qf.insert("mois".into(), now.month().into());
        }
    }
    data
}

async fn replay(client: &reqwest::Client, options: &Options, case: &Case, bearer: &str) -> Outcome {
    let url = format!(
        "{}{}",
        options.base_url.trim_end_matches('/'),
        case.endpoint.public_path(case.version)
    );
    let (status, body) = match call(client, &url, &query(case, &options.recipient), bearer).await {
        Ok(answer) => answer,
        Err(why) => return Outcome::Differs(why),
    };
    // `404.yaml` is what the sandbox serves when no case matches: its parameters are
    // not a call, and an endpoint that requires more answers 422 to them.
    if status == 422 && case.status == 404 && case.name.contains("/404.yaml#") {
        return Outcome::Skipped("the folder's fallback answer, its parameters are refused by this endpoint".into());
    }
    if status != case.status {
        return Outcome::Differs(format!("status {status}, expected {}: {body}", case.status));
    }
    if status == 200 {
        let expected = expected_data(case);
        if body.get("data") != Some(&expected) {
            return Outcome::Differs(format!(
                "data differs:\n  got      {}\n  expected {expected}",
                body["data"]
            ));
        }
        return Outcome::Same(String::new());
    }
    Outcome::Same(code_note(&body, &case.payload))
}

/// A v2 case, as a v2 client calls: the key in `X-Api-Key`, the parameters under their
/// recorded names. A 200 must give the recorded body whole (v2 bodies have no `data`
/// member); an error its status.
async fn replay_v2(client: &reqwest::Client, options: &Options, case: &Case, path: &str) -> Outcome {
    if case.params.keys().any(|k| k == "given_name" || k == "family_name") {
        return Outcome::Skipped("its parameters are FranceConnect claims, which no v2 call sends".into());
    }
    let url = format!("{}{path}", options.base_url.trim_end_matches('/'));
    let auth = ("X-Api-Key", options.token.as_str());
    // Two official cases misspell `nomNaissance`; an integrator spells it right.
    let pairs: Vec<_> = query(case, &options.recipient)
        .into_iter()
        .map(|(k, v)| (k.replace("nomNaissange", "nomNaissance"), v))
        .collect();
    let (status, body) = match call_with(client, &url, &pairs, auth).await {
        Ok(answer) => answer,
        Err(why) => return Outcome::Differs(why),
    };
    if status != case.status {
        return Outcome::Differs(format!("status {status}, expected {}: {body}", case.status));
    }
    // An error is its status and its kind; `reason` and `message` carry today's words.
    if let Some(kind) = case.payload.get("error").filter(|_| status != 200) {
        if body.get("error") != Some(kind) {
            return Outcome::Differs(format!("error {}, expected {kind}", body["error"]));
        }
    }
    let expected = expected_v2_body(case, path);
    if status == 200 && body != expected {
        return Outcome::Differs(format!("body differs:\n  got      {body}\n  expected {expected}"));
    }
    Outcome::Same(String::new())
}

/// As `expected_data`: v2's quotient familial says the requested period, the current
/// month when the call names none.
fn expected_v2_body(case: &Case, path: &str) -> Value {
    let mut body = case.payload.clone();
    let asks_period = case.params.contains_key("annee") || case.params.contains_key("mois");
    if path == "/api/v2/composition-familiale-v2" && !asks_period {
        if let Some(qf) = body.as_object_mut() {
            let now = Utc::now().with_timezone(&Paris);
            qf.insert("annee".into(), now.year().into());
            qf.insert("mois".into(), now.month().into());
        }
    }
    body
}

/// The acceptance rule is status and data; an error code that differs from the record
/// (a documented difference) is shown, not failed.
fn code_note(body: &Value, recorded: &Value) -> String {
    let code = |v: &Value| {
        v.pointer("/errors/0/code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (got, recorded) = (code(body), code(recorded));
    match got == recorded {
        true => String::new(),
        false => format!(" (error code {got}, recorded {recorded})"),
    }
}

/// An API Entreprise case: the path from its `params`, the rest in the query with
/// the three traceability parameters; status and whole body must be the recorded ones.
async fn replay_entreprise(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    options: &Options,
    case: &Case,
) -> Outcome {
    let params: Vec<(String, String)> = case.params.iter().map(|(k, v)| (k.clone(), scalar(v))).collect();
    let Some((path, mut pairs)) = entreprise::request(case.endpoint, case.version, &params) else {
        return Outcome::Differs("its params lack a path parameter".into());
    };
    pairs.extend([
        ("context".to_string(), "Conformité Passerelle".to_string()),
        ("recipient".to_string(), options.recipient.clone()),
        ("object".to_string(), "Rejeu des cas officiels".to_string()),
    ]);
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let (status, body) = match call(client, &url, &pairs, token).await {
        Ok(answer) => answer,
        Err(why) => return Outcome::Differs(why),
    };
    if status != case.status {
        return Outcome::Differs(format!("status {status}, expected {}: {body}", case.status));
    }
    if options.live {
        return same_live(status, &body, &case.payload, base.trim_end_matches('/'));
    }
    if body != case.payload {
        return Outcome::Differs(format!("body differs:\n  got      {body}\n  expected {}", case.payload));
    }
    Outcome::Same(String::new())
}

/// A live answer against its record: `data` but for what is computed at the call; an
/// error by its status, as for API Particulier (a code that differs is shown).
fn same_live(status: u64, body: &Value, recorded: &Value, base: &str) -> Outcome {
    if status != 200 {
        return Outcome::Same(code_note(body, recorded));
    }
    let mut got = body.get("data").cloned().unwrap_or(Value::Null);
    let mut expected = recorded.get("data").cloned().unwrap_or(Value::Null);
    strip_computed(&mut got, &mut expected, base);
    match got == expected {
        true => Outcome::Same(String::new()),
        false => Outcome::Differs(format!("data differs:\n  got      {got}\n  expected {expected}")),
    }
}

/// Removes from both sides, at any depth, the members the gateway computes at the call
/// and the links to its own download routes (stored, proxied or deferred documents).
fn strip_computed(got: &mut Value, expected: &mut Value, base: &str) {
    let own_link = |v: &Value| {
        v.as_str()
            .and_then(|s| s.strip_prefix(base))
            .is_some_and(|path| ["/documents/", "/proxy/"].iter().any(|route| path.starts_with(route)))
    };
    match (got, expected) {
        (Value::Object(got), Value::Object(expected)) => {
            let computed: Vec<String> = got
                .iter()
                .filter(|(k, v)| COMPUTED_AT_THE_CALL.contains(&k.as_str()) || own_link(v))
                .map(|(k, _)| k.clone())
                .collect();
            for key in computed {
                got.remove(&key);
                expected.remove(&key);
            }
            for (key, value) in got.iter_mut() {
                if let Some(other) = expected.get_mut(key) {
                    strip_computed(value, other, base);
                }
            }
        }
        (Value::Array(got), Value::Array(expected)) => {
            for (value, other) in got.iter_mut().zip(expected.iter_mut()) {
                strip_computed(value, other, base);
            }
        }
        _ => {}
    }
}

/// Calls the gateway, waiting out 429s (the replay must not be refused by quota).
async fn call(
    client: &reqwest::Client,
    url: &str,
    pairs: &[(String, String)],
    bearer: &str,
) -> Result<(u64, Value), String> {
    call_with(client, url, pairs, ("Authorization", &format!("Bearer {bearer}"))).await
}

/// A call with its credential in the header `auth` (name, value), waited out and
/// tried again when the rate limit refuses it.
async fn call_with(
    client: &reqwest::Client,
    url: &str,
    pairs: &[(String, String)],
    auth: (&str, &str),
) -> Result<(u64, Value), String> {
    for _ in 0..3 {
        let response = client
            .get(url)
            .query(pairs)
            .header(auth.0, auth.1)
            .header("Cache-Control", "no-cache")
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = u64::from(response.status().as_u16());
        let wait = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match wait {
            Some(secs) if status == 429 => tokio::time::sleep(Duration::from_secs(secs)).await,
            _ => return Ok((status, body)),
        }
    }
    Err("still refused by the rate limit after 3 tries".into())
}
