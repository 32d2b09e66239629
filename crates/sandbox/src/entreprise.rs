//! API Entreprise in the sandbox: how a call finds its case, the identifier checks
//! that run when none matches, and the providers that let the bouquet serve every
//! operation of its catalogue without calling anyone.
//!
//! The matching rule is the one the contract notes recommend (§12), not the real
//! staging's: the key is every path parameter and every query parameter except
//! `context`, `recipient`, `object` and `token`, values lower-cased, compared as
//! exact sets. A case's `params` give its key the same way. The identifier checks
//! (§4) run only when no case matches, so cases recorded with identifiers that fail
//! them (SIREN `000000001`) are served as recorded; then the generated 200 answers.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Provider, Registry};
use passerelle_core::{codes, ApiError, ProviderInfo, Query};

use crate::{Case, Folder};

/// Parameters that say why the data is asked or who asks, never which data.
const NOT_IN_KEY: &[&str] = &["context", "recipient", "object", "token"];

/// A call's or a case's key: its parameters, values lower-cased.
pub type Key = BTreeSet<(String, String)>;

/// The key of a call: path parameters first, then the query string, as the gateway
/// hands them to the sandbox.
pub fn call_key(query: &Query) -> Key {
    key(query.pairs().iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The key of a case, from its `params` as an integrator writes them.
pub fn case_key(case: &Case) -> Key {
    key(case.query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn key<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Key {
    pairs
        .filter(|(k, _)| !NOT_IN_KEY.contains(k))
        .map(|(k, v)| (k.to_string(), v.to_lowercase()))
        .collect()
}

/// The case of `folder` whose key is the call's. A fallback written without
/// `params` answers nothing here: for API Entreprise `404.yaml` is an ordinary case.
pub fn find<'a>(folder: &'a Folder, call: &Key) -> Option<&'a Case> {
    folder
        .cases
        .iter()
        .filter(|case| case.params.is_some())
        .find(|case| &case_key(case) == call)
}

/// The request that replays a case of `endpoint` in `version`: the path, with each of
/// its parameters taken from `params`, and the other `params` as query pairs. `None`
/// when `params` lacks a path parameter.
pub fn request(
    endpoint: &Endpoint,
    version: u8,
    params: &[(String, String)],
) -> Option<(String, Vec<(String, String)>)> {
    let mut path = endpoint.public_path(version);
    for name in endpoint.path_params() {
        let (_, value) = params.iter().find(|(k, _)| k == name)?;
        path = path.replace(&format!("{{{name}}}"), &path_segment(value));
    }
    let in_path = |k: &str| endpoint.path_params().any(|name| name == k);
    let rest = params.iter().filter(|(k, _)| !in_path(k)).cloned().collect();
    Some((path, rest))
}

/// `value` percent-encoded as one path segment.
fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The contract's identifier and parameter checks (§4), every error at once.
pub fn check(endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<(), Vec<ApiError>> {
    passerelle_entreprise::parameters(endpoint, query, today).map(drop)
}

/// A provider that is never called: the sandbox answers before any provider is
/// asked. It names the provider (for maintenance errors) and keeps the call's
/// parameters as they came, for the cache key and the journal's parameter hash;
/// checking them is the sandbox's business, after the lookup.
struct Recorded {
    info: ProviderInfo,
}

#[async_trait]
impl Provider for Recorded {
    fn info(&self) -> ProviderInfo {
        self.info
    }

    fn parse_extras(&self, _endpoint: &Endpoint, query: &Query, _today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        Ok(query
            .pairs()
            .iter()
            .filter(|(k, _)| !NOT_IN_KEY.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn fetch(&self, _call: &Call<'_>) -> Result<Fetched, ApiError> {
        Err(ApiError::gateway(codes::INTERNAL).with_detail("Le bac à sable n'appelle aucun fournisseur."))
    }
}

/// A provider for every operation of API Entreprise's catalogue, so that its
/// bouquet serves all of them in the sandbox. MI and DJEPVA share the id `mi`: one
/// name stands for both, which only shows in a maintenance error, and neither has a
/// maintenance window.
pub fn registry() -> Registry {
    passerelle_entreprise::OPERATIONS
        .iter()
        .map(|o| {
            let (name, prefix) = o.provider;
            let provider: Arc<dyn Provider> = Arc::new(Recorded {
                info: ProviderInfo { name, prefix },
            });
            (o.endpoint.provider, provider)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(operation: &str) -> &'static Endpoint {
        &passerelle_entreprise::OPERATIONS
            .iter()
            .find(|o| o.endpoint.operation == operation)
            .unwrap()
            .endpoint
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
    }

    fn codes_of(result: Result<(), Vec<ApiError>>) -> Vec<String> {
        result.err().unwrap_or_default().into_iter().map(|e| e.code).collect()
    }

    #[test]
    fn traceability_and_token_stay_out_of_the_key_and_values_are_lower_cased() {
        let call = Query::from_pairs(&[
            ("siret_or_rna", "W751004076"),
            ("context", "Test"),
            ("recipient", "13002526500013"),
            ("object", "x"),
            ("token", "jwt"),
        ]);
        let key = call_key(&call);
        assert_eq!(key, Key::from([("siret_or_rna".into(), "w751004076".into())]));
    }

    #[test]
    fn one_parameter_more_is_another_key() {
        let plain = call_key(&Query::from_pairs(&[("siren", "130025265"), ("year", "2022")]));
        let more = call_key(&Query::from_pairs(&[
            ("siren", "130025265"),
            ("year", "2022"),
            ("nature_effectif", "boeth"),
        ]));
        assert_ne!(plain, more);
        // Order does not matter; leading zeros do (`01` is not `1`).
        let reordered = call_key(&Query::from_pairs(&[("year", "2022"), ("siren", "130025265")]));
        assert_eq!(plain, reordered);
        let zeros = call_key(&Query::from_pairs(&[("month", "01")]));
        assert_ne!(zeros, call_key(&Query::from_pairs(&[("month", "1")])));
    }

    #[test]
    fn every_identifier_error_is_reported_at_once() {
        let monthly = endpoint("gip_mds_effectifs_mensuels_etablissement");
        let bad = Query::from_pairs(&[("siret", "13002526500001"), ("month", "13"), ("year", "20x4")]);
        assert_eq!(codes_of(check(monthly, &bad, today())), ["00302", "00305", "00307"]);
        let good = Query::from_pairs(&[("siret", "13002526500013"), ("month", "01"), ("year", "2024")]);
        assert!(check(monthly, &good, today()).is_ok());
    }

    #[test]
    fn years_follow_the_provider_s_range() {
        let liasses = endpoint("dgfip_liasses_fiscales");
        let this_year = Query::from_pairs(&[("siren", "130025265"), ("year", "2025")]);
        assert_eq!(codes_of(check(liasses, &this_year, today())), ["00315"]);
        let annual = endpoint("gip_mds_effectifs_annuels_entreprise");
        assert!(check(annual, &this_year, today()).is_ok());
    }

    #[test]
    fn query_parameters_are_checked_too() {
        let rge = endpoint("ademe_certificats_rge");
        let call = Query::from_pairs(&[("siret", "13002526500013"), ("limit", "0")]);
        assert_eq!(codes_of(check(rge, &call, today())), ["00313"]);
        let union = endpoint("data_subvention_subventions");
        let call = Query::from_pairs(&[("siren_or_siret_or_rna", "nope")]);
        assert_eq!(codes_of(check(union, &call, today())), ["00330"]);
    }

    #[test]
    fn a_replay_fills_the_path_and_sends_the_rest_as_query() {
        let monthly = endpoint("gip_mds_effectifs_mensuels_etablissement");
        let params = [
            ("siret", "13002526500013"),
            ("year", "2024"),
            ("month", "06"),
            ("nature_effectif", "boeth"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let (path, rest) = request(monthly, 3, &params).unwrap();
        assert_eq!(
            path,
            "/v3/gip_mds/etablissements/13002526500013/effectifs_mensuels/06/annee/2024"
        );
        assert_eq!(rest, [("nature_effectif".to_string(), "boeth".to_string())]);
        assert!(request(monthly, 3, &params[..1]).is_none());
        let odd = [("siret_or_rna".to_string(), "a/b c".to_string())];
        let (path, _) = request(endpoint("mi_associations"), 3, &odd).unwrap();
        assert!(path.ends_with("/associations/a%2Fb%20c"), "{path}");
    }

    #[test]
    fn the_bouquet_serves_every_operation_of_the_catalogue() {
        let bouquet = passerelle_entreprise::bouquet(registry());
        assert_eq!(bouquet.endpoints.len(), passerelle_entreprise::OPERATIONS.len());
        let routes: usize = bouquet.endpoints.iter().map(|e| e.versions.len()).sum();
        assert_eq!(routes, 51);
        let insee = &bouquet.providers[&endpoint("insee_unites_legales").provider];
        assert_eq!((insee.info().name, insee.info().prefix), ("INSEE", "01"));
    }
}
