//! The association API (`mi`) through the real API Entreprise bouquet and the real
//! gateway, its upstream the simulator, over HTTP: a v4 answer's document links are
//! the gateway's own sealed `/proxy/files/…` links, which stream the upstream file;
//! tampered, expired or disallowed links never give it.

use std::sync::Arc;

use chrono::Utc;
use passerelle_documents::{ProxiedFiles, ProxySettings};
use passerelle_entreprise_providers::EntrepriseProvidersConfig;
use passerelle_gateway::{AppState, GatewayConfig};
use passerelle_tokens::TokenRequest;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::helpers::*;

const PURPOSE: &str = "context=Test&object=Essai&recipient=13002526500013";

struct Served {
    entreprise: String,
    simulators: String,
    jwt: String,
    store: Arc<dyn passerelle_store::Store>,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

async fn start() -> Served {
    start_with(|_| {}).await
}

async fn start_with(configure: impl FnOnce(&mut GatewayConfig)) -> Served {
    let simulators = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let simulators_base = format!("http://{}", simulators.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(simulators, passerelle_entreprise_providers::simulators())
            .await
            .unwrap()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let entreprise = format!("http://{}", listener.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut config = GatewayConfig {
        data_dir: dir.path().to_path_buf(),
        entreprise: EntrepriseProvidersConfig::simulated(&simulators_base, &entreprise),
        ..GatewayConfig::default()
    };
    configure(&mut config);
    let store = passerelle_journal::open(&config.database_url()).await.unwrap();
    let bouquet =
        passerelle_entreprise::bouquet(passerelle_entreprise_providers::registry(&config.entreprise).unwrap());
    let state = AppState::new(config, store.clone()).await.unwrap();
    let request = TokenRequest {
        bouquet: passerelle_entreprise::NAME.into(),
        ..token_request(&["associations_djepva", "associations", "open_data"])
    };
    let (_, jwt) = passerelle_tokens::issue(store.as_ref(), state.tokens.keys(), request, Utc::now())
        .await
        .unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        passerelle_gateway::serve(vec![(listener, bouquet)], state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Served {
        entreprise,
        simulators: simulators_base,
        jwt,
        store,
        _dir: dir,
        _shutdown: tx,
    }
}

impl Served {
    async fn call(&self, path: &str) -> (u16, Value) {
        let url = format!("{}{path}?{PURPOSE}", self.entreprise);
        json(
            reqwest::Client::new()
                .get(url)
                .bearer_auth(&self.jwt)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Links sealed with the gateway's own secret, as a forger holding it would.
    async fn sealer(&self) -> ProxiedFiles {
        let secret = self.store.secret_or_insert("document_links", Vec::new()).await.unwrap();
        ProxiedFiles::new(&secret, &ProxySettings::default()).unwrap()
    }
}

async fn empty(url: &str) -> u16 {
    let answer = reqwest::get(url).await.unwrap();
    let status = answer.status().as_u16();
    assert!(answer.bytes().await.unwrap().is_empty(), "{url}");
    status
}

#[tokio::test]
async fn a_v4_document_link_streams_the_upstream_file_and_forged_ones_do_not() {
    let app = start().await;
    let (status, body) = app.call("/v4/djepva/api-association/associations/389486242").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["nom"], "ASSOCIATION SPORTIVE SALINDROISE");
    assert_eq!(
        body["links"]["insee_siege_social"],
        format!("{}/v3/insee/sirene/etablissements/38948624200032", app.entreprise)
    );
    let link = body["data"]["documents_rna"][0]["url"].as_str().unwrap().to_string();
    let prefix = format!("{}/proxy/files/", app.entreprise);
    assert!(link.starts_with(&prefix), "{link}");
    // The target is not readable in the link.
    assert!(!link.contains("document-"), "{link}");
    let dac = &body["data"]["etablissements"][1]["documents_dac"][0]["url"];
    assert!(dac.as_str().unwrap().starts_with(&prefix), "{dac}");

    // No token needed: the link is the capability.
    let download = reqwest::get(&link).await.unwrap();
    assert_eq!(download.status(), 200);
    let headers = download.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"document-12.pdf\""
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("ratelimit-limit"));
    assert!(download.bytes().await.unwrap().starts_with(b"%PDF-1.4"));
    let rows = app.store.recent_journal(10).await.unwrap();
    let row = rows
        .iter()
        .find(|r| r.endpoint == "/proxy/files/{token}")
        .expect("journaled");
    assert_eq!((row.status, row.caller.is_none()), (200, true));

    // Tampered: any changed character is refused, empty.
    let token = link.strip_prefix(&prefix).unwrap();
    let middle = token.len() / 2;
    let swapped = if &token[middle..middle + 1] == "A" { "B" } else { "A" };
    let tampered = format!("{prefix}{}{swapped}{}", &token[..middle], &token[middle + 1..]);
    assert_eq!(empty(&tampered).await, 403);
    assert_eq!(empty(&format!("{prefix}not-a-token")).await, 403);

    // Genuine but expired: 404, empty.
    let sealer = app.sealer().await;
    let target = format!("{}/mi/apim/api-asso/documents/document-12", app.simulators);
    let expired = sealer.seal("mi", &target, Utc::now().timestamp() as u64 - 1);
    assert_eq!(empty(&format!("{prefix}{expired}")).await, 404);
    // Genuine and fresh, but a host the provider does not allow: 403, never fetched.
    let later = Utc::now().timestamp() as u64 + 3600;
    let elsewhere = sealer.seal("mi", "http://127.0.0.1:9/anything", later);
    assert_eq!(empty(&format!("{prefix}{elsewhere}")).await, 403);
    let other_provider = sealer.seal("insee", &target, later);
    assert_eq!(empty(&format!("{prefix}{other_provider}")).await, 403);
    let fresh = sealer.seal("mi", &target, later);
    assert_eq!(reqwest::get(format!("{prefix}{fresh}")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_file_host_failures_map_to_the_contract() {
    let app = start().await;
    let (status, body) = app.call("/v4/djepva/api-association/associations/W999999012").await;
    assert_eq!(status, 200, "{body}");
    let links: Vec<(String, String)> = body["data"]["etablissements"][0]["documents_dac"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["nom"].as_str().unwrap().to_string(),
                d["url"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("absent.pdf", 404, None),
        ("interdit.pdf", 502, Some("00601")),
        ("limite.pdf", 502, Some("00602")),
        ("panne.pdf", 502, Some("00603")),
        ("passerelle.pdf", 502, Some("00604")),
        ("indisponible.pdf", 502, Some("00605")),
        ("delai.pdf", 502, Some("00606")),
        ("methode.pdf", 502, Some("00011")),
        ("redirige.pdf", 502, Some("00011")),
    ];
    for (name, status, code) in expected {
        let (_, link) = links.iter().find(|(n, _)| n == name).unwrap();
        let answer = reqwest::get(link).await.unwrap();
        match code {
            Some(code) => {
                let body = assert_error(answer, status, code).await;
                assert_eq!(body["errors"][0]["meta"]["provider"], "DINUM");
            }
            None => {
                assert_eq!(answer.status().as_u16(), status, "{name}");
                assert!(answer.bytes().await.unwrap().is_empty());
            }
        }
    }
    // Under the cap (20 MiB by default), a file streams whole, typed as sent.
    let (_, big) = links.iter().find(|(n, _)| n == "enorme.pdf").unwrap();
    let answer = reqwest::get(big).await.unwrap();
    assert_eq!(answer.headers()["content-type"], "application/octet-stream");
    assert_eq!(answer.bytes().await.unwrap().len(), 3 << 20);
}

#[tokio::test]
async fn files_over_the_cap_or_too_slow_are_refused() {
    let app = start_with(|config| {
        config.documents.proxy.max_bytes = 1 << 20;
        config.documents.proxy.read_timeout_ms = 300;
    })
    .await;
    let (_, body) = app.call("/v4/djepva/api-association/associations/W999999012").await;
    let link = |name: &str| {
        body["data"]["etablissements"][0]["documents_dac"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["nom"] == name)
            .unwrap()["url"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_error(reqwest::get(link("enorme.pdf")).await.unwrap(), 502, "00011").await;
    // Streamed without a length: cut once past the cap, never delivered whole.
    let streamed = reqwest::get(link("flot.pdf")).await.unwrap();
    assert_eq!(streamed.status(), 200);
    assert!(streamed.bytes().await.is_err(), "the transfer is cut");
    assert_error(reqwest::get(link("lent.pdf")).await.unwrap(), 502, "00011").await;
}

#[tokio::test]
async fn the_v3_documents_carry_proxied_links_and_their_lifetime() {
    let app = start().await;
    let (status, body) = app
        .call("/v3/ministere_interieur/rna/associations/W751234567/documents")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["nombre_documents"], 2);
    let first = &body["data"][0]["data"];
    assert_eq!(first["expires_in"], 86_400);
    assert_eq!(first["type"], "Statuts");
    let download = reqwest::get(first["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(download.status(), 200);
    // A cached answer gets fresh links to the same files, each working.
    let url = format!(
        "{}/v3/ministere_interieur/rna/associations/W751234567/documents?{PURPOSE}",
        app.entreprise
    );
    let cached = reqwest::Client::new()
        .get(url)
        .bearer_auth(&app.jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.headers()["x-response-cached"], "true");
    let (_, again) = json(cached).await;
    let link = again["data"][0]["data"]["url"].as_str().unwrap();
    assert_ne!(link, first["url"].as_str().unwrap());
    assert_eq!(again["data"][0]["data"]["expires_in"], 86_400);
    assert_eq!(reqwest::get(link).await.unwrap().status(), 200);
    // Not found upstream (inside an HTTP 200): the contract's 404.
    let (status, body) = app.call("/v3/ministere_interieur/rna/associations/W000000000").await;
    assert_eq!((status, codes(&body)), (404, vec!["21003".to_string()]));
}
