//! Real SMTP exchanges between `SmtpMailer` and `SmtpSink`.

use std::time::{Duration, Instant};

use passerelle_mail::testing::SmtpSink;
use passerelle_mail::{Address, Letter, MailError, Mailer, SmtpMailer, SmtpSettings, TlsMode};

fn settings(port: u16, timeout: Duration) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".to_owned(),
        port,
        tls: TlsMode::None,
        username: None,
        password: None,
        from: Address::new("Passerelle", "ne-pas-repondre@passerelle.example"),
        timeout,
    }
}

fn french_letter(html: Option<String>) -> Letter {
    Letter {
        to: vec![Address::new("Anne Dupont", "anne.dupont@mairie.example")],
        cc: vec![Address::new("Bruno Martin", "bruno.martin@prestataire.example")],
        subject: "[API Particulier] Votre jeton expire dans 15 jours — « Crèche municipale »".to_owned(),
        text: "Bonjour Anne,\n\nLe jeton de l'habilitation « Crèche municipale » expire le \
               1er août. Prolongez-le dès maintenant : https://habilitation.example/jetons/7?a=1&b=2\n\
               .Une ligne qui commence par un point.\n\nÀ bientôt, l'équipe — ça déménage !\n"
            .to_owned(),
        html,
    }
}

#[tokio::test]
async fn a_french_letter_crosses_smtp_unchanged() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(settings(sink.addr().port(), Duration::from_secs(10))).unwrap();
    let letter = french_letter(None);
    mailer.send(&letter).await.unwrap();

    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.from, "ne-pas-repondre@passerelle.example");
    assert_eq!(
        message.recipients,
        ["anne.dupont@mairie.example", "bruno.martin@prestataire.example"]
    );
    assert_eq!(message.subject().as_deref(), Some(letter.subject.as_str()));
    assert_eq!(message.text().as_deref(), Some(letter.text.as_str()));
    assert!(message.header("Cc").unwrap().contains("Bruno Martin"));
}

#[tokio::test]
async fn the_text_part_of_an_html_letter_is_read_back() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(settings(sink.addr().port(), Duration::from_secs(10))).unwrap();
    let letter = french_letter(Some("<p>Bonjour Anne, à bientôt.</p>".to_owned()));
    mailer.send(&letter).await.unwrap();
    mailer.send(&french_letter(None)).await.unwrap();

    let received = sink.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(received[0].text().as_deref(), Some(letter.text.as_str()));
    assert_eq!(received[1].subject().as_deref(), Some(letter.subject.as_str()));
}

#[tokio::test]
async fn a_silent_server_fails_within_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and keeps the connection open without ever greeting.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let timeout = Duration::from_millis(500);
    let mailer = SmtpMailer::new(settings(port, timeout)).unwrap();

    let started = Instant::now();
    let outcome = mailer.send(&french_letter(None)).await;
    let elapsed = started.elapsed();

    assert!(matches!(outcome, Err(MailError::Timeout(_))), "{outcome:?}");
    assert!(!outcome.unwrap_err().is_permanent());
    assert!(elapsed >= timeout, "{elapsed:?}");
    assert!(elapsed < timeout * 4, "{elapsed:?}");
    silent.abort();
}

#[tokio::test]
async fn a_letter_without_recipient_is_refused() {
    let mailer = SmtpMailer::new(settings(25, Duration::from_secs(1))).unwrap();
    let mut letter = french_letter(None);
    letter.to.clear();
    letter.cc.clear();
    let outcome = mailer.send(&letter).await;
    assert!(matches!(outcome, Err(MailError::NoRecipient)), "{outcome:?}");
}

#[tokio::test]
async fn a_base64_body_is_decoded_too() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(settings(sink.addr().port(), Duration::from_secs(10))).unwrap();
    let mut letter = french_letter(None);
    // Mostly non-ASCII: lettre prefers base64 to quoted-printable.
    letter.text = "« Éléonore » — ÀÉÈÊËÎÏÔÙÛÜŸÇ àéèêëîïôùûüÿç œæ…\n".repeat(3);
    mailer.send(&letter).await.unwrap();

    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    let encoding = received[0].header("Content-Transfer-Encoding");
    assert_eq!(encoding.as_deref(), Some("base64"));
    assert_eq!(received[0].text().as_deref(), Some(letter.text.as_str()));
}
