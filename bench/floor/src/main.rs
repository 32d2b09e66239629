//! `floor`: the least a gateway built on Passerelle's HTTP stack can cost a call.
//!
//! A reverse proxy with nothing in it, as nginx is in `bench/run`: each request's path,
//! query and three headers go to the upstream, its answer comes back. Two stacks:
//! `axum-reqwest` (hyper's HTTP/1.1 server, an axum router, a reqwest client without
//! redirects: the gateway's stack until its providers sent on hyper-util directly) and
//! `hyper` (hyper's server and hyper-util's client alone). `bench/run` measures both beside nginx and the gateway:
//! what lies between `floor` and the gateway is the pipeline; what lies between
//! `floor` and nginx is the stack.
//!
//! `--layers N` wraps the axum stack's handler in N empty `from_fn` middlewares, the
//! gateway's style for each cross-cutting concern, to price one such layer;
//! `--tower-layers N` in N hand-written tower layers that cost what an async one must
//! (its inner service cloned, one boxed future a call), to price the alternative.
//!
//! Usage: `floor --stack axum-reqwest|hyper --upstream http://HOST:PORT [--listen ADDR]
//! [--layers N] [--tower-layers N]`

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tower::ServiceExt;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The headers the upstream needs, as the gateway sends them.
const FORWARDED: [&str; 3] = ["authorization", "x-correlation-id", "x-apipart-fsfinal"];
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Stack {
    AxumReqwest,
    Hyper,
}

/// A bare reverse proxy on Passerelle's HTTP stack, for bench/run (see the module's comment).
#[derive(clap::Parser)]
struct Options {
    #[arg(long, value_enum)]
    stack: Stack,
    /// The upstream's base, `http://HOST:PORT`.
    #[arg(long, value_parser = base)]
    upstream: String,
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    #[command(flatten)]
    layers: Layers,
}

// Empty middlewares around the axum stack's handler.
#[derive(clap::Args, Clone, Copy, Default)]
struct Layers {
    /// Empty `from_fn` middlewares around the handler (axum stack).
    #[arg(long = "layers", value_name = "N", default_value_t = 0)]
    from_fn: usize,
    /// Hand-written tower middlewares around the handler (axum stack).
    #[arg(long = "tower-layers", value_name = "N", default_value_t = 0)]
    tower: usize,
}

fn base(url: &str) -> Result<String, String> {
    Ok(url.trim_end_matches('/').to_string())
}

fn main() -> anyhow::Result<()> {
    let options = <Options as clap::Parser>::parse();
    // One worker thread, as bench/run gives the gateway (TOKIO_WORKER_THREADS=1).
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(options))
}

async fn serve(options: Options) -> anyhow::Result<()> {
    let listener = TcpListener::bind(options.listen).await?;
    println!("floor listening on http://{}", listener.local_addr()?);
    let handler = Handler::new(options.stack, options.upstream, options.layers)?;
    accept(listener, handler).await
}

