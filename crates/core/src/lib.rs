//! Domain vocabulary of Passerelle. Nothing here does I/O.

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

pub mod company;
pub mod error;
pub mod identity;
pub mod person_key;
pub mod query;
pub mod siret;
pub mod translit;

pub use company::{
    Limit, Month, NatureEffectif, Profondeur, Rna, Siren, SirenOrRna, SirenOrSiretOrRna, SiretOrEori, SiretOrRna,
    Traceability, Year,
};
pub use error::{codes, ApiError, Code, ErrorKind, ProviderInfo, Subcode};
pub use identity::{BirthDate, Civility, CivilityRules, Sexe};
pub use person_key::{KeyedIdentity, PersonKey};
pub use query::Query;
pub use siret::Siret;

/// Lower-case hexadecimal, as `hex::encode` writes it, at a fraction of its cost: the
/// hashes of every call's parameters and journal row are written with it (`hex::encode`
/// goes through a `char` iterator, some 30 instructions a byte).
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// A call's purpose parameters by name (API Particulier: `recipient`), as checked.
pub type Purpose = std::collections::BTreeMap<String, String>;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn hex_is_written_as_the_hex_crate_writes_it(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(super::hex_lower(&bytes), hex::encode(&bytes));
        }
    }
}
