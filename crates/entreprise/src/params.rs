//! The contract's identifier and parameter checks (§4), by parameter name: the path's
//! identifiers and the optional query parameters an operation declares.

use chrono::NaiveDate;
use passerelle_bouquet::{Endpoint, Extras};
use passerelle_core::{
    ApiError, Limit, Month, Profondeur, Query, Siren, SirenOrRna, SirenOrSiretOrRna, Siret, SiretOrEori, SiretOrRna,
    Year,
};

/// Every parameter of a call to `endpoint`, checked, in its normal form; every
/// refusal at once. Parameters the contract does not check pass as sent.
pub fn parameters(endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
    let mut extras = Extras::new();
    let mut errors = Vec::new();
    let path = endpoint
        .path_params()
        .map(|name| (name, path_param(endpoint, name, query, today).map(Some)));
    let declared = endpoint
        .extra_params
        .iter()
        .map(|p| (p.name, query_param(p.name, query)));
    for (name, checked) in path.chain(declared) {
        match checked {
            Ok(Some(value)) => {
                extras.insert(name.to_string(), value);
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(extras)
    } else {
        Err(errors)
    }
}

fn path_param(endpoint: &Endpoint, name: &str, query: &Query, today: NaiveDate) -> Result<String, ApiError> {
    let raw = query.get(name).unwrap_or_default();
    let value = match name {
        "siren" => Siren::parse(raw)?.to_string(),
        "siret" => Siret::parse_path(raw)?.to_string(),
        "siret_or_rna" => SiretOrRna::parse(raw)?.to_string(),
        "siren_or_rna" => SirenOrRna::parse(raw)?.to_string(),
        "siren_or_siret_or_rna" => SirenOrSiretOrRna::parse(raw)?.to_string(),
        "siret_or_eori" => SiretOrEori::parse(raw)?.to_string(),
        "month" => Month::parse(raw)?.to_string(),
        // DGFIP keeps closed fiscal years from 2006; GIP-MDS any year up to this one.
        "year" if endpoint.provider.as_str() == "dgfip" => Year::parse_dgfip(raw, today)?.to_string(),
        "year" => Year::parse_gip_mds(raw, today)?.to_string(),
        _ => raw.to_string(),
    };
    Ok(value)
}

/// An optional query parameter: checked when the contract says how, kept as sent.
fn query_param(name: &str, query: &Query) -> Result<Option<String>, ApiError> {
    match name {
        "limit" => Limit::parse(query.raw(name)).map(drop)?,
        "profondeur" => Profondeur::parse(query.raw(name)).map(drop)?,
        _ => {}
    }
    Ok(query.get(name).map(str::to_string))
}
