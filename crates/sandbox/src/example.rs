//! The 200 that API Entreprise's sandbox answers when no case matches (contract §12):
//! a body built from the operation's 200 schema in the OpenAPI document. Each value is
//! the schema's `example`, else its first `enum` value, else `"dummy"`, an integer or
//! `true`; an array holds one element; `oneOf` / `anyOf` take their first branch.
//! The real staging picks a random integer and a random branch: here both are fixed,
//! so that the same call always gets the same answer.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

/// The official 200 schemas of the 51 operations, trimmed by
/// `tools/derive_entreprise_sandbox_schemas.py` from the official OpenAPI file.
const BUNDLED: &str = include_str!("../data/api-entreprise-200.json");

/// The integer the real staging would draw at random (0 to 49).
const INTEGER: i64 = 42;

/// Nesting past this depth is cut (a schema is a tree, but a file may be wrong).
const MAX_DEPTH: usize = 32;

/// The 200 response schema of each operation id of an OpenAPI document.
#[derive(Debug, Clone, Default)]
pub struct Schemas(HashMap<String, Value>);

impl Schemas {
    /// The copy committed with the sandbox.
    pub fn bundled() -> Schemas {
        Schemas::parse(BUNDLED).unwrap_or_default()
    }

    /// An OpenAPI document, YAML or JSON: the official file or the trimmed copy.
    pub fn read(path: &Path) -> Result<Schemas, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Schemas::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn parse(text: &str) -> Result<Schemas, String> {
        let document: Value = serde_yaml::from_str(text).map_err(|e| format!("not an OpenAPI document: {e}"))?;
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("no `paths` in the OpenAPI document")?;
        let schemas = paths
            .values()
            .filter_map(|path| path.get("get"))
            .filter_map(|get| {
                let ok = get.pointer("/responses/200")?;
                // The official file keeps the id as `x-operationId` in the 200 response.
                let id = get.get("operationId").or_else(|| ok.get("x-operationId"))?.as_str()?;
                let schema = ok.pointer("/content/application~1json/schema")?;
                Some((id.to_string(), schema.clone()))
            })
            .collect();
        Ok(Schemas(schemas))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn schema(&self, operation_id: &str) -> Option<&Value> {
        self.0.get(operation_id)
    }

    /// The generated answer of `operation_id`, if the document has its 200 schema.
    pub fn example(&self, operation_id: &str) -> Option<Value> {
        self.schema(operation_id).map(|s| generate(s, 0))
    }
}

/// A value that fits `schema`.
pub fn generate(schema: &Value, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    let branch = ["oneOf", "anyOf"]
        .iter()
        .find_map(|key| schema.get(*key)?.as_array()?.first());
    if let Some(branch) = branch {
        return generate(branch, depth + 1);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => Value::String("dummy".into()),
        Some("integer" | "number") => Value::from(INTEGER),
        Some("boolean") => Value::Bool(true),
        Some("array") => {
            let item = schema.get("items").map_or(Value::Null, |i| generate(i, depth + 1));
            Value::Array(vec![item])
        }
        Some("object") => object(schema, depth),
        _ if schema.get("properties").is_some() => object(schema, depth),
        _ => Value::Null,
    }
}

fn object(schema: &Value, depth: usize) -> Value {
    let properties = schema.get("properties").and_then(Value::as_object);
    let members: Map<String, Value> = properties
        .into_iter()
        .flatten()
        .map(|(name, s)| (name.clone(), generate(s, depth + 1)))
        .collect();
    Value::Object(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn examples_come_first_then_enums_then_a_value_of_the_type() {
        let schema = json!({"type": "object", "properties": {
            "siren": {"type": "string", "example": "130025265"},
            "etat": {"type": "string", "enum": ["A", "C"]},
            "nom": {"type": "string"},
            "effectif": {"type": "integer"},
            "taux": {"type": "number"},
            "actif": {"type": "boolean"},
            "dates": {"type": "array", "items": {"type": "string", "example": "2020-01-01"}},
            "adresse": {"properties": {"ville": {"type": "string", "enum": ["Paris"]}}},
            "inconnu": {}
        }});
        assert_eq!(
            generate(&schema, 0),
            json!({"siren": "130025265", "etat": "A", "nom": "dummy", "effectif": 42, "taux": 42,
                   "actif": true, "dates": ["2020-01-01"], "adresse": {"ville": "Paris"}, "inconnu": null})
        );
    }

    #[test]
    fn one_of_takes_its_first_branch_every_time() {
        let schema = json!({"oneOf": [{"type": "string", "example": "premier"}, {"type": "integer"}]});
        assert_eq!(generate(&schema, 0), json!("premier"));
        let any = json!({"anyOf": [{"type": "boolean"}, {"type": "string"}]});
        assert_eq!(generate(&any, 0), json!(true));
    }

    #[test]
    fn an_example_of_a_whole_object_is_kept_as_is() {
        let schema = json!({"type": "object", "example": {"a": 1}, "properties": {"b": {"type": "string"}}});
        assert_eq!(generate(&schema, 0), json!({"a": 1}));
    }

    #[test]
    fn the_bundled_document_has_every_operation_of_the_catalogue() {
        let schemas = Schemas::bundled();
        let missing: Vec<String> = passerelle_entreprise::OPERATIONS
            .iter()
            .flat_map(|o| o.endpoint.versions.iter().map(move |v| (o, *v)))
            .map(|(o, v)| format!("api_entreprise_v{v}_{}", o.endpoint.operation_stem()))
            .filter(|id| schemas.schema(id).is_none())
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
        assert_eq!(schemas.len(), 51);
    }

    #[test]
    fn a_document_without_paths_is_refused() {
        assert!(Schemas::parse("openapi: 3.0.0\n").is_err());
        assert!(Schemas::parse("[").is_err());
    }
}
