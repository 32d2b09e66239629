//! Webhooks through the dispatcher, to a real receiver checking the signature.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::{only, places};
use passerelle_outbox::{replay, status, Dispatcher, MailRoute, Report, Status, WebhookRoute};
use passerelle_store::{OutboxItem, Store};
use passerelle_webhooks::outgoing::{verify, Deliverer, Envelope, RetryPolicy, SIGNATURE_HEADER};
use serde_json::json;
use uuid::Uuid;

const OLD: &[u8] = b"old-secret-0123456789";
const NEW: &[u8] = b"new-secret-9876543210";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// An integrator's endpoint: it takes a delivery only when every secret it knows
/// verifies the signature, and answers 500 while `failing`.
struct Receiver {
    secrets: Vec<&'static [u8]>,
    failing: AtomicBool,
    received: Mutex<Vec<Uuid>>,
}

async fn take(State(receiver): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if receiver.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let header = headers
        .get(SIGNATURE_HEADER)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let window = Duration::from_secs(300);
    if !receiver
        .secrets
        .iter()
        .all(|s| verify(header, &body, s, Utc::now(), window))
    {
        return StatusCode::UNAUTHORIZED;
    }
    let envelope: Envelope = serde_json::from_slice(&body).unwrap();
    receiver.received.lock().unwrap().push(envelope.id);
    StatusCode::NO_CONTENT
}

/// The receiver's URL.
async fn start(receiver: Arc<Receiver>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = Router::new().route("/hook", post(take)).with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

fn receiver(secrets: Vec<&'static [u8]>, failing: bool) -> Arc<Receiver> {
    Arc::new(Receiver {
        secrets,
        failing: AtomicBool::new(failing),
        received: Mutex::new(Vec::new()),
    })
}

/// Queues a webhook for `target` as the workflow writes it; its envelope's id.
async fn queue_webhook(store: &dyn Store, target: &str) -> Uuid {
    let envelope = Envelope::new("approve", json!({"number": 12, "state": "validated"}));
    let body = json!({"target": target, "envelope": envelope});
    let item = OutboxItem::new("webhook", body.to_string(), now());
    store.enqueue(&[item]).await.unwrap();
    envelope.id
}

fn route(url: &str, secrets: &[&[u8]]) -> WebhookRoute {
    let secrets = secrets.iter().map(|s| s.to_vec()).collect();
    WebhookRoute::new(Deliverer::new().unwrap())
        .with_target("crm", url, secrets)
        .unwrap()
}

#[tokio::test]
async fn a_webhook_signed_with_both_secrets_is_done() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        // During a rotation, receivers holding either secret accept the delivery.
        let (old_only, new_only) = (receiver(vec![OLD], false), receiver(vec![NEW], false));
        let secrets = || vec![NEW.to_vec(), OLD.to_vec()];
        let webhooks = WebhookRoute::new(Deliverer::new().unwrap())
            .with_target("old-side", &start(old_only.clone()).await, secrets())
            .unwrap()
            .with_target("new-side", &start(new_only.clone()).await, secrets())
            .unwrap();
        let to_old = queue_webhook(&*place.store, "old-side").await;
        let to_new = queue_webhook(&*place.store, "new-side").await;
        let dispatcher = Dispatcher::new(place.store.clone(), MailRoute::Kept, webhooks);
        let report = dispatcher.run_once(now()).await.unwrap();
        assert_eq!(
            report,
            Report {
                sent: 2,
                ..Report::default()
            }
        );
        assert_eq!(*old_only.received.lock().unwrap(), [to_old]);
        assert_eq!(*new_only.received.lock().unwrap(), [to_new]);
        for item in place.store.outbox("webhook", 10).await.unwrap() {
            assert_eq!(
                (status(&item), item.attempts, item.done_at),
                (Status::Sent, 1, Some(now()))
            );
        }
    }
}

