//! `/metrics` in Prometheus' text format: request counts and latency
//! histograms per route, the store's pool and queue figures, and the
//! process's resident memory.
//!
//! Recording is one short lock per request on a map keyed by the matched
//! route template (never the raw path), so the map is bounded by the route
//! table however many distinct URLs clients send.

use crate::routing::{routes, Routes};
use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    /// Cumulative counts per bucket, as Prometheus wants them.
    buckets: [u64; BUCKETS.len()],
}

/// The request metrics of one server.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<Key, Series>>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    fn record(&self, key: Key, seconds: f64) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let s = series.entry(key).or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// The text exposition of the request metrics.
    fn render_requests(&self, out: &mut String) {
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner).clone();
        out.push_str("# HELP threadsync_http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE threadsync_http_requests_total counter\n");
        for (k, s) in &series {
            let _ = writeln!(
                out,
                "threadsync_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}",
                k.route, k.method, k.status, s.count
            );
        }
        // The histogram is per route and method (statuses merged).
        let mut merged: BTreeMap<(String, String), Series> = BTreeMap::new();
        for (k, s) in series {
            let m = merged.entry((k.route, k.method)).or_default();
            m.count += s.count;
            m.sum_seconds += s.sum_seconds;
            for (i, b) in s.buckets.iter().enumerate() {
                m.buckets[i] += b;
            }
        }
        out.push_str(
            "# HELP threadsync_http_request_duration_seconds Time to answer, by route and method.\n",
        );
        out.push_str("# TYPE threadsync_http_request_duration_seconds histogram\n");
        for ((route, method), s) in &merged {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "threadsync_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "threadsync_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ =
                writeln!(out, "threadsync_http_request_duration_seconds_sum{{{labels}}} {}", s.sum_seconds);
            let _ = writeln!(out, "threadsync_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
    }
}

/// Middleware (a route layer, so the matched route template is known).
pub async fn record(metrics: Arc<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let mut response = next.run(request).await;
    // The access log, outside the router, learns the route from here.
    response.extensions_mut().insert(crate::access::RouteName(route.clone()));
    metrics
        .record(Key { route, method, status: response.status().as_u16() }, started.elapsed().as_secs_f64());
    response
}

/// The store's figures: gauges under one family, `threadsync_store{figure}`;
/// a figure named `*_total` only grows, so it is a counter family of its own,
/// `threadsync_store_<name>` (one family has one type).
fn render_store(out: &mut String, backend: &str, figures: &[(&'static str, f64)]) {
    let (counters, gauges): (Vec<_>, Vec<_>) = figures.iter().partition(|(name, _)| name.ends_with("_total"));
    if !gauges.is_empty() {
        out.push_str("# HELP threadsync_store Figures of the storage backend (pools, write queue).\n");
        out.push_str("# TYPE threadsync_store gauge\n");
        for (name, value) in gauges {
            let _ = writeln!(out, "threadsync_store{{backend=\"{backend}\",figure=\"{name}\"}} {value}");
        }
    }
    for (name, value) in counters {
        let _ = writeln!(out, "# HELP threadsync_store_{name} A running count of the storage backend.");
        let _ = writeln!(out, "# TYPE threadsync_store_{name} counter");
        let _ = writeln!(out, "threadsync_store_{name}{{backend=\"{backend}\"}} {value}");
    }
}

/// The resident set size of this process, from `/proc/self/status` (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `GET /metrics`, as a route table.
pub fn routes() -> Routes {
    routes!(metrics)
}

/// `GET /metrics`: Prometheus text format, no auth (restrict it at the proxy
/// like any metrics endpoint; it carries counts and timings only).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "server",
    summary = "Request counts and latencies, store figures and memory, for Prometheus.",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4.", content_type = "text/plain", body = String)),
)]
pub async fn metrics(
    State(services): State<AppState>,
    Extension(metrics): Extension<Arc<Metrics>>,
    Extension(realtime): Extension<Arc<crate::realtime::Realtime>>,
) -> Response {
    let mut out = String::with_capacity(8 * 1024);
    metrics.render_requests(&mut out);
    realtime.render_metrics(&mut out);
    render_store(&mut out, services.store().backend_name(), &services.store().stats());
    if let Some(rss) = resident_bytes() {
        out.push_str("# HELP process_resident_memory_bytes Resident memory of the server process.\n");
        out.push_str("# TYPE process_resident_memory_bytes gauge\n");
        let _ = writeln!(out, "process_resident_memory_bytes {rss}");
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sample belongs to a family declared once with a `# TYPE`, and
    /// counters are the families named `*_total`.
    #[test]
    fn store_counters_are_typed_counter() {
        let mut out = String::new();
        render_store(&mut out, "sqlite", &[("write_queue", 2.0), ("writes_total", 7.0), ("readers", 4.0)]);
        assert!(out.contains("# TYPE threadsync_store gauge\n"), "{out}");
        assert!(out.contains("threadsync_store{backend=\"sqlite\",figure=\"write_queue\"} 2\n"), "{out}");
        assert!(out.contains("# TYPE threadsync_store_writes_total counter\n"), "{out}");
        assert!(out.contains("threadsync_store_writes_total{backend=\"sqlite\"} 7\n"), "{out}");
        assert!(!out.contains("figure=\"writes_total\""), "{out}");
    }

    #[test]
    fn histograms_are_cumulative_and_counted() {
        let m = Metrics::default();
        let key = || Key { route: "/api/v1/x".into(), method: "GET".into(), status: 200 };
        m.record(key(), 0.0003);
        m.record(key(), 0.003);
        m.record(Key { status: 400, ..key() }, 0.2);
        let mut out = String::new();
        m.render_requests(&mut out);
        assert!(out
            .contains("threadsync_http_requests_total{route=\"/api/v1/x\",method=\"GET\",status=\"200\"} 2"));
        assert!(out
            .contains("threadsync_http_requests_total{route=\"/api/v1/x\",method=\"GET\",status=\"400\"} 1"));
        assert!(out.contains("le=\"0.0005\"} 1"), "{out}");
        assert!(out.contains("le=\"0.005\"} 2"), "{out}");
        assert!(out.contains("le=\"+Inf\"} 3"), "{out}");
        assert!(out.contains(
            "threadsync_http_request_duration_seconds_count{route=\"/api/v1/x\",method=\"GET\"} 3"
        ));
    }
}
