//! The extrait RNE's mapping. PLACEHOLDER: another helper writes the full mapping
//! (`identite_entreprise`, `dirigeants_et_associes`, `etablissements`, observations…);
//! until then only the SIREN is given, so that the route, its errors and its
//! `document_url` link can be built and tested.

use serde_json::{json, Value};

use super::Failure;

/// The contract's `data` for the company, without `document_url` (the provider adds
/// it as a deferred link).
pub(super) fn extrait(company: &Value) -> Result<Value, Failure> {
    let siren = company
        .pointer("/formality/siren")
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::Unreadable("the company has no formality.siren".into()))?;
    Ok(json!({"identite_entreprise": {"siren": siren}}))
}
