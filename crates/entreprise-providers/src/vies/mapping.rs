//! The French VAT number, computed from the SIREN, and VIES's verdict on it, read
//! from the answer body in the real gateway's order (§22).

use serde_json::{json, Value};

use super::Failure;

/// The phrase of the block page a corporate proxy serves instead of VIES's answer.
const BLOCK_PAGE: &str = "contact your network support team";

/// The number VIES is asked about: the two-digit key, then the SIREN (no `FR`).
/// `None` when `siren` is not nine digits (the route checked it before).
pub fn vat_number(siren: &str) -> Option<String> {
    if siren.len() != 9 || !siren.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = siren.parse().ok()?;
    let key = (12 + 3 * (value % 97)) % 97;
    Some(format!("{key:02}{siren}"))
}

/// The contract's `data`: the computed number, whatever VIES says its name is.
pub fn data(vat_number: &str) -> Value {
    json!({ "tva_number": format!("FR{vat_number}") })
}

/// Whether VIES says the number is valid. The HTTP status is not looked at.
pub fn verdict(body: &[u8]) -> Result<(), Failure> {
    if contains(body, BLOCK_PAGE.as_bytes()) {
        return Err(Failure::Unavailable);
    }
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let user_error = answer.get("userError").and_then(Value::as_str);
    match user_error {
        Some("IP_BLOCKED" | "MS_MAX_CONCURRENT_REQ") => return Err(Failure::RateLimited),
        Some("MS_UNAVAILABLE") => return Err(Failure::Unavailable),
        Some("VALID" | "INVALID") => {}
        _ => return Err(Failure::Unknown),
    }
    match answer.get("isValid").and_then(Value::as_bool) {
        Some(true) => Ok(()),
        Some(false) => Err(Failure::NotValid),
        None => Err(Failure::Unknown),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_the_french_rule() {
        // Numbers VIES and the OpenAPI give: Danone, DINUM, the OpenAPI's example.
        assert_eq!(vat_number("552032534").as_deref(), Some("27552032534"));
        assert_eq!(vat_number("130025265").as_deref(), Some("07130025265"));
        assert_eq!(vat_number("672039971").as_deref(), Some("48672039971"));
        assert_eq!(vat_number("000000000").as_deref(), Some("12000000000"));
        assert_eq!(vat_number("55203253"), None);
        assert_eq!(vat_number("55203253x"), None);
    }

    #[test]
    fn the_verdict_follows_the_real_order() {
        let page = br#"{"userError": "VALID", "isValid": true, "note": "contact your network support team"}"#;
        assert_eq!(verdict(page), Err(Failure::Unavailable));
        let blocked_but_valid = br#"{"userError": "IP_BLOCKED", "isValid": true}"#;
        assert_eq!(verdict(blocked_but_valid), Err(Failure::RateLimited));
        assert_eq!(verdict(br#"{"userError": "INVALID", "isValid": true}"#), Ok(()));
        assert_eq!(
            verdict(br#"{"userError": "VALID", "isValid": "yes"}"#),
            Err(Failure::Unknown)
        );
        assert_eq!(verdict(br#"{"isValid": true}"#), Err(Failure::Unknown));
        assert_eq!(verdict(b""), Err(Failure::Unknown));
    }
}
