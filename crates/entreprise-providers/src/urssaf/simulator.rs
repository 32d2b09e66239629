//! A simulator of URSSAF's attestation service: `POST /api/oauth/v1/token` (client
//! credentials in the form, scope `attn.api_entreprise`), then with the bearer
//! `POST /attn/entreprise/v1/demandes/api_entreprise` and a JSON body
//! `{typeAttestation: "AVG_UR", siren, idClient, beneficiaire}`. It answers the PDF in
//! base64 as plain text under a JSON content type, as URSSAF does, or URSSAF's JSON
//! error array (any unknown SIREN gets the recorded `FUNC517`). Its data is
//! `attestations.json` and the documents of `pdfs/` (written by `tools/derive_urssaf.py`);
//! canned `answers` (failure cases) win over documents. Any other SIREN starting with
//! `998` gets a generated attestation of about 100 KB (`bench/documents.sh`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use passerelle_providers::oauth::ClientAuth;
use passerelle_providers::simulation::{self, Answer, TokenDesk, TokenForm};
use serde::Deserialize;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-urssaf";

const DATA: &str = include_str!("attestations.json");
const SCOPE: &str = "attn.api_entreprise";
const TOKEN_LIFETIME_SECS: u64 = 3600;
/// URSSAF's content type, for its PDFs too.
const JSON_UTF8: &str = "application/json;charset=UTF-8";

/// The first digits of the SIRENs that get [`large_attestation`]: a benchmark asks for
/// a different company at each call (the gateway refuses a second identical call while
/// the first runs) and gets the same document every time.
pub const LARGE_PREFIX: &str = "998";

/// [`large_attestation`] in base64, made once.
static LARGE: LazyLock<Bytes> =
    LazyLock::new(|| Bytes::from(base64::engine::general_purpose::STANDARD.encode(large_attestation())));

/// A valid two-page attestation of about 100 KB, the same at every start. As in
/// URSSAF's documents, the pages' text comes first (compressed; the security code on
/// page 1, the date on page 2), then the heavy part: here a 320×310 grey image of
/// noise, compressed (noise does not shrink), where theirs has logos and fonts.
pub fn large_attestation() -> Vec<u8> {
    let compress = |bytes: &[u8]| miniz_oxide::deflate::compress_to_vec_zlib(bytes, 6);
    let page = |lines: &[&str], image: bool| {
        let mut text = String::new();
        if image {
            text.push_str("q 160 0 0 155 395 660 cm /Im1 Do Q\n");
        }
        text.push_str("BT /F1 9 Tf\n");
        for (i, line) in lines.iter().enumerate() {
            text.push_str(&format!("1 0 0 1 40 {} Tm ({line}) Tj\n", 800 - 14 * i));
        }
        text.push_str("ET\n");
        compress(text.as_bytes())
    };
    let first = page(
        &[
            "URSSAF DEMONSTRATION",
            "N\\260SIREN 998000000",
            "CODE DE S\\311CURIT\\311",
            "BNCH100KB7Q4XZ2",
        ],
        true,
    );
    let second = page(
        &[
            "ATTESTATION DE L'UNION DE RECOUVREMENT",
            "Le Directeur soussign\\351 certifie que l'entreprise est \\340 jour de ses obligations",
            "en mati\\350re de cotisations et contributions sociales \\340 la date du 31/01/2023.",
        ],
        false,
    );
    // xorshift64: deterministic noise.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let pixels: Vec<u8> = (0..320 * 310)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let image = compress(&pixels);
    let stream = |dictionary: &str, body: &[u8]| {
        let mut object = format!("<< {dictionary}/Length {} >>\nstream\n", body.len()).into_bytes();
        object.extend_from_slice(body);
        object.extend_from_slice(b"\nendstream");
        object
    };
    let objects: [Vec<u8>; 8] = [
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> /XObject << /Im1 8 0 R >> >> /Contents 6 0 R >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 7 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        stream("/Filter /FlateDecode ", &first),
        stream("/Filter /FlateDecode ", &second),
        stream(
            "/Type /XObject /Subtype /Image /Width 320 /Height 310 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode ",
            &image,
        ),
    ];
    let mut document = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (number, object) in (1..).zip(&objects) {
        offsets.push(document.len());
        document.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        document.extend_from_slice(object);
        document.extend_from_slice(b"\nendobj\n");
    }
    let xref = document.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        table.push_str(&format!("{offset:010} 00000 n \n"));
    }
    table.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    document.extend_from_slice(table.as_bytes());
    document
}

/// The documents the data file may name.
fn pdf(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "basic.pdf" => include_bytes!("pdfs/basic.pdf"),
        "hospital_bug_on_period.pdf" => include_bytes!("pdfs/hospital_bug_on_period.pdf"),
        "valid_multiple_extra_pages.pdf" => include_bytes!("pdfs/valid_multiple_extra_pages.pdf"),
        "micro_entrepreneur.pdf" => include_bytes!("pdfs/micro_entrepreneur.pdf"),
        "unreadable.pdf" => include_bytes!("pdfs/unreadable.pdf"),
        "sandbox_000000001.pdf" => include_bytes!("pdfs/sandbox_000000001.pdf"),
        _ => return None,
    })
}

