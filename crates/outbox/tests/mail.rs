//! Letters through the dispatcher: over real SMTP, refused, unreachable, kept.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::{only, places};
use passerelle_mail::testing::SmtpSink;
use passerelle_mail::{Address, Letter, SmtpMailer, SmtpSettings, TlsMode};
use passerelle_outbox::{status, Dispatcher, MailRoute, Report, Status, WebhookRoute};
use passerelle_store::{OutboxItem, Store};
use passerelle_webhooks::outgoing::{Deliverer, RetryPolicy};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn letter() -> Letter {
    Letter {
        to: vec![Address::new("Camille Martin", "camille@ville.example")],
        cc: vec![Address::new("", "theo@ville.example")],
        subject: "Votre jeton expire dans 15 jours".into(),
        text: "Bonjour Camille Martin,\n\nPensez à le renouveler.".into(),
        html: None,
    }
}

async fn queue_letter(store: &dyn Store) {
    let item = OutboxItem::new("mail", serde_json::to_string(&letter()).unwrap(), now());
    assert_eq!(store.enqueue(&[item]).await.unwrap(), 1);
}

fn smtp(port: u16) -> MailRoute {
    let mailer = SmtpMailer::new(SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        username: None,
        password: None,
        from: Address::new("Passerelle", "habilitation@passerelle.example"),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    MailRoute::Smtp(Arc::new(mailer))
}

fn no_webhooks() -> WebhookRoute {
    WebhookRoute::new(Deliverer::new().unwrap())
}

fn dispatcher(store: &Arc<dyn Store>, mail: MailRoute) -> Dispatcher {
    Dispatcher::new(store.clone(), mail, no_webhooks())
}

#[tokio::test]
async fn a_letter_sent_over_smtp_is_done() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let sink = SmtpSink::start().await;
        queue_letter(&*place.store).await;
        let report = dispatcher(&place.store, smtp(sink.addr().port()))
            .run_once(now())
            .await
            .unwrap();
        assert_eq!(
            report,
            Report {
                sent: 1,
                ..Report::default()
            }
        );
        let received = sink.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(received[0].recipients, ["camille@ville.example", "theo@ville.example"]);
        let item = only(&*place.store, "mail").await;
        assert_eq!(status(&item), Status::Sent);
        assert_eq!((item.attempts, item.done_at, item.last_error), (1, Some(now()), None));
    }
}

/// An SMTP server refusing every recipient with a permanent error quoting it.
async fn refusing_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 refusing ESMTP\r\n").await?;
                while let Some(line) = lines.next_line().await? {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "RCPT" => b"550 5.1.1 <camille@ville.example>: no such user\r\n",
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await?;
                }
                std::io::Result::Ok(())
            });
        }
    });
    port
}

#[tokio::test]
async fn a_refused_letter_dies_at_once() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        queue_letter(&*place.store).await;
        let report = dispatcher(&place.store, smtp(refusing_server().await))
            .run_once(now())
            .await
            .unwrap();
        assert_eq!(
            report,
            Report {
                dead: 1,
                ..Report::default()
            }
        );
        let item = only(&*place.store, "mail").await;
        assert_eq!(
            (status(&item), item.attempts, item.dead_at),
            (Status::Dead, 1, Some(now()))
        );
        let error = item.last_error.unwrap();
        assert!(error.contains("permanent") && !error.contains('@'), "{error}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_retried_then_given_up() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let policy = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_secs(3600),
        cap: Duration::from_secs(3600),
    };
    for place in places().await {
        eprintln!("on {}", place.backend);
        queue_letter(&*place.store).await;
        let dispatcher = dispatcher(&place.store, smtp(closed)).with_mail_policy(policy);
        let retried = Report {
            retried: 1,
            ..Report::default()
        };
        assert_eq!(dispatcher.run_once(now()).await.unwrap(), retried);
        let item = only(&*place.store, "mail").await;
        assert_eq!((status(&item), item.attempts), (Status::Retrying, 1));
        assert!(item.next_at > now() && item.next_at <= now() + Duration::from_secs(3600));
        let error = item.last_error.unwrap();
        assert!(!error.contains('@') && !error.contains("permanent"), "{error}");
        assert_eq!(
            dispatcher.run_once(now()).await.unwrap(),
            Report::default(),
            "not due yet"
        );

        assert_eq!(dispatcher.run_once(item.next_at).await.unwrap(), retried);
        let item = only(&*place.store, "mail").await;
        let dead = Report {
            dead: 1,
            ..Report::default()
        };
        assert_eq!(dispatcher.run_once(item.next_at).await.unwrap(), dead);
        let item = only(&*place.store, "mail").await;
        assert_eq!((status(&item), item.attempts), (Status::Dead, 3));
    }
}

#[tokio::test]
async fn without_a_mail_server_letters_are_kept() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        queue_letter(&*place.store).await;
        let report = dispatcher(&place.store, MailRoute::Kept).run_once(now()).await.unwrap();
        assert_eq!(
            report,
            Report {
                kept: 1,
                ..Report::default()
            }
        );
        let item = only(&*place.store, "mail").await;
        assert_eq!((status(&item), status(&item).as_str()), (Status::Kept, "kept"));
        assert_eq!((item.attempts, item.done_at, item.last_error), (0, Some(now()), None));
        let kept: Letter = serde_json::from_str(&item.body).unwrap();
        assert_eq!(kept, letter(), "readable as it would have gone");
    }
}

#[tokio::test]
async fn the_loop_sends_until_shut_down() {
    let place = places().await.remove(0);
    let sink = SmtpSink::start().await;
    let now = Utc::now();
    let item = OutboxItem::new("mail", serde_json::to_string(&letter()).unwrap(), now);
    place.store.enqueue(&[item]).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let dispatcher = dispatcher(&place.store, smtp(sink.addr().port()));
    let running = tokio::spawn(dispatcher.run(Duration::from_millis(20), async {
        let _ = stopped.await;
    }));
    sink.wait_for(1, Duration::from_secs(5)).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status(&only(&*place.store, "mail").await), Status::Sent);
}
