//! Settings.

use crate::extract::{required, Body, CurrentUser, PathParams};
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/settings/{id}", get(read).post(change))
}

/// `GET /api/v1/settings/:id` (admin): `{_id, value}`.
async fn read(
    State(services): State<AppState>,
    caller: CurrentUser,
    PathParams(id): PathParams<String>,
) -> ApiResult {
    let value = services.setting(&caller.user, &id)?;
    ok(json!({"_id": id, "value": value}))
}

#[derive(Deserialize)]
struct ChangeBody {
    value: Option<Value>,
}

/// `POST /api/v1/settings/:id` (admin): `{value}`, checked against the
/// setting's type and persisted.
async fn change(
    State(services): State<AppState>,
    caller: CurrentUser,
    PathParams(id): PathParams<String>,
    Body(body): Body<ChangeBody>,
) -> ApiResult {
    let value = required(body.value, "value")?;
    services.change_setting(&caller.user, &id, &value).await?;
    ok(json!({}))
}
