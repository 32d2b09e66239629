//! PostgreSQL for the tests: a fresh database on the machine's server, or a whole
//! throw-away cluster (initdb + pg_ctl) that a test may stop and start again.
//!
//! Under `CI=true`, PostgreSQL missing fails the test; elsewhere the test is skipped
//! with a message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Fails under CI, says why the test is skipped elsewhere.
fn unavailable(what: String) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} (CI=true: PostgreSQL is required)");
    }
    eprintln!("SKIPPED: {what}; set CI=true to make this fail");
}

/// A database of its own on the machine's server, dropped at the end.
pub use passerelle_store_postgres::scratch::TestDb;

/// A PostgreSQL cluster of its own in a temp folder, on a free port.
pub struct Cluster {
    pub url: String,
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (the server
/// refuses to run as root).
fn run_pg(bin: &Path, tool: &str, args: &[&str]) -> std::process::Output {
    let exe = bin.join(tool);
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    command.args(args).output().expect("PostgreSQL tool runs")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    pub fn start() -> Option<Cluster> {
        let Some(bin) = pg_bin() else {
            unavailable("no initdb/pg_ctl under /usr/lib/postgresql/*/bin".into());
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if is_root() {
            let chown = Command::new("chown")
                .args(["postgres:postgres", dir.path().to_str().unwrap()])
                .status();
            assert!(chown.is_ok_and(|s| s.success()), "chown of the cluster folder");
        }
        let out = run_pg(
            &bin,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nfsync = on\n",
            dir.path().display()
        );
        let conf_file = data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&conf_file).unwrap_or_default();
        text.push_str(&conf);
        std::fs::write(&conf_file, text).unwrap();
        let cluster = Cluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            data,
            _dir: dir,
        };
        cluster.up();
        Some(cluster)
    }

    pub fn up(&self) {
        let log = self.data.join("server.log");
        let out = run_pg(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn down(&self) {
        let out = run_pg(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = run_pg(
            &self.bin,
            "pg_ctl",
            &["-D", self.data.to_str().unwrap(), "-m", "immediate", "-w", "stop"],
        );
    }
}

/// Polls `check` every 100 ms until it holds or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
