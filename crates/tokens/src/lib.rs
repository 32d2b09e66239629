//! Passerelle's tokens, apart from any HTTP: the Ed25519 keys that sign them, their
//! records in the store (issue, list, revoke, prolong) and the check of a presented
//! JWT, which ends in a `TokenRecord` or a typed `Rejection` for the caller to map.

mod cache;
mod ip;
mod keys;
mod records;
mod verify;

pub use ip::{ip_allowed, ip_listed, ip_range_valid, range_within};
pub use keys::{Claims, KeyRing};
pub use passerelle_store::TokenRecord;
pub use records::{issue, jwt_of, list, prolong, revoke, TokenRequest, TokenState, DEFAULT_DAYS};
pub use verify::{Rejection, Verifier};

/// The part of the store this crate uses: tokens and signing keys. Everything here
/// names it through this alias, so narrowing it to a smaller trait is this line only.
pub type Backend = dyn passerelle_store::Store;

#[cfg(test)]
mod testing;
