//! `passerelle batch`: one call per row of a CSV file against a Passerelle gateway
//! (API Particulier or API Entreprise), paced by the gateway's `RateLimit-*` headers,
//! retried when the answer may change, and resumable: each answered row is appended to
//! the output at once, and a new run skips the rows already there.
//!
//! The token is only ever sent in the `Authorization` header: it is not in `Config`'s
//! `Debug`, the output, the progress bar or any error.

mod output;
mod pace;
mod params;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use uuid::Uuid;

pub use output::{Outcome, RESULT_COLUMNS};
pub use pace::{Backoff, RateLimit};
pub use params::{call_for, Call, Fixed, Mapping};

use output::Output;

/// 429s one row may get before the run gives up (the pacing should make them rare).
const MAX_THROTTLED: u32 = 20;

#[derive(Clone)]
pub struct Config {
    /// The bouquet's base URL (`https://host`), without the endpoint's path.
    pub base_url: String,
    pub token: String,
    /// The endpoint's path, with `{placeholders}` for its path parameters.
    pub endpoint: String,
    pub input: PathBuf,
    pub output: PathBuf,
    pub fixed: Fixed,
    pub mapping: Mapping,
    pub backoff: Backoff,
    /// Stop after answering this many rows in this run (tests, trial runs).
    pub max_rows: Option<u64>,
    pub progress: bool,
    pub timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("token", &"<hidden>")
            .field("endpoint", &self.endpoint)
            .field("input", &self.input)
            .field("output", &self.output)
            .field("max_rows", &self.max_rows)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn new(base_url: &str, token: &str, endpoint: &str, input: &Path, output: &Path) -> Config {
        Config {
            base_url: base_url.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
            endpoint: endpoint.to_string(),
            input: input.to_path_buf(),
            output: output.to_path_buf(),
            fixed: Fixed::default(),
            mapping: Mapping::default(),
            backoff: Backoff::default(),
            max_rows: None,
            progress: false,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Rows of the input.
    pub rows: u64,
    /// Rows already in the output when the run started.
    pub skipped: u64,
    pub ok: u64,
    /// Rows answered with an error, by status (0: the row could not be called).
    pub errors: BTreeMap<u16, u64>,
    /// Calls made again (after a 429, a 502/503/504 or a connection error).
    pub retried: u64,
    /// HTTP calls made, retries included.
    pub calls: u64,
    pub elapsed: Duration,
}

impl Summary {
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<String> = self.errors.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        write!(
            f,
            "{} rows ({} already done), {} ok, errors {{{}}}, {} retried, {} calls in {:.1} s ({:.2} calls/s)",
            self.rows,
            self.skipped,
            self.ok,
            errors.join(", "),
            self.retried,
            self.calls,
            self.elapsed.as_secs_f64(),
            self.calls_per_second()
        )
    }
}

/// Runs the batch: reads the input, skips the rows of the output, calls the rest in
/// order. Stops with an error (the output staying valid for a resume) when the gateway
/// cannot be reached after every attempt.
pub async fn run(config: &Config) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let (headers, rows) = read_input(&config.input)?;
    params::check_columns(&config.endpoint, &headers, &config.mapping)?;
    let (mut output, done) = Output::open(&config.output, &output::header(&headers))?;
    let client = reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut summary = Summary {
        rows: rows.len() as u64,
        ..Summary::default()
    };
    let progress = progress_bar(config.progress, summary.rows);
    let mut caller = Caller {
        client,
        config,
        rate: None,
        summary: &mut summary,
    };
    let mut answered = 0;
    for (index, row) in rows.iter().enumerate() {
        let number = index as u64 + 1;
        if done.contains(&number) {
            caller.summary.skipped += 1;
            progress.inc(1);
            continue;
        }
        if config.max_rows.is_some_and(|max| answered >= max) {
            break;
        }
        let outcome = match params::call_for(&config.endpoint, &headers, row, &config.mapping, &config.fixed) {
            Ok(call) => caller.call(&call).await?,
            Err(e) => bad_row(e),
        };
        caller.count(&outcome);
        output.write(number, row, &outcome)?;
        answered += 1;
        progress.inc(1);
    }
    progress.finish_and_clear();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn read_input(path: &Path) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("reading the input {}", path.display()))?;
    let headers: Vec<String> = reader.headers()?.iter().map(|h| h.trim().to_string()).collect();
    if headers.iter().any(|h| h == "row") {
        bail!("the input has a column named `row`, which the output uses for the row number");
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        rows.push(record?.iter().map(str::to_string).collect());
    }
    Ok((headers, rows))
}

