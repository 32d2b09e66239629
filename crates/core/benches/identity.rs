//! Identity parameter parsing, as the v3 pipeline does it for every DSS call.
//! Run with `cargo bench -p passerelle-core` (or `bench/run`).

use std::hint::black_box;
use std::time::Duration;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use passerelle_core::{Civility, CivilityRules, Query};

/// The DSS rules (`crates/catalogue/src/dss.rs`).
const RULES: CivilityRules = CivilityRules {
    prenoms_required: false,
    max_prenoms: 3,
    birth_date_required: false,
    sexe_required: true,
    pays_required: true,
    birth_date_until_yesterday: true,
    birthplace_required_in_france: true,
};

/// The query of the load test in `bench/run`.
const PAIRS: &[(&str, &str)] = &[
    ("recipient", "13002526500013"),
    ("nomNaissance", "PERSONNEABCDEFGH"),
    ("prenoms[]", "TEST"),
    ("anneeDateNaissance", "1980"),
    ("moisDateNaissance", "1"),
    ("jourDateNaissance", "1"),
    ("sexeEtatCivil", "M"),
    ("codeCogInseePaysNaissance", "99100"),
    ("codeCogInseeCommuneNaissance", "75056"),
];

/// Accents, several first names, a usage name: the slow path of name checks.
const ACCENTED: &[(&str, &str)] = &[
    ("recipient", "13002526500013"),
    ("nomNaissance", "Lefèvre-Müller d'Arçon"),
    ("nomUsage", "Château"),
    ("prenoms[]", "Élodie"),
    ("prenoms[]", "Marie-Hélène"),
    ("prenoms[]", "Zoé"),
    ("anneeDateNaissance", "1980"),
    ("moisDateNaissance", "12"),
    ("jourDateNaissance", "31"),
    ("sexeEtatCivil", "F"),
    ("codeCogInseePaysNaissance", "99100"),
    ("codeCogInseeCommuneNaissance", "2A004"),
];

fn identity(c: &mut Criterion) {
    let today = NaiveDate::from_ymd_opt(2025, 6, 1).expect("date");
    let query = Query::from_pairs(PAIRS);
    let accented = Query::from_pairs(ACCENTED);
    assert!(Civility::parse(&query, &RULES, today).is_ok());
    assert!(Civility::parse(&accented, &RULES, today).is_ok());

    c.bench_function("identity/parse (load-test query)", |b| {
        b.iter(|| Civility::parse(black_box(&query), &RULES, today))
    });
    c.bench_function("identity/parse (accents, 3 prenoms)", |b| {
        b.iter(|| Civility::parse(black_box(&accented), &RULES, today))
    });
    c.bench_function("identity/from_pairs + parse + canonical", |b| {
        b.iter(|| {
            let query = Query::from_pairs(black_box(PAIRS));
            Civility::parse(&query, &RULES, today).map(|c| c.canonical())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = identity
}
criterion_main!(benches);
