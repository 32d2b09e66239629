//! The catalogue: each endpoint of the contract described as data. The gateway's
//! pipeline reads it; adding an endpoint means adding an entry here and a mapping
//! in its provider.

mod ants;
mod cnous;
mod dsnj;
mod dss;
mod france_travail;
mod gip_mds;
mod men;
mod mesri;
mod sdh;

pub use passerelle_bouquet::{mask, Cache, Endpoint, ExtraParam, FieldMask, Mode, NotServed, ProviderId};

/// The providers of API Particulier.
pub mod ids {
    use passerelle_bouquet::ProviderId;

    pub const DSS: ProviderId = ProviderId::new("dss");
    pub const CNOUS: ProviderId = ProviderId::new("cnous");
    pub const MESRI: ProviderId = ProviderId::new("mesri");
    pub const MEN: ProviderId = ProviderId::new("men");
    pub const FRANCE_TRAVAIL: ProviderId = ProviderId::new("france_travail");
    pub const SDH: ProviderId = ProviderId::new("sdh");
    pub const DSNJ: ProviderId = ProviderId::new("dsnj");
    pub const GIP_MDS: ProviderId = ProviderId::new("gip_mds");
    pub const ANTS: ProviderId = ProviderId::new("ants");
}

/// Operation ids start with this, then the version: `api_particulier_v3_…`.
pub const OPERATION_PREFIX: &str = "api_particulier";

/// The contract's operation id of `endpoint` in `version`.
pub fn operation_id(endpoint: &Endpoint, version: u8) -> String {
    format!("{OPERATION_PREFIX}_v{version}_{}", endpoint.operation_stem())
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
    passerelle_bouquet::scopes_of(&all())
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
            operation_id(qf, 3),
            "api_particulier_v3_cnav_quotient_familial_with_civility"
        );
        assert_eq!(qf.public_path(3), "/v3/dss/quotient_familial/identite");
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<String> = all()
            .iter()
            .flat_map(|e| e.versions.iter().map(|v| operation_id(e, *v)))
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
