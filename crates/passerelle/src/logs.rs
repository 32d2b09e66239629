//! The process's log lines. Field values can carry what a caller sent (a header, a
//! path, an upstream's message): control characters are escaped so that no value can
//! end a line, forge the next one or drive the operator's terminal.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::IsTerminal;

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{self, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::FormatFields;

mod batched;

/// Writes out the log lines still waiting when dropped (at the end of `main`).
pub struct Flush(batched::Batched<std::io::Stderr>);

impl Drop for Flush {
    fn drop(&mut self) {
        self.0.flush();
    }
}

pub fn init() -> anyhow::Result<Flush> {
    // PostgreSQL's notices ("relation … already exists, skipping") are not news.
    let filter = tracing_subscriber::EnvFilter::try_from_env("PASSERELLE_LOG_LEVEL")
        .unwrap_or_else(|_| "info,sqlx::postgres::notice=warn".into());
    let out = batched::Batched::start(std::io::stderr())?;
    let before_panic = out.clone();
    let panic_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        before_panic.flush();
        panic_hook(info)
    }));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(out.clone())
        // Colour codes are for a terminal, not for a file or a log collector.
        .with_ansi(std::io::stderr().is_terminal());
    if std::env::var("PASSERELLE_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().with_timer(Seconds).init();
    } else {
        builder
            .compact()
            .with_timer(Seconds)
            .fmt_fields(escaped_fields())
            .init();
    }
    Ok(Flush(out))
}

/// The line's time as tracing's own timer writes it (RFC 3339, UTC, microseconds), its
/// date and time of day formatted once a second per thread: tracing's timer works out
/// the calendar on every line, 2 400 instructions of a call's 250 000.
struct Seconds;

impl FormatTime for Seconds {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        thread_local!(static LAST: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) });
        let now = chrono::Utc::now();
        LAST.with_borrow_mut(|(second, text)| {
            if *second != now.timestamp() {
                *second = now.timestamp();
                *text = now.format("%Y-%m-%dT%H:%M:%S").to_string();
            }
            write!(w, "{text}.{:06}Z", now.timestamp_subsec_micros() % 1_000_000)
        })
    }
}

/// `name=value` pairs (the message bare), each value with its control characters
/// escaped as it is written (no string made per field: a call's log line has seven).
fn escaped_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    format::debug_fn(|w: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug| {
        if field.name() != "message" {
            write!(w, "{}=", field.name())?;
        }
        write!(Escaping(w), "{value:?}")
    })
    .delimited(" ")
}

/// A control or line-separating character: written as a Rust escape.
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Writes through to `W`, escaping every [`unsafe_char`].
struct Escaping<W>(W);

impl<W: fmt::Write> fmt::Write for Escaping<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if !text.chars().any(unsafe_char) {
            return self.0.write_str(text);
        }
        for c in text.chars() {
            if unsafe_char(c) {
                write!(self.0, "{}", c.escape_default())?;
            } else {
                self.0.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(text: &str) -> String {
        let mut out = String::new();
        Escaping(&mut out).write_str(text).unwrap();
        out
    }

    #[test]
    fn the_time_reads_as_tracing_writes_it() {
        let written = |timer: &dyn FormatTime| {
            let mut out = String::new();
            timer.format_time(&mut Writer::new(&mut out)).unwrap();
            out
        };
        // Twice, so that the second line takes the second's text from the cache.
        for _ in 0..2 {
            let before = chrono::Utc::now();
            let ours = written(&Seconds);
            let theirs = written(&tracing_subscriber::fmt::time::SystemTime);
            let after = chrono::Utc::now();
            assert_eq!(ours.len(), theirs.len(), "{ours} / {theirs}");
            assert_eq!(ours.len(), "2026-12-07T23:22:01.123456Z".len());
            let at = chrono::DateTime::parse_from_rfc3339(&ours).unwrap();
            assert!(
                before.timestamp_micros() <= at.timestamp_micros() && at <= after,
                "{ours}"
            );
        }
    }

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape("DSS quotient familial é"), "DSS quotient familial é");
        assert_eq!(
            escape("x\n2026-11-26T12:00:00Z  WARN forged\r\x1b[31m\0\u{2028}"),
            "x\\n2026-11-26T12:00:00Z  WARN forged\\r\\u{1b}[31m\\u{0}\\u{2028}"
        );
    }

    #[test]
    fn a_logged_value_cannot_start_a_line() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .compact()
            .fmt_fields(escaped_fields())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let forged = "x\n2026-11-26T12:00:00.000000Z  WARN passerelle_gateway::admin: token leaked\x1b[31m";
            tracing::info!(path = %forged, header = ?forged, "refused {forged}");
        });
        let logged = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(logged.lines().count(), 1, "{logged}");
        assert!(!logged.contains('\x1b'), "{logged}");
        assert!(logged.contains("path=x\\n2026"), "{logged}");
    }
}
