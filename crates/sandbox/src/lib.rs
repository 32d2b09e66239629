//! The sandbox's case book: every endpoint answers from a folder of recorded cases in
//! the official sandbox format instead of calling its provider. The gateway keeps all
//! its checks (token, scopes, recipient, parameters, limits, journal); this crate only
//! replaces the provider call (`passerelle_gateway::source::Recorded`).
//!
//! One folder serves both bouquets: `api_particulier_*` and `api_entreprise_*` case
//! folders side by side. Each bouquet has its own matching rule: API Particulier's
//! below (`CaseBook::find`), API Entreprise's in `entreprise`, whose calls that match
//! no case get a 200 generated from the OpenAPI schema (`example`).

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

pub mod entreprise;
mod example;
mod identity;
mod load;
mod params;
pub mod reach;
mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::Utc;
use chrono_tz::Europe::Paris;
use passerelle_catalogue::{Endpoint, Mode};
use passerelle_core::{codes, ApiError, Query};
use passerelle_gateway::error::Errors;
use passerelle_gateway::source::{FranceConnectUser, Recorded, Recording};
use serde_json::Value;

pub use example::{generate, Schemas};
pub use load::{Rejected, Report, FALLBACK, FRANCE_CONNECT};
pub use params::{from_query, matches, Params};
pub use watch::{watch, Trigger};

/// One recorded answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// `<operation id>/<file>` (with `#n` for the n-th document of a multi-document file).
    pub file: String,
    /// Canonical parameters; `None` for a fallback written without any.
    pub params: Option<Params>,
    /// The params as an integrator writes them in a query string (`prenoms[]` repeated).
    pub query: Vec<(String, String)>,
    pub status: u16,
    pub body: Value,
}

/// The cases of one operation id, in file name order.
#[derive(Debug, Clone, Default)]
pub struct Folder {
    pub cases: Vec<Case>,
    /// Index of `404.yaml` in `cases`.
    pub fallback: Option<usize>,
}

/// A FranceConnect access token of the sandbox and the identity it stands for.
#[derive(Debug, Clone)]
pub struct FranceConnectMock {
    pub file: String,
    /// False for a mock recording an inactive token or an error answer.
    pub active: bool,
    /// The identity as canonical v3 parameters.
    pub identity: Params,
    pub scopes: Vec<String>,
}

/// Every case folder, loaded at one moment.
#[derive(Debug, Clone, Default)]
pub struct CaseBook {
    pub folders: HashMap<String, Folder>,
    pub france_connect: HashMap<String, FranceConnectMock>,
}

/// What the book holds for one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lookup<'a> {
    Case(&'a Case),
    /// No case matches: the folder's `404.yaml`.
    Fallback(&'a Case),
    /// No case matches and the folder has no `404.yaml`.
    NoFallback,
    NoFolder,
}

impl CaseBook {
    /// The case answering `call` in the folder of `operation_id`. With `within`, a case
    /// answers when all its parameters are in the call (FranceConnect calls carry the
    /// whole identity, while their recorded cases often keep a part of it); the case
    /// with the most parameters wins. Otherwise the parameters must be equal.
    pub fn find(&self, operation_id: &str, call: &Params, within: bool) -> Lookup<'_> {
        let Some(folder) = self.folders.get(operation_id) else {
            return Lookup::NoFolder;
        };
        let best = folder
            .cases
            .iter()
            .filter_map(|case| Some((case, case.params.as_ref()?)))
            .filter(|(_, params)| params::matches(params, call, within))
            .fold(None::<(&Case, usize)>, |best, (case, params)| match best {
                Some((_, n)) if n >= params.len() => best,
                _ => Some((case, params.len())),
            });
        match (best, folder.fallback) {
            (Some((case, _)), _) => Lookup::Case(case),
            (None, Some(i)) => Lookup::Fallback(&folder.cases[i]),
            (None, None) => Lookup::NoFallback,
        }
    }

    /// The mock of a FranceConnect access token, if the sandbox knows it.
    pub fn france_connect(&self, token: &str) -> Option<&FranceConnectMock> {
        self.france_connect.get(token)
    }
}

/// The case book of a folder, reloaded in place: readers take the current book, a
/// reload builds a new one and swaps it in whole.
pub struct Sandbox {
    dir: PathBuf,
    book: RwLock<Arc<CaseBook>>,
    /// API Entreprise's 200 schemas, for calls that match no case.
    schemas: Schemas,
}

