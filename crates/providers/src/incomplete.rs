//! Test support for the property tests every mapping runs: an upstream answer that is
//! empty, cut short, or missing a member the mapping needs must be the provider's
//! unknown error (`XX999`, 502), never data with nulls, never a panic.

use passerelle_core::ApiError;
use proptest::prelude::*;
use serde_json::Value;

/// Feeds `map` the empty object, `valid` cut after `cut` bytes, and `valid` without the
/// member at the JSON pointer `required[pick]` (modulo their count); each must be `code`.
pub fn refused<T: std::fmt::Debug>(
    map: impl Fn(&[u8]) -> Result<T, ApiError>,
    valid: &Value,
    required: &[&str],
    (cut, pick): (usize, usize),
    code: &str,
) -> Result<(), TestCaseError> {
    let text = valid.to_string();
    prop_assert!(map(text.as_bytes()).is_ok(), "the valid body must map");
    let stripped = without(valid, required[pick % required.len()]);
    let bodies = [
        b"{}".to_vec(),
        text.as_bytes()[..cut % text.len()].to_vec(),
        stripped.to_string().into_bytes(),
    ];
    for body in bodies {
        is_unknown(map(&body), code)?;
    }
    Ok(())
}

/// Checks that an answer is the `code` error (502), not data.
pub fn is_unknown<T: std::fmt::Debug>(answer: Result<T, ApiError>, code: &str) -> Result<(), TestCaseError> {
    match answer {
        Ok(data) => prop_assert!(false, "an incomplete body gave {data:?}"),
        Err(error) => prop_assert_eq!((error.code.as_str(), error.status()), (code, 502)),
    }
    Ok(())
}

/// `value` without the member at `pointer` (`/results/0/code`).
pub fn without(value: &Value, pointer: &str) -> Value {
    let mut copy = value.clone();
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    match copy.pointer_mut(parent) {
        Some(Value::Object(o)) => {
            o.remove(key);
        }
        Some(Value::Array(items)) => {
            items.remove(key.parse::<usize>().expect("an index"));
        }
        _ => panic!("{pointer} is not in the valid body"),
    }
    copy
}
