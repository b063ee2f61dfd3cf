//! Settings.

use crate::extract::{required, Body, CurrentUser, PathParams};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, change))
}

/// A setting's value (admins).
///
/// `GET /api/v1/settings/:id` (admin): `{_id, value}`.
#[utoipa::path(
    get,
    path = "/api/v1/settings/{id}",
    tag = "settings",
    security(("userId" = [], "authToken" = [])),
    params(
        ("id" = String, Path, description = "The setting, e.g. `Message_MaxAllowedSize`."),
    ),
    responses(
        (status = 200, description = "The setting and its value.", body = doc::SettingAnswer),
        (status = 400, description = "Unknown setting: `error-setting-not-found`."),
        (status = 403, description = "The caller is not an admin: `error-unauthorized`."),
    ),
)]
async fn read(
    State(services): State<AppState>,
    caller: CurrentUser,
    PathParams(id): PathParams<String>,
) -> ApiResult {
    let value = services.setting(&caller.user, &id)?;
    ok(json!({"_id": id, "value": value}))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ChangeSettingRequest)]
struct ChangeBody {
    #[schema(value_type = Value)]
    value: Option<Value>,
}

/// Changes a setting (admins).
///
/// `POST /api/v1/settings/:id` (admin): `{value}`, checked against the
/// setting's type and persisted.
#[utoipa::path(
    post,
    path = "/api/v1/settings/{id}",
    tag = "settings",
    security(("userId" = [], "authToken" = [])),
    params(
        ("id" = String, Path, description = "The setting, e.g. `Message_MaxAllowedSize`."),
    ),
    request_body = ChangeBody,
    responses(
        (status = 200, description = "The new value is in force and stored.", body = doc::Done),
        (status = 400, description = "Missing `value`; a value of the wrong type or range; unknown setting (`error-setting-not-found`)."),
        (status = 403, description = "The caller is not an admin: `error-unauthorized`."),
    ),
)]
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
