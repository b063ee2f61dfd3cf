//! What clients ask for at start-up that threadsync has no feature for:
//! custom emoji, slash commands, push tokens. Each answers Rocket.Chat's
//! shape with the honest content: nothing (docs/rest.md#start-up).

use crate::extract::{Body, CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::{PageQuery, UpdatedSinceQuery};
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use threadsync_domain::Reject;
use threadsync_domain::{id, Error, Timestamp};
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(emoji_custom_list))
        .merge(routes!(commands_list))
        .merge(routes!(push_token, push_token_delete))
}

/// Custom emoji (none).
///
/// `GET /api/v1/emoji-custom.list?updatedSince=` (auth) →
/// `{emojis: {update: [], remove: []}}`: threadsync has no custom emoji.
#[utoipa::path(
    get,
    path = "/api/v1/emoji-custom.list",
    tag = "client",
    security(("userId" = [], "authToken" = [])),
    params(UpdatedSinceQuery),
    responses(
        (status = 200, description = "No custom emoji.", body = doc::EmojiAnswer),
        (status = 400, description = "`updatedSince` is not a date (`error-roomId-param-invalid`)."),
    ),
)]
async fn emoji_custom_list(_caller: CurrentUser, Query(request): Query<UpdatedSinceQuery>) -> ApiResult {
    if request.updated_since.as_deref().is_some_and(|raw| Timestamp::parse(raw).is_none()) {
        return Err(Error::from(Reject::UpdatedSinceInvalidRoomIdCode).into());
    }
    ok(json!({"emojis": {"update": [], "remove": []}}))
}

/// Slash commands (none).
///
/// `GET /api/v1/commands.list?count&offset` (auth) → `{commands: [], count,
/// offset, total}`: threadsync runs no slash commands.
#[utoipa::path(
    get,
    path = "/api/v1/commands.list",
    tag = "client",
    security(("userId" = [], "authToken" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "No commands.", body = doc::CommandsPage),
        (status = 400, description = "Bad `count`/`offset` (`error-invalid-params`)."),
    ),
)]
async fn commands_list(
    State(services): State<AppState>,
    _caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let paging = page.paging(&services)?;
    ok(json!({"commands": [], "count": 0, "offset": paging.offset, "total": 0}))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = PushTokenRequest)]
#[serde(rename_all = "camelCase")]
struct PushTokenBody {
    /// A client-chosen id of the registration.
    #[schema(value_type = Option<String>)]
    id: Option<Value>,
    /// `apn` or `gcm`.
    #[schema(value_type = String)]
    #[serde(rename = "type")]
    kind: Option<Value>,
    /// The device token.
    #[schema(value_type = String)]
    value: Option<Value>,
    #[schema(value_type = String)]
    app_name: Option<Value>,
}

/// Registers a device for push notifications (accepted, not kept).
///
/// `POST /api/v1/push.token {type: "apn"|"gcm", value, appName, id?}` (auth)
/// → `{result: {_id, token: {<type>: value}, appName, userId, enabled,
/// createdAt, updatedAt}}`, checked in Rocket.Chat's order. threadsync sends
/// no push notifications, so the registration is not stored.
#[utoipa::path(
    post,
    path = "/api/v1/push.token",
    tag = "client",
    security(("userId" = [], "authToken" = [])),
    request_body = PushTokenBody,
    responses(
        (status = 200, description = "The registration, as Rocket.Chat answers it.", body = doc::PushTokenAnswer),
        (status = 400, description = "A bad `id` (`error-id-param-not-valid`), `type` (`error-type-param-not-valid`), `value` (`error-token-param-not-valid`) or `appName` (`error-appName-param-not-valid`)."),
    ),
)]
async fn push_token(caller: CurrentUser, Body(body): Body<PushTokenBody>) -> ApiResult {
    let id = match &body.id {
        None => id::new_id(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Error::from(Reject::PushIdInvalid).into()),
    };
    let kind = match body.kind.as_ref().and_then(Value::as_str) {
        Some(t @ ("apn" | "gcm")) => t,
        _ => return Err(Error::from(Reject::PushTypeInvalid).into()),
    };
    let Some(value) = body.value.as_ref().and_then(Value::as_str).filter(|v| !v.is_empty()) else {
        return Err(Error::from(Reject::PushValueInvalid).into());
    };
    let Some(app_name) = body.app_name.as_ref().and_then(Value::as_str).filter(|v| !v.is_empty()) else {
        return Err(Error::from(Reject::PushAppNameInvalid).into());
    };
    let now = Timestamp::now();
    ok(json!({"result": {
        "_id": id,
        "token": {kind: value},
        "appName": app_name,
        "userId": caller.user.id,
        "enabled": true,
        "createdAt": now,
        "updatedAt": now,
    }}))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = PushTokenDeleteRequest)]
struct PushTokenDeleteBody {
    /// The device token to forget.
    #[schema(value_type = String)]
    token: Option<Value>,
}

/// Unregisters a device (nothing is kept, so nothing to remove).
///
/// `DELETE /api/v1/push.token {token}` (auth) → `{}`; a missing token:
/// `The required "token" body param is missing or invalid. [error-token-param-not-valid]`.
#[utoipa::path(
    delete,
    path = "/api/v1/push.token",
    tag = "client",
    security(("userId" = [], "authToken" = [])),
    request_body = PushTokenDeleteBody,
    responses(
        (status = 200, description = "Forgotten.", body = doc::Done),
        (status = 400, description = "A missing or non-string `token` (`error-token-param-not-valid`)."),
    ),
)]
async fn push_token_delete(_caller: CurrentUser, Body(body): Body<PushTokenDeleteBody>) -> ApiResult {
    if body.token.as_ref().and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(Error::from(Reject::PushTokenInvalid).into());
    }
    ok(json!({}))
}
