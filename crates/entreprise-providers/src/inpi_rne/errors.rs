//! Throw-away (branch h12-extrait): the provider's `errors.rs` (branch h12-inpi) replaces it.

#[allow(dead_code)] // read by the provider's error mapping, on the other branch
#[derive(Debug)]
pub enum Failure {
    /// The company record is not the expected JSON: `34001`, 502.
    Unreadable(String),
}
