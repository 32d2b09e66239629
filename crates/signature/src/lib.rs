//! Signed answers. A client that asks for it (`Accept-Signature`) gets, beside the
//! answer, a detached JWS (RFC 7515, appendix F): its payload is the answer's exact
//! body, left out of the signature's text; its protected header carries what binds
//! the body to its call (`claims::AnswerClaims`). Any JOSE library that verifies a
//! detached EdDSA JWS verifies it, with the keys the gateway publishes as a JWKS.
//!
//! The keys are Ed25519, kept in the store beside the token keys under their own
//! purpose (`signer`); a rotation publishes the new key before any replica signs
//! with it, and old keys stay published so that stored answers keep verifying.

mod claims;
mod signer;
mod verify;

pub use claims::{sha256_hex, AnswerClaims};
pub use signer::{rotate, AnswerSigner};
pub use verify::{verify, Jwks, VerifyError};

/// The response header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-jws-signature";
/// The request header that asks for one.
pub const ASK_HEADER: &str = "accept-signature";

#[cfg(test)]
mod tests;
