//! The HTTP server against clients that hold connections, over raw sockets: a request
//! head sent byte by byte, a kept-alive connection left idle, more connections than the
//! cap, and a SIGTERM while requests are half sent.

use std::process::Stdio;
use std::time::{Duration, Instant};

use passerelle_gateway::config::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::deployment::*;
use crate::helpers::TestApp;
use crate::shutdown::exit_code;

const PING: &[u8] = b"GET /api/ping HTTP/1.1\r\nHost: passerelle\r\n\r\n";

async fn app(header_read_timeout_ms: u64, idle_timeout_secs: u64, max_connections: usize) -> TestApp {
    TestApp::builder()
        .server(ServerConfig {
            header_read_timeout_ms,
            idle_timeout_secs,
            max_connections,
        })
        .start()
        .await
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://")).await.unwrap()
}

/// Reads one response with a `Content-Length` body; its status.
async fn read_response(stream: &mut TcpStream) -> u16 {
    let mut received = Vec::new();
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before a whole response");
        received.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map(|value| value.trim().parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; (head_end + length).saturating_sub(received.len())];
    stream.read_exact(&mut body).await.unwrap();
    head[9..12].parse().unwrap()
}

/// How long after `since` the server closed `stream` (end of file or error), if it did
/// within `limit`.
async fn closed_after(stream: &mut (impl AsyncRead + Unpin), since: Instant, limit: Duration) -> Option<Duration> {
    let until_closed = async {
        let mut chunk = [0u8; 256];
        while let Ok(n) = stream.read(&mut chunk).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::time::timeout(limit, until_closed).await.ok()?;
    Some(since.elapsed())
}

#[tokio::test]
async fn a_request_head_sent_byte_by_byte_is_cut_at_the_header_timeout() {
    let app = app(1000, 30, 100).await;
    let (mut reader, mut writer) = connect(&app.base).await.into_split();
    let connected = Instant::now();
    // A byte every 200 ms: each read is quick, the head never ends.
    let trickle = tokio::spawn(async move {
        let head = b"GET /api/ping HTTP/1.1\r\nX-Slow: ".iter();
        for byte in head.chain(std::iter::repeat(&b'a')) {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let closed = closed_after(&mut reader, connected, Duration::from_secs(5)).await;
    trickle.abort();
    let closed = closed.expect("the slow head still holds its connection after 5 s");
    eprintln!("slow head cut {:.2} s after connecting", closed.as_secs_f64());
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&closed),
        "closed after {closed:?}"
    );
    // A silent socket is cut likewise.
    let mut silent = connect(&app.base).await;
    let closed = closed_after(&mut silent, Instant::now(), Duration::from_secs(5)).await;
    assert!(closed.is_some(), "a silent socket still open after 5 s");
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout_not_the_header_one() {
    let app = app(300, 1, 100).await;
    let mut stream = connect(&app.base).await;
    stream.write_all(PING).await.unwrap();
    assert_eq!(read_response(&mut stream).await, 200);
    // Longer than the header timeout: an idle wait is not a slow head.
    tokio::time::sleep(Duration::from_millis(700)).await;
    stream.write_all(PING).await.unwrap();
    assert_eq!(read_response(&mut stream).await, 200);
    let answered = Instant::now();
    let closed = closed_after(&mut stream, answered, Duration::from_secs(4)).await;
    let closed = closed.expect("the idle connection still open after 4 s");
    eprintln!("idle connection closed {:.2} s after its answer", closed.as_secs_f64());
    assert!(
        (Duration::from_millis(800)..Duration::from_millis(2500)).contains(&closed),
        "closed after {closed:?}"
    );
}

#[tokio::test]
async fn a_connection_beyond_the_cap_waits_until_one_closes() {
    let app = app(10_000, 30, 1).await;
    let mut first = connect(&app.base).await;
    first.write_all(PING).await.unwrap();
    assert_eq!(read_response(&mut first).await, 200);

    // The kernel completes the handshake; the gateway does not take the connection.
    let mut second = connect(&app.base).await;
    second.write_all(PING).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(800), read_response(&mut second)).await;
    assert!(early.is_err(), "a second connection served with a cap of one");

    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(3), read_response(&mut second))
        .await
        .expect("served once the first connection closed");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn sigterm_awaits_the_call_in_flight_but_not_half_sent_requests() {
    let deployment = Deployment::new().await;
    // The OAuth token, then the data: the call lasts about two seconds.
    let upstream = upstream(Duration::from_secs(1)).await;
    let log_path = deployment.dir.path().join("gateway.log");
    let mut env = deployment.env(&upstream, None);
    env.push(("PASSERELLE_SHUTDOWN_GRACE_SECS".into(), "20".into()));
    // The header timeout must not be what frees the half-sent requests.
    env.push(("PASSERELLE_SERVER__HEADER_READ_TIMEOUT_MS".into(), "60000".into()));
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut replica = deployment.replica(&env, Stdio::from(log_file)).await;
    let mut half_sent = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&replica.base).await;
        stream
            .write_all(b"GET /api/ping HTTP/1.1\r\nHost: passerelle\r\n")
            .await
            .unwrap();
        half_sent.push(stream);
    }
    let client = reqwest::Client::new();
    let (base, jwt) = (replica.base.clone(), deployment.jwt.clone());
    let in_flight = tokio::spawn(async move { try_call_at(&client, &base, &jwt, true).await });
    replica
        .wait_metric("passerelle_calls_in_flight", &[], 1.0, Duration::from_secs(10))
        .await;

    replica.running.terminate();
    let signalled = Instant::now();
    assert_eq!(exit_code(&mut replica, Duration::from_secs(30)).await, Some(0));
    let took = signalled.elapsed();
    let answered = in_flight.await.unwrap().expect("the call in flight was cut");
    assert_eq!(answered.status(), 200);
    assert!(took < Duration::from_secs(8), "exited {took:?} after SIGTERM");
    eprintln!("stopped {:.2} s after SIGTERM", took.as_secs_f64());
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(!logs.contains("still running"), "{logs}");
}
