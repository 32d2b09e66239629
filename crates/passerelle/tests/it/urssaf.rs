//! URSSAF's attestation de vigilance through the live gateway, over real HTTP: API
//! Entreprise answered by its providers against their simulators. v4 links a stored PDF
//! that downloads whole and says what the PDF says; a refusal is v3's 04503 and v4's
//! 200 without document; the recorded not-found case comes back as recorded.

use std::sync::Arc;

use chrono::Utc;
use passerelle_entreprise_providers::EntrepriseProvidersConfig;
use passerelle_gateway::{AppState, GatewayConfig};
use passerelle_store::Store;
use passerelle_tokens::TokenRequest;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::helpers::*;

const BASIC_PDF: &[u8] = include_bytes!("../../../entreprise-providers/src/urssaf/pdfs/basic.pdf");

struct App {
    base: String,
    client: reqwest::Client,
    token: String,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

impl App {
    async fn start() -> App {
        let simulators = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let simulated = format!("http://{}", simulators.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(simulators, passerelle_entreprise_providers::simulators())
                .await
                .unwrap()
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let config = GatewayConfig {
            data_dir: dir.path().to_path_buf(),
            entreprise: EntrepriseProvidersConfig::simulated(&simulated, &base),
            ..GatewayConfig::default()
        };
        let providers = passerelle_entreprise_providers::registry(&config.entreprise).unwrap();
        let bouquet = passerelle_entreprise::bouquet(providers);
        let store: Arc<dyn Store> = passerelle_journal::open(&config.database_url()).await.unwrap();
        let state = AppState::new(config, store.clone()).await.unwrap();
        let mut request: TokenRequest = token_request(&passerelle_entreprise::all_scopes());
        request.bouquet = passerelle_entreprise::NAME.into();
        let (_, token) = passerelle_tokens::issue(store.as_ref(), state.tokens.keys(), request, Utc::now())
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
        App {
            base,
            client: reqwest::Client::new(),
            token,
            _dir: dir,
            _shutdown: tx,
        }
    }

    async fn attestation(&self, version: u8, siren: &str) -> (u16, Value) {
        let url = format!(
            "{}/v{version}/urssaf/unites_legales/{siren}/attestation_vigilance",
            self.base
        );
        let query = [("context", "Test"), ("recipient", RECIPIENT), ("object", "Essai")];
        let response = self
            .client
            .get(url)
            .query(&query)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        json(response).await
    }
}

#[tokio::test]
async fn v4_links_the_stored_pdf_and_reads_it() {
    let app = App::start().await;
    let (status, body) = app.attestation(4, "418166096").await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["code_securite"], "8TFYQDUKZVQ5BIA");
    assert_eq!(data["date_debut_validite"], "2022-12-31");
    assert_eq!(data["date_fin_validite"], "2023-06-30");
    assert_eq!(data["entity_status"]["code"], "ok");
    assert_eq!(data["document_url_expires_in"], 86_400);
    let link = data["document_url"].as_str().expect("a document link");
    assert!(link.starts_with(&app.base), "{link}");
    let pdf = app.client.get(link).send().await.unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(pdf.bytes().await.unwrap().as_ref(), BASIC_PDF);

    let (status, body) = app.attestation(3, "418166096").await;
    assert_eq!(status, 200, "{body}");
    let members: Vec<&String> = body["data"].as_object().unwrap().keys().collect();
    assert_eq!(members, ["document_url", "expires_in"]);
}

#[tokio::test]
async fn a_refusal_is_04503_on_v3_and_a_200_without_document_on_v4() {
    let app = App::start().await;
    let (status, body) = app.attestation(3, "999999006").await;
    assert_eq!((status, codes(&body)), (502, vec!["04503".to_string()]), "{body}");
    assert_eq!(body["errors"][0]["meta"]["provider_errors"][0]["code"], "FUNC502");
    let (status, body) = app.attestation(4, "999999006").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["document_url"], Value::Null);
    assert_eq!(body["data"]["document_url_expires_in"], Value::Null);
    assert_eq!(body["data"]["entity_status"]["code"], "refus_de_delivrance");
}

/// The official v3 404 case (`000000000`), whole.
#[tokio::test]
async fn the_recorded_not_found_comes_back_as_recorded() {
    let app = App::start().await;
    let (status, body) = app.attestation(3, "000000000").await;
    assert_eq!(status, 404);
    let recorded = json!({"errors": [{
        "code": "04003",
        "title": "Entité non trouvée",
        "detail": "Le siret ou siren indiqué n'existe pas, n'est pas connu ou ne comporte aucune information pour cet appel",
        "meta": {
            "provider": "ACOSS",
            "provider_errors": [{
                "code": "FUNC517",
                "message": "Le Siren est inconnu",
                "description": "Le siren est inconnu du SI Attestations, radié ou hors périmètre"
            }]
        }
    }]});
    assert_eq!(body, recorded);
}
