//! API Particulier as one `Bouquet` value: what the gateway is handed to serve it.

mod openapi;
pub mod v2;

use passerelle_bouquet::{Bouquet, Endpoint, PurposeParam, ThrottleGroup};
use passerelle_core::{codes, Siret};
use passerelle_providers::ProvidersConfig;

/// The name kept in journal rows and token records.
pub const NAME: &str = "particulier";

/// Every call names the organisation the data is for.
const PURPOSE: &[PurposeParam] = &[PurposeParam {
    name: "recipient",
    parse: parse_siret,
    missing: codes::RECIPIENT_INVALID,
    invalid: codes::RECIPIENT_INVALID,
}];

fn parse_siret(value: &str) -> Option<String> {
    Siret::parse(value).map(|s| s.to_string())
}

/// Every token has one limit over the whole bouquet.
fn no_group(_: &Endpoint) -> Option<ThrottleGroup> {
    None
}

/// The bouquet, its providers configured by `config`.
pub fn bouquet(config: &ProvidersConfig) -> anyhow::Result<Bouquet> {
    Ok(Bouquet {
        name: NAME,
        title: "API Particulier",
        operation_prefix: passerelle_catalogue::OPERATION_PREFIX,
        endpoints: passerelle_catalogue::all(),
        providers: passerelle_providers::registry(config)?,
        purpose: PURPOSE,
        throttle: no_group,
        codes: codes::ALL,
        openapi: openapi::document(),
        privileges: false,
        documents: false,
        legacy: Some(v2::legacy()),
    })
}
