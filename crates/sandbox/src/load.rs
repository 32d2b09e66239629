//! Reading a case folder in the official sandbox format: one sub-folder per operation
//! id holding YAML cases `{params, status, payload, title?, description?, example?}`
//! and a `404.yaml` fallback, plus the FranceConnect mocks in `france_connect/`.
//! Other files (README, notes) are ignored; a bad case file is reported and left out,
//! never a reason to refuse the others.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use serde_yaml::Value as Yaml;

use crate::params::{self, Params};
use crate::{Case, CaseBook, Folder, FranceConnectMock};

/// The folder holding the FranceConnect mocks (access token → identity).
pub const FRANCE_CONNECT: &str = "france_connect";

/// The case answered when nothing matches.
pub const FALLBACK: &str = "404.yaml";

/// A case file left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Path relative to the case folder (`<operation id>/<file>`).
    pub file: String,
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

/// What a load found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub folders: usize,
    pub cases: usize,
    pub france_connect: usize,
    pub rejected: Vec<Rejected>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} folders, {} cases, {} FranceConnect tokens, {} files rejected",
            self.folders,
            self.cases,
            self.france_connect,
            self.rejected.len()
        )
    }
}

/// Reads every folder of `dir`. Only an unreadable `dir` itself is an error.
pub fn load(dir: &Path) -> std::io::Result<(CaseBook, Report)> {
    let mut book = CaseBook::default();
    let mut report = Report::default();
    for folder in sorted_entries(dir)?.into_iter().filter(|p| p.is_dir()) {
        let Some(name) = folder.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let documents = match read_folder(&folder, &name) {
            Ok(documents) => documents,
            Err(e) => {
                report.rejected.push(Rejected {
                    file: format!("{name}/"),
                    reason: format!("unreadable folder: {e}"),
                });
                continue;
            }
        };
        if name == FRANCE_CONNECT {
            book.france_connect = france_connect_mocks(documents, &mut report.rejected);
            report.france_connect = book.france_connect.len();
        } else {
            let folder = cases(documents, &mut report.rejected);
            report.folders += 1;
            report.cases += folder.cases.len();
            book.folders.insert(name, folder);
        }
    }
    Ok((book, report))
}

/// One YAML document of a case file: its name for reports, and its content or why
/// it could not be read.
struct Document {
    name: String,
    is_fallback: bool,
    content: Result<serde_yaml::Mapping, String>,
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    Ok(entries)
}

fn is_case_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    // Editors' and hidden files (`.#case.yaml`) are not cases.
    yaml && !name.starts_with('.') && path.is_file()
}

fn read_folder(folder: &Path, name: &str) -> std::io::Result<Vec<Document>> {
    let mut documents = Vec::new();
    for path in sorted_entries(folder)?.into_iter().filter(|p| is_case_file(p)) {
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let base = format!("{name}/{file}");
        let is_fallback = file == FALLBACK;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                documents.push(Document {
                    name: base,
                    is_fallback,
                    content: Err(format!("unreadable: {e}")),
                });
                continue;
            }
        };
        let parsed = documents_of(&text);
        let several = parsed.len() > 1;
        for (i, document) in parsed.into_iter().enumerate() {
            let name = if several {
                format!("{base}#{}", i + 1)
            } else {
                base.clone()
            };
            let content = match document {
                Ok(Yaml::Mapping(m)) => Ok(m),
                Ok(Yaml::Null) => Err("empty file".to_string()),
                Ok(_) => Err("not a YAML mapping of `params`, `status`, `payload`".to_string()),
                Err(e) => Err(format!("YAML syntax: {e}")),
            };
            documents.push(Document {
                name,
                is_fallback: is_fallback && i == 0,
                content,
            });
        }
    }
    Ok(documents)
}

/// The YAML documents of a file; a syntax error ends the file (the parser cannot
/// resume after it).
fn documents_of(text: &str) -> Vec<Result<Yaml, serde_yaml::Error>> {
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let parsed = <Yaml as serde::Deserialize>::deserialize(document);
        let failed = parsed.is_err();
        documents.push(parsed);
        if failed {
            break;
        }
    }
    documents
}

