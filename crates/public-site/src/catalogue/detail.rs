//! `/catalogue/{operation id}`: one endpoint in full. The id is its latest version's
//! operation id; another version's id leads there.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use passerelle_bouquet::{Cache, Mode};

use super::call;
use super::entries::{self, Entry};
use super::errors::{self, StatusGroup};
use super::examples;
use super::fields::{self, FieldRow, MaskScope, Source};
use super::openapi::Operation;
use super::params::{self, ParamRow};
use crate::{page as render, Frame, Site};

#[derive(Template)]
#[template(path = "catalogue_detail.html")]
struct DetailPage {
    frame: Frame,
    entry: Entry,
    mode: &'static str,
    cache: String,
    deprecated: bool,
    fields: Vec<FieldRow>,
    /// Whether some field has a description (else the column is left out).
    described: bool,
    fields_source: &'static str,
    /// Whether `data` is a list (its items' fields are shown).
    data_is_list: bool,
    mask_scopes: Vec<MaskScope>,
    params: Vec<ParamRow>,
    errors: Vec<StatusGroup>,
    example: Option<Shown>,
    /// Whether the example, and the curl's parameters, come from a sandbox case.
    from_sandbox: bool,
    france_connect: bool,
    curl: String,
}

/// The example answer as shown, and where it comes from.
struct Shown {
    json: String,
    /// The sandbox case's file, when it comes from one.
    case: Option<String>,
    description: String,
}

#[derive(Template)]
#[template(path = "catalogue_introuvable.html")]
struct NotFound {
    frame: Frame,
    asked: String,
}

pub async fn page(State(site): State<Arc<Site>>, id: Result<Path<String>, PathRejection>) -> Response {
    let asked = id.map(|Path(id)| id).unwrap_or_default();
    let bouquet = site.bouquet();
    let Some(entry) = entries::all(bouquet).into_iter().find(|e| e.answers_to(&asked)) else {
        return not_found(&site, asked);
    };
    if entry.id != asked {
        return Redirect::permanent(&format!("/catalogue/{}", entry.id)).into_response();
    }
    let ids: Vec<&str> = entry.routes.iter().rev().map(|r| r.operation_id.as_str()).collect();
    let doc = Operation::find(&bouquet.openapi, &ids);
    render(&detail(&site, entry, doc.as_ref()))
}

fn detail(site: &Site, entry: Entry, doc: Option<&Operation>) -> DetailPage {
    let bouquet = site.bouquet();
    let endpoint = entry.endpoint;
    let sandbox = examples::find(&entry.id);
    let example = shown(sandbox, doc);
    let data = sandbox.and_then(|e| e.body.get("data"));
    let (fields, source) = fields::rows(endpoint, doc, data);
    let latest = entry.routes.last().map(|r| r.version).unwrap_or_default();
    DetailPage {
        frame: Frame::new(site, "catalogue"),
        mode: mode(endpoint.mode),
        cache: cache(endpoint.cache),
        deprecated: doc.is_some_and(Operation::deprecated),
        described: fields.iter().any(|f| !f.description.is_empty()),
        fields,
        data_is_list: data.is_some_and(serde_json::Value::is_array),
        fields_source: match source {
            Source::Catalogue => "le catalogue de la passerelle",
            Source::Example => "l'exemple de réponse ci-dessous",
            Source::OpenApi => "le document OpenAPI",
            Source::Nowhere => "",
        },
        mask_scopes: fields::mask_scopes(endpoint),
        params: params::rows(bouquet, endpoint, doc),
        errors: errors::groups(bouquet, endpoint, doc),
        curl: call::curl(bouquet, endpoint, latest, sandbox.map(|e| &e.params)),
        from_sandbox: sandbox.is_some(),
        france_connect: endpoint.mode == Mode::FranceConnect,
        example,
        entry,
    }
}

fn shown(sandbox: Option<&examples::Example>, doc: Option<&Operation>) -> Option<Shown> {
    if let Some(example) = sandbox {
        return Some(Shown {
            json: pretty(&example.body),
            case: Some(example.case.clone()),
            description: example.description.clone(),
        });
    }
    doc.and_then(Operation::example).map(|body| Shown {
        json: pretty(&body),
        case: None,
        description: String::new(),
    })
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn not_found(site: &Site, asked: String) -> Response {
    let mut response = render(&NotFound {
        frame: Frame::new(site, "catalogue"),
        asked: asked.chars().take(200).collect(),
    });
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}

fn mode(mode: Mode) -> &'static str {
    match mode {
        Mode::Identite => "Identité de la personne (état civil)",
        Mode::FranceConnect => "FranceConnect (l'usager s'est connecté)",
        Mode::Ine => "INE de l'étudiant",
        Mode::Identifiant => "Identifiant de la personne auprès du fournisseur",
        Mode::Subject => "Entité désignée dans le chemin",
    }
}

fn cache(cache: Cache) -> String {
    match cache {
        Cache::Never => "aucune mise en cache".into(),
        Cache::For { secs } if secs >= 3600 && secs % 3600 == 0 => format!("{} h", secs / 3600),
        Cache::For { secs } if secs >= 60 => format!("{} min", secs / 60),
        Cache::For { secs } => format!("{secs} s"),
        Cache::UntilTomorrowAt { hour } => format!("jusqu'au lendemain {hour} h (heure de Paris)"),
        Cache::UntilMidnight => "jusqu'à minuit (heure de Paris)".into(),
        Cache::UntilEndOfMonth => "jusqu'à la fin du mois".into(),
    }
}
