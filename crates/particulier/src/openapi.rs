//! The OpenAPI document served at `/api/open-api.yml`, generated from the catalogue
//! so that it always lists exactly what this gateway serves.

use passerelle_catalogue::{Endpoint, Mode};
use serde_json::{json, Map, Value};

fn param(name: &str, required: bool, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": required, "schema": schema, "description": description})
}

fn identity_params(endpoint: &Endpoint) -> Vec<Value> {
    let Some(rules) = endpoint.civility else {
        return Vec::new();
    };
    let string = json!({"type": "string"});
    let integer = json!({"type": "integer"});
    vec![
        param("nomNaissance", true, string.clone(), "Nom de naissance."),
        param("nomUsage", false, string.clone(), "Nom d'usage."),
        param(
            "prenoms[]",
            rules.prenoms_required,
            json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": rules.max_prenoms}),
            "Prénoms, un par paramètre.",
        ),
        param(
            "anneeDateNaissance",
            rules.birth_date_required,
            integer.clone(),
            "Année de naissance.",
        ),
        param(
            "moisDateNaissance",
            rules.birth_date_required,
            integer.clone(),
            "Mois de naissance.",
        ),
        param(
            "jourDateNaissance",
            rules.birth_date_required,
            integer,
            "Jour de naissance.",
        ),
        param(
            "sexeEtatCivil",
            rules.sexe_required,
            json!({"type": "string", "enum": ["M", "F"]}),
            "Sexe à l'état civil.",
        ),
        param(
            "codeCogInseePaysNaissance",
            rules.pays_required,
            json!({"type": "string", "minLength": 5, "maxLength": 5}),
            "Code COG INSEE du pays de naissance (99100 : France ; la France quand il est absent et facultatif).",
        ),
        param(
            "codeCogInseeCommuneNaissance",
            false,
            json!({"type": "string", "minLength": 5, "maxLength": 5}),
            "Code COG INSEE de la commune de naissance.",
        ),
        param(
            "nomCommuneNaissance",
            false,
            string,
            "Nom de la commune de naissance (avec le département et l'année de naissance).",
        ),
        param(
            "codeCogInseeDepartementNaissance",
            false,
            json!({"type": "string", "minLength": 2, "maxLength": 3}),
            "Code du département de naissance.",
        ),
    ]
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/vnd.api+json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn operation(endpoint: &Endpoint, version: u8) -> Value {
    let mut parameters = vec![param(
        "recipient",
        true,
        json!({"type": "string", "pattern": "^[0-9]{14}$"}),
        "SIRET de l'administration destinataire des données.",
    )];
    parameters.push(json!({"name": "Cache-Control", "in": "header", "required": false, "schema": {"type": "string"}, "description": "no-cache : ignore le cache de réponses."}));
    parameters.extend(identity_params(endpoint));
    parameters.extend(
        endpoint
            .extra_params
            .iter()
            .map(|p| param(p.name, p.required, json!({"type": p.kind}), p.description)),
    );
    let fields: Map<String, Value> = endpoint.fields.iter().map(|f| (f.to_string(), json!({}))).collect();
    let mode = match endpoint.mode {
        Mode::Identite => "Identité",
        Mode::FranceConnect => "FranceConnect",
        Mode::Ine => "INE",
        Mode::Identifiant => "Identifiant",
        Mode::Subject => "Entité",
    };
    let unauthorized = if endpoint.mode == Mode::FranceConnect {
        "Jeton FranceConnect absent, mal formé (50001), inconnu, inactif ou expiré (50002), ou sans identité pivot (50003)"
    } else {
        "Jeton absent, invalide, expiré ou révoqué"
    };
    json!({"get": {
        "summary": format!("[{mode}] {}", endpoint.title),
        "operationId": passerelle_catalogue::operation_id(endpoint, version),
        "security": [{"jwt_bearer_token": []}],
        "parameters": parameters,
        "responses": {
            "200": {"description": "Données trouvées", "content": {"application/json": {"schema": {
                "type": "object", "required": ["data", "links", "meta"],
                "properties": {"data": {"type": "object", "properties": fields}, "links": {"type": "object"}, "meta": {"type": "object"}}
            }}}},
            "401": error_response(unauthorized),
            "403": error_response("Privilèges insuffisants ou adresse IP non autorisée"),
            "404": error_response("Personne ou dossier non trouvé, ou version non prise en charge"),
            "409": error_response("Appel identique déjà en cours"),
            "422": error_response("Paramètres invalides"),
            "429": error_response("Trop de requêtes"),
            "502": error_response("Erreur du fournisseur de données"),
            "503": error_response("Fournisseur de données en maintenance"),
            "504": error_response("Le fournisseur de données n'a pas répondu à temps"),
        }
    }})
}

pub fn document() -> String {
    let mut paths = Map::new();
    for endpoint in passerelle_catalogue::all() {
        for version in endpoint.versions {
            paths.insert(endpoint.public_path(*version), operation(endpoint, *version));
        }
    }
    let doc = json!({
        "openapi": "3.0.0",
        "info": {"title": "Passerelle — API Particulier", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Points d'accès servis par cette passerelle, au contrat public d'API Particulier (v3+)."},
        "paths": paths,
        "components": {
            "securitySchemes": {"jwt_bearer_token": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "Le jeton de l'habilitation (JWT) en `Authorization: Bearer`. Sur les points d'accès FranceConnect (`/france_connect`), le jeton d'accès FranceConnect de l'usager à sa place."}},
            "schemas": {"Error": passerelle_bouquet::error_schema()}
        }
    });
    serde_yaml::to_string(&doc).unwrap_or_default()
}
