//! The OpenAPI document served at `/api/open-api.yml`: the operations this gateway
//! serves, each in its versions, with their path and query parameters.

use passerelle_bouquet::Endpoint;
use serde_json::{json, Map, Value};

use crate::{operation, OPERATION_PREFIX};

const SIRET_PATTERN: &str = "^[0-9]{14}$";

fn purpose_params() -> Vec<Value> {
    let query = |name: &str, schema: Value, description: &str| json!({"name": name, "in": "query", "required": true, "schema": schema, "description": description});
    vec![
        query(
            "context",
            json!({"type": "string"}),
            "Cadre de l'appel : aides publiques, marchés publics…",
        ),
        query(
            "recipient",
            json!({"type": "string", "pattern": SIRET_PATTERN}),
            "SIRET de l'organisme public destinataire des données.",
        ),
        query(
            "object",
            json!({"type": "string"}),
            "Raison de l'appel ou référence de la procédure.",
        ),
        json!({"name": "Cache-Control", "in": "header", "required": false, "schema": {"type": "string"},
               "description": "no-cache : ignore le cache de réponses."}),
    ]
}

fn path_param(name: &str) -> Value {
    let schema = match name {
        "siren" => json!({"type": "string", "pattern": "^[0-9]{9}$"}),
        "siret" => json!({"type": "string", "pattern": SIRET_PATTERN}),
        "year" => json!({"type": "string", "pattern": "^[0-9]{4}$"}),
        "month" => json!({"type": "string", "pattern": "^(0[1-9]|1[0-2])$"}),
        _ => json!({"type": "string"}),
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn get(endpoint: &Endpoint, version: u8) -> Value {
    let mut parameters: Vec<Value> = endpoint.path_params().map(path_param).collect();
    parameters.extend(purpose_params());
    parameters.extend(endpoint.extra_params.iter().map(|p| {
        json!({"name": p.name, "in": "query", "required": p.required, "schema": {"type": p.kind}, "description": p.description})
    }));
    let deprecated = operation(endpoint).is_some_and(|o| o.deprecated.contains(&version));
    let security = if endpoint.access_scopes.is_empty() {
        json!([])
    } else {
        json!([{"jwt_bearer_token": []}])
    };
    json!({"get": {
        "summary": endpoint.title,
        "operationId": format!("{OPERATION_PREFIX}_v{version}_{}", endpoint.operation_stem()),
        "deprecated": deprecated,
        "security": security,
        "parameters": parameters,
        "responses": {
            "200": {"description": "Données trouvées", "content": {"application/json": {"schema": {
                "type": "object", "required": ["data", "links", "meta"],
                "properties": {"data": {}, "links": {"type": "object"}, "meta": {"type": "object"}}
            }}}},
            "401": error_response("Jeton absent, invalide, expiré ou sur liste noire"),
            "403": error_response("Privilèges insuffisants ou adresse IP non autorisée"),
            "404": error_response("Entité non trouvée, ou version non prise en charge"),
            "409": error_response("Appel identique déjà en cours"),
            "422": error_response("Paramètres invalides"),
            "429": error_response("Trop de requêtes"),
            "451": error_response("Entité protégée"),
            "502": error_response("Erreur du fournisseur de données"),
            "503": error_response("Fournisseur de données en maintenance"),
            "504": error_response("Le fournisseur de données n'a pas répondu à temps"),
        }
    }})
}

/// `GET /privileges`: the scopes of the caller's token (no purpose parameters).
fn privileges() -> Value {
    json!({"get": {
        "summary": "Droits du jeton",
        "description": "Les scopes que porte le jeton présenté.",
        "operationId": format!("{OPERATION_PREFIX}_privileges"),
        "security": [{"jwt_bearer_token": []}],
        "responses": {
            "200": {"description": "Les droits du jeton", "content": {"application/json": {"schema": {
                "type": "object", "required": ["data"],
                "properties": {"data": {"type": "object", "required": ["privileges"], "properties": {
                    "privileges": {"type": "array", "items": {"type": "string"}}
                }}}
            }}}},
            "401": error_response("Jeton absent, invalide, expiré ou sur liste noire"),
            "403": error_response("Adresse IP non autorisée"),
        }
    }})
}

pub fn document(endpoints: &[&'static Endpoint]) -> String {
    let mut paths = Map::new();
    paths.insert("/privileges".to_string(), privileges());
    for endpoint in endpoints {
        for version in endpoint.versions {
            paths.insert(endpoint.public_path(*version), get(endpoint, *version));
        }
    }
    let doc = json!({
        "openapi": "3.0.0",
        "info": {"title": "Passerelle — API Entreprise", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Points d'accès servis par cette passerelle, au contrat public d'API Entreprise (v3, v4). Chaque appel porte context, recipient et object."},
        "paths": paths,
        "components": {
            "securitySchemes": {"jwt_bearer_token": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": passerelle_bouquet::error_schema()}
        }
    });
    serde_yaml::to_string(&doc).unwrap_or_default()
}
