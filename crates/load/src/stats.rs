//! Counting and timing: one latency histogram per operation (microseconds,
//! 3 significant digits), error counts, and the first few error messages.

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;

/// What a connection does. Every variant but [`Op::Resync`] is one HTTP
/// request; `Resync` times a whole paged full resync of `s2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    SyncThread,
    GetThread,
    Send,
    Update,
    Delete,
    Follow,
    Unfollow,
    Login,
    Logout,
    Resync,
    Static,
    RawSync,
    Search,
}

impl Op {
    pub const ALL: [Op; 13] = [
        Op::SyncThread,
        Op::GetThread,
        Op::Send,
        Op::Update,
        Op::Delete,
        Op::Follow,
        Op::Unfollow,
        Op::Login,
        Op::Logout,
        Op::Resync,
        Op::Static,
        Op::RawSync,
        Op::Search,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::SyncThread => "chat.syncThreadMessages",
            Op::GetThread => "chat.getThreadMessages",
            Op::Send => "chat.sendMessage",
            Op::Update => "chat.update",
            Op::Delete => "chat.delete",
            Op::Follow => "chat.followMessage",
            Op::Unfollow => "chat.unfollowMessage",
            Op::Login => "login",
            Op::Logout => "logout",
            Op::Resync => "full resync (all pages)",
            Op::Static => "GET /bench/static",
            Op::RawSync => "GET /bench/raw-sync",
            Op::Search => "chat.search",
        }
    }

    pub fn is_request(self) -> bool {
        self != Op::Resync
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Latency histogram bounds: 1 µs to 10 minutes (beyond any request timeout).
pub const HIST_MAX_MICROS: u64 = 600_000_000;

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_MICROS, 3).expect("constant histogram bounds are valid")
}

/// Percentiles of one histogram, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }

    /// `p50 1.23 ms  p99 4.56 ms  p99.9 12.3 ms`.
    pub fn short(&self) -> String {
        format!("p50 {}  p99 {}  p99.9 {}", fmt_micros(self.p50), fmt_micros(self.p99), fmt_micros(self.p999))
    }

    pub fn to_json(self) -> Value {
        json!({
            "p50": self.p50,
            "p99": self.p99,
            "p999": self.p999,
            "max": self.max,
            "mean": (self.mean * 10.0).round() / 10.0,
        })
    }
}

/// A duration in microseconds for people: three significant digits, in µs,
/// ms or s (`850 µs`, `1.23 ms`, `45.6 ms`, `123 ms`, `1.50 s`).
pub fn fmt_micros(us: u64) -> String {
    fn three_digits(v: f64, unit: &str) -> String {
        if v < 10.0 {
            format!("{v:.2} {unit}")
        } else if v < 100.0 {
            format!("{v:.1} {unit}")
        } else {
            format!("{v:.0} {unit}")
        }
    }
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        three_digits(us as f64 / 1_000.0, "ms")
    } else {
        three_digits(us as f64 / 1_000_000.0, "s")
    }
}

/// Histograms and error counts for one period.
pub struct Recorder {
    per_op: Vec<Histogram<u64>>,
    errors: Vec<u64>,
    /// Every request (not `Resync`), for the overall percentiles.
    all: Histogram<u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            per_op: Op::ALL.iter().map(|_| histogram()).collect(),
            errors: vec![0; Op::ALL.len()],
            all: histogram(),
        }
    }
}

impl Recorder {
    pub fn record(&mut self, op: Op, elapsed: Duration, ok: bool) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX).clamp(1, HIST_MAX_MICROS);
        self.per_op[op.index()].saturating_record(micros);
        if op.is_request() {
            self.all.saturating_record(micros);
        }
        if !ok {
            self.errors[op.index()] += 1;
        }
    }

    pub fn requests(&self) -> u64 {
        self.all.len()
    }

    /// Failed requests and failed checks (a `Resync` that came back short).
    pub fn errors(&self) -> u64 {
        self.errors.iter().sum()
    }

    pub fn latency(&self) -> Latency {
        Latency::of(&self.all)
    }

    /// `(op, latency, errors)` for each operation that happened.
    pub fn per_op(&self) -> Vec<(Op, Latency, u64)> {
        Op::ALL
            .iter()
            .map(|&op| (op, Latency::of(&self.per_op[op.index()]), self.errors[op.index()]))
            .filter(|(_, l, e)| l.count > 0 || *e > 0)
            .collect()
    }
}