fn cases(documents: Vec<Document>, rejected: &mut Vec<Rejected>) -> Folder {
    let mut folder = Folder::default();
    for document in documents {
        let case = document.content.and_then(|m| case(&m, document.is_fallback));
        let case = case.and_then(|(params, query, status, body)| {
            match folder.cases.iter().find(|c| params.is_some() && c.params == params) {
                Some(earlier) => Err(format!("same params as {}", earlier.file)),
                None => Ok(Case {
                    file: document.name.clone(),
                    params,
                    query,
                    status,
                    body,
                }),
            }
        });
        match case {
            Ok(case) => {
                if document.is_fallback {
                    folder.fallback = Some(folder.cases.len());
                }
                folder.cases.push(case);
            }
            Err(reason) => rejected.push(Rejected {
                file: document.name,
                reason,
            }),
        }
    }
    folder
}

/// A case's parameters (none: a fallback only), the same as query pairs, status and body.
type Parts = (Option<Params>, Vec<(String, String)>, u16, Value);

fn case(m: &serde_yaml::Mapping, is_fallback: bool) -> Result<Parts, String> {
    let (params, query) = match m.get("params") {
        Some(Yaml::Mapping(p)) => (Some(params::from_yaml(p)?), params::to_query(p)),
        // `params:` left empty: the case answers the call without parameters.
        Some(Yaml::Null) => (Some(Params::new()), Vec::new()),
        Some(_) => return Err("`params` is not a mapping".into()),
        None if is_fallback => (None, Vec::new()),
        None => return Err("missing `params`".into()),
    };
    Ok((params, query, status(m)?, payload(m)?))
}

fn status(m: &serde_yaml::Mapping) -> Result<u16, String> {
    match m.get("status") {
        None => Err("missing `status`".into()),
        Some(value) => value
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| "`status` is not an HTTP status (100 to 599)".into()),
    }
}

/// The payload is JSON text (`payload: |-` in the official files); a payload written
/// as YAML structure is taken too.
fn payload(m: &serde_yaml::Mapping) -> Result<Value, String> {
    match m.get("payload") {
        None => Err("missing `payload`".into()),
        Some(Yaml::String(text)) => serde_json::from_str(text).map_err(|e| format!("`payload` is not JSON: {e}")),
        Some(other) => serde_json::to_value(other).map_err(|e| format!("`payload` is not JSON: {e}")),
    }
}

fn france_connect_mocks(documents: Vec<Document>, rejected: &mut Vec<Rejected>) -> HashMap<String, FranceConnectMock> {
    let mut mocks: HashMap<String, FranceConnectMock> = HashMap::new();
    for document in documents {
        let mock = document.content.and_then(|m| france_connect_mock(&m, &document.name));
        let mock = mock.and_then(|(token, mock)| match mocks.get(&token) {
            Some(earlier) => Err(format!("same `params.token` as {}", earlier.file)),
            None => Ok((token, mock)),
        });
        match mock {
            Ok((token, mock)) => {
                mocks.insert(token, mock);
            }
            Err(reason) => rejected.push(Rejected {
                file: document.name,
                reason,
            }),
        }
    }
    mocks
}

fn france_connect_mock(m: &serde_yaml::Mapping, file: &str) -> Result<(String, FranceConnectMock), String> {
    let token = m
        .get("params")
        .and_then(|p| p.get("token"))
        .and_then(Yaml::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or("missing `params.token` (the access token this mock stands for)")?;
    let status = status(m)?;
    let payload = payload(m)?;
    let introspection = payload
        .get("token_introspection")
        .and_then(Value::as_object)
        .ok_or("`payload` has no `token_introspection` object")?;
    let active = status == 200 && introspection.get("active").and_then(Value::as_bool) == Some(true);
    Ok((
        token.to_string(),
        FranceConnectMock {
            file: file.to_string(),
            active,
            identity: crate::identity::from_introspection(introspection),
            scopes: introspection
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        },
    ))
}
