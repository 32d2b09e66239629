//! From a CSV row to a call: which column becomes which query or path parameter.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};

/// Column → parameter renames, read from a two-column CSV (`column,parameter`). A column
/// mapped to an empty parameter is left out of the call (a spreadsheet's own notes).
#[derive(Debug, Clone, Default)]
pub struct Mapping(pub HashMap<String, String>);

impl Mapping {
    pub fn read(path: &Path) -> anyhow::Result<Mapping> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .with_context(|| format!("reading the mapping {}", path.display()))?;
        let mut renames = HashMap::new();
        for record in reader.records() {
            let record = record?;
            let (Some(column), Some(parameter)) = (record.get(0), record.get(1)) else {
                bail!("each mapping line needs a column and a parameter");
            };
            renames.insert(column.to_string(), parameter.to_string());
        }
        Ok(Mapping(renames))
    }

    fn parameter<'a>(&'a self, column: &'a str) -> &'a str {
        self.0.get(column).map(String::as_str).unwrap_or(column)
    }
}

/// The parameters every row carries (the caller's identity and purpose).
#[derive(Debug, Clone, Default)]
pub struct Fixed {
    pub recipient: Option<String>,
    pub context: Option<String>,
    pub object: Option<String>,
}

/// One row's call: the path with its `{placeholders}` filled, and the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub path: String,
    pub query: Vec<(String, String)>,
}

/// Builds the call of one row. Empty cells are left out; a list parameter (`prenoms`, or
/// any `name[]`) takes space-separated values, repeated as `name[]`.
pub fn call_for(
    endpoint: &str,
    headers: &[String],
    row: &[String],
    mapping: &Mapping,
    fixed: &Fixed,
) -> anyhow::Result<Call> {
    let mut path = endpoint.to_string();
    let mut query = Vec::new();
    for (column, value) in headers.iter().zip(row) {
        let parameter = mapping.parameter(column);
        let value = value.trim();
        if parameter.is_empty() || value.is_empty() {
            continue;
        }
        let placeholder = format!("{{{parameter}}}");
        if path.contains(&placeholder) {
            path = path.replace(&placeholder, &encode_segment(value));
        } else if let Some(list) = list_name(parameter) {
            query.extend(value.split_whitespace().map(|v| (format!("{list}[]"), v.to_string())));
        } else {
            query.push((parameter.to_string(), value.to_string()));
        }
    }
    if let Some(missing) = placeholder_left(&path) {
        bail!("no value for the path parameter {{{missing}}}");
    }
    for (name, value) in [
        ("recipient", &fixed.recipient),
        ("context", &fixed.context),
        ("object", &fixed.object),
    ] {
        if let Some(value) = value {
            if !query.iter().any(|(k, _)| k == name) {
                query.push((name.to_string(), value.clone()));
            }
        }
    }
    Ok(Call { path, query })
}

/// Checks, before any call, that every path parameter has a column.
pub fn check_columns(endpoint: &str, headers: &[String], mapping: &Mapping) -> anyhow::Result<()> {
    let mut path = endpoint.to_string();
    for column in headers {
        path = path.replace(&format!("{{{}}}", mapping.parameter(column)), "x");
    }
    match placeholder_left(&path) {
        Some(missing) => bail!("no column for the path parameter {{{missing}}}"),
        None => Ok(()),
    }
}

/// `prenoms` (the contract's list of given names) and `name[]` are lists.
fn list_name(parameter: &str) -> Option<&str> {
    match parameter.strip_suffix("[]") {
        Some(name) => Some(name),
        None if parameter == "prenoms" => Some(parameter),
        None => None,
    }
}

fn placeholder_left(path: &str) -> Option<&str> {
    let start = path.find('{')?;
    let end = path[start..].find('}')? + start;
    Some(&path[start + 1..end])
}

