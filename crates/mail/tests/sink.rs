//! The SMTP sink spoken to by hand, command by command.

use std::time::Duration;

use passerelle_mail::testing::SmtpSink;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    async fn connect(sink: &SmtpSink) -> Client {
        let stream = TcpStream::connect(sink.addr()).await.unwrap();
        let mut client = Client {
            reader: BufReader::new(stream),
        };
        assert!(client.reply().await.starts_with("220 "));
        client
    }

    /// The last line of a possibly multi-line reply.
    async fn reply(&mut self) -> String {
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.trim_end().to_owned();
            }
        }
    }

    async fn say(&mut self, line: &str) -> String {
        let stream = self.reader.get_mut();
        stream.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
        self.reply().await
    }
}

#[tokio::test]
async fn the_sink_speaks_smtp() {
    let sink = SmtpSink::start().await;
    let mut client = Client::connect(&sink).await;
    assert!(client.say("EHLO client.example").await.starts_with("250 "));
    assert!(client.say("HELO client.example").await.starts_with("250 "));
    assert!(client.say("NOOP").await.starts_with("250 "));
    assert!(client.say("RCPT TO:<early@example.org>").await.starts_with("503 "));
    assert!(client.say("MAIL FROM:<a@example.org>").await.starts_with("250 "));
    assert!(client.say("RSET").await.starts_with("250 "));
    assert!(client.say("DATA").await.starts_with("503 "));
    assert!(client.say("VRFY someone").await.starts_with("502 "));

    assert!(client
        .say("mail from:<b@example.org> BODY=8BITMIME")
        .await
        .starts_with("250 "));
    assert!(client.say("RCPT TO:<c@example.org>").await.starts_with("250 "));
    assert!(client.say("RCPT TO:<d@example.org>").await.starts_with("250 "));
    assert!(client.say("DATA").await.starts_with("354 "));
    let data = "Subject: =?utf-8?q?Caf=C3=A9?=\r\n\r\n..point\r\nfin\r\n.";
    assert!(client.say(data).await.starts_with("250 "));
    assert!(client.say("QUIT").await.starts_with("221 "));

    let received = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.from, "b@example.org");
    assert_eq!(message.recipients, ["c@example.org", "d@example.org"]);
    assert_eq!(message.data, "Subject: =?utf-8?q?Caf=C3=A9?=\r\n\r\n.point\r\nfin");
    assert_eq!(message.subject().as_deref(), Some("Café"));
    assert_eq!(message.text().as_deref(), Some(".point\nfin"));
}

#[tokio::test]
async fn messages_of_several_connections_are_all_kept() {
    let sink = SmtpSink::start().await;
    for n in 0..3 {
        let mut client = Client::connect(&sink).await;
        client.say("HELO client.example").await;
        client.say(&format!("MAIL FROM:<s{n}@example.org>")).await;
        client.say("RCPT TO:<r@example.org>").await;
        client.say("DATA").await;
        client.say(&format!("Subject: {n}\r\n\r\ncorps\r\n.")).await;
    }
    let received = sink.wait_for(3, Duration::from_secs(5)).await;
    let subjects: Vec<String> = received.iter().filter_map(|m| m.subject()).collect();
    assert_eq!(subjects, ["0", "1", "2"]);
}

#[tokio::test]
#[should_panic(expected = "expected 1")]
async fn waiting_for_a_message_that_never_comes_fails() {
    let sink = SmtpSink::start().await;
    sink.wait_for(1, Duration::from_millis(100)).await;
}
