//! The attestations page of an API Entreprise habilitation (§d.2): its applicant or
//! business contact types a SIREN and gets the company's PDF. The site calls API
//! Entreprise over HTTP with the habilitation's own main token, as any client
//! would: the call is checked, limited and journaled under that token, and the site
//! never reaches into the gateway's pipeline.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use passerelle_habilitation::attestations::{self, Kind, Siren};
use passerelle_habilitation::workflow::Demande;
use passerelle_store::TokenRecord;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde_json::Value;
use uuid::Uuid;

use crate::pages::{html, posted, who, Fault};
use crate::portal::{held_tokens, opened};
use crate::session::Session;
use crate::views::Who;
use crate::{App, BASE};

/// An attestation is a few hundred kilobytes; nothing bigger is read.
const MAX_PDF: usize = 10 * 1024 * 1024;

/// How the site reaches API Entreprise.
pub struct Entreprise {
    /// The bouquet's address from the site (no trailing slash).
    url: String,
    client: reqwest::Client,
}

impl Entreprise {
    pub fn new(url: &str) -> anyhow::Result<Entreprise> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            // DGFIP's attestation is slow upstream; the gateway's own timeout is shorter.
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Entreprise {
            url: url.trim_end_matches('/').to_string(),
            client,
        })
    }
}

#[derive(Template)]
#[template(path = "attestations.html")]
pub struct AttestationsPage {
    base: &'static str,
    who: Option<Who>,
    id: Uuid,
    number: i64,
    title: String,
    kinds: Vec<(&'static str, &'static str)>,
    siren: String,
    problem: Option<Problem>,
}

/// Why no PDF came back, as the page tells it.
pub struct Problem {
    title: String,
    detail: String,
    request_id: Option<String>,
}

pub async fn page(State(app): State<Arc<App>>, Path(id): Path<Uuid>, headers: HeaderMap) -> Result<Response, Fault> {
    let (session, demande, main, _) = opened(&app, id, &headers).await?;
    let kinds = allowed(&app, &session, &demande, &main)?;
    Ok(render(
        &app,
        &session,
        &demande,
        &kinds,
        String::new(),
        None,
        StatusCode::OK,
    ))
}

/// Fetches the chosen attestation and hands it over as a download.
pub async fn download(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fault> {
    let (session, sent, demande, _) = posted(&app, id, &headers, &body).await?;
    let (main, _) = held_tokens(&app, &demande).await?.ok_or_else(Fault::not_found)?;
    let kinds = allowed(&app, &session, &demande, &main)?;
    let typed = sent.one("siren").replace(' ', "");
    let refuse =
        |problem: Problem, status| render(&app, &session, &demande, &kinds, typed.clone(), Some(problem), status);
    let Some(kind) = Kind::parse(&sent.one("attestation")).filter(|k| kinds.contains(k)) else {
        return Ok(refuse(
            plain("Attestation inconnue", "Choisissez l'une des attestations proposées."),
            StatusCode::BAD_REQUEST,
        ));
    };
    let Ok(siren) = Siren::parse(&typed) else {
        let detail = "Le SIREN compte 9 chiffres et sa clé de contrôle doit être juste (par exemple 418166096).";
        return Ok(refuse(plain("SIREN invalide", detail), StatusCode::BAD_REQUEST));
    };
    let entreprise = app.entreprise.as_ref().ok_or_else(unconfigured)?;
    let jwt = app.tokens.jwt(&main).map_err(Fault::internal)?;
    match fetch(entreprise, &jwt, kind, &siren, &demande).await {
        Ok(pdf) => Ok(attachment(pdf, &kind.file_name(&siren))),
        Err((status, problem)) => Ok(refuse(problem, status)),
    }
}

/// The attestations `session`'s agent may download with the habilitation's token.
fn allowed(app: &App, session: &Session, demande: &Demande, main: &TokenRecord) -> Result<Vec<Kind>, Fault> {
    let agent = session.agent.as_ref().expect("logged in");
    if !attestations::may_download(demande, agent, &app.site.staff) {
        return Err(Fault::forbidden(
            "Seuls le demandeur et le contact métier de l'habilitation téléchargent les attestations.",
        ));
    }
    let kinds = attestations::available(demande, main);
    if kinds.is_empty() {
        return Err(Fault::forbidden(
            "Le jeton de cette habilitation n'ouvre ni l'attestation sociale ni l'attestation fiscale.",
        ));
    }
    Ok(kinds)
}

fn render(
    app: &App,
    session: &Session,
    demande: &Demande,
    kinds: &[Kind],
    siren: String,
    problem: Option<Problem>,
    status: StatusCode,
) -> Response {
    let page = AttestationsPage {
        base: BASE,
        who: who(app, Some(session)),
        id: demande.id,
        number: demande.number,
        title: demande.title().to_string(),
        kinds: kinds.iter().map(|k| (k.key(), k.title())).collect(),
        siren,
        problem,
    };
    html(status, page)
}

type Failure = (StatusCode, Problem);

/// The attestation's PDF: API Entreprise's answer, then the document it links.
async fn fetch(
    entreprise: &Entreprise,
    jwt: &str,
    kind: Kind,
    siren: &Siren,
    demande: &Demande,
) -> Result<Bytes, Failure> {
    let object = format!("Téléchargement depuis le portail, habilitation n° {}", demande.number);
    let query = [
        ("context", "Portail des habilitations"),
        ("recipient", demande.siret.as_str()),
        ("object", object.as_str()),
    ];
    let bearer = HeaderValue::from_str(&format!("Bearer {jwt}")).map_err(|_| unavailable(None))?;
    let answer = entreprise
        .client
        .get(format!("{}{}", entreprise.url, kind.path(siren)))
        .query(&query)
        .header(AUTHORIZATION, bearer)
        .send()
        .await
        .map_err(|_| unavailable(None))?;
    let request_id = request_id(&answer);
    let status = answer.status();
    let body: Value = capped(answer)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(refusal(status, &body, request_id));
    }
    let Some(link) = body["data"]["document_url"].as_str() else {
        return Err(no_document(&body, request_id));
    };
    document(entreprise, link, request_id).await
}

