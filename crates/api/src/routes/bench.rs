//! Ceilings for the load harness, compiled only with the `bench-endpoints`
//! feature and mounted only with `serve --bench-endpoints` (never by
//! default): what the server costs with everything of a real
//! request removed, so that every benchmark figure is also a ratio.
//!
//! - `GET /bench/static?bytes=N`: a JSON body of about N bytes built once;
//!   the cost of HTTP alone for a response of that size.
//! - `GET /bench/raw-sync?tmid=&updatedSince=&count=`: the same indexed
//!   store query as `chat.syncThreadMessages` returning the same rows, with
//!   no auth, no settings, no access check and no shaping.

use crate::error::ApiError;
use crate::extract::Params;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use threadsync_domain::Reject;
use threadsync_domain::{Error, Timestamp};

/// The largest static body served.
const MAX_STATIC_BYTES: usize = 8 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    let bodies: Arc<Mutex<HashMap<usize, Arc<str>>>> = Arc::default();
    Router::new()
        .route("/bench/static", get(move |params: Params| static_body(Arc::clone(&bodies), params)))
        .route("/bench/raw-sync", get(raw_sync))
}

/// `GET /bench/static?bytes=N` (bench mode only): a prebuilt JSON body.
async fn static_body(
    cache: Arc<Mutex<HashMap<usize, Arc<str>>>>,
    params: Params,
) -> Result<Response, ApiError> {
    let bytes =
        params.get("bytes").and_then(|b| b.parse::<usize>().ok()).unwrap_or(1024).min(MAX_STATIC_BYTES);
    let body = {
        let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(cache.entry(bytes).or_insert_with(|| {
            let filler = "x".repeat(bytes.saturating_sub(32));
            Arc::from(json!({"filler": filler, "success": true}).to_string())
        }))
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}

/// `GET /bench/raw-sync` (bench mode only): the thread feed straight from the store.
async fn raw_sync(State(services): State<AppState>, params: Params) -> Result<Response, ApiError> {
    let tmid = params.required("tmid")?;
    let since = params
        .get("updatedSince")
        .and_then(Timestamp::parse)
        .ok_or_else(|| ApiError(Error::from(Reject::BenchUpdatedSince)))?;
    let count = params.get("count").and_then(|c| c.parse::<u64>().ok()).unwrap_or(1000);
    let changes = services.raw_thread_feed(tmid, since, count).await?;
    let body = json!({"messages": {"update": changes.updated, "remove": changes.removed}, "success": true});
    Ok(axum::Json(body).into_response())
}