/// Percent-encodes a path segment (identifiers are plain digits; anything else must not
/// change the path).
fn encode_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn columns_are_query_parameters_and_prenoms_is_a_list() {
        let headers = strings(&["nomNaissance", "prenoms", "sexeEtatCivil"]);
        let row = strings(&["MARTIN", " AXELLE  MARIE ", "F"]);
        let fixed = Fixed {
            recipient: Some("13002526500013".into()),
            ..Fixed::default()
        };
        let call = call_for(
            "/v3/dss/quotient_familial/identite",
            &headers,
            &row,
            &Mapping::default(),
            &fixed,
        )
        .unwrap();
        assert_eq!(call.path, "/v3/dss/quotient_familial/identite");
        assert_eq!(
            call.query,
            pairs(&[
                ("nomNaissance", "MARTIN"),
                ("prenoms[]", "AXELLE"),
                ("prenoms[]", "MARIE"),
                ("sexeEtatCivil", "F"),
                ("recipient", "13002526500013"),
            ])
        );
    }

    #[test]
    fn path_parameters_come_from_their_column_and_entreprise_gets_its_purpose() {
        let headers = strings(&["siren", "note"]);
        let row = strings(&["418166096", "client A"]);
        let mapping = Mapping([("note".to_string(), String::new())].into());
        let fixed = Fixed {
            recipient: Some("13002526500013".into()),
            context: Some("Marché 12".into()),
            object: Some("Candidature".into()),
        };
        let call = call_for("/v3/insee/unites_legales/{siren}", &headers, &row, &mapping, &fixed).unwrap();
        assert_eq!(call.path, "/v3/insee/unites_legales/418166096");
        assert_eq!(
            call.query,
            pairs(&[
                ("recipient", "13002526500013"),
                ("context", "Marché 12"),
                ("object", "Candidature")
            ])
        );
    }

    #[test]
    fn the_mapping_renames_columns_and_empty_cells_are_left_out() {
        let headers = strings(&["Nom", "Prénoms", "Sexe", "siret"]);
        let row = strings(&["DUPONT", "JEAN", "", "../x"]);
        let mapping = Mapping(
            [
                ("Nom", "nomNaissance"),
                ("Prénoms", "prenoms[]"),
                ("Sexe", "sexeEtatCivil"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into(),
        );
        let call = call_for("/v3/x/{siret}", &headers, &row, &mapping, &Fixed::default()).unwrap();
        assert_eq!(call.path, "/v3/x/..%2Fx");
        assert_eq!(call.query, pairs(&[("nomNaissance", "DUPONT"), ("prenoms[]", "JEAN")]));
    }

    #[test]
    fn a_path_parameter_without_column_or_value_is_refused() {
        let headers = strings(&["siret"]);
        assert!(check_columns("/v3/insee/unites_legales/{siren}", &headers, &Mapping::default()).is_err());
        assert!(check_columns("/v3/insee/etablissements/{siret}", &headers, &Mapping::default()).is_ok());
        let empty = call_for(
            "/v3/x/{siret}",
            &headers,
            &strings(&[""]),
            &Mapping::default(),
            &Fixed::default(),
        );
        assert!(empty.is_err());
    }

    #[test]
    fn a_column_of_the_row_wins_over_the_fixed_recipient() {
        let headers = strings(&["recipient"]);
        let fixed = Fixed {
            recipient: Some("1".into()),
            ..Fixed::default()
        };
        let call = call_for("/v3/x", &headers, &strings(&["2"]), &Mapping::default(), &fixed).unwrap();
        assert_eq!(call.query, pairs(&[("recipient", "2")]));
    }

    #[test]
    fn a_mapping_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mapping.csv");
        std::fs::write(&path, "column,parameter\nNom, nomNaissance\nNotes,\n").unwrap();
        let mapping = Mapping::read(&path).unwrap();
        assert_eq!(mapping.parameter("Nom"), "nomNaissance");
        assert_eq!(mapping.parameter("Notes"), "");
        assert_eq!(mapping.parameter("other"), "other");
    }
}
