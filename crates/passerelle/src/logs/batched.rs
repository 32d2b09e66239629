//! Log lines leave in batches, as nginx's `access_log … buffer= flush=` does: a line
//! below WARN waits at most [`FLUSH_EVERY`] for others, so that a busy gateway makes one
//! write for many calls where it made one per call (a system call and a file write:
//! 1.6 % of a saturated gateway's CPU samples, more for a lone call; bench/README.md,
//! "fifth pass"). A WARN or ERROR line leaves at once,
//! after whatever waited before it, so an operator sees a fault without delay and lines
//! keep their order. Lost on SIGKILL: at most the last [`FLUSH_EVERY`] of INFO lines
//! (the journal, not the log, is the calls' trace).

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// The longest an INFO, DEBUG or TRACE line waits.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Waiting lines this big leave at once, whatever their age.
const FULL: usize = 64 * 1024;

/// A [`MakeWriter`] over `W` whose lines leave in batches; a thread flushes them.
pub struct Batched<W> {
    shared: Arc<Shared<W>>,
}

impl<W> Clone for Batched<W> {
    fn clone(&self) -> Self {
        Batched {
            shared: self.shared.clone(),
        }
    }
}

struct Shared<W> {
    /// The output is behind the same lock as the waiting lines: nothing can be written
    /// between a batch being taken and written, so lines never change order.
    pending: Mutex<Pending<W>>,
    filled: Condvar,
}

struct Pending<W> {
    lines: Vec<u8>,
    out: W,
}

impl<W: Write> Pending<W> {
    fn write_out(&mut self) {
        // A log that cannot be written has nowhere to report it: the lines are dropped.
        let _ = self.out.write_all(&self.lines).and_then(|()| self.out.flush());
        self.lines.clear();
    }
}

impl<W: Write + Send + 'static> Batched<W> {
    /// Starts the thread that writes waiting lines out at least every [`FLUSH_EVERY`].
    pub fn start(out: W) -> io::Result<Batched<W>> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending { lines: Vec::new(), out }),
            filled: Condvar::new(),
        });
        let flusher = shared.clone();
        std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || flusher.run())?;
        Ok(Batched { shared })
    }

    /// Writes out whatever waits (at exit, or before a panic's message).
    pub fn flush(&self) {
        self.shared.lock().write_out();
    }
}

impl<W: Write> Shared<W> {
    fn lock(&self) -> MutexGuard<'_, Pending<W>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self) {
        loop {
            let waiting = self.lock();
            let waiting = self
                .filled
                .wait_while(waiting, |p| p.lines.is_empty())
                .unwrap_or_else(PoisonError::into_inner);
            drop(waiting);
            // The lines that arrive meanwhile leave with the first one.
            std::thread::sleep(FLUSH_EVERY);
            self.lock().write_out();
        }
    }
}

/// One event's line, as tracing-subscriber writes it (one `write_all` per event).
pub struct Line<'a, W: Write> {
    shared: &'a Shared<W>,
    urgent: bool,
}

impl<W: Write> Write for Line<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pending = self.shared.lock();
        let was_empty = pending.lines.is_empty();
        pending.lines.extend_from_slice(buf);
        if self.urgent || pending.lines.len() >= FULL {
            pending.write_out();
        } else if was_empty {
            self.shared.filled.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Batched<W> {
    fn line(&self, urgent: bool) -> Line<'_, W> {
        Line {
            shared: &self.shared,
            urgent,
        }
    }
}

impl<'a, W: Write + 'a> MakeWriter<'a> for Batched<W> {
    type Writer = Line<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        self.line(false)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        // More verbose levels compare greater: WARN and ERROR are at most WARN.
        self.line(*meta.level() <= Level::WARN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An output the test reads while the flusher writes to it.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn logger() -> (Batched<Sink>, Sink, tracing::subscriber::DefaultGuard) {
        let sink = Sink::default();
        let batched = Batched::start(sink.clone()).unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(batched.clone())
            .with_ansi(false)
            .with_max_level(Level::TRACE)
            .finish();
        (batched, sink, tracing::subscriber::set_default(subscriber))
    }

    #[test]
    fn an_info_line_waits_then_leaves_on_its_own() {
        let (_batched, sink, _guard) = logger();
        let started = Instant::now();
        tracing::info!("first call");
        tracing::info!("second call");
        let waited = sink.text();
        // Unless this thread was held up past the flush interval, nothing left yet.
        if started.elapsed() < FLUSH_EVERY / 2 {
            assert_eq!(waited, "", "an INFO line left at once");
        }
        while !sink.text().contains("second call") {
            assert!(started.elapsed() < Duration::from_secs(5), "never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        let text = sink.text();
        assert!(text.find("first call") < text.find("second call"), "{text}");
    }

    #[test]
    fn a_warning_leaves_at_once_after_the_lines_before_it() {
        let (_batched, sink, _guard) = logger();
        tracing::info!("a call");
        tracing::warn!("upstream down");
        let text = sink.text();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.lines().next().unwrap().contains("a call"), "{text}");
        assert!(text.lines().nth(1).unwrap().contains("WARN") && text.contains("upstream down"));
        tracing::error!("journal unavailable");
        assert!(sink.text().contains("journal unavailable"));
    }

    #[test]
    fn flushing_writes_what_waits() {
        let (batched, sink, _guard) = logger();
        tracing::debug!("last words");
        batched.flush();
        assert!(sink.text().contains("last words"));
    }

    #[test]
    fn a_full_batch_leaves_without_waiting() {
        let (_batched, sink, _guard) = logger();
        let long = "x".repeat(1000);
        for i in 0..70 {
            tracing::info!(i, "{long}");
        }
        // About 60 lines make 64 KiB: those leave at once, the rest wait.
        let written = sink.text().lines().count();
        assert!(written >= 50, "{written} lines written at once");
    }
}
