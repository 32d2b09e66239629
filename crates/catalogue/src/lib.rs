//! The catalogue: each endpoint of the contract described as data. The gateway's
//! pipeline reads it; adding an endpoint means adding an entry here and a mapping
//! in its provider.

mod ants;
mod cnous;
mod dsnj;
mod dss;
mod france_travail;
mod gip_mds;
pub mod mask;
mod men;
mod mesri;
mod sdh;

use passerelle_core::CivilityRules;

/// How the caller identifies the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Identite,
    FranceConnect,
    Ine,
    Identifiant,
}

impl Mode {
    pub fn segment(self) -> &'static str {
        match self {
            Mode::Identite => "identite",
            Mode::FranceConnect => "france_connect",
            Mode::Ine => "ine",
            Mode::Identifiant => "identifiant",
        }
    }

    /// The suffix of operation ids (`…_with_civility`).
    pub fn operation_suffix(self) -> &'static str {
        match self {
            Mode::Identite => "with_civility",
            Mode::FranceConnect => "with_france_connect",
            Mode::Ine => "with_ine",
            Mode::Identifiant => "with_identifiant",
        }
    }
}

/// A response field kept only when the token holds one of `scopes`.
/// `path` is a dotted path; `[]` walks into every item of an array (`enfants[].nom`).
#[derive(Debug, Clone, Copy)]
pub struct FieldMask {
    pub path: &'static str,
    pub scopes: &'static [&'static str],
}

/// A parameter specific to one endpoint (beyond identity), for the published OpenAPI.
#[derive(Debug, Clone, Copy)]
pub struct ExtraParam {
    pub name: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// Provider key in the gateway's registry (`dss`).
    pub provider: &'static str,
    /// The resource as the provider knows it (`quotient_familial`).
    pub resource: &'static str,
    /// Public path without version and mode: `dss/quotient_familial`.
    pub path: &'static str,
    pub mode: Mode,
    pub versions: &'static [u8],
    /// Operation id stem: `cnav_quotient_familial`.
    pub operation: &'static str,
    pub title: &'static str,
    pub civility: Option<CivilityRules>,
    pub extra_params: &'static [ExtraParam],
    /// Any one of these opens the endpoint.
    pub access_scopes: &'static [&'static str],
    /// Top-level fields of `data`, in the contract's order (for the OpenAPI document).
    pub fields: &'static [&'static str],
    pub masks: &'static [FieldMask],
    pub cache_ttl_secs: u64,
}

impl Endpoint {
    pub fn operation_id(&self, version: u8) -> String {
        format!(
            "api_particulier_v{version}_{}_{}",
            self.operation,
            self.mode.operation_suffix()
        )
    }

    pub fn public_path(&self, version: u8) -> String {
        format!("/v{version}/{}/{}", self.path, self.mode.segment())
    }

    pub fn supports(&self, version: u8) -> bool {
        self.versions.contains(&version)
    }
}

/// Every endpoint Passerelle serves, family by family (one line per provider).
const FAMILIES: &[&[Endpoint]] = &[
    &dss::ENDPOINTS,
    &cnous::ENDPOINTS,
    &mesri::ENDPOINTS,
    &men::ENDPOINTS,
    &france_travail::ENDPOINTS,
    &sdh::ENDPOINTS,
    &dsnj::ENDPOINTS,
    &gip_mds::ENDPOINTS,
    &ants::ENDPOINTS,
];

/// Every endpoint Passerelle serves.
pub fn all() -> Vec<&'static Endpoint> {
    FAMILIES.iter().flat_map(|family| family.iter()).collect()
}

/// Why no endpoint answers a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotServed {
    /// No endpoint has this path and mode.
    Unknown,
    /// The endpoint exists, but not in this version.
    Version,
}

/// The endpoint at `/v{version}/{path}/{mode}`. Versions of one endpoint may be
/// separate entries (their fields differ).
pub fn find(path: &str, mode: &str, version: u8) -> Result<&'static Endpoint, NotServed> {
    let mut candidates = all()
        .into_iter()
        .filter(|e| e.path == path && e.mode.segment() == mode)
        .peekable();
    if candidates.peek().is_none() {
        return Err(NotServed::Unknown);
    }
    candidates.find(|e| e.supports(version)).ok_or(NotServed::Version)
}

/// Every scope the catalogue knows, sorted (what `--scopes all` grants).
pub fn all_scopes() -> Vec<&'static str> {
    let mut scopes: Vec<&str> = all()
        .iter()
        .flat_map(|e| {
            e.access_scopes
                .iter()
                .chain(e.masks.iter().flat_map(|m| m.scopes.iter()))
        })
        .copied()
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mask_scope_opens_its_endpoint() {
        for e in all() {
            for m in e.masks {
                assert!(
                    m.scopes.iter().any(|s| e.access_scopes.contains(s)),
                    "{} {}",
                    e.path,
                    m.path
                );
            }
        }
    }

    #[test]
    fn operation_ids_follow_the_contract() {
        let qf = find("dss/quotient_familial", "identite", 3).unwrap();
        assert_eq!(
            find("dss/quotient_familial", "identite", 4).unwrap_err(),
            NotServed::Version
        );
        assert_eq!(find("dss/nope", "identite", 3).unwrap_err(), NotServed::Unknown);
        assert_eq!(
            qf.operation_id(3),
            "api_particulier_v3_cnav_quotient_familial_with_civility"
        );
        assert_eq!(qf.public_path(3), "/v3/dss/quotient_familial/identite");
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<String> = all()
            .iter()
            .flat_map(|e| e.versions.iter().map(|v| e.operation_id(*v)))
            .collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }

    #[test]
    fn all_scopes_is_sorted_and_unique() {
        let scopes = all_scopes();
        assert!(scopes.windows(2).all(|w| w[0] < w[1]));
        assert!(scopes.contains(&"cnaf_quotient_familial"));
    }
}
