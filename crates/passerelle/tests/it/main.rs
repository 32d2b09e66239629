//! Passerelle's integration tests: the real gateway and the real simulators on port 0,
//! talking HTTP, on a fresh SQLite store per test. One binary, one module per area.

mod auth;
mod binary;
mod cnous;
mod dss;
mod helpers;
mod insee;
mod params;
mod pipeline;
