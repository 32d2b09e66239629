//! A small fixed-rate (open-loop) HTTP/1.1 load generator for `bench/run`.
//!
//! wrk only measures at saturation; for latency below saturation we need calls sent
//! on a schedule. This sends call `i` at `start + i / rate`, over `--connections`
//! keep-alive connections (one blocking thread each), and measures each call from
//! the moment its request is written to the moment its whole response is read.
//! A call whose connection was still busy at its scheduled time starts late; the
//! report counts those (`late`) and also gives the p99 measured from the scheduled
//! time, so that a generator that fell behind cannot hide queueing.
//!
//! Standard library only: `rustc -O bench/loadgen.rs` builds it in a second.
//!
//! Usage: loadgen --url 'http://127.0.0.1:8080/path?nom={name}' [-H 'K: V']...
//!                --rate 1000 --duration 10 [--warmup 2] [--connections 16]
//! `{name}` is replaced in every call by `PERSONNE` and 8 random capital letters.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::exit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Options {
    host_port: String,
    path: String,
    headers: Vec<String>,
    rate: f64,
    duration: f64,
    warmup: f64,
    connections: usize,
}

#[derive(Default)]
struct Tally {
    /// Nanoseconds, from the request's write to the response's last byte.
    service: Vec<u64>,
    /// Nanoseconds, from the call's scheduled time to the response's last byte.
    scheduled: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    late: u64,
}

fn usage(message: &str) -> ! {
    eprintln!("loadgen: {message}");
    eprintln!("usage: loadgen --url URL [-H 'K: V']... --rate N --duration S [--warmup S] [--connections C]");
    exit(2)
}

fn parse_options() -> Options {
    let mut args = std::env::args().skip(1);
    let (mut url, mut headers) = (None, Vec::new());
    let (mut rate, mut duration, mut warmup, mut connections) = (None, 10.0, 2.0, 16);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{arg} needs a value")));
        match arg.as_str() {
            "--url" => url = Some(value()),
            "-H" | "--header" => headers.push(value()),
            "--rate" => rate = value().parse().ok(),
            "--duration" => duration = value().parse().unwrap_or_else(|_| usage("bad --duration")),
            "--warmup" => warmup = value().parse().unwrap_or_else(|_| usage("bad --warmup")),
            "--connections" => connections = value().parse().unwrap_or_else(|_| usage("bad --connections")),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let url = url.unwrap_or_else(|| usage("--url is required"));
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| usage("only http:// URLs"));
    let (host_port, path) = match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    };
    let rate: f64 = rate.unwrap_or_else(|| usage("--rate is required"));
    if !(rate > 0.0) || connections == 0 {
        usage("--rate and --connections must be positive");
    }
    Options {
        host_port,
        path,
        headers,
        rate,
        duration,
        warmup,
        connections,
    }
}

/// xorshift64*: enough to make names that never repeat within a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn name(&mut self) -> String {
        let mut name = String::from("PERSONNE");
        let mut bits = self.next();
        for _ in 0..8 {
            name.push((b'A' + (bits % 26) as u8) as char);
            bits /= 26;
        }
        name
    }
}

struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(host_port: &str) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(host_port)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(15)))?;
        Ok(Connection {
            reader: BufReader::with_capacity(64 * 1024, stream),
        })
    }

    /// Writes `request`, reads one whole response; returns its status and whether the
    /// connection may be reused.
    fn call(&mut self, request: &[u8]) -> std::io::Result<(u16, bool)> {
        self.reader.get_mut().write_all(request)?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let (mut length, mut chunked, mut keep) = (None, false, true);
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                match name.as_str() {
                    "content-length" => length = value.parse::<u64>().ok(),
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "connection" => keep = !value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
                self.skip(size)?;
                line.clear();
                self.reader.read_line(&mut line)?; // CRLF after the chunk
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            self.skip(length)?;
        } else {
            let mut sink = Vec::new();
            self.reader.read_to_end(&mut sink)?;
            keep = false;
        }
        Ok((status, keep))
    }

    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        let copied = std::io::copy(&mut (&mut self.reader).take(n), &mut std::io::sink())?;
        if copied == n {
            Ok(())
        } else {
            Err(std::io::ErrorKind::UnexpectedEof.into())
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

fn main() {
    let options = Arc::new(parse_options());
    let interval = Duration::from_secs_f64(1.0 / options.rate);
    let total = ((options.warmup + options.duration) * options.rate).round() as u64;
    let first_measured = (options.warmup * options.rate).round() as u64;
    let next = Arc::new(AtomicU64::new(0));
    // Leave time for every thread to connect before the first scheduled call.
    let start = Instant::now() + Duration::from_millis(200);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);

    let workers: Vec<_> = (0..options.connections)
        .map(|t| {
            let (options, next) = (options.clone(), next.clone());
            thread::spawn(move || {
                let mut rng = Rng((seed ^ ((t as u64 + 1) * 0x9E37_79B9_7F4A_7C15)) | 1);
                let mut tally = Tally::default();
                let mut connection = Connection::open(&options.host_port).ok();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let due = start + interval * i as u32;
                    let now = Instant::now();
                    if due > now {
                        thread::sleep(due - now);
                    } else if now - due > Duration::from_millis(1) && i >= first_measured {
                        tally.late += 1;
                    }
                    let mut request = format!(
                        "GET {} HTTP/1.1\r\nHost: {}\r\n",
                        options.path.replace("{name}", &rng.name()),
                        options.host_port
                    );
                    for header in &options.headers {
                        request.push_str(header);
                        request.push_str("\r\n");
                    }
                    request.push_str("\r\n");
                    let sent = Instant::now();
                    let outcome = match connection.as_mut() {
                        Some(c) => c.call(request.as_bytes()),
                        None => Err(std::io::ErrorKind::NotConnected.into()),
                    };
                    let done = Instant::now();
                    let keep = match outcome {
                        Ok((status, keep)) => {
                            if i >= first_measured {
                                tally.service.push((done - sent).as_nanos() as u64);
                                tally
                                    .scheduled
                                    .push(done.saturating_duration_since(due).as_nanos() as u64);
                                *tally.statuses.entry(status).or_default() += 1;
                            }
                            keep
                        }
                        Err(_) => {
                            if i >= first_measured {
                                tally.errors += 1;
                            }
                            false
                        }
                    };
                    if !keep {
                        connection = Connection::open(&options.host_port).ok();
                    }
                }
                tally
            })
        })
        .collect();

    let mut all = Tally::default();
    for worker in workers {
        let tally = worker.join().expect("worker thread");
        all.service.extend(tally.service);
        all.scheduled.extend(tally.scheduled);
        for (status, n) in tally.statuses {
            *all.statuses.entry(status).or_default() += n;
        }
        all.errors += tally.errors;
        all.late += tally.late;
    }
    let elapsed = start.elapsed().as_secs_f64() - options.warmup;
    all.service.sort_unstable();
    all.scheduled.sort_unstable();
    let statuses = all
        .statuses
        .iter()
        .map(|(s, n)| format!("{s}:{n}"))
        .collect::<Vec<_>>()
        .join(",");
    let s = &all.service;
    println!(
        "LOADGEN rate={:.0} achieved={:.0} calls={} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} p99_from_schedule_ms={:.3} late={} errors={} statuses={}",
        options.rate,
        s.len() as f64 / elapsed.max(1e-9),
        s.len(),
        percentile(s, 50.0),
        percentile(s, 90.0),
        percentile(s, 99.0),
        percentile(s, 99.9),
        percentile(s, 100.0),
        percentile(&all.scheduled, 99.0),
        all.late,
        all.errors,
        if statuses.is_empty() { "none".into() } else { statuses },
    );
}