#[tokio::test]
async fn a_failing_receiver_is_retried_then_dead_then_replayed() {
    let policy = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_secs(60),
        cap: Duration::from_secs(60),
    };
    for place in places().await {
        eprintln!("on {}", place.backend);
        let failing = receiver(vec![OLD], true);
        let url = start(failing.clone()).await;
        let envelope_id = queue_webhook(&*place.store, "crm").await;
        let webhooks = route(&url, &[OLD]).with_policy(policy);
        let dispatcher = Dispatcher::new(place.store.clone(), MailRoute::Kept, webhooks);
        let mut at = now();
        for expected in [Status::Retrying, Status::Retrying, Status::Dead] {
            dispatcher.run_once(at).await.unwrap();
            let item = only(&*place.store, "webhook").await;
            assert_eq!(status(&item), expected);
            assert_eq!(item.last_error.as_deref(), Some("HTTP 500"));
            at += TimeDelta::minutes(2);
        }
        let dead = only(&*place.store, "webhook").await;
        assert_eq!((dead.attempts, dead.dead_at), (3, Some(now() + TimeDelta::minutes(4))));
        assert_eq!(
            dispatcher.run_once(at).await.unwrap(),
            Report::default(),
            "dead stays dead"
        );

        assert!(replay(&*place.store, dead.id, at).await.unwrap());
        let back = only(&*place.store, "webhook").await;
        assert_eq!((status(&back), back.attempts, back.next_at), (Status::Retrying, 3, at));
        assert!(!replay(&*place.store, dead.id, at).await.unwrap(), "only dead items");
        failing.failing.store(false, Ordering::SeqCst);
        let report = dispatcher.run_once(at).await.unwrap();
        assert_eq!(
            report,
            Report {
                sent: 1,
                ..Report::default()
            }
        );
        let done = only(&*place.store, "webhook").await;
        assert_eq!((status(&done), done.attempts, done.last_error), (Status::Sent, 4, None));
        assert_eq!(*failing.received.lock().unwrap(), [envelope_id], "the same envelope");
    }
}

/// Two replicas' dispatchers reading the outbox at the same instant: each item is
/// claimed by one of them, and sent once.
#[tokio::test]
async fn racing_dispatchers_send_each_item_once() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let crm = receiver(vec![OLD], false);
        let url = start(crm.clone()).await;
        let mut queued = Vec::new();
        for _ in 0..8 {
            queued.push(queue_webhook(&*place.store, "crm").await);
        }
        let first = Dispatcher::new(place.store.clone(), MailRoute::Kept, route(&url, &[OLD]));
        let second = Dispatcher::new(place.store.clone(), MailRoute::Kept, route(&url, &[OLD]));
        let (a, b) = tokio::join!(first.run_once(now()), second.run_once(now()));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            (a.sent + b.sent, a.retried + b.retried, a.dead + b.dead),
            (8, 0, 0),
            "{a:?} {b:?}"
        );
        let mut received = crm.received.lock().unwrap().clone();
        received.sort();
        queued.sort();
        assert_eq!(received, queued, "each envelope once");
        let items = place.store.outbox("webhook", 10).await.unwrap();
        assert!(items.iter().all(|i| (status(i), i.attempts) == (Status::Sent, 1)));
        let (a, b) = tokio::join!(first.run_once(now()), second.run_once(now()));
        assert_eq!(
            (a.unwrap(), b.unwrap()),
            (Report::default(), Report::default()),
            "nothing left"
        );
    }
}

#[tokio::test]
async fn a_webhook_to_a_removed_target_is_dead() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        queue_webhook(&*place.store, "old-crm").await;
        let webhooks = route("http://127.0.0.1:9/hook", &[OLD]);
        let dispatcher = Dispatcher::new(place.store.clone(), MailRoute::Kept, webhooks);
        let report = dispatcher.run_once(now()).await.unwrap();
        assert_eq!(
            report,
            Report {
                dead: 1,
                ..Report::default()
            }
        );
        let item = only(&*place.store, "webhook").await;
        assert_eq!(status(&item), Status::Dead);
        let error = item.last_error.unwrap();
        assert_eq!(error, r#"webhook target "old-crm" is no longer configured"#);
    }
}

#[test]
fn a_target_needs_one_or_two_secrets() {
    let deliverer = Deliverer::new().unwrap();
    let with = |secrets: Vec<Vec<u8>>| {
        WebhookRoute::new(deliverer.clone())
            .with_target("crm", "http://127.0.0.1:9/hook", secrets)
            .is_ok()
    };
    assert!(with(vec![OLD.to_vec()]));
    assert!(with(vec![NEW.to_vec(), OLD.to_vec()]));
    assert!(!with(vec![]));
    assert!(!with(vec![Vec::new()]));
    assert!(!with(vec![NEW.to_vec(), OLD.to_vec(), b"third".to_vec()]));
}

/// Queues an alert's webhook as `passerelle_alerts` writes it: the demande, never
/// its URL nor its secret; its envelope's id.
async fn queue_own(store: &dyn Store, demande: Uuid) -> Uuid {
    let envelope = Envelope::new("alert.spike", json!({"demande": demande}));
    let body = json!({"target": "alertes de la demande n° 12", "habilitation": demande, "envelope": envelope});
    let item = OutboxItem::new("webhook", body.to_string(), now());
    store.enqueue(&[item]).await.unwrap();
    envelope.id
}

