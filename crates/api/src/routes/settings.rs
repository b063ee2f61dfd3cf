//! Settings: the public list (no auth), the admin list, OAuth services, and
//! one setting by id.

use crate::extract::{required, Body, CurrentUser, PathParams, Query};
use crate::openapi::schemas as doc;
use crate::requests::PageQuery;
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use threadsync_service::{Listing, SettingsFilter};
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(read, change))
        .merge(routes!(public))
        .merge(routes!(oauth))
        .merge(routes!(list))
}

/// `{settings: [{_id, value}], count, offset, total}`.
fn settings_page(listing: &Listing<(String, Value)>, offset: u64) -> Value {
    let settings: Vec<Value> =
        listing.items.iter().map(|(id, value)| json!({"_id": id, "value": value})).collect();
    json!({"settings": settings, "count": listing.items.len(), "offset": offset, "total": listing.total})
}

/// The public settings (no auth).
///
/// `GET /api/v1/settings.public?_id=a,b|query={"_id":{"$in":[…]}}&count&offset`:
/// public settings only, by id; unknown or private ids are left out.
#[utoipa::path(
    get,
    path = "/api/v1/settings.public",
    tag = "settings",
    params(PublicSettingsQuery, PageQuery),
    responses(
        (status = 200, description = "The public settings, paged.", body = doc::SettingsPage),
        (status = 400, description = "A `query` other than an `_id` filter; bad `count`/`offset` (`error-invalid-params`)."),
    ),
)]
async fn public(
    State(services): State<AppState>,
    Query(request): Query<PublicSettingsQuery>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let filter = SettingsFilter::parse(request.id.as_deref(), request.query.as_deref())?;
    let paging = page.paging(&services)?;
    ok(settings_page(&services.public_settings(&filter, paging), paging.offset))
}

/// The OAuth services clients may log in with (no auth).
///
/// `GET /api/v1/settings.oauth` → `{services: []}`: threadsync has no OAuth
/// login, so the list is always empty.
#[utoipa::path(
    get,
    path = "/api/v1/settings.oauth",
    tag = "settings",
    responses(
        (status = 200, description = "No OAuth services.", body = doc::OAuthServices),
    ),
)]
async fn oauth() -> ApiResult {
    ok(json!({"services": []}))
}

/// Every setting (admins).
///
/// `GET /api/v1/settings?count&offset` (admin): `{settings: [{_id, value}], count, offset, total}`.
#[utoipa::path(
    get,
    path = "/api/v1/settings",
    tag = "settings",
    security(("userId" = [], "authToken" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "Every setting, paged by id.", body = doc::SettingsPage),
        (status = 400, description = "Bad `count`/`offset` (`error-invalid-params`)."),
        (status = 403, description = "The caller is not an admin: `error-unauthorized`."),
    ),
)]
async fn list(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let paging = page.paging(&services)?;
    ok(settings_page(&services.all_settings(&caller.user, paging)?, paging.offset))
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

/// `settings.public`' own parameters.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PublicSettingsQuery {
    /// Comma-separated setting ids, e.g. `Threads_enabled,Message_MaxAllowedSize`.
    #[serde(rename = "_id")]
    #[param(rename = "_id")]
    id: Option<String>,
    /// The form before Rocket.Chat 7.0: `{"_id":{"$in":[…]}}` or `{"_id":"…"}`.
    query: Option<String>,
}