async fn accept(listener: TcpListener, handler: Handler) -> anyhow::Result<()> {
    loop {
        let (socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handler.clone().call(request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

type HyperClient = hyper_util::client::legacy::Client<HttpConnector, Empty<Bytes>>;

#[derive(Clone)]
enum Handler {
    /// The router owns the client, as the gateway's routes own their providers.
    AxumReqwest(axum::Router),
    /// Shared: a hyper-util client is a few hundred bytes, cloned per call otherwise.
    Hyper(Arc<Upstream<HyperClient>>),
}

#[derive(Clone)]
struct Upstream<C> {
    client: C,
    base: String,
}

impl Handler {
    fn new(stack: Stack, base: String, layers: Layers) -> anyhow::Result<Handler> {
        Ok(match stack {
            Stack::AxumReqwest => {
                // reqwest as the providers had it until they sent on hyper-util
                // directly (passerelle_providers::upstream): kept, so that this floor
                // reads as in the earlier passes.
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(TIMEOUT)
                    .timeout(TIMEOUT)
                    .pool_idle_timeout(Duration::from_secs(60))
                    .build()?;
                let mut router = axum::Router::new()
                    .fallback(via_reqwest)
                    .with_state(Upstream { client, base });
                for _ in 0..layers.from_fn {
                    router = router.layer(axum::middleware::from_fn(pass));
                }
                for _ in 0..layers.tower {
                    router = router.layer(tower::layer::layer_fn(Passing));
                }
                Handler::AxumReqwest(router)
            }
            Stack::Hyper => {
                let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(60))
                    .build_http();
                Handler::Hyper(Arc::new(Upstream { client, base }))
            }
        })
    }

    async fn call(self, request: Request<Incoming>) -> Result<Response, Infallible> {
        match self {
            Handler::AxumReqwest(router) => router.oneshot(request.map(Body::new)).await,
            Handler::Hyper(upstream) => Ok(via_hyper(&upstream, request).await),
        }
    }
}

/// A middleware that does nothing but pass the request on.
async fn pass(request: Request, next: axum::middleware::Next) -> Response {
    next.run(request).await
}

/// The least an async middleware written as a tower service costs.
#[derive(Clone)]
struct Passing<S>(S);

impl<S> tower::Service<Request> for Passing<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was made ready is the one called (tower's usual dance).
        let clone = self.0.clone();
        let mut ready = std::mem::replace(&mut self.0, clone);
        Box::pin(async move { tower::Service::call(&mut ready, request).await })
    }
}

async fn via_reqwest(State(upstream): State<Upstream<reqwest::Client>>, uri: Uri, headers: HeaderMap) -> Response {
    let mut call = upstream.client.get(target(&upstream.base, &uri));
    for (name, value) in forwarded(&headers) {
        call = call.header(name, value);
    }
    let answer = match call.send().await {
        Ok(answer) => answer,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let (status, kind) = (answer.status(), answer.headers().get("content-type").cloned());
    match answer.bytes().await {
        Ok(body) => reply(status, kind, body),
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

async fn via_hyper(upstream: &Upstream<HyperClient>, request: Request<Incoming>) -> Response {
    let mut call = hyper::Request::get(target(&upstream.base, request.uri()));
    for (name, value) in forwarded(request.headers()) {
        call = call.header(name, value);
    }
    let Ok(call) = call.body(Empty::new()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let exchange = async {
        let answer = upstream.client.request(call).await.ok()?;
        let (status, kind) = (answer.status(), answer.headers().get("content-type").cloned());
        let body = answer.into_body().collect().await.ok()?.to_bytes();
        Some(reply(status, kind, body))
    };
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(Some(response)) => response,
        _ => StatusCode::BAD_GATEWAY.into_response(),
    }
}

fn target(base: &str, uri: &Uri) -> String {
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    format!("{base}{path}")
}

fn forwarded(headers: &HeaderMap) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
    FORWARDED.iter().filter_map(|name| {
        headers
            .get(*name)
            .map(|value| (HeaderName::from_static(name), value.clone()))
    })
}

fn reply(status: StatusCode, kind: Option<HeaderValue>, body: Bytes) -> Response {
    let mut out = Response::new(Body::new(Full::new(body)));
    *out.status_mut() = status;
    if let Some(kind) = kind {
        out.headers_mut().insert("content-type", kind);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that answers 404 with the headers it was given, as JSON-ish text.
    async fn upstream() -> String {
        let app = axum::Router::new().fallback(|uri: Uri, headers: HeaderMap| async move {
            let seen: Vec<String> = FORWARDED
                .iter()
                .map(|n| format!("{n}={}", headers.get(*n).and_then(|v| v.to_str().ok()).unwrap_or("-")))
                .collect();
            let body = format!("{} {} cookie={}", uri, seen.join(" "), headers.contains_key("cookie"));
            (StatusCode::NOT_FOUND, [("content-type", "application/json")], body)
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{address}")
    }

    async fn floor(stack: Stack, base: String, layers: Layers) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let handler = Handler::new(stack, base, layers).unwrap();
        tokio::spawn(async move { accept(listener, handler).await.unwrap() });
        format!("http://{address}")
    }

    /// Both stacks forward what nginx forwards in bench/run (path, query, the three
    /// headers) and nothing else of note, and give back the upstream's status, type
    /// and body.
    #[tokio::test]
    async fn each_stack_forwards_the_call_and_brings_the_answer_back() {
        let base = upstream().await;
        let layered = Layers { from_fn: 2, tower: 2 };
        for (stack, layers) in [
            (Stack::AxumReqwest, Layers::default()),
            (Stack::AxumReqwest, layered),
            (Stack::Hyper, Layers::default()),
        ] {
            let proxy = floor(stack, base.clone(), layers).await;
            let answer = reqwest::Client::new()
                .get(format!("{proxy}/dss/rsa?nomNaissance=PERSONNE&genre=M"))
                .header("Authorization", "Bearer upstream-token")
                .header("X-Correlation-ID", "c-1")
                .header("X-APIPART-FSFINAL", "13002526500013")
                .header("Cookie", "session=1")
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 404);
            assert_eq!(answer.headers()["content-type"], "application/json");
            assert_eq!(
                answer.text().await.unwrap(),
                "/dss/rsa?nomNaissance=PERSONNE&genre=M authorization=Bearer upstream-token \
                 x-correlation-id=c-1 x-apipart-fsfinal=13002526500013 cookie=false"
            );
        }
    }

    #[test]
    fn options_are_checked() {
        let parse = |a: &str| <Options as clap::Parser>::try_parse_from(std::iter::once("floor").chain(a.split(' ')));
        let options = parse("--stack hyper --upstream http://127.0.0.1:9/ --layers 2 --tower-layers 3").unwrap();
        assert!(options.stack == Stack::Hyper && options.upstream == "http://127.0.0.1:9");
        assert!(options.layers.from_fn == 2 && options.layers.tower == 3);
        assert!(parse("--stack nginx --upstream http://a").is_err());
        assert!(parse("--stack hyper").is_err());
        assert!(parse("--stack hyper --upstream http://a --layers many").is_err());
        assert!(parse("--stack hyper --upstream").is_err());
    }
}
