//! What a bouquet is. The gateway is handed `Bouquet` values and serves each at the
//! root of its own base URL; nothing in the pipeline names a particular bouquet.
//! A new bouquet is a catalogue of `Endpoint`s, a `Registry` of `Provider`s, its
//! purpose parameters and its OpenAPI document, put together in one `Bouquet`.

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

mod bouquet;
mod endpoint;
pub mod legacy;
mod maintenance;
pub mod mask;
mod provider;

pub use bouquet::{error_schema, scopes_of, Bouquet, NotServed, PurposeParam, Route, ThrottleGroup};
pub use endpoint::{Cache, Endpoint, ExtraParam, FieldMask, Mode, ProviderId};
pub use legacy::{Legacy, LegacyRoute};
pub use maintenance::{Active, MaintenanceWindow};
pub use provider::{Attachment, Call, Deferred, Extras, Fetched, Health, Provider, Proxied, Registry};
