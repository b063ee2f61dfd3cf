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
