//! Scope masking of a provider's answer (`mask::apply`), as the v3 pipeline does it
//! before every answer. Run with `cargo bench -p passerelle-catalogue`.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use passerelle_catalogue::{find, mask};
use serde_json::{json, Value};

fn scopes(list: &[&str]) -> HashSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn bench(
    c: &mut Criterion,
    name: &str,
    data: &Value,
    masks: &[passerelle_catalogue::FieldMask],
    scopes: &HashSet<String>,
) {
    c.bench_function(name, |b| {
        b.iter_batched(
            || data.clone(),
            |mut data| {
                mask::apply(&mut data, masks, |scope: &str| black_box(scopes).contains(scope));
                data
            },
            BatchSize::SmallInput,
        )
    });
}

fn masking(c: &mut Criterion) {
    let rsa = find("dss/revenu_solidarite_active", "identite", 3).expect("RSA endpoint");
    let qf = find("dss/quotient_familial", "identite", 3).expect("QF endpoint");
    let rsa_data = json!({"est_beneficiaire": true, "avec_majoration": false, "date_debut_droit": "2024-01-01"});
    let every_scope: HashSet<String> = passerelle_catalogue::all_scopes()
        .into_iter()
        .map(str::to_string)
        .collect();
    bench(
        c,
        "mask/rsa, every scope (nothing removed)",
        &rsa_data,
        rsa.masks,
        &every_scope,
    );
    bench(
        c,
        "mask/rsa, without majoration (one field removed)",
        &rsa_data,
        rsa.masks,
        &scopes(&["revenu_solidarite_active"]),
    );

    let person = |n: u32| json!({"nom_naissance": "MARTIN", "nom_usage": null, "prenoms": "AXELLE", "date_naissance": format!("201{n}-01-01"), "sexe": "F"});
    let qf_data = json!({
        "allocataires": [person(0), person(1)],
        "enfants": [person(2), person(3), person(4)],
        "adresse": {"destinataire": "MADAME MARTIN AXELLE", "numero_libelle_voie": "1 RUE DE LA PAIX", "code_postal_ville": "75002 PARIS", "pays": "FRANCE"},
        "quotient_familial": {"fournisseur": "CNAF", "valeur": 1234, "annee": 2025, "mois": 5, "annee_calcul": 2025, "mois_calcul": 5}
    });
    bench(
        c,
        "mask/quotient familial, quotient only (3 fields removed)",
        &qf_data,
        qf.masks,
        &scopes(&["cnaf_quotient_familial"]),
    );
    c.bench_function("mask/clone of the quotient familial answer (baseline)", |b| {
        b.iter(|| black_box(&qf_data).clone())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = masking
}
criterion_main!(benches);
