//! A simulator of the SIV: `POST /siv` with a SOAP 1.2 `req_consulter_dossier`. It
//! checks what the real service needs (the SAML assertion and its partner code, the
//! control block, the plate; a signed assertion must have a sound digest) and answers
//! like the SIV: a SOAP 1.1 `rep_consulter_dossier` with the file, or its "no answer"
//! error. Its vehicles come from `vehicles.json` (derived from the upstream fixtures and
//! the official sandbox cases by `tools/derive_ants_people.py`) and
//! `vehicles_synthetic.json` (our own failures). It never logs identities.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{NaiveDateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::xml::{self, Node};
use crate::simulation::{self, Answer};

pub const CODE_PARTENAIRE: &str = "999001";
pub const CODE_MIAT: &str = "QSIV";
pub const CODE_CONCENTRATEUR: &str = "PASSERELLE-DEMO";

const VEHICLES: &str = include_str!("vehicles.json");
const SYNTHETIC_VEHICLES: &str = include_str!("vehicles_synthetic.json");

const NOT_FOUND_MESSAGE: &str = "Aucune réponse trouvée pour les critères en entrée.";

/// A plate and what the SIV says about it: a registration file, or a canned answer.
#[derive(Deserialize)]
struct Vehicle {
    num_immat: String,
    #[serde(default)]
    dossier: Option<Value>,
    #[serde(default)]
    answer: Option<Answer>,
}

enum Known {
    Dossier(Value),
    Canned(Answer),
}

pub struct Simulator {
    vehicles: HashMap<String, Known>,
}

impl Simulator {
    pub fn with_default_vehicles() -> Arc<Simulator> {
        let mut vehicles = HashMap::new();
        for v in simulation::people::<Vehicle>(&[VEHICLES, SYNTHETIC_VEHICLES]) {
            let known = match (v.dossier, v.answer) {
                (_, Some(answer)) => Known::Canned(answer),
                (Some(dossier), None) => Known::Dossier(dossier),
                (None, None) => continue,
            };
            vehicles.entry(v.num_immat.to_uppercase()).or_insert(known);
        }
        Arc::new(Simulator { vehicles })
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new().route("/siv", post(siv)).with_state(simulator)
}

/// The request's control block, echoed in the answer.
struct Control {
    session: String,
    sent_at: String,
}

async fn siv(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: String) -> Response {
    let soap12 = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/soap+xml"));
    if !soap12 {
        return fault("soap:Sender", "Content-Type application/soap+xml attendu (SOAP 1.2)");
    }
    let request = match Node::parse(&body) {
        Ok(root) if root.name == "Envelope" => root,
        _ => return fault("soap:Sender", "Enveloppe SOAP illisible"),
    };
    if let Err(why) = check_security(&request, &body) {
        return fault("wsse:FailedAuthentication", why);
    }
    let (control, plate) = match check_request(&request) {
        Ok(found) => found,
        Err(why) => return fault("soap:Sender", why),
    };
    match sim.vehicles.get(&plate) {
        Some(Known::Canned(answer)) => answer.clone().respond(&[]).await,
        Some(Known::Dossier(dossier)) => soap_ok(found(&control, dossier)),
        None => soap_ok(not_found(&control)),
    }
}

/// The SAML assertion: present, issued, with our concentrator code, and when signed,
/// its digest must be the one of the assertion as sent.
fn check_security(request: &Node, body: &str) -> Result<(), &'static str> {
    let assertion = request
        .find("Security")
        .and_then(|s| s.find("Assertion"))
        .ok_or("assertion SAML absente")?;
    if assertion.text_of("Issuer").is_none() || assertion.find("SubjectConfirmation").is_none() {
        return Err("assertion SAML incomplète");
    }
    if assertion.text_of("AttributeValue") != Some(CODE_CONCENTRATEUR) {
        return Err("code concentrateur inconnu");
    }
    if assertion.find("Signature").is_some() {
        let start = body.find("<saml:Assertion").ok_or("assertion SAML illisible")?;
        let end = body.find("</saml:Assertion>").ok_or("assertion SAML illisible")? + "</saml:Assertion>".len();
        // The certificate's key is not read here (no X.509 parser): the digest is.
        if super::saml::check_digest(&body[start..end]).is_err() {
            return Err("empreinte de l'assertion invalide");
        }
    }
    Ok(())
}

