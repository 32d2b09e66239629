//! The figures as open data: `/stats.json` (everything the page shows) and
//! `/stats.csv` (the calls per month and route, one row each).
//!
//! The CSV's columns, documented on the page too:
//! `api` (`particulier`, `entreprise`), `mois` (`AAAA-MM`, UTC), `point_d_acces` (the
//! route as called, path parameters in braces), `intitule`, `fournisseur`, `appels`,
//! `appels_reussis` (2xx: each one a document not asked for). Only months and routes
//! with calls have a row.

use chrono::{DateTime, SecondsFormat, Utc};
use passerelle_usage::instruction::Quantiles;
use passerelle_usage::PublicStats;
use serde_json::{json, Value};

fn month(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

fn moment(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// In days, to the hundredth.
fn quantiles(q: &Quantiles) -> Value {
    let days = |d: Option<f64>| d.map(|d| (d * 100.0).round() / 100.0);
    json!({"p50": days(q.p50_days), "p80": days(q.p80_days)})
}

pub fn json(stats: &PublicStats) -> Value {
    let last_day = stats.papers_until - chrono::Duration::days(1);
    json!({
        "api": stats.bouquet,
        "titre": stats.title,
        "calcule_le": moment(stats.computed_at),
        "journal_compte_jusqu_au": stats.rolled_up_at.map(moment),
        "justificatifs_papier_evites": {
            "libelle": passerelle_usage::papers_label(&stats.bouquet),
            "du": date(stats.papers_since),
            "au": date(last_day),
            "nombre": stats.papers_avoided,
        },
        "appels_par_mois": stats.months.iter().map(|m| json!({
            "mois": month(m.start),
            "appels": m.calls,
            "appels_reussis": m.ok,
        })).collect::<Vec<_>>(),
        "appels_par_point_d_acces": stats.routes.iter().map(|r| json!({
            "point_d_acces": r.route.path,
            "intitule": r.route.title,
            "fournisseur": r.route.provider,
            "appels": r.calls,
            "appels_reussis": r.ok,
            "appels_reussis_30_jours": r.ok_recent,
            "latence_p50_ms": r.p50_ms.map(f64::round),
            "latence_p95_ms": r.p95_ms.map(f64::round),
        })).collect::<Vec<_>>(),
        "appels_par_mois_et_point_d_acces": stats.route_months.iter().map(|r| json!({
            "mois": month(r.start),
            "point_d_acces": r.route.path,
            "appels": r.calls,
            "appels_reussis": r.ok,
        })).collect::<Vec<_>>(),
        "habilitations_actives": {
            "total": stats.active_habilitations(),
            "par_cas_d_usage": stats.use_cases.iter().map(|u| json!({
                "formulaire": u.form_id,
                "intitule": u.title,
                "type": u.kind,
                "habilitations": u.active,
            })).collect::<Vec<_>>(),
        },
        "delais_instruction_jours": {
            "depuis": date(stats.instruction.since),
            "decisions": stats.instruction.decided,
            "premiere_reponse": quantiles(&stats.instruction.first_response),
            "decision": quantiles(&stats.instruction.decision),
        },
    })
}

pub const CSV_HEADER: [&str; 7] = [
    "api",
    "mois",
    "point_d_acces",
    "intitule",
    "fournisseur",
    "appels",
    "appels_reussis",
];

pub fn csv(stats: &PublicStats) -> anyhow::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)?;
    for r in &stats.route_months {
        out.write_record([
            stats.bouquet.as_str(),
            &month(r.start),
            &r.route.path,
            &r.route.title,
            &r.route.provider,
            &r.calls.to_string(),
            &r.ok.to_string(),
        ])?;
    }
    Ok(out.into_inner()?)
}