#[derive(Deserialize)]
struct Document {
    siren: String,
    pdf: String,
}

#[derive(Deserialize)]
struct Canned {
    siren: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Records {
    documents: Vec<Document>,
    answers: Vec<Canned>,
}

/// One attestation request as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siren: String,
    pub id_client: String,
    pub beneficiaire: String,
}

pub struct Simulator {
    /// The base64 text of each company's attestation.
    documents: HashMap<String, String>,
    answers: HashMap<String, Answer>,
    tokens: TokenDesk,
    /// The tokens still honoured (all issued ones, until [`Simulator::revoke_tokens`]).
    live: Mutex<HashSet<String>>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let records: Records = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        let encode = |name: &str| {
            let bytes = pdf(name).unwrap_or_else(|| panic!("the data file names an unknown PDF {name}"));
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        Arc::new(Simulator {
            documents: records
                .documents
                .into_iter()
                .map(|d| (d.siren, encode(&d.pdf)))
                .collect(),
            answers: records.answers.into_iter().map(|c| (c.siren, c.answer)).collect(),
            tokens: TokenDesk::new("urssaf", CLIENT_ID, CLIENT_SECRET, ClientAuth::Form),
            live: Mutex::new(HashSet::new()),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// How many issued tokens are still honoured.
    pub fn live_tokens(&self) -> usize {
        self.live.lock().expect("token table").len()
    }

    /// Forgets every token issued: the next request with an old one gets a 401.
    pub fn revoke_tokens(&self) {
        self.live.lock().expect("token table").clear();
    }

    /// The attestation requests received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/api/oauth/v1/token", post(token))
        .route("/attn/entreprise/v1/demandes/api_entreprise", post(demande))
        .with_state(simulator)
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    if form.scope.as_deref() != Some(SCOPE) {
        let body = json!({"error": "invalid_scope", "error_description": "scope attn.api_entreprise attendu"});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let Some(access_token) = sim.tokens.issue(&headers, Some(&form), SCOPE) else {
        return simulation::invalid_client("Client authentication failed");
    };
    sim.live.lock().expect("token table").insert(access_token.clone());
    simulation::token_answer(&access_token, TOKEN_LIFETIME_SECS, None)
}

/// URSSAF's error array, under its content type.
fn errors(status: StatusCode, code: &str, message: &str, description: &str) -> Response {
    let body = json!([{"code": code, "message": message, "description": description}]);
    (status, [(header::CONTENT_TYPE, JSON_UTF8)], body.to_string()).into_response()
}

/// The request's fields, if it is the one API Entreprise sends.
fn demand(body: &Value) -> Option<Seen> {
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let digits = |value: &str, len: usize| value.len() == len && value.bytes().all(|b| b.is_ascii_digit());
    let siren = text("siren").filter(|s| digits(s, 9))?;
    let beneficiaire = text("beneficiaire").filter(|s| digits(s, 14))?;
    let id_client = text("idClient").filter(|s| !s.is_empty())?;
    (text("typeAttestation") == Some("AVG_UR")).then(|| Seen {
        siren: siren.into(),
        id_client: id_client.into(),
        beneficiaire: beneficiaire.into(),
    })
}

async fn demande(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: String) -> Response {
    let live = simulation::bearer(&headers).is_some_and(|t| sim.live.lock().expect("token table").contains(t));
    if !live || sim.tokens.scope(&headers).as_deref() != Some(SCOPE) {
        let body = json!({"error": "invalid_token", "error_description": "jeton absent, inconnu ou expiré"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let Some(seen) = serde_json::from_str(&body).ok().as_ref().and_then(demand) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "SIMU400",
            "Requête invalide",
            "typeAttestation AVG_UR, siren, idClient et beneficiaire (SIRET) sont attendus",
        );
    };
    sim.seen.lock().expect("call log").push(seen.clone());
    if let Some(answer) = sim.answers.get(&seen.siren) {
        return answer.clone().respond(&[]).await;
    }
    match sim.documents.get(&seen.siren) {
        Some(encoded) => ([(header::CONTENT_TYPE, JSON_UTF8)], encoded.clone()).into_response(),
        None if seen.siren.starts_with(LARGE_PREFIX) => {
            ([(header::CONTENT_TYPE, JSON_UTF8)], LARGE.clone()).into_response()
        }
        None => errors(
            StatusCode::BAD_REQUEST,
            "FUNC517",
            "Le Siren est inconnu",
            "Le siren est inconnu du SI Attestations, radié ou hors périmètre",
        ),
    }
}
