use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use passerelle_store::Store;
use proptest::prelude::*;

use super::*;

struct Scratch {
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

async fn scratch() -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/keys.db", dir.path().display());
    let store = passerelle_journal::open(&url).await.unwrap();
    Scratch { store, _dir: dir }
}

fn claims(body: &[u8]) -> AnswerClaims {
    AnswerClaims {
        request_id: "0b5e6b8e-93ad-4e0e-9d4c-3f0c2a1d6c11".into(),
        bouquet: "particulier".into(),
        endpoint: "/v3/dss/quotient_familial/identite".into(),
        target_sha256: sha256_hex(b"/v3/dss/quotient_familial/identite?recipient=13002526500013"),
        purpose: [("recipient".to_string(), "13002526500013".to_string())].into(),
        status: 200,
        iat: 1_764_979_200,
        body_sha256: sha256_hex(body),
    }
}

fn jwks(signer: &AnswerSigner) -> Jwks {
    Jwks::parse(&signer.jwks()).unwrap()
}

const BODY: &[u8] = br#"{"data":{"quotient_familial":{"valeur":2550}},"links":{},"meta":{}}"#;

#[tokio::test]
async fn a_signed_answer_verifies_and_gives_back_its_claims() {
    let s = scratch().await;
    let signer = AnswerSigner::load_or_create(s.store.clone()).await.unwrap();
    let signature = signer.sign(&claims(BODY), BODY).unwrap();
    assert_eq!(signature.split('.').nth(1), Some(""), "detached: {signature}");
    assert_eq!(verify(&jwks(&signer), BODY, &signature), Ok(claims(BODY)));
    // A second start reuses the key.
    let again = AnswerSigner::load_or_create(s.store.clone()).await.unwrap();
    assert_eq!(again.active_kid(), signer.active_kid());
}

#[tokio::test]
async fn a_changed_header_or_signature_character_fails() {
    let s = scratch().await;
    let signer = AnswerSigner::load_or_create(s.store.clone()).await.unwrap();
    let signature = signer.sign(&claims(BODY), BODY).unwrap();
    let keys = jwks(&signer);
    let (header, sig) = signature.split_once("..").unwrap();
    // Another status in the header: same key, other claims.
    let mut forged: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    forged["status"] = 404.into();
    let forged = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert!(matches!(
        verify(&keys, BODY, &format!("{forged}..{sig}")),
        Err(VerifyError::BadSignature(_))
    ));
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes[17] ^= 1;
    let flipped = URL_SAFE_NO_PAD.encode(bytes);
    assert!(matches!(
        verify(&keys, BODY, &format!("{header}..{flipped}")),
        Err(VerifyError::BadSignature(_))
    ));
}

#[tokio::test]
async fn a_key_of_another_gateway_or_another_algorithm_is_refused() {
    let (ours, theirs) = (scratch().await, scratch().await);
    let signer = AnswerSigner::load_or_create(ours.store.clone()).await.unwrap();
    let other = AnswerSigner::load_or_create(theirs.store.clone()).await.unwrap();
    let signature = other.sign(&claims(BODY), BODY).unwrap();
    assert!(matches!(
        verify(&jwks(&signer), BODY, &signature),
        Err(VerifyError::UnknownKey(_))
    ));
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"x"}"#);
    assert!(matches!(
        verify(&jwks(&signer), BODY, &format!("{none}..")),
        Err(VerifyError::Malformed(_))
    ));
    let mut header: serde_json::Value = serde_json::to_value(claims(BODY)).unwrap();
    header["alg"] = "HS256".into();
    header["kid"] = signer.active_kid().unwrap().into();
    let hs = URL_SAFE_NO_PAD.encode(header.to_string());
    assert_eq!(
        verify(&jwks(&signer), BODY, &format!("{hs}..AAAA")),
        Err(VerifyError::Algorithm("HS256".into()))
    );
    assert!(matches!(
        verify(&jwks(&signer), BODY, "a.b.c"),
        Err(VerifyError::Malformed(_))
    ));
}

#[tokio::test]
async fn after_a_rotation_old_answers_still_verify_and_the_new_key_signs_once_due() {
    let s = scratch().await;
    let signer = AnswerSigner::load_or_create(s.store.clone()).await.unwrap();
    let first_kid = signer.active_kid().unwrap();
    let old = signer.sign(&claims(BODY), BODY).unwrap();

    // Dated ahead: published at once, not signing yet.
    let (ahead, _) = rotate(s.store.as_ref(), chrono::Duration::minutes(5)).await.unwrap();
    signer.refresh().await.unwrap();
    assert_eq!(signer.active_kid().unwrap(), first_kid);
    assert!(signer.jwks().contains(&ahead));

    let (now, _) = rotate(s.store.as_ref(), chrono::Duration::zero()).await.unwrap();
    signer.refresh().await.unwrap();
    assert_eq!(signer.active_kid().unwrap(), now);
    let new = signer.sign(&claims(BODY), BODY).unwrap();
    let keys = jwks(&signer);
    assert!(verify(&keys, BODY, &old).is_ok(), "the old key stays published");
    assert!(verify(&keys, BODY, &new).is_ok());
}

#[tokio::test]
async fn token_keys_are_not_published_and_do_not_sign_answers() {
    let s = scratch().await;
    let token_key = passerelle_store::SigningKey::generate(passerelle_store::KEYS_FOR_TOKENS).unwrap();
    s.store.insert_signing_key(&token_key).await.unwrap();
    let signer = AnswerSigner::load_or_create(s.store.clone()).await.unwrap();
    assert_ne!(signer.active_kid().unwrap(), token_key.kid);
    assert!(!signer.jwks().contains(&token_key.kid));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_one_byte_change_in_the_body_fails(body in proptest::collection::vec(any::<u8>(), 1..512), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (signer, _s) = runtime.block_on(async {
            let s = scratch().await;
            (AnswerSigner::load_or_create(s.store.clone()).await.unwrap(), s)
        });
        let signature = signer.sign(&claims(&body), &body).unwrap();
        let keys = jwks(&signer);
        prop_assert!(verify(&keys, &body, &signature).is_ok());
        let mut changed = body.clone();
        changed[at.index(body.len())] ^= flip;
        prop_assert!(matches!(verify(&keys, &changed, &signature), Err(VerifyError::BadSignature(_))));
    }
}
