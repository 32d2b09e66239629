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

/// A call's purpose parameters by name (API Particulier: `recipient`), as checked.
pub type Purpose = std::collections::BTreeMap<String, String>;
