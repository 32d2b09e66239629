//! A proxy named by the environment is honoured: the upstream client sends through it,
//! and straight to the hosts `NO_PROXY` names. Its own test binary, because the
//! environment is the process's.

use std::time::Duration;

use passerelle_core::ProviderInfo;
use passerelle_providers::http::{client, TlsSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const SDH: ProviderInfo = ProviderInfo {
    name: "SDH",
    prefix: "41",
};

/// A server that answers `said` to every request and reports each request line.
async fn server(said: &'static str) -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (lines, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let lines = lines.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let _ = lines.send(head.lines().next().unwrap_or_default().to_string());
                let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{said}", said.len());
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (address, seen)
}

async fn fetch(url: &str) -> String {
    let upstream = client(Duration::from_secs(5), &TlsSettings::default()).unwrap();
    let response = upstream.send(SDH, upstream.get(url)).await.unwrap();
    String::from_utf8(response.bytes().await.unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn a_proxy_named_by_the_environment_is_used_except_where_no_proxy_says() {
    let (proxy, mut through_proxy) = server("via the proxy").await;
    let (direct, mut direct_lines) = server("straight").await;
    for name in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "no_proxy"] {
        std::env::remove_var(name);
    }
    std::env::set_var("HTTP_PROXY", format!("http://{proxy}"));
    std::env::set_var("http_proxy", format!("http://{proxy}"));
    std::env::set_var("NO_PROXY", "127.0.0.1");

    assert_eq!(fetch("http://upstream.example/dss/x?nom=A").await, "via the proxy");
    let line = through_proxy.recv().await.unwrap();
    assert_eq!(line, "GET http://upstream.example/dss/x?nom=A HTTP/1.1");

    assert_eq!(fetch(&format!("http://{direct}/dss/y")).await, "straight");
    assert_eq!(direct_lines.recv().await.unwrap(), "GET /dss/y HTTP/1.1");
    assert!(
        through_proxy.try_recv().is_err(),
        "NO_PROXY's host went through the proxy"
    );
}
