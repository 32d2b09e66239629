//! The query string as an ordered list of pairs: `prenoms[]` repeats, so a map won't do.

/// Decoded query pairs, in the order the client sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Query(pairs)
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Query(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    /// First value of `key`, with blank values treated as absent (as the contract does).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// First value of `key` as sent, blank or not: for the few parameters where an
    /// empty value is an error rather than an absence (`profondeur`, `limit`).
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every non-blank value of `key` (for array parameters such as `prenoms[]`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keeps_blank_values_that_get_skips() {
        let query = Query::from_pairs(&[("profondeur", ""), ("profondeur", "3"), ("limit", " ")]);
        assert_eq!(query.raw("profondeur"), Some(""));
        assert_eq!(query.get("profondeur"), Some("3"));
        assert_eq!(query.raw("limit"), Some(" "));
        assert_eq!(query.get("limit"), None);
        assert_eq!(query.raw("object"), None);
    }
}
