//! What the bouquet's own OpenAPI document says of one operation: its parameters, its
//! responses, the schema of its `data` and an example, when it has them.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// One operation of the document (`paths.<path>.get`), with the document to resolve
/// its `$ref`s against.
pub struct Operation {
    doc: Arc<Value>,
    operation: Value,
}

impl Operation {
    /// The operation whose `operationId` is one of `ids`, the first found in that order.
    pub fn find(yaml: &str, ids: &[&str]) -> Option<Operation> {
        let doc = parsed(yaml)?;
        let operations: Vec<&Value> = doc
            .get("paths")?
            .as_object()?
            .values()
            .filter_map(Value::as_object)
            .flat_map(|methods| methods.values())
            .collect();
        let found = ids.iter().find_map(|id| {
            operations
                .iter()
                .find(|op| op.get("operationId").and_then(Value::as_str) == Some(id))
        })?;
        let operation = (*found).clone();
        Some(Operation { doc, operation })
    }

    /// `$ref` followed (within the document), at most a few times.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..8 {
            let Some(target) = value.get("$ref").and_then(Value::as_str) else {
                break;
            };
            match target.strip_prefix('#').and_then(|p| self.doc.pointer(p)) {
                Some(found) => value = found,
                None => break,
            }
        }
        value
    }

    /// The parameter `name` (`in` `place`), if the document lists it.
    pub fn parameter(&self, name: &str, place: &str) -> Option<&Value> {
        self.parameters().into_iter().find(|p| {
            p.get("name").and_then(Value::as_str) == Some(name) && p.get("in").and_then(Value::as_str) == Some(place)
        })
    }

    pub fn parameters(&self) -> Vec<&Value> {
        let list = self.operation.get("parameters").and_then(Value::as_array);
        list.into_iter().flatten().map(|p| self.resolve(p)).collect()
    }

    /// Each response status the document lists, with its description, in order.
    pub fn responses(&self) -> Vec<(String, String)> {
        let Some(responses) = self.operation.get("responses").and_then(Value::as_object) else {
            return Vec::new();
        };
        responses
            .iter()
            .map(|(status, response)| {
                let text = self.resolve(response).get("description").and_then(Value::as_str);
                (status.clone(), text.unwrap_or_default().to_string())
            })
            .collect()
    }

    pub fn deprecated(&self) -> bool {
        self.operation.get("deprecated").and_then(Value::as_bool) == Some(true)
    }

    /// The 200 answer's media types.
    fn ok_contents(&self) -> Vec<&Value> {
        let ok = self.operation.pointer("/responses/200").map(|r| self.resolve(r));
        let contents = ok.and_then(|r| r.get("content")).and_then(Value::as_object);
        contents.into_iter().flat_map(|c| c.values()).collect()
    }

    /// The properties of the 200 answer's `data`, as the document describes them.
    pub fn data_properties(&self) -> Map<String, Value> {
        for content in self.ok_contents() {
            let Some(schema) = content.get("schema").map(|s| self.resolve(s)) else {
                continue;
            };
            let data = schema.pointer("/properties/data").map(|d| self.resolve(d));
            if let Some(properties) = data.and_then(|d| d.get("properties")).and_then(Value::as_object) {
                return properties
                    .iter()
                    .map(|(name, p)| (name.clone(), self.resolve(p).clone()))
                    .collect();
            }
        }
        Map::new()
    }

    /// An example 200 answer, if the document gives one (`example`, `examples` or the
    /// schema's `example`).
    pub fn example(&self) -> Option<Value> {
        self.ok_contents().into_iter().find_map(|content| {
            let named = content
                .get("examples")
                .and_then(Value::as_object)
                .and_then(|all| all.values().next())
                .map(|e| self.resolve(e))
                .and_then(|e| e.get("value"));
            let schema = content
                .get("schema")
                .map(|s| self.resolve(s))
                .and_then(|s| s.get("example"));
            content.get("example").or(named).or(schema).cloned()
        })
    }
}

/// The document parsed, kept for the next pages: it is the same for the life of the
/// process (one per bouquet served).
fn parsed(yaml: &str) -> Option<Arc<Value>> {
    static PARSED: Mutex<Vec<(String, Arc<Value>)>> = Mutex::new(Vec::new());
    let mut parsed = PARSED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, doc)) = parsed.iter().find(|(text, _)| text == yaml) {
        return Some(doc.clone());
    }
    let doc: Value = match serde_yaml::from_str(yaml) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::warn!(error = %e, "the bouquet's OpenAPI document does not parse");
            return None;
        }
    };
    let doc = Arc::new(doc);
    if parsed.len() >= 4 {
        parsed.remove(0);
    }
    parsed.push((yaml.to_string(), doc.clone()));
    Some(doc)
}

/// A schema's type in words (`texte`, `liste de objet`…), with its format if any.
pub fn type_of(schema: &Value) -> Option<String> {
    let kind = schema.get("type").and_then(Value::as_str)?;
    let word = match kind {
        "array" => {
            let items = schema.get("items").and_then(type_of);
            return Some(format!(
                "liste{}",
                items.map(|t| format!(" de {t}")).unwrap_or_default()
            ));
        }
        other => kind_word(other),
    };
    Some(match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{word} ({format})"),
        None => word.to_string(),
    })
}

fn kind_word(kind: &str) -> &str {
    match kind {
        "string" => "texte",
        "integer" => "entier",
        "number" => "nombre",
        "boolean" => "booléen",
        "object" => "objet",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r##"
openapi: 3.0.0
paths:
  /v3/x/{siren}:
    get:
      operationId: api_x_v3_x
      deprecated: true
      parameters:
        - $ref: '#/components/parameters/Siren'
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Answer'
              example: {data: {nom: ACME}}
        '404': {description: Inconnue}
  /v4/x/{siren}:
    get:
      operationId: api_x_v4_x
      responses: {}
components:
  parameters:
    Siren: {name: siren, in: path, required: true, schema: {type: string, pattern: '^[0-9]{9}$'}}
  schemas:
    Answer:
      type: object
      properties:
        data:
          type: object
          properties:
            nom: {type: string, description: Raison sociale}
            dates: {type: array, items: {type: string, format: date}}
"##;

    #[test]
    fn an_operation_is_read_through_its_references() {
        let op = Operation::find(DOC, &["nope", "api_x_v3_x"]).unwrap();
        assert!(op.deprecated());
        assert_eq!(
            op.parameter("siren", "path").unwrap()["schema"]["pattern"],
            "^[0-9]{9}$"
        );
        assert_eq!(
            op.responses(),
            vec![("200".into(), "ok".into()), ("404".into(), "Inconnue".into())]
        );
        let data = op.data_properties();
        assert_eq!(data["nom"]["description"], "Raison sociale");
        assert_eq!(type_of(&data["dates"]).unwrap(), "liste de texte (date)");
        assert_eq!(op.example().unwrap()["data"]["nom"], "ACME");
        let v4 = Operation::find(DOC, &["api_x_v4_x"]).unwrap();
        assert!(v4.example().is_none() && v4.data_properties().is_empty() && !v4.deprecated());
        assert!(Operation::find("{{{", &["api_x_v3_x"]).is_none());
    }
}
