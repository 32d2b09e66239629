//! A simulator of Infogreffe's RCS extract web service: `POST {PATH}` with
//! `Content-Type: text/xml` and `SOAPAction: getProduitsWebServicesXML`, a SOAP 1.1
//! envelope whose `arg0` holds a `<demande>` (subscriber code and password, the fixed
//! request codes, the SIREN). It answers HTTP 200 with the `<Extrait>` of the SIREN,
//! or an error text `NNN -MESSAGE-` in its place (`006` for an unknown SIREN, `003`
//! for a wrong account); a request it cannot read gets a SOAP fault (HTTP 500).
//! Its data is `registre.json`, written by `tools/derive_infogreffe.py`: extracts
//! recorded from the real service or written from the official cases, error texts,
//! and raw answers (faults, 5xx, a cut body, a slow answer) that win over the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use passerelle_providers::simulation::Answer;
use serde::Deserialize;

use super::soap::ACTION;
use super::xml::{escape, Element};

/// The web service's path under the simulator's base.
pub const PATH: &str = "/WSContextInfogreffe/INFOGREFFE";
pub const CODE_ABONNE: &str = "PASSERELLE";
pub const MOT_PASSE: &str = "demo-infogreffe";

const DATA: &str = include_str!("registre.json");
const UNKNOWN_SIREN: &str = "006 -DOSSIER NON TROUVE DANS LA BASE DE GREFFES-";
const WRONG_ACCOUNT: &str = "003 -ERREUR D'IDENTIFICATION DE L'ABONNE-";
const WRONG_REQUEST: &str = "014 -ERREUR LORS DE LA GENERATION DE LA COMMANDE-";
/// The request codes every extract order carries.
const REQUEST_CODES: [(&str, &str); 6] = [
    ("type_profil", "A"),
    ("origine_emetteur", "IC"),
    ("nature_requete", "C"),
    ("type_document", "KB"),
    ("type_requete", "S"),
    ("media", "WS"),
];

#[derive(Deserialize)]
struct Extrait {
    siren: String,
    xml: String,
}

#[derive(Deserialize)]
struct Code {
    siren: String,
    text: String,
}

#[derive(Deserialize)]
struct Canned {
    siren: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Registre {
    extraits: Vec<Extrait>,
    codes: Vec<Code>,
    answers: Vec<Canned>,
}

/// One order as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siren: String,
    pub content_type: Option<String>,
    /// The separate `charset` header the real gateway sends.
    pub charset: Option<String>,
}

pub struct Simulator {
    extraits: HashMap<String, String>,
    codes: HashMap<String, String>,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let registre: Registre = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            extraits: registre.extraits.into_iter().map(|e| (e.siren, e.xml)).collect(),
            codes: registre.codes.into_iter().map(|c| (c.siren, c.text)).collect(),
            answers: registre.answers.into_iter().map(|c| (c.siren, c.answer)).collect(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The orders received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }

    /// What `return` holds for `siren`: its extract, its error text, or "not found".
    fn content(&self, siren: &str) -> String {
        if let Some(text) = self.codes.get(siren) {
            return escape(text);
        }
        match self.extraits.get(siren) {
            Some(extrait) => extrait.clone(),
            None => UNKNOWN_SIREN.to_string(),
        }
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new().route(PATH, post(order)).with_state(simulator)
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn order(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = header_value(&headers, "content-type");
    if !content_type.as_deref().is_some_and(|t| t.starts_with("text/xml")) {
        return fault("Client", "Content-Type must be text/xml");
    }
    let action = header_value(&headers, "soapaction").unwrap_or_default();
    if action.trim_matches('"') != ACTION {
        return fault("Client", "Unknown SOAPAction");
    }
    let Some(demande) = demande(&body) else {
        return fault("Client", "Unreadable request");
    };
    let emetteur = demande.child("emetteur");
    let account = (text(emetteur, &["code_abonne"]), text(emetteur, &["mot_passe"]));
    if account != (CODE_ABONNE, MOT_PASSE) {
        return answer(&escape(WRONG_ACCOUNT));
    }
    if !request_codes_ok(emetteur) {
        return answer(&escape(WRONG_REQUEST));
    }
    let siren = text(Some(&demande), &["commande", "num_siren"]).to_string();
    sim.seen.lock().expect("call log").push(Seen {
        siren: siren.clone(),
        content_type,
        charset: header_value(&headers, "charset"),
    });
    if let Some(canned) = sim.answers.get(&siren) {
        let location = [("location", HeaderName::from_static("location"))];
        return canned.clone().respond(&location).await;
    }
    answer(&sim.content(&siren))
}

/// The `<demande>` inside `arg0`, as elements.
fn demande(body: &[u8]) -> Option<Element> {
    let envelope = Element::parse(body).ok()?;
    envelope.at(&["Body", ACTION, "arg0", "demande"]).cloned()
}

fn text<'a>(element: Option<&'a Element>, path: &[&str]) -> &'a str {
    element.and_then(|e| e.at(path)).map_or("", |e| e.text.trim())
}

fn request_codes_ok(emetteur: Option<&Element>) -> bool {
    let codes = emetteur.and_then(|e| e.child("code_requete"));
    let mode = codes.and_then(|c| c.at(&["mode_diffusion", "mode"]));
    REQUEST_CODES
        .iter()
        .all(|(tag, expected)| text(codes, &[tag]) == *expected)
        && mode.and_then(|m| m.attribute("type")) == Some("XL")
}

/// Infogreffe's answer envelope around the content of `return`.
fn answer(content: &str) -> Response {
    let body = format!(
        "<?xml version='1.0' encoding='UTF-8'?><SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/' \
xmlns:SOAP-ENC='http://schemas.xmlsoap.org/soap/encoding/' xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' \
xmlns:xsd='http://www.w3.org/2001/XMLSchema'><SOAP-ENV:Body><ns0:getProduitsWebServicesXMLResponse xmlns:ns0='urn:local' \
SOAP-ENV:encodingStyle='http://schemas.xmlsoap.org/soap/encoding/'><return xsi:type='xsd:string'>{content}</return>\
</ns0:getProduitsWebServicesXMLResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    );
    ([(header::CONTENT_TYPE, "text/xml; charset=UTF-8")], body).into_response()
}

/// A SOAP 1.1 fault: HTTP 500, `faultcode` `Client` or `Server`.
fn fault(code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version='1.0' encoding='UTF-8'?><SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'>\
<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:{code}</faultcode><faultstring>{}</faultstring>\
</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>",
        escape(message)
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/xml; charset=UTF-8")],
        body,
    )
        .into_response()
}