/// The linked file, fetched from the same listener whatever host the link names:
/// only its path and signature matter, and the site follows no other address.
async fn document(entreprise: &Entreprise, link: &str, request_id: Option<String>) -> Result<Bytes, Failure> {
    let path = link_path(link).ok_or_else(|| unavailable(request_id.clone()))?;
    let answer = entreprise
        .client
        .get(format!("{}{path}", entreprise.url))
        .send()
        .await
        .map_err(|_| unavailable(request_id.clone()))?;
    if !answer.status().is_success() {
        return Err(unavailable(request_id));
    }
    let pdf = capped(answer).await.map_err(|_| unavailable(request_id.clone()))?;
    if !pdf.starts_with(b"%PDF-") {
        return Err(unavailable(request_id));
    }
    Ok(pdf)
}

/// `/documents/…?…` of a document link, if it is one.
fn link_path(link: &str) -> Option<&str> {
    let after_scheme = link.split_once("://").map_or(link, |(_, rest)| rest);
    let path = &after_scheme[after_scheme.find('/')?..];
    path.starts_with("/documents/").then_some(path)
}

async fn capped(mut answer: reqwest::Response) -> Result<Bytes, ()> {
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|_| ())? {
        if body.len() + chunk.len() > MAX_PDF {
            return Err(());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}

fn request_id(answer: &reqwest::Response) -> Option<String> {
    let id = answer.headers().get("x-request-id")?.to_str().ok()?;
    Some(
        id.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(64)
            .collect(),
    )
}

/// The gateway's refusal, in its own words when it gave them.
fn refusal(status: reqwest::StatusCode, body: &Value, request_id: Option<String>) -> Failure {
    let error = &body["errors"][0];
    let said = |key: &str| error[key].as_str().map(str::to_string);
    let (shown, title, fallback) = match status.as_u16() {
        401 | 403 => (
            StatusCode::FORBIDDEN,
            "Jeton refusé",
            "API Entreprise refuse le jeton de l'habilitation (expiré, révoqué, ou restreint à d'autres adresses que celle du portail).",
        ),
        404 => (StatusCode::NOT_FOUND, "Entreprise introuvable", "Aucune attestation n'existe pour ce SIREN."),
        422 | 400 => (StatusCode::BAD_REQUEST, "Demande refusée", "API Entreprise a refusé la demande."),
        429 => (
            StatusCode::TOO_MANY_REQUESTS,
            "Trop d'appels",
            "Le jeton a atteint sa limite d'appels par minute : réessayez dans une minute.",
        ),
        _ => return unavailable(request_id),
    };
    let problem = Problem {
        title: said("title").unwrap_or_else(|| title.into()),
        detail: said("detail").unwrap_or_else(|| fallback.into()),
        request_id,
    };
    (shown, problem)
}

/// A 200 without a file: the provider declined to deliver one (URSSAF does, for a
/// company not up to date).
fn no_document(body: &Value, request_id: Option<String>) -> Failure {
    let said = body["data"]["entity_status"]["description"].as_str();
    let detail = said.unwrap_or("Le fournisseur n'a pas délivré d'attestation pour cette entreprise.");
    let problem = Problem {
        title: "Pas d'attestation délivrée".into(),
        detail: detail.into(),
        request_id,
    };
    (StatusCode::OK, problem)
}

fn unavailable(request_id: Option<String>) -> Failure {
    let problem = Problem {
        title: "Attestation indisponible".into(),
        detail: "API Entreprise ou son fournisseur ne répond pas pour l'instant. Réessayez dans quelques minutes."
            .into(),
        request_id,
    };
    (StatusCode::BAD_GATEWAY, problem)
}

fn plain(title: &str, detail: &str) -> Problem {
    Problem {
        title: title.into(),
        detail: detail.into(),
        request_id: None,
    }
}

fn unconfigured() -> Fault {
    Fault::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service non configuré",
        "Le portail ne connaît pas l'adresse d'API Entreprise (habilitation.entreprise_url).",
    )
}

fn attachment(pdf: Bytes, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        pdf,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_document_paths_are_followed() {
        assert_eq!(
            link_path("https://entreprise.example.fr/documents/ab12?expires=1&sig=ff"),
            Some("/documents/ab12?expires=1&sig=ff")
        );
        assert_eq!(link_path("http://127.0.0.1:9/documents/x"), Some("/documents/x"));
        assert_eq!(link_path("http://evil.example/admin"), None);
        assert_eq!(link_path("no-slash-at-all"), None);
    }
}
