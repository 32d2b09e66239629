//! A real browser for the tests: Debian's `chromium`, headless, driven over WebDriver by
//! its `chromedriver` through fantoccini. Never a downloaded browser. Other binaries may
//! be named by path in `PASSERELLE_CHROMIUM` and `PASSERELLE_CHROMEDRIVER`.
//!
//! `Browser::start()` gives `None` (after saying why) when the browser or its driver is
//! missing, so a developer without them skips the test; under `CI=true` it fails instead,
//! like every test that needs a service.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long chromedriver may take to answer `/status`, and a page to show an element.
const PATIENCE: Duration = Duration::from_secs(10);

pub struct Browser {
    /// `None` once closed.
    client: Option<Client>,
    driver: Child,
    /// The profile: fresh for each browser, so no cookie survives from another test.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless chromium behind it.
    /// `None` when either is missing and `CI` is not `true` (the caller then returns).
    pub async fn start() -> Option<Browser> {
        let chromium = binary("PASSERELLE_CHROMIUM", CHROMIUM);
        let chromedriver = binary("PASSERELLE_CHROMEDRIVER", CHROMEDRIVER);
        for (what, path) in [("chromium", &chromium), ("chromedriver", &chromedriver)] {
            if !path.is_file() {
                return skip(&format!(
                    "{what} not found at {} (apt-get install -y chromium chromium-driver)",
                    path.display()
                ));
            }
        }
        let port = free_port();
        let mut command = Command::new(&chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        // Its own process group, so that nothing it started outlives the test (see Drop).
        #[cfg(unix)]
        command.process_group(0);
        let mut driver = match command.spawn() {
            Ok(driver) => driver,
            Err(e) => return skip(&format!("{} would not start: {e}", chromedriver.display())),
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_until_ready(&mut driver, &webdriver).await;

        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--no-first-run".into(),
            format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1280,1600".into(),
        ];
        let mut capabilities = Capabilities::new();
        capabilities.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
        // Plain HTTP: chromedriver listens on the loopback only.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .unwrap_or_else(|e| panic!("{} could not start {}: {e}", chromedriver.display(), chromium.display()));
        Some(Browser {
            client: Some(client),
            driver,
            _profile: profile,
        })
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the browser is open")
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client().goto(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    }

    /// The element `css` selects, once the page shows it (at most 10 s).
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let wait = self.client().wait().at_most(PATIENCE);
        match wait.for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("{css} is not on {}: {e}", self.url().await),
        }
    }

    /// Clicks the element `css` selects (waiting for it).
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        element.click().await.unwrap_or_else(|e| panic!("click on {css}: {e}"));
    }

    /// Every element `css` selects now.
    pub async fn find_all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.client().find_all(Locator::Css(css)).await.unwrap()
    }

    pub async fn url(&self) -> String {
        self.client().current_url().await.unwrap().to_string()
    }

    pub async fn source(&self) -> String {
        self.client().source().await.unwrap()
    }

    /// Runs `script` in the page (WebDriver's execute, which the page's CSP allows).
    pub async fn execute(&self, script: &str) -> Value {
        let client = self.client();
        client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Like `execute`, for a script that ends by calling `arguments[0]` with its result.
    pub async fn execute_async(&self, script: &str) -> Value {
        let client = self.client();
        let result = client.execute_async(script, Vec::new()).await;
        result.unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Saves what the window shows to `target/screenshots/{name}.png` (a CI artefact).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client().screenshot().await.unwrap();
        let folder = screenshots_dir();
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Ends the session (chromedriver then quits chromium) and chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(PATIENCE, client.close()).await;
        }
        let _ = self.driver.kill().await;
    }
}

impl Drop for Browser {
    /// After a failed assertion: the session is closed from another thread (the test's
    /// runtime still drives the client's connection when it has workers; a
    /// current-thread one times out), then chromedriver's whole group is killed.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let closing = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build();
                if let Ok(runtime) = runtime {
                    let closed = async { tokio::time::timeout(Duration::from_secs(5), client.close()).await };
                    let _ = runtime.block_on(closed);
                }
            });
            let _ = closing.join();
        }
        #[cfg(unix)]
        if let Some(pid) = self.driver.id() {
            let group = format!("-{pid}");
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
        }
        // And `kill_on_drop` for chromedriver itself.
    }
}

/// `<workspace>/target/screenshots`.
pub fn screenshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
}

fn binary(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into())
}

/// Under `CI=true`, fails the test with `why`; elsewhere says why it is skipped.
fn skip(why: &str) -> Option<Browser> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("a real browser is needed under CI=true: {why}");
    }
    eprintln!("skipped, no real browser: {why}");
    None
}

/// A port nothing listens on (bound, then closed).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits (at most 10 s) until chromedriver's `/status` says it is ready.
async fn wait_until_ready(driver: &mut Child, webdriver: &str) {
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = driver.try_wait() {
            panic!("chromedriver stopped at once: {status}");
        }
        let answer = http.get(format!("{webdriver}/status")).send().await;
        if let Ok(answer) = answer {
            if let Ok(status) = answer.json::<Value>().await {
                if status["value"]["ready"] == true {
                    return;
                }
            }
        }
        assert!(
            start.elapsed() < PATIENCE,
            "chromedriver did not answer on {webdriver}/status in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