async fn set_webhook(store: &dyn Store, demande: Uuid, url: Option<&str>, secret: &[u8]) {
    let settings = passerelle_store::AlertSettings {
        demande_id: demande,
        opt_outs: Vec::new(),
        webhook_url: url.map(str::to_string),
        webhook_secret: url.map(|_| String::from_utf8(secret.to_vec()).unwrap()),
        updated_at: now(),
        updated_by: "camille@ville.example".into(),
    };
    store.put_alert_settings(&settings).await.unwrap();
}

fn own_route(loopback: bool) -> WebhookRoute {
    WebhookRoute::new(Deliverer::new().unwrap()).with_loopback(loopback)
}

/// A habilitation's webhook goes where its holders point it at delivery, signed with
/// the secret they have then: a secret renewed or a URL changed after the alert
/// applies to it (through a name resolved once, and connected to as checked).
#[tokio::test]
async fn a_habilitation_webhook_takes_its_url_and_secret_at_delivery() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let demande = Uuid::new_v4();
        let (before, after) = (receiver(vec![OLD], false), receiver(vec![NEW], false));
        let old_url = start(before.clone()).await;
        set_webhook(&*place.store, demande, Some(&old_url), OLD).await;
        let queued = queue_own(&*place.store, demande).await;
        let item = only(&*place.store, "webhook").await;
        assert!(
            !item.body.contains("old-secret") && !item.body.contains(&old_url),
            "{}",
            item.body
        );

        // Renewed and moved before the dispatcher ran.
        let new_url = start(after.clone())
            .await
            .replace("http://127.0.0.1:", "http://localhost:");
        set_webhook(&*place.store, demande, Some(&new_url), NEW).await;
        let dispatcher = Dispatcher::new(place.store.clone(), MailRoute::Kept, own_route(true));
        let report = dispatcher.run_once(now()).await.unwrap();
        assert_eq!(
            report,
            Report {
                sent: 1,
                ..Report::default()
            }
        );
        assert!(before.received.lock().unwrap().is_empty(), "never the old URL");
        assert_eq!(*after.received.lock().unwrap(), [queued], "signed with the new secret");
    }
}

#[tokio::test]
async fn a_habilitation_webhook_removed_since_is_dropped_not_retried() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let demande = Uuid::new_v4();
        let crm = receiver(vec![OLD], false);
        set_webhook(&*place.store, demande, Some(&start(crm.clone()).await), OLD).await;
        queue_own(&*place.store, demande).await;
        set_webhook(&*place.store, demande, None, OLD).await;
        let dispatcher = Dispatcher::new(place.store.clone(), MailRoute::Kept, own_route(true));
        let report = dispatcher.run_once(now()).await.unwrap();
        assert_eq!(
            report,
            Report {
                dropped: 1,
                ..Report::default()
            }
        );
        let item = only(&*place.store, "webhook").await;
        assert_eq!(
            (status(&item), item.attempts, item.done_at),
            (Status::Dropped, 0, Some(now()))
        );
        assert_eq!(
            item.last_error.as_deref(),
            Some("not sent: the habilitation no longer has a webhook")
        );
        let later = now() + TimeDelta::days(1);
        assert_eq!(dispatcher.run_once(later).await.unwrap(), Report::default());
        assert!(crm.received.lock().unwrap().is_empty());
    }
}

/// Without the demo's and tests' setting, nothing a habilitation sets reaches this
/// machine, by address or by name: the item is dead at once, with why.
#[tokio::test]
async fn a_habilitation_webhook_to_this_machine_is_dead_at_once_in_production() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let crm = receiver(vec![OLD], false);
        let url = start(crm.clone()).await;
        for (i, to) in [
            url.clone(),
            url.replace("http://127.0.0.1:", "https://localhost:"),
            url.replace("http://", "https://"),
        ]
        .into_iter()
        .enumerate()
        {
            let demande = Uuid::new_v4();
            set_webhook(&*place.store, demande, Some(&to), OLD).await;
            queue_own(&*place.store, demande).await;
            let dispatcher = Dispatcher::new(place.store.clone(), MailRoute::Kept, own_route(false));
            let report = dispatcher.run_once(now()).await.unwrap();
            assert_eq!(
                report,
                Report {
                    dead: 1,
                    ..Report::default()
                },
                "{to}"
            );
            let items = place.store.outbox("webhook", 10).await.unwrap();
            assert_eq!(items.len(), i + 1);
            let item = items.iter().find(|i| i.body.contains(&demande.to_string())).unwrap();
            assert_eq!((status(item), item.attempts), (Status::Dead, 1), "{to}");
            let error = item.last_error.as_deref().unwrap();
            assert!(
                error == "the webhook's URL is not https"
                    || error == "the webhook's host is a private, loopback or link-local address",
                "{error}"
            );
        }
        assert!(crm.received.lock().unwrap().is_empty(), "nothing reached it");
    }
}