/// How many error messages are kept to be printed.
pub const ERROR_SAMPLES: usize = 10;

#[derive(Default)]
struct State {
    /// Since the end of the warm-up (or the start, without one).
    total: Recorder,
    /// Since the last periodic report.
    interval: Recorder,
    /// The warm-up's figures, once it is over.
    warmup: Option<Recorder>,
    first_errors: Vec<String>,
}

/// Shared by every connection task and the reporter.
#[derive(Default)]
pub struct Stats {
    state: Mutex<State>,
}

impl Stats {
    pub fn record(&self, op: Op, elapsed: Duration, outcome: Result<(), String>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.total.record(op, elapsed, outcome.is_ok());
        s.interval.record(op, elapsed, outcome.is_ok());
        if let Err(message) = outcome {
            if s.first_errors.len() < ERROR_SAMPLES {
                s.first_errors.push(message);
            }
        }
    }

    /// The warm-up is over: what was recorded so far is set aside.
    pub fn end_warmup(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let warm = std::mem::take(&mut s.total);
        s.warmup = Some(warm);
        s.interval = Recorder::default();
    }

    /// Runs `f` on the interval recorder and starts a new interval.
    pub fn take_interval<T>(&self, f: impl FnOnce(&Recorder) -> T) -> T {
        let interval = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut s.interval)
        };
        f(&interval)
    }

    /// Runs `f` on (total, warm-up, first errors).
    pub fn with_totals<T>(&self, f: impl FnOnce(&Recorder, Option<&Recorder>, &[String]) -> T) -> T {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&s.total, s.warmup.as_ref(), &s.first_errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_are_formatted_with_three_significant_digits() {
        assert_eq!(fmt_micros(0), "0 µs");
        assert_eq!(fmt_micros(850), "850 µs");
        assert_eq!(fmt_micros(1_000), "1.00 ms");
        assert_eq!(fmt_micros(1_234), "1.23 ms");
        assert_eq!(fmt_micros(45_678), "45.7 ms");
        assert_eq!(fmt_micros(123_456), "123 ms");
        assert_eq!(fmt_micros(1_500_000), "1.50 s");
        assert_eq!(fmt_micros(61_000_000), "61.0 s");
    }

    #[test]
    fn percentiles_errors_and_intervals() {
        let stats = Stats::default();
        // 1,000 requests of 1..=1000 ms, one of which failed.
        for ms in 1..=1000u64 {
            let outcome = if ms == 500 { Err("HTTP 500".to_owned()) } else { Ok(()) };
            stats.record(Op::SyncThread, Duration::from_millis(ms), outcome);
        }
        stats.record(Op::Resync, Duration::from_secs(2), Ok(()));
        stats.with_totals(|total, warmup, errors| {
            assert!(warmup.is_none());
            assert_eq!(total.requests(), 1000, "a resync is not a request");
            assert_eq!(total.errors(), 1);
            assert_eq!(errors, ["HTTP 500"]);
            let l = total.latency();
            // hdrhistogram answers within its 3-significant-digit precision.
            let near = |v: u64, want: u64| v.abs_diff(want) <= want / 500;
            assert!(near(l.p50, 500_000), "{l:?}");
            assert!(near(l.p99, 990_000), "{l:?}");
            assert!(near(l.p999, 999_000), "{l:?}");
            assert_eq!(l.short(), "p50 500 ms  p99 990 ms  p99.9 999 ms");
            let ops: Vec<Op> = total.per_op().iter().map(|(op, _, _)| *op).collect();
            assert_eq!(ops, [Op::SyncThread, Op::Resync]);
        });
        assert_eq!(stats.take_interval(Recorder::requests), 1000);
        assert_eq!(stats.take_interval(Recorder::requests), 0, "a new interval starts empty");
        stats.end_warmup();
        stats.with_totals(|total, warmup, _| {
            assert_eq!(total.requests(), 0);
            assert_eq!(warmup.map(Recorder::errors), Some(1));
        });
    }
}
