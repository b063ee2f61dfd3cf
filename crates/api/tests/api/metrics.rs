//! `/metrics`: Prometheus text with per-route counts and latency histograms,
//! store figures and the process's memory.

use crate::support::TestApp;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn scrape(app: &TestApp) -> String {
    let response = app
        .router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(response.status().as_u16(), 200);
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

#[tokio::test]
async fn metrics_count_requests_per_route_template() {
    let app = TestApp::new().await;
    app.get("/api/v1/me", Some(&app.admin)).await.ok();
    app.get("/api/v1/me", None).await;
    app.get("/api/v1/settings/Threads_enabled", Some(&app.admin)).await.ok();
    let text = scrape(&app).await;
    assert!(
        text.contains(r#"threadsync_http_requests_total{route="/api/v1/me",method="GET",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"threadsync_http_requests_total{route="/api/v1/me",method="GET",status="401"} 1"#),
        "{text}"
    );
    // Series are named by the route template, never by the raw path.
    assert!(text.contains(r#"route="/api/v1/settings/{id}""#), "{text}");
    assert!(!text.contains("Threads_enabled"), "{text}");
    assert!(text.contains(
        r#"threadsync_http_request_duration_seconds_bucket{route="/api/v1/me",method="GET",le="+Inf"} 2"#
    ));
    assert!(text.contains("threadsync_store{backend="), "store figures: {text}");
    assert!(text.contains("process_resident_memory_bytes "), "{text}");
}

#[tokio::test]
async fn bench_endpoints_are_not_mounted_by_default() {
    let app = TestApp::new().await;
    app.get("/bench/static?bytes=100", None).await.err(404, "Resource not found", None);
    app.get("/bench/raw-sync?tmid=x&updatedSince=2000-01-01T00:00:00Z", None).await.err(
        404,
        "Resource not found",
        None,
    );
}

// The `/bench` routes exist only with the feature, which the crate's
// dev-dependency on itself turns on for its tests.
#[cfg(feature = "bench-endpoints")]
#[tokio::test]
async fn bench_endpoints_serve_the_ceilings_when_asked() {
    let app = TestApp::new().await;
    let bench = threadsync_api::router_with(
        std::sync::Arc::clone(&app.services),
        threadsync_api::RouterOptions { bench_endpoints: true, ..Default::default() },
    );
    let get = |path: &str| {
        let bench = bench.clone();
        let path = path.to_owned();
        async move {
            let response =
                bench.oneshot(Request::get(path).body(Body::empty()).expect("request")).await.expect("ok");
            assert_eq!(response.status().as_u16(), 200);
            let bytes = response.into_body().collect().await.expect("body").to_bytes();
            serde_json::from_slice::<serde_json::Value>(&bytes).expect("json")
        }
    };
    let body = get("/bench/static?bytes=2000").await;
    assert!(body.to_string().len() >= 1900, "about the size asked");
    let parent = app.say(&app.admin, "GENERAL", "parent").await["_id"].as_str().expect("id").to_owned();
    app.reply_in(&app.admin, "GENERAL", &parent, "one").await;
    let raw = get(&format!("/bench/raw-sync?tmid={parent}&updatedSince=2000-01-01T00:00:00Z")).await;
    assert_eq!(raw["messages"]["update"].as_array().map(Vec::len), Some(1), "the same rows as the real sync");
}

/// Regression (issue 11, defect 11): `writes_total`, a count that only
/// grows, was exposed in the `gauge` family of the store figures. Every
/// family is now declared once, before its samples, with the right type:
/// counters are named `*_total`, and nothing named `*_total` is a gauge.
#[tokio::test]
async fn every_series_has_the_right_type() {
    let app = TestApp::new().await;
    app.get("/api/v1/me", Some(&app.admin)).await.ok();
    let text = scrape(&app).await;
    let mut types: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for line in text.lines() {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            let (family, kind) = declaration.split_once(' ').expect("# TYPE name type");
            assert!(types.insert(family.to_owned(), kind.to_owned()).is_none(), "{family} declared twice");
            assert_eq!(kind == "counter", family.ends_with("_total"), "{line}");
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let name = line.split(['{', ' ']).next().expect("a sample name");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix).filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        let kind = types.get(family).unwrap_or_else(|| panic!("{name} has no # TYPE before it:\n{text}"));
        if kind == "gauge" {
            assert!(!line.contains("_total\""), "a running count typed gauge: {line}");
        }
    }
    assert_eq!(types.get("threadsync_http_requests_total").map(String::as_str), Some("counter"));
    assert_eq!(types.get("threadsync_http_request_duration_seconds").map(String::as_str), Some("histogram"));
    if crate::BACKEND == crate::support::Backend::Sqlite {
        assert_eq!(types.get("threadsync_store_writes_total").map(String::as_str), Some("counter"), "{text}");
        assert!(text.contains("threadsync_store_writes_total{backend=\"sqlite\"} "), "{text}");
    }
}
