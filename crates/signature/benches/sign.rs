//! What signing one answer costs, apart from the HTTP around it: the claims, the body's
//! hash, the Ed25519 signature; and the check a client runs. `bench/run` runs it.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use passerelle_signature::{sha256_hex, verify, AnswerClaims, AnswerSigner, Jwks};

/// The gateway's answer in the load test of `bench/run`: a 404 `37003`.
const BODY: &[u8] = br#"{"errors":[{"code":"37003","title":"Dossier allocataire absent CNAV","detail":"Le dossier allocataire n'a pas ete trouve aupres de la CNAV.","source":null,"meta":{"provider":"CNAV"}}]}"#;

fn claims(body: &[u8]) -> AnswerClaims {
    AnswerClaims {
        request_id: "0b5e6b8e-93ad-4e0e-9d4c-3f0c2a1d6c11".into(),
        bouquet: "particulier".into(),
        endpoint: "/v3/dss/revenu_solidarite_active/identite".into(),
        target_sha256: sha256_hex(b"/v3/dss/revenu_solidarite_active/identite?recipient=13002526500013"),
        purpose: [("recipient".to_string(), "13002526500013".to_string())].into(),
        status: 404,
        iat: 1_764_979_200,
        body_sha256: sha256_hex(body),
    }
}

fn sign(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let signer = runtime.block_on(async {
        let url = format!("sqlite://{}/keys.db", dir.path().display());
        let store = passerelle_journal::open(&url).await.expect("store");
        AnswerSigner::load_or_create(store).await.expect("signer")
    });
    let jwks = Jwks::parse(&signer.jwks()).expect("jwks");
    let signature = signer.sign(&claims(BODY), BODY).expect("sign");
    assert!(verify(&jwks, BODY, &signature).is_ok());

    c.bench_function("answer/claims + sign (404 body)", |b| {
        b.iter(|| signer.sign(&claims(black_box(BODY)), BODY))
    });
    c.bench_function("answer/verify (404 body)", |b| {
        b.iter(|| verify(&jwks, black_box(BODY), &signature))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = sign
}
criterion_main!(benches);
