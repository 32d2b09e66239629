//! Domain vocabulary of Passerelle. Nothing here does I/O.

pub mod error;
pub mod identity;
pub mod query;
pub mod siret;
pub mod translit;

pub use error::{ApiError, ErrorKind, ProviderInfo};
pub use identity::{BirthDate, Civility, CivilityRules, Sexe};
pub use query::Query;
pub use siret::Siret;
