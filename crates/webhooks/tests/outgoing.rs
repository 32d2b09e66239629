//! Passerelle's webhooks delivered over real HTTP to local receivers.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use passerelle_webhooks::outgoing::{verify, Deliverer, Envelope, MAX_EXCERPT, SIGNATURE_HEADER};
use serde_json::json;

const OLD: &[u8] = b"whsec_old_2f6c1d9e4b7a3058";
const NEW: &[u8] = b"whsec_new_8a1e5c3b9d7f2046";
const WINDOW: Duration = Duration::from_secs(300);

/// What a receiver got: the signature header and the raw body.
type Inbox = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A receiver that keeps what it gets and accepts it only if it verifies under `secret`.
async fn receiver(secret: &'static [u8]) -> (String, Inbox) {
    let inbox = Inbox::default();
    let handler = move |State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes| async move {
        let header = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let valid = verify(&header, &body, secret, Utc::now(), WINDOW);
        inbox.lock().unwrap().push((header, body.to_vec()));
        if valid {
            (StatusCode::OK, "received")
        } else {
            (StatusCode::UNAUTHORIZED, "bad signature")
        }
    };
    let router = Router::new().route("/hook", post(handler)).with_state(inbox.clone());
    (format!("{}/hook", common::serve(router).await), inbox)
}

async fn answering(router: Router) -> String {
    format!("{}/hook", common::serve(router).await)
}

fn envelope() -> Envelope {
    Envelope::new(
        "token.expiring",
        json!({ "token_id": "0f6d2c1e-8b3a-4f5e-9d7c-1a2b3c4d5e6f", "expires_at": "2026-07-01" }),
    )
}

#[tokio::test]
async fn a_receiver_verifies_with_either_secret_during_a_rotation() {
    let deliverer = Deliverer::new().unwrap();
    let sent = envelope();
    for secret in [OLD, NEW] {
        let (url, inbox) = receiver(secret).await;
        let attempt = deliverer.deliver(&url, &[NEW, OLD], &sent).await;
        assert!(attempt.ok, "{attempt:?}");
        assert_eq!(attempt.status, Some(200));
        assert_eq!(attempt.response_excerpt, "received");
        assert_eq!(attempt.error, None);
        let (header, body) = inbox.lock().unwrap()[0].clone();
        assert_eq!(header.matches("v1=").count(), 2);
        let received: Envelope = serde_json::from_slice(&body).unwrap();
        assert_eq!(received, sent);
    }
}

#[tokio::test]
async fn a_receiver_with_a_retired_secret_refuses() {
    let (url, _) = receiver(OLD).await;
    let attempt = Deliverer::new().unwrap().deliver(&url, &[NEW], &envelope()).await;
    assert!(!attempt.ok);
    assert_eq!(attempt.status, Some(401));
}

#[tokio::test]
async fn the_received_body_cannot_be_altered_or_replayed() {
    let (url, inbox) = receiver(NEW).await;
    Deliverer::new().unwrap().deliver(&url, &[NEW], &envelope()).await;
    let (header, body) = inbox.lock().unwrap()[0].clone();
    assert!(verify(&header, &body, NEW, Utc::now(), WINDOW));
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("2026-07-01", "2027-07-01");
    assert!(!verify(&header, tampered.as_bytes(), NEW, Utc::now(), WINDOW));
    let later = Utc::now() + chrono::Duration::seconds(301);
    assert!(!verify(&header, &body, NEW, later, WINDOW));
}

#[tokio::test]
async fn a_500_is_a_failure_with_its_answer_kept() {
    let url = answering(Router::new().route(
        "/hook",
        post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "database unavailable") }),
    ))
    .await;
    let attempt = Deliverer::new().unwrap().deliver(&url, &[NEW], &envelope()).await;
    assert!(!attempt.ok);
    assert_eq!(attempt.status, Some(500));
    assert_eq!(attempt.response_excerpt, "database unavailable");
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let followed = Arc::new(Mutex::new(false));
    let flag = followed.clone();
    let router = Router::new()
        .route(
            "/hook",
            post(|| async { (StatusCode::FOUND, [("Location", "/elsewhere")]).into_response() }),
        )
        .route(
            "/elsewhere",
            post(move || async move {
                *flag.lock().unwrap() = true;
                StatusCode::OK
            }),
        );
    let url = answering(router).await;
    let attempt = Deliverer::new().unwrap().deliver(&url, &[NEW], &envelope()).await;
    assert!(!attempt.ok);
    assert_eq!(attempt.status, Some(302));
    assert!(attempt.error.is_some());
    assert!(!*followed.lock().unwrap());
}

#[tokio::test]
async fn a_hanging_receiver_times_out() {
    let url = answering(Router::new().route(
        "/hook",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::OK
        }),
    ))
    .await;
    let deliverer = Deliverer::with_timeout(Duration::from_millis(300)).unwrap();
    let attempt = deliverer.deliver(&url, &[NEW], &envelope()).await;
    assert!(!attempt.ok);
    assert_eq!(attempt.status, None);
    assert!(
        attempt.error.as_deref().unwrap().starts_with("timed out"),
        "{attempt:?}"
    );
    assert!((300..5_000).contains(&attempt.duration_ms), "{attempt:?}");
}

#[tokio::test]
async fn a_long_answer_is_cut() {
    let url = answering(Router::new().route("/hook", post(|| async { "é".repeat(40_000) }))).await;
    let attempt = Deliverer::new().unwrap().deliver(&url, &[NEW], &envelope()).await;
    assert!(attempt.ok);
    assert!(attempt.response_excerpt.chars().count() <= MAX_EXCERPT);
    assert!(attempt.response_excerpt.starts_with("éé"));
}

#[tokio::test]
async fn an_unreachable_or_invalid_url_is_an_attempt_not_a_panic() {
    let deliverer = Deliverer::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    for url in [closed.as_str(), "not a url", "ftp://example.invalid/hook"] {
        let attempt = deliverer.deliver(url, &[NEW], &envelope()).await;
        assert!(
            !attempt.ok && attempt.status.is_none() && attempt.error.is_some(),
            "{url}"
        );
    }
    let attempt = deliverer.deliver(&closed, &[], &envelope()).await;
    assert_eq!(attempt.error.as_deref(), Some("no signing secret: not sent"));
}
