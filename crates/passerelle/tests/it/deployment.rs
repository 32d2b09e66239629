//! Real `passerelle serve` processes sharing one store (PostgreSQL, as in production,
//! or a SQLite data folder) and one Redis, with simulators in this process: the tools of
//! the Redis, metrics and shutdown tests.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::binary::{issue_token_in, Running};
use crate::helpers::*;
use crate::pg::TestDb;

pub const QF: &str = "/v3/dss/quotient_familial/identite";

/// The machine's Redis (`PASSERELLE_TEST_REDIS_URL`, by default 127.0.0.1:6379). When it
/// does not answer, the test fails under CI and is skipped elsewhere.
pub async fn shared_redis() -> Option<String> {
    let url = std::env::var("PASSERELLE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    if answers(&url).await {
        return Some(url);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI: Redis does not answer at {url}"
    );
    eprintln!("Redis does not answer at {url}: test skipped");
    None
}

async fn answers(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let ping = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut connection).await
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), ping).await, Ok(Ok(_)))
}

/// A key prefix of its own, so that tests sharing one Redis do not see each other.
pub fn unique_prefix() -> String {
    format!("passerelle-test:{}:", Uuid::new_v4().simple())
}

/// The keys under `prefix`, and the text of every value.
pub async fn redis_contents(url: &str, prefix: &str) -> (Vec<String>, String) {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut values = String::new();
    for key in &keys {
        let value: Option<Vec<u8>> = redis::cmd("GET").arg(key).query_async(&mut connection).await.unwrap();
        values.push_str(&String::from_utf8_lossy(&value.unwrap_or_default()));
    }
    (keys, values)
}

/// Deletes the keys under `prefix` (cached answers live 24 h in the machine's Redis).
pub async fn forget(url: &str, prefix: &str) {
    let (keys, _) = redis_contents(url, prefix).await;
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    for key in keys {
        let _: i64 = redis::cmd("DEL").arg(key).query_async(&mut connection).await.unwrap();
    }
}

/// The simulators, served by this process; every request waits `delay` first.
pub struct Upstream {
    pub url: String,
    /// Requests received so far.
    pub seen: Arc<AtomicUsize>,
}

pub async fn upstream(delay: Duration) -> Upstream {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app =
        passerelle_providers::simulators().layer(axum::middleware::from_fn(move |request: Request, next: Next| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                next.run(request).await
            }
        }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Upstream { url, seen }
}

/// The store all replicas share and a token with every scope.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    db: Option<TestDb>,
    pub jti: String,
    pub jwt: String,
}

impl Deployment {
    /// On a SQLite data folder.
    pub async fn new() -> Deployment {
        Deployment::on(None).await
    }

    /// On a fresh PostgreSQL database; none when PostgreSQL is unreachable outside CI.
    pub async fn on_postgres() -> Option<Deployment> {
        Some(Deployment::on(Some(TestDb::create().await?)).await)
    }

    async fn on(db: Option<TestDb>) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let mut deployment = Deployment {
            dir,
            db,
            jti: String::new(),
            jwt: String::new(),
        };
        (deployment.jti, deployment.jwt) = issue_token_in(&deployment.store_args(), "Mairie", "all").await;
        deployment
    }

    pub fn data(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    /// The command-line arguments that name the shared store.
    pub fn store_args(&self) -> Vec<&str> {
        match &self.db {
            Some(db) => vec!["--database-url", db.url.as_str()],
            None => vec!["--data-dir", self.data()],
        }
    }

    /// The environment of a replica that calls `upstream` and, if given, shares `redis`
    /// (URL and key prefix). Redis gets a generous budget: the test machine is loaded,
    /// and a late answer would send a replica to its local state.
    pub fn env(&self, upstream: &Upstream, redis: Option<(&str, &str)>) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "PASSERELLE_PROVIDERS__DSS__BASE_URL".to_string(),
                format!("{}/dss", upstream.url),
            ),
            // These tests load the replicas from one IP far past a client's quota.
            ("PASSERELLE_IP_LIMITS__PER_MINUTE".into(), "100000000".into()),
            ("PASSERELLE_IP_LIMITS__REFUSALS_BEFORE_BAN".into(), "100000000".into()),
        ];
        if let Some((url, prefix)) = redis {
            env.push(("PASSERELLE_REDIS_URL".into(), url.into()));
            env.push(("PASSERELLE_REDIS__KEY_PREFIX".into(), prefix.into()));
            env.push(("PASSERELLE_REDIS__BUDGET_MS".into(), "500".into()));
        }
        env
    }

    /// A `passerelle serve` on any free port, with its metrics listener.
    pub async fn replica(&self, env: &[(String, String)], logs: Stdio) -> Replica {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--entreprise-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ];
        args.extend(self.store_args());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut running = Running::spawn_logging(&args, &env, logs);
        let metrics = running.line_after("metrics listening on").await;
        let base = running.line_after("gateway listening on").await;
        Replica { running, base, metrics }
    }
}

/// One call of the quotient familial for Axelle at `base`, as `jwt`; `no_cache` skips
/// the cache.
pub async fn call_at(client: &reqwest::Client, base: &str, jwt: &str, no_cache: bool) -> reqwest::Response {
    try_call_at(client, base, jwt, no_cache).await.unwrap()
}

pub async fn try_call_at(
    client: &reqwest::Client,
    base: &str,
    jwt: &str,
    no_cache: bool,
) -> reqwest::Result<reqwest::Response> {
    let mut query = pairs(AXELLE);
    query.push(("recipient".into(), RECIPIENT.into()));
    let mut request = client.get(format!("{base}{QF}")).query(&query).bearer_auth(jwt);
    if no_cache {
        request = request.header("cache-control", "no-cache");
    }
    request.send().await
}

pub struct Replica {
    pub running: Running,
    pub base: String,
    pub metrics: String,
}

impl Replica {
    pub async fn call(&self, client: &reqwest::Client, jwt: &str, no_cache: bool) -> reqwest::Response {
        call_at(client, &self.base, jwt, no_cache).await
    }

    pub async fn scrape(&self) -> String {
        reqwest::get(&self.metrics).await.unwrap().text().await.unwrap()
    }

    /// Polls the metrics until `name{labels}` equals `value`, for at most `limit`.
    pub async fn wait_metric(&self, name: &str, labels: &[(&str, &str)], value: f64, limit: Duration) {
        let started = Instant::now();
        loop {
            let text = self.scrape().await;
            if sample(&text, name, labels) == Some(value) {
                return;
            }
            assert!(started.elapsed() < limit, "{name} never reached {value}:\n{text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The sum of the samples of `name` that carry every label of `labels`; none if no
/// sample does.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            let wanted = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// A `redis-server` of this test alone, on a free port, that can be killed and restarted.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// None (outside CI) when `redis-server` is not installed.
    pub async fn start() -> Option<PrivateRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = PrivateRedis { port, child: None };
        if !redis.launch().await {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI: redis-server does not start"
            );
            eprintln!("redis-server does not start: test skipped");
            return None;
        }
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server on its port and waits until it answers.
    pub async fn launch(&mut self) -> bool {
        let port = self.port.to_string();
        let args = [
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        let Ok(child) = Command::new("redis-server")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
        else {
            return false;
        };
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if answers(&self.url()).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// SIGKILL: no goodbye to the connected gateways.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }
}
