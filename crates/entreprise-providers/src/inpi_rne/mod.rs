//! Throw-away (branch h12-extrait): just enough of the INPI RNE provider for its extrait
//! mapping to build; the provider's own `mod.rs` (branch h12-inpi) replaces this file.

mod errors;
#[allow(dead_code)] // called by the provider's fetch, which lives on the other branch
mod extrait;