impl Sandbox {
    /// Loads `dir`, with the 200 schemas committed in the repository; fails only when
    /// `dir` cannot be read at all.
    pub fn open(dir: &Path) -> std::io::Result<(Arc<Sandbox>, Report)> {
        Sandbox::open_with(dir, Schemas::bundled())
    }

    /// Loads `dir`, generating API Entreprise's unmatched answers from `schemas`.
    pub fn open_with(dir: &Path, schemas: Schemas) -> std::io::Result<(Arc<Sandbox>, Report)> {
        let (book, report) = load::load(dir)?;
        let sandbox = Sandbox {
            dir: dir.to_path_buf(),
            book: RwLock::new(Arc::new(book)),
            schemas,
        };
        Ok((Arc::new(sandbox), report))
    }

    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn book(&self) -> Arc<CaseBook> {
        self.book.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the folder again and serves what it holds now (its valid cases).
    pub fn reload(&self) -> std::io::Result<Report> {
        let (book, report) = load::load(&self.dir)?;
        *self.book.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(book);
        Ok(report)
    }
}

impl Sandbox {
    /// API Entreprise (contract §12, the recommended rule): the case whose key is the
    /// call's; else the identifier checks; else the generated 200.
    fn answer_entreprise(&self, endpoint: &Endpoint, operation_id: &str, query: &Query) -> Result<Recording, Errors> {
        let book = self.book();
        let call = entreprise::call_key(query);
        if let Some(case) = book.folders.get(operation_id).and_then(|f| entreprise::find(f, &call)) {
            tracing::debug!(case = %case.file, "sandbox case");
            return Ok(Recording {
                status: case.status,
                body: case.body.clone(),
            });
        }
        let today = Utc::now().with_timezone(&Paris).date_naive();
        entreprise::check(endpoint, query, today).map_err(Errors)?;
        let body = self.schemas.example(operation_id).ok_or_else(|| {
            ApiError::gateway(codes::ROUTE_UNKNOWN)
                .with_title("Aucun schéma pour cette opération")
                .with_detail(format!(
                    "Aucun cas ne correspond et le document OpenAPI du bac à sable n'a pas de réponse 200 pour {operation_id}."
                ))
        })?;
        Ok(Recording { status: 200, body })
    }

    /// API Particulier: the matching case, else the folder's `404.yaml`.
    fn answer_particulier(
        &self,
        endpoint: &Endpoint,
        operation_id: &str,
        query: &Query,
    ) -> Result<Recording, ApiError> {
        let within = endpoint.mode == Mode::FranceConnect;
        let call = params::from_query(query);
        let book = self.book();
        match book.find(operation_id, &call, within) {
            Lookup::Case(case) | Lookup::Fallback(case) => {
                tracing::debug!(case = %case.file, "sandbox case");
                Ok(Recording {
                    status: case.status,
                    body: case.body.clone(),
                })
            }
            Lookup::NoFallback => Err(ApiError::gateway(codes::ROUTE_UNKNOWN)
                .with_title("Aucun cas ne correspond")
                .with_detail(format!(
                    "Le bac à sable n'a aucun cas pour ces paramètres et le dossier {operation_id} n'a pas de {FALLBACK}."
                ))),
            Lookup::NoFolder => Err(ApiError::gateway(codes::ROUTE_UNKNOWN)
                .with_title("Aucun cas pour cette opération")
                .with_detail(format!(
                    "Le bac à sable n'a pas de cas pour l'opération {operation_id} (pas de dossier {operation_id} dans {}).",
                    self.dir.file_name().and_then(|n| n.to_str()).unwrap_or("le dossier des cas")
                ))),
        }
    }
}

impl Recorded for Sandbox {
    fn answer(&self, endpoint: &Endpoint, operation_id: &str, query: &Query) -> Result<Recording, Errors> {
        let prefix = format!("{}_", passerelle_entreprise::OPERATION_PREFIX);
        if operation_id.starts_with(&prefix) {
            self.answer_entreprise(endpoint, operation_id, query)
        } else {
            Ok(self.answer_particulier(endpoint, operation_id, query)?)
        }
    }

    fn france_connect(&self, token: &str) -> Result<FranceConnectUser, ApiError> {
        let book = self.book();
        let mock = book
            .france_connect(token)
            .filter(|m| m.active)
            .ok_or_else(|| ApiError::gateway(codes::FC_TOKEN_UNKNOWN))?;
        Ok(FranceConnectUser {
            identity: mock.identity.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            scopes: mock.scopes.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
