//! Which FranceConnect access token reaches each FranceConnect case of a folder: a mock
//! of `france_connect/` first, else a citizen of FranceConnect (the simulator's, whose
//! tokens stand for the identities of the official cases). The sandbox prints it as a
//! table (`passerelle sandbox --france-connect-table`), and the replay test calls each
//! case with the token named here.

use std::fmt;

use passerelle_catalogue::{Endpoint, Mode};
use serde_json::{Map, Value};

use crate::params::{self, Params};
use crate::{Case, CaseBook, Lookup};

/// Who holds a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A mock of the folder's `france_connect/`.
    Mock,
    /// FranceConnect itself (in the demo and tests, its simulator).
    FranceConnect,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Holder::Mock => "mock",
            Holder::FranceConnect => "FranceConnect",
        })
    }
}

/// One FranceConnect case and the token that reaches it, if any.
#[derive(Debug, Clone)]
pub struct Reach {
    pub endpoint: &'static Endpoint,
    pub version: u8,
    /// `<operation id>/<file>`.
    pub case: String,
    pub status: u16,
    /// The endpoint's own parameters of the case (ANTS' `immatriculation`), to send in
    /// the query beside the token.
    pub query: Vec<(String, String)>,
    pub token: Option<(String, Holder)>,
}

/// A token that may be presented: who it stands for and what it opens.
struct Bearer {
    token: String,
    holder: Holder,
    identity: Params,
    scopes: Vec<String>,
}

/// Every case of the folder's FranceConnect operations, in catalogue then file order,
/// with the first token (mocks in name order, then `citizens` in their order) whose
/// scopes open the endpoint and whose identity selects that very case. `citizens` are
/// FranceConnect's tokens with their `token_introspection`.
pub fn france_connect_reach(book: &CaseBook, citizens: &[(String, Value)]) -> Vec<Reach> {
    let bearers = bearers(book, citizens);
    let mut reach = Vec::new();
    for endpoint in passerelle_catalogue::all() {
        if endpoint.mode != Mode::FranceConnect {
            continue;
        }
        for &version in endpoint.versions {
            let operation = passerelle_catalogue::operation_id(endpoint, version);
            let Some(folder) = book.folders.get(&operation) else {
                continue;
            };
            for case in &folder.cases {
                let query = own_parameters(endpoint, case);
                let token = bearers
                    .iter()
                    .find(|b| opens(endpoint, b) && selects(book, &operation, b, &query, case))
                    .map(|b| (b.token.clone(), b.holder));
                reach.push(Reach {
                    endpoint,
                    version,
                    case: case.file.clone(),
                    status: case.status,
                    query,
                    token,
                });
            }
        }
    }
    reach
}

/// The table as Markdown, one row per case.
pub fn table(reach: &[Reach]) -> String {
    let mut out = String::from("| Case | Status | Token | Held by |\n|---|---|---|---|\n");
    for r in reach {
        let (token, holder) = match &r.token {
            Some((token, holder)) => (format!("`{token}`"), holder.to_string()),
            None => ("none".to_string(), "—".to_string()),
        };
        out.push_str(&format!("| `{}` | {} | {token} | {holder} |\n", r.case, r.status));
    }
    out
}

fn bearers(book: &CaseBook, citizens: &[(String, Value)]) -> Vec<Bearer> {
    let mut mocks: Vec<_> = book.france_connect.iter().filter(|(_, m)| m.active).collect();
    mocks.sort_by_key(|(token, _)| token.as_str());
    let mocked = mocks.iter().map(|(token, mock)| Bearer {
        token: token.to_string(),
        holder: Holder::Mock,
        identity: mock.identity.clone(),
        scopes: mock.scopes.clone(),
    });
    let asked = citizens
        .iter()
        .filter(|(token, ti)| ti["active"] == Value::Bool(true) && !book.france_connect.contains_key(token))
        .filter_map(|(token, ti)| Some((token, ti.as_object()?)))
        .map(|(token, ti)| Bearer {
            token: token.clone(),
            holder: Holder::FranceConnect,
            identity: crate::identity::from_introspection(ti),
            scopes: scopes(ti),
        });
    mocked.chain(asked).collect()
}

fn scopes(introspection: &Map<String, Value>) -> Vec<String> {
    let scope = introspection.get("scope").and_then(Value::as_str).unwrap_or_default();
    scope.split_whitespace().map(str::to_string).collect()
}

fn opens(endpoint: &Endpoint, bearer: &Bearer) -> bool {
    endpoint
        .access_scopes
        .iter()
        .any(|s| bearer.scopes.iter().any(|b| b == s))
}

/// The case's parameters that are the endpoint's own rather than the identity's.
fn own_parameters(endpoint: &Endpoint, case: &Case) -> Vec<(String, String)> {
    let own = |key: &str| {
        endpoint
            .extra_params
            .iter()
            .any(|p| p.name == key.trim_end_matches("[]"))
    };
    case.query.iter().filter(|(k, _)| own(k)).cloned().collect()
}

/// Whether the bearer's call, with the case's own parameters, gets this case.
fn selects(book: &CaseBook, operation: &str, bearer: &Bearer, query: &[(String, String)], case: &Case) -> bool {
    let mut call = bearer.identity.clone();
    call.extend(params::from_query(&passerelle_core::Query::new(query.to_vec())));
    match book.find(operation, &call, true) {
        Lookup::Case(found) | Lookup::Fallback(found) => found.file == case.file,
        Lookup::NoFallback | Lookup::NoFolder => false,
    }
}
