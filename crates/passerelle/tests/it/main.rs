//! Passerelle's integration tests: the real gateway and the real simulators on port 0,
//! talking HTTP, on a fresh SQLite store per test (PostgreSQL where the test says so).
//! One binary, one module per area.

mod ants;
mod associations;
mod auth;
mod batch;
mod binary;
mod bouquets;
mod browser;
mod catalogue;
mod citizen_record;
mod citizen_record_browser;
mod cnous;
mod connections;
mod deployment;
mod documents;
mod dsnj;
mod dss;
mod entreprise;
mod france_connect;
mod france_travail;
mod gip_mds;
mod habilitation;
mod habilitation_browser;
mod helpers;
mod inpi;
mod insee;
mod ip_limits;
mod journal;
mod journal_heads;
mod men;
mod mesri;
mod metrics;
mod params;
mod pg;
mod pipeline;
mod redis;
mod replicas;
mod sandbox;
mod sandbox_entreprise;
mod sdh;
mod shutdown;
mod signed_answers;
mod upstream_bodies;
mod urssaf;
mod v2;
