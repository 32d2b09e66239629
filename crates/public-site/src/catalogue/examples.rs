//! Example answers taken from the official sandbox cases by
//! `tools/derive_catalogue_examples.py`, built into the binary so that the catalogue
//! needs no sandbox folder at run time.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

const FILES: &[(&str, &str)] = &[
    (
        "examples-particulier.json",
        include_str!("../../data/examples-particulier.json"),
    ),
    (
        "examples-entreprise.json",
        include_str!("../../data/examples-entreprise.json"),
    ),
];

/// One sandbox case's 200 answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Example {
    /// `<operation id>/<file>` in the sandbox cases.
    pub case: String,
    #[serde(default)]
    pub description: String,
    /// The parameters the case answers (as the sandbox writes them).
    #[serde(default)]
    pub params: Map<String, Value>,
    /// The whole answer: `data`, `links`, `meta`.
    pub body: Value,
}

#[derive(Deserialize)]
struct File {
    examples: HashMap<String, Example>,
}

/// The example of operation `id`, if a sandbox case gives one.
pub fn find(id: &str) -> Option<&'static Example> {
    all().get(id)
}

/// Every example, by operation id, read once.
pub fn all() -> &'static HashMap<String, Example> {
    static ALL: OnceLock<HashMap<String, Example>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = HashMap::new();
        for (name, text) in FILES {
            match serde_json::from_str::<File>(text) {
                Ok(file) => all.extend(file.examples),
                Err(e) => tracing::error!(file = name, error = %e, "catalogue examples unreadable"),
            }
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_files_parse_and_each_example_is_an_answer() {
        let all = all();
        assert!(all.keys().any(|k| k.starts_with("api_particulier_v3_")));
        assert!(all.keys().any(|k| k.starts_with("api_entreprise_v3_")));
        for (id, example) in all {
            assert!(example.case.starts_with(&format!("{id}/")), "{id}: {}", example.case);
            assert!(example.body.get("data").is_some(), "{id}");
        }
    }
}
