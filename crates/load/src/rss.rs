//! The server's resident memory, from `/proc/<pid>/status` (`VmRSS`),
//! sampled every second, and what the samples say about growth.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `VmRSS` of a `/proc/<pid>/status` text, in KiB.
pub fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let mut parts = line.split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value),
        _ => None,
    }
}

pub fn read_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status")).ok().as_deref().and_then(parse_vm_rss_kib)
}

/// The process name (`/proc/<pid>/comm`), to show which process is watched.
pub fn process_name(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).ok().map(|s| s.trim().to_owned())
}

pub type Samples = Arc<Mutex<Vec<(Instant, u64)>>>;

/// Samples the RSS of `pid` every second until the task is aborted.
pub fn spawn_sampler(pid: u32) -> (Samples, tokio::task::JoinHandle<()>) {
    let samples: Samples = Arc::default();
    let sink = Arc::clone(&samples);
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Some(kib) = read_rss_kib(pid) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push((Instant::now(), kib));
            }
        }
    });
    (samples, task)
}

/// The latest sample, in KiB.
pub fn latest(samples: &Samples) -> Option<u64> {
    samples.lock().unwrap_or_else(|e| e.into_inner()).last().map(|&(_, kib)| kib)
}

/// RSS over the measured period (after set-up and warm-up), in KiB.
#[derive(Clone, Debug, PartialEq)]
pub struct RssReport {
    /// Before the set-up (users, threads) began.
    pub before_setup: Option<u64>,
    pub start: u64,
    pub min: u64,
    pub max: u64,
    pub end: u64,
    /// Length of the windows compared for growth: the first and last
    /// minute, or the first and last quarter of a run shorter than 4 minutes.
    pub window_secs: f64,
    pub first_window_mean: f64,
    pub last_window_mean: f64,
    /// Least-squares slope over the whole measured period, KiB per minute.
    pub slope_kib_per_min: f64,
    pub samples: usize,
}

impl RssReport {
    /// Last window's mean minus the first's.
    pub fn growth_kib(&self) -> f64 {
        self.last_window_mean - self.first_window_mean
    }

    pub fn to_json(&self) -> Value {
        let r1 = |v: f64| (v * 10.0).round() / 10.0;
        json!({
            "before_setup": self.before_setup,
            "start": self.start,
            "min": self.min,
            "max": self.max,
            "end": self.end,
            "window_s": r1(self.window_secs),
            "first_window_mean": r1(self.first_window_mean),
            "last_window_mean": r1(self.last_window_mean),
            "growth": r1(self.growth_kib()),
            "slope_per_min": r1(self.slope_kib_per_min),
            "samples": self.samples,
        })
    }
}

/// `samples` are `(seconds since the measured period began, KiB)`, in time
/// order; negative times are set-up and warm-up. `None` without a sample in
/// the measured period.
pub fn analyse(samples: &[(f64, u64)]) -> Option<RssReport> {
    let before_setup = samples.first().map(|&(_, kib)| kib);
    let measured: Vec<(f64, u64)> = samples.iter().copied().filter(|&(t, _)| t >= 0.0).collect();
    let (&(t0, start), &(t1, end)) = (measured.first()?, measured.last()?);
    let span = t1 - t0;
    let window_secs = if span >= 240.0 { 60.0 } else { span / 4.0 };
    let mean_of = |keep: &dyn Fn(f64) -> bool| {
        let values: Vec<f64> =
            measured.iter().filter(|(t, _)| keep(*t)).map(|&(_, kib)| kib as f64).collect();
        values.iter().sum::<f64>() / values.len().max(1) as f64
    };
    let first_window_mean = mean_of(&|t| t <= t0 + window_secs);
    let last_window_mean = mean_of(&|t| t >= t1 - window_secs);
    Some(RssReport {
        before_setup,
        start,
        min: measured.iter().map(|&(_, k)| k).min().unwrap_or(start),
        max: measured.iter().map(|&(_, k)| k).max().unwrap_or(start),
        end,
        window_secs,
        first_window_mean,
        last_window_mean,
        slope_kib_per_min: slope(&measured) * 60.0,
        samples: measured.len(),
    })
}

/// Least-squares slope of KiB over seconds (0 with fewer than two samples).
fn slope(points: &[(f64, u64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_v = points.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for &(t, v) in points {
        num += (t - mean_t) * (v as f64 - mean_v);
        den += (t - mean_t) * (t - mean_t);
    }
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// KiB for people: `812 KiB`, `45.3 MiB`, `1.20 GiB`.
pub fn fmt_kib(kib: f64) -> String {
    if kib.abs() < 1024.0 {
        format!("{kib:.0} KiB")
    } else if kib.abs() < 1024.0 * 1024.0 {
        format!("{:.1} MiB", kib / 1024.0)
    } else {
        format!("{:.2} GiB", kib / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_from_proc_status() {
        let status = "Name:\tthreadsync\nVmPeak:\t  200000 kB\nVmRSS:\t   45312 kB\nThreads:\t5\n";
        assert_eq!(parse_vm_rss_kib(status), Some(45_312));
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None, "kernel threads have no VmRSS");
        assert_eq!(parse_vm_rss_kib("VmRSS:\tlots kB\n"), None);
        // Our own process has one.
        assert!(read_rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }

    #[test]
    fn flat_and_growing_series() {
        // Set-up at t < 0, then 300 s flat around 50 MiB.
        let mut flat: Vec<(f64, u64)> = vec![(-20.0, 10_000), (-10.0, 30_000)];
        flat.extend((0..=300u32).map(|s| (f64::from(s), 51_200 + u64::from(s % 3) * 8)));
        let r = analyse(&flat).expect("report");
        assert_eq!((r.before_setup, r.start, r.end, r.samples), (Some(10_000), 51_200, 51_200, 301));
        assert_eq!((r.min, r.max), (51_200, 51_216));
        assert_eq!(r.window_secs, 60.0);
        assert!(r.growth_kib().abs() < 1.0, "{r:?}");
        assert!(r.slope_kib_per_min.abs() < 0.1, "{r:?}");

        // 10 KiB per second: 600 KiB per minute.
        let growing: Vec<(f64, u64)> =
            (0..=300u32).map(|s| (f64::from(s), 50_000 + u64::from(s) * 10)).collect();
        let r = analyse(&growing).expect("report");
        assert!((r.slope_kib_per_min - 600.0).abs() < 1e-6, "{r:?}");
        // Means of 0..=60 and 240..=300: 2,400 KiB apart.
        assert!((r.growth_kib() - 2_400.0).abs() < 1e-6, "{r:?}");

        // Short runs compare quarters; nothing measured yet means no report.
        let short: Vec<(f64, u64)> = (0..=20u32).map(|s| (f64::from(s), 1_000)).collect();
        assert_eq!(analyse(&short).expect("report").window_secs, 5.0);
        assert_eq!(analyse(&[(-1.0, 5)]), None);
    }

    #[test]
    fn kib_formatting() {
        assert_eq!(fmt_kib(812.0), "812 KiB");
        assert_eq!(fmt_kib(46_387.0), "45.3 MiB");
        assert_eq!(fmt_kib(-2_048.0), "-2.0 MiB");
        assert_eq!(fmt_kib(1_258_291.0), "1.20 GiB");
    }
}