fn check_request(request: &Node) -> Result<(Control, String), &'static str> {
    let call = request
        .find("req_consulter_dossier")
        .ok_or("req_consulter_dossier attendu")?;
    let control = call.find("control").ok_or("bloc control absent")?;
    if control.text_of("code_partenaire") != Some(CODE_PARTENAIRE) || control.text_of("code_miat") != Some(CODE_MIAT) {
        return Err("partenaire inconnu");
    }
    if control.text_of("type_operation") != Some("Consultation Dossier") {
        return Err("type_operation inattendu");
    }
    let session = control
        .text_of("numero_session")
        .filter(|s| s.starts_with("req_") || s.starts_with("rnd_"))
        .ok_or("numero_session absent")?;
    let sent_at = control
        .text_of("date_envoi")
        .filter(|d| NaiveDateTime::parse_from_str(d, "%Y-%m-%dT%H:%M:%S").is_ok())
        .ok_or("date_envoi absente ou mal formée")?;
    let requete = call.find("requete").ok_or("bloc requete absent")?;
    if requete.text_of("mode_appel") != Some("L") {
        return Err("mode_appel inattendu");
    }
    let plate = requete.text_of("num_immat").ok_or("num_immat absent")?;
    let control = Control {
        session: session.to_string(),
        sent_at: sent_at.to_string(),
    };
    Ok((control, plate.to_string()))
}

fn soap_ok(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A SOAP 1.2 fault, as the service answers requests it cannot take.
fn fault(code: &str, reason: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><soap:Body>\
         <soap:Fault><soap:Code><soap:Value>{code}</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang=\"fr\">{}\
         </soap:Text></soap:Reason></soap:Fault></soap:Body></soap:Envelope>",
        xml::text(reason)
    );
    let content_type = "application/soap+xml; charset=utf-8";
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

fn control_block(control: &Control, outcome: &str) -> String {
    let received = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    format!(
        "<siv:control><siv:code_partenaire>{CODE_PARTENAIRE}</siv:code_partenaire><siv:code_miat>{CODE_MIAT}</siv:code_miat>\
         <siv:date_envoi>{sent}</siv:date_envoi><siv:type_operation>Consultation Dossier</siv:type_operation>\
         <siv:numero_session>{session}</siv:numero_session>{outcome}\
         <siv:code_operation>{operation}</siv:code_operation><siv:date_reception>{received}</siv:date_reception>\
         <siv:type_fichier_joint>xml</siv:type_fichier_joint></siv:control>",
        sent = xml::text(&control.sent_at),
        session = xml::text(&control.session),
        operation = rand::random::<u32>() % 10_000_000,
    )
}

fn wrap(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <soapenv:Body><siv:rep_consulter_dossier xmlns:siv=\"{}\">{inner}</siv:rep_consulter_dossier></soapenv:Body>\
         </soapenv:Envelope>",
        super::SERVICE
    )
}

fn found(control: &Control, dossier: &Value) -> String {
    let mut inner = control_block(control, "<siv:code_traitement>0</siv:code_traitement>");
    inner.push_str("<siv:reponse>");
    xml::render("siv", "dossier", dossier, &mut inner);
    inner.push_str("</siv:reponse>");
    wrap(&inner)
}

fn not_found(control: &Control) -> String {
    let outcome = format!(
        "<siv:code_traitement>1</siv:code_traitement><siv:code_erreur>20</siv:code_erreur><siv:description_erreur>\
         <siv:item_erreur><siv:message_erreur>{NOT_FOUND_MESSAGE}</siv:message_erreur></siv:item_erreur>\
         </siv:description_erreur>"
    );
    wrap(&control_block(control, &outcome))
}
