//! Passerelle's integration tests: the real gateway and the real simulators on port 0,
//! talking HTTP, on a fresh SQLite store per test. One binary, one module per area.

mod auth;
mod binary;
mod cnous;
mod dsnj;
mod dss;
mod france_connect;
mod france_travail;
mod gip_mds;
mod helpers;
mod insee;
mod men;
mod mesri;
mod params;
mod pipeline;
mod sandbox;
mod sdh;
