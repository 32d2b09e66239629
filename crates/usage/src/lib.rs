//! Usage figures from the journal's rollups.
//!
//! - `rollup`: the job that adds new journal rows to the rollups (every replica may
//!   run it; each row counts once);
//! - `percentile`: latency percentiles estimated from the rollups' histograms;
//! - `figures`: a bouquet's public stats (calls per month and per route, paper
//!   documents avoided, habilitations in force per use case, instruction times),
//!   kept a few minutes by `cache`;
//! - `instruction`: instruction cycles read from the demandes' histories.
//!
//! Nothing here reads the journal itself: pages stay fast whatever its size.

pub mod cache;
pub mod figures;
pub mod instruction;
pub mod percentile;
pub mod rollup;

pub use cache::Cached;
pub use figures::{compute, PublicStats};
pub use rollup::{catch_up, spawn, RollupJob};

/// What the headline figure counts, in words, per bouquet: a successful data call is
/// a document the person (API Particulier) or the company (API Entreprise) did not
/// have to bring.
pub fn papers_label(bouquet: &str) -> &'static str {
    match bouquet {
        "entreprise" => "justificatifs papier évités aux entreprises et associations",
        _ => "justificatifs papier évités",
    }
}