fn progress_bar(enabled: bool, rows: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(rows), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {per_sec}, eta {eta}") {
        bar.set_style(style);
    }
    bar
}

fn bad_row(error: anyhow::Error) -> Outcome {
    Outcome {
        status: None,
        request_id: String::new(),
        error_code: "bad_row".into(),
        error_detail: error.to_string(),
        data: None,
    }
}

struct Caller<'a> {
    client: reqwest::Client,
    config: &'a Config,
    rate: Option<RateLimit>,
    summary: &'a mut Summary,
}

/// One attempt's result.
enum Attempt {
    Answer(u16, Outcome),
    Throttled(Duration),
    Unreachable(reqwest::Error),
}

impl Caller<'_> {
    /// Calls until the answer is final: waits out 429s, retries 502/503/504 and
    /// connection errors with backoff, never retries other statuses.
    async fn call(&mut self, call: &Call) -> anyhow::Result<Outcome> {
        let mut failed = 0;
        let mut throttled = 0;
        loop {
            if let Some(rate) = self.rate {
                tokio::time::sleep(rate.delay(pace::epoch_now())).await;
            }
            if failed + throttled > 0 {
                self.summary.retried += 1;
            }
            self.summary.calls += 1;
            match self.attempt(call).await {
                Attempt::Answer(401, outcome) => {
                    // An expired or revoked token fails every row alike: stop rather
                    // than write the whole file as 401s.
                    bail!(
                        "the gateway refused the token (401 {}): stopping; the rows answered so far are kept",
                        outcome.error_code
                    );
                }
                Attempt::Answer(status, outcome) => {
                    failed += 1;
                    if !pace::transient(status) || failed >= self.config.backoff.max_attempts {
                        return Ok(outcome);
                    }
                    tokio::time::sleep(self.config.backoff.delay(failed)).await;
                }
                Attempt::Throttled(wait) => {
                    throttled += 1;
                    if throttled >= MAX_THROTTLED {
                        bail!("still refused with 429 after {MAX_THROTTLED} attempts: stopping (resume later)");
                    }
                    tokio::time::sleep(wait).await;
                }
                Attempt::Unreachable(error) => {
                    failed += 1;
                    if failed >= self.config.backoff.max_attempts {
                        // The URL has no secret (the token is a header), but the query
                        // holds a person's identity: leave it out of the message.
                        bail!(
                            "the gateway is unreachable after {failed} attempts ({}): stopping (resume later)",
                            error.without_url()
                        );
                    }
                    tokio::time::sleep(self.config.backoff.delay(failed)).await;
                }
            }
        }
    }

    async fn attempt(&mut self, call: &Call) -> Attempt {
        // Our own id: the gateway keeps a UUID it is given, so both sides log the same.
        let sent_id = Uuid::new_v4().to_string();
        let response = self
            .client
            .get(format!("{}{}", self.config.base_url, call.path))
            .query(&call.query)
            .bearer_auth(&self.config.token)
            .header("x-request-id", &sent_id)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => return Attempt::Unreachable(error),
        };
        let headers = response.headers().clone();
        if let Some(rate) = RateLimit::from_headers(&headers) {
            self.rate = Some(rate);
        }
        let status = response.status().as_u16();
        if status == 429 {
            let wait = pace::retry_after(&headers).unwrap_or(Duration::from_secs(1));
            return Attempt::Throttled(wait);
        }
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(&sent_id)
            .to_string();
        let body: Value = match response.bytes().await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            Err(error) => return Attempt::Unreachable(error),
        };
        Attempt::Answer(status, outcome(status, request_id, body))
    }

    fn count(&mut self, outcome: &Outcome) {
        match outcome.status {
            Some(status) if (200..300).contains(&status) => self.summary.ok += 1,
            other => *self.summary.errors.entry(other.unwrap_or(0)).or_default() += 1,
        }
    }
}

/// A JSON:API answer: `data` on success, the first error's code and detail otherwise.
fn outcome(status: u16, request_id: String, body: Value) -> Outcome {
    let success = (200..300).contains(&status);
    let first_error = &body["errors"][0];
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_default();
    Outcome {
        status: Some(status),
        request_id,
        error_code: if success {
            String::new()
        } else {
            text(&first_error["code"])
        },
        error_detail: if success {
            String::new()
        } else {
            text(&first_error["detail"])
        },
        data: success.then(|| body["data"].clone()),
    }
}
