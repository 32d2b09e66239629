//! What an endpoint returns: the fields of its `data`, their types and descriptions
//! where the OpenAPI document gives them (else the type the example shows), and the
//! scopes that open each masked field.

use passerelle_bouquet::Endpoint;
use serde_json::{Map, Value};

use super::openapi::{type_of, Operation};

/// One top-level field of `data`.
pub struct FieldRow {
    pub name: String,
    /// In words; empty when neither the document nor an example tells.
    pub kind: String,
    pub description: String,
    /// The scopes of the masks on this field or inside it; empty: every access scope.
    pub scopes: Vec<&'static str>,
}

/// A scope that opens some fields only, and those fields.
pub struct MaskScope {
    pub scope: &'static str,
    pub fields: Vec<&'static str>,
}

/// Where the list of fields came from, said on the page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Catalogue,
    Example,
    OpenApi,
    Nowhere,
}

/// The fields of `endpoint`'s `data`, and where their list came from.
pub fn rows(endpoint: &Endpoint, doc: Option<&Operation>, data: Option<&Value>) -> (Vec<FieldRow>, Source) {
    let described = doc.map(Operation::data_properties).unwrap_or_default();
    let (names, source) = names(endpoint, data, &described);
    let sample = data.map(first_item);
    let rows = names
        .into_iter()
        .map(|name| {
            let schema = described.get(&name);
            let kind = schema
                .and_then(type_of)
                .or_else(|| sample.and_then(|s| s.get(&name)).map(value_kind))
                .unwrap_or_default();
            let description = schema.and_then(|s| s.get("description")).and_then(Value::as_str);
            FieldRow {
                scopes: masked_by(endpoint, &name),
                description: description.unwrap_or_default().to_string(),
                kind,
                name,
            }
        })
        .collect();
    (rows, source)
}

fn names(endpoint: &Endpoint, data: Option<&Value>, described: &Map<String, Value>) -> (Vec<String>, Source) {
    if !endpoint.fields.is_empty() {
        return (
            endpoint.fields.iter().map(|f| f.to_string()).collect(),
            Source::Catalogue,
        );
    }
    if let Some(object) = data.map(first_item).and_then(Value::as_object) {
        return (object.keys().cloned().collect(), Source::Example);
    }
    if !described.is_empty() {
        return (described.keys().cloned().collect(), Source::OpenApi);
    }
    (Vec::new(), Source::Nowhere)
}

/// `data` itself, or its first item when it is a list (API Entreprise's lists).
fn first_item(data: &Value) -> &Value {
    match data {
        Value::Array(items) => items
            .first()
            .and_then(|i| i.get("data"))
            .or(items.first())
            .unwrap_or(data),
        _ => data,
    }
}

fn value_kind(value: &Value) -> String {
    let word = match value {
        Value::Null => return String::new(),
        Value::Bool(_) => "booléen",
        Value::Number(n) if n.is_i64() || n.is_u64() => "entier",
        Value::Number(_) => "nombre",
        Value::String(_) => "texte",
        Value::Array(_) => "liste",
        Value::Object(_) => "objet",
    };
    format!("{word} (d'après l'exemple)")
}

/// The scopes of the masks on field `name` or on a field inside it.
fn masked_by(endpoint: &Endpoint, name: &str) -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = endpoint
        .masks
        .iter()
        .filter(|m| within(m.path, name))
        .flat_map(|m| m.scopes.iter().copied())
        .collect();
    scopes.dedup();
    scopes
}

fn within(path: &str, field: &str) -> bool {
    match path.strip_prefix(field) {
        Some(rest) => rest.is_empty() || rest.starts_with('.') || rest.starts_with("[]"),
        None => false,
    }
}

/// Each scope that opens masked fields, in the masks' order, with the fields it opens.
pub fn mask_scopes(endpoint: &Endpoint) -> Vec<MaskScope> {
    let mut scopes: Vec<MaskScope> = Vec::new();
    for mask in endpoint.masks {
        for scope in mask.scopes {
            match scopes.iter_mut().find(|s| s.scope == *scope) {
                Some(known) => known.fields.push(mask.path),
                None => scopes.push(MaskScope {
                    scope,
                    fields: vec![mask.path],
                }),
            }
        }
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_belongs_to_its_field_and_to_the_fields_above_it() {
        assert!(within("adresse", "adresse"));
        assert!(within("enfants[].nom", "enfants"));
        assert!(within("identite.nom", "identite"));
        assert!(!within("adresse_postale", "adresse"));
    }

    #[test]
    fn kinds_of_example_values() {
        assert_eq!(value_kind(&serde_json::json!(3)), "entier (d'après l'exemple)");
        assert_eq!(value_kind(&serde_json::json!([1])), "liste (d'après l'exemple)");
        assert_eq!(value_kind(&Value::Null), "");
    }
}
