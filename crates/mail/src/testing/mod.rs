//! A real SMTP server on the loopback, keeping every message it receives, for tests
//! of this crate and of the applications that send letters.

mod mime;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

use mime::Part;

/// A message as the sink received it.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), `cc` included.
    pub recipients: Vec<String>,
    /// The DATA as the client wrote it before the terminating `CRLF.CRLF`,
    /// dot-unstuffed, with its CRLF line ends.
    pub data: String,
}

impl ReceivedMessage {
    /// A header's value, unfolded and with encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        Part::parse(&self.data).header(name).map(mime::decode_words)
    }

    /// The decoded subject.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject")
    }

    /// The decoded plain-text body (the text part of a multipart message), with LF
    /// line ends.
    pub fn text(&self) -> Option<String> {
        Part::parse(&self.data).text()
    }
}

#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<ReceivedMessage>>,
    arrived: Notify,
}

impl Inbox {
    fn keep(&self, message: ReceivedMessage) {
        self.messages.lock().expect("inbox lock").push(message);
        self.arrived.notify_waiters();
    }

    fn all(&self) -> Vec<ReceivedMessage> {
        self.messages.lock().expect("inbox lock").clone()
    }
}

/// The server; it stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
    server: JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1 on a free port.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink on the loopback");
        let addr = listener.local_addr().expect("the sink's address");
        let inbox = Arc::new(Inbox::default());
        let server = tokio::spawn(serve(listener, inbox.clone()));
        SmtpSink { addr, inbox, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.inbox.all()
    }

    /// Waits until at least `n` messages arrived, and returns them all.
    ///
    /// # Panics
    /// When fewer than `n` arrived within `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before looking, so an arrival in between is not missed.
            let arrived = self.inbox.arrived.notified();
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "the SMTP sink received {} message(s) within {timeout:?}, expected {n}",
                    self.messages().len()
                );
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Aborting the server drops its JoinSet, which ends the open sessions too.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, inbox: Arc<Inbox>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    sessions.spawn(session(stream, inbox.clone()));
                }
            }
            Some(_) = sessions.join_next() => {}
        }
    }
}

/// The envelope being built between `MAIL FROM` and the end of `DATA`.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    recipients: Vec<String>,
}

async fn session(stream: TcpStream, inbox: Arc<Inbox>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut transaction = Transaction::default();
    write.write_all(b"220 passerelle-sink ESMTP\r\n").await?;
    while let Some(line) = read_line(&mut lines).await? {
        let (verb, argument) = split_command(&line);
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-passerelle-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 passerelle-sink\r\n",
            "MAIL" => {
                transaction = Transaction {
                    from: Some(angle_address(argument)),
                    recipients: Vec::new(),
                };
                b"250 OK\r\n"
            }
            "RCPT" if transaction.from.is_none() => b"503 MAIL first\r\n",
            "RCPT" => {
                transaction.recipients.push(angle_address(argument));
                b"250 OK\r\n"
            }
            "DATA" if transaction.recipients.is_empty() => b"503 RCPT first\r\n",
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let data = read_data(&mut lines).await?;
                let envelope = std::mem::take(&mut transaction);
                inbox.keep(ReceivedMessage {
                    from: envelope.from.unwrap_or_default(),
                    recipients: envelope.recipients,
                    data,
                });
                b"250 OK queued\r\n"
            }
            "RSET" => {
                transaction = Transaction::default();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

/// One line without its line end; `None` when the client closed.
async fn read_line(reader: &mut (impl AsyncBufReadExt + Unpin)) -> std::io::Result<Option<String>> {
    let mut buffer = Vec::new();
    if reader.read_until(b'\n', &mut buffer).await? == 0 {
        return Ok(None);
    }
    let line = String::from_utf8_lossy(&buffer);
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

/// The DATA lines up to the lone dot, dot-unstuffed, joined by CRLF.
async fn read_data(reader: &mut (impl AsyncBufReadExt + Unpin)) -> std::io::Result<String> {
    let mut lines = Vec::new();
    while let Some(line) = read_line(reader).await? {
        if line == "." {
            return Ok(lines.join("\r\n"));
        }
        lines.push(line.strip_prefix('.').map(str::to_owned).unwrap_or(line));
    }
    Err(std::io::ErrorKind::UnexpectedEof.into())
}

/// `MAIL FROM:<a@b> BODY=8BITMIME` gives ("MAIL", "FROM:<a@b> BODY=8BITMIME").
fn split_command(line: &str) -> (String, &str) {
    let (verb, argument) = line.split_once(' ').unwrap_or((line, ""));
    (verb.to_ascii_uppercase(), argument)
}

/// The address between angle brackets of a `MAIL`/`RCPT` argument.
fn angle_address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..].find('>').map_or(argument.len(), |i| start + i);
    argument[start..end].to_owned()
}
