//! The HTTP/1.1 server under the listeners: how long a client may take to send a
//! request head, how long a kept-alive connection may wait idle, how many connections
//! are served at once, and a shutdown that waits for calls in flight and nothing else.
//!
//! Each connection is in one phase (`Phase`); its socket (`Watched`) fails with
//! `TimedOut` once the phase's deadline passes while hyper waits to read, and hyper
//! then drops the connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::config::ServerConfig;

/// The accept loops of every listener, until `drain`.
pub struct Server {
    /// `true` once the server stops; every accept loop and connection holds a receiver.
    stopping: watch::Sender<bool>,
}

impl Server {
    /// Serves each router on its listener, `settings.max_connections` at once on each:
    /// an accept loop holds a slot while it waits, so a cap shared by the listeners
    /// would lose one slot to each idle one.
    pub fn start(listeners: Vec<(TcpListener, Router)>, settings: &ServerConfig) -> Server {
        let (stopping, _) = watch::channel(false);
        let cap = settings.max_connections.min(Semaphore::MAX_PERMITS);
        let timeouts = Timeouts {
            header_read: Duration::from_millis(settings.header_read_timeout_ms),
            idle: Duration::from_secs(settings.idle_timeout_secs),
        };
        for (listener, app) in listeners {
            let accepting = Accepting {
                listener,
                app,
                timeouts,
                slots: Arc::new(Semaphore::new(cap)),
            };
            tokio::spawn(accepting.run(stopping.subscribe()));
        }
        Server { stopping }
    }

    /// Stops accepting, closes the connections with no call in flight and waits, for at
    /// most `grace`, until the calls in flight are answered. False if some are not.
    pub async fn drain(self, grace: Duration) -> bool {
        self.stopping.send_replace(true);
        tokio::time::timeout(grace, self.stopping.closed()).await.is_ok()
    }
}

#[derive(Clone, Copy)]
struct Timeouts {
    header_read: Duration,
    idle: Duration,
}

/// One listener's accept loop.
struct Accepting {
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    slots: Arc<Semaphore>,
}

impl Accepting {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            let accepted = tokio::select! {
                accepted = self.next() => accepted,
                () = stopped(&mut stop) => return,
            };
            let Some((socket, peer, slot)) = accepted else {
                return;
            };
            let connection = Connection {
                activity: Activity::new(),
                timeouts: self.timeouts,
                peer,
                _slot: slot,
            };
            tokio::spawn(connection.serve(socket, self.app.clone(), stop.clone()));
        }
    }

    /// The next connection, once a slot is free: beyond the cap, clients wait in the
    /// listen backlog. None if the semaphore is closed, which this module never does.
    async fn next(&self) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
        let slot = self.slots.clone().acquire_owned().await.ok()?;
        loop {
            match self.listener.accept().await {
                Ok((socket, peer)) => {
                    // Answers are written whole or streamed: Nagle's algorithm would
                    // hold a streamed body's last segment until the client's delayed ACK.
                    if let Err(e) = socket.set_nodelay(true) {
                        tracing::debug!(error = %e, "TCP_NODELAY not set");
                    }
                    return Some((socket, peer, slot));
                }
                Err(e) => pause_after(e).await,
            }
        }
    }
}

/// Resolves once the server stops (or is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// A refused or reset handshake concerns one client only; anything else (no file
/// descriptor left…) may last, so the loop waits before accepting again.
async fn pause_after(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        tracing::error!(error = %error, "cannot accept connections");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Where a connection stands; the phase decides which timeout runs.
#[derive(Clone, Copy)]
enum Phase {
    /// Waiting for a whole request head, since the connection was accepted or since the
    /// first byte after an idle wait.
    Head(Instant),
    /// A call is being answered: the provider budget bounds it, not the server.
    Busy,
    /// Answered; waiting for the next request on the kept-alive connection.
    Idle(Instant),
}

/// The phase of one connection, shared by its socket and its service.
#[derive(Clone)]
struct Activity(Arc<Mutex<Phase>>);

impl Activity {
    fn new() -> Activity {
        Activity(Arc::new(Mutex::new(Phase::Head(Instant::now()))))
    }

    fn phase(&self) -> Phase {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, phase: Phase) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = phase;
    }

    /// Bytes after an idle wait start the next request head.
    fn bytes_read(&self) {
        let mut phase = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
        }
    }

    /// None while a call is answered (or for a timeout too long to count).
    fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        match self.phase() {
            Phase::Head(since) => since.checked_add(timeouts.header_read),
            Phase::Idle(since) => since.checked_add(timeouts.idle),
            Phase::Busy => None,
        }
    }
}

/// One accepted connection and its slot under the cap, freed when it ends.
struct Connection {
    activity: Activity,
    timeouts: Timeouts,
    peer: SocketAddr,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve(self, socket: TcpStream, app: Router, mut stop: watch::Receiver<bool>) {
        let socket = Watched {
            socket,
            activity: self.activity.clone(),
            timeouts: self.timeouts,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        };
        let (peer, activity) = (self.peer, self.activity.clone());
        let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
            // The caller's address, for token IP allow-lists.
            request.extensions_mut().insert(ConnectInfo(peer));
            activity.set(Phase::Busy);
            let (app, activity) = (app.clone(), activity.clone());
            async move {
                let response = app.oneshot(request).await;
                activity.set(Phase::Idle(Instant::now()));
                response
            }
        });
        // The timeouts are the socket's, which tells an idle wait from a slow head.
        let connection = http1::Builder::new()
            .header_read_timeout(None)
            .serve_connection(TokioIo::new(socket), service);
        tokio::pin!(connection);
        tokio::select! {
            served = &mut connection => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection closed");
                }
            }
            () = stopped(&mut stop) => {
                // A request not yet whole is no call in flight: no reason to wait for it.
                if let Phase::Head(_) = self.activity.phase() {
                    return;
                }
                // Ends the call in flight then closes; closes at once when idle.
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
    }
}

/// A connection's socket: reading fails with `TimedOut` once the deadline of the
/// connection's phase has passed.
struct Watched {
    socket: TcpStream,
    activity: Activity,
    timeouts: Timeouts,
    timer: Pin<Box<Sleep>>,
}

impl Watched {
    /// Arms the timer on the phase's deadline (none while a call is answered); true once
    /// it has passed.
    fn deadline_passed(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.activity.deadline(self.timeouts) else {
            return false;
        };
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        self.timer.as_mut().poll(cx).is_ready()
    }
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.socket).poll_read(cx, buf) {
            Poll::Pending if this.deadline_passed(cx) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                this.activity.bytes_read();
                Poll::Ready(Ok(()))
            }
            polled => polled,
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // hyper may not read again after an answer until bytes come: the armed timer
        // wakes the connection at the idle deadline, and that read fails.
        this.deadline_passed(cx);
        Pin::new(&mut this.socket).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_shutdown(cx)
    }
}
