//! Chat: send, post, get, update and delete messages.

use crate::error::ApiError;
use crate::extract::{required, required_str, Body, CurrentUser, Params};
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use threadsync_domain::Error;
use threadsync_service::PostMessage;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/chat.sendMessage", post(send_message))
        .route("/api/v1/chat.postMessage", post(post_message))
        .route("/api/v1/chat.getMessage", get(get_message))
        .route("/api/v1/chat.update", post(update))
        .route("/api/v1/chat.delete", post(delete))
}

#[derive(Deserialize)]
struct SendBody {
    /// Kept as a map: the service picks the fields a message keeps.
    message: Option<Map<String, Value>>,
}

/// `POST /api/v1/chat.sendMessage` (auth): `{message: {_id?, rid, msg?, tmid?,
/// tshow?, alias?, emoji?, avatar?, attachments?, customFields?, ...}}` →
/// `{message}`. Client `_id` kept; other fields dropped, content bounded
/// (docs/contract.md#messages); posting to a public channel joins it; `tmid`
/// makes a thread reply.
async fn send_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<SendBody>,
) -> ApiResult {
    let message = body
        .message
        .ok_or_else(|| ApiError(Error::invalid_params("The \"message\" parameter must be provided.")))?;
    let message = services.send_message(&caller.user, message).await?;
    ok(json!({"message": message}))
}

/// A room target: Rocket.Chat also accepts an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Target {
    One(String),
    Many(Vec<String>),
}

impl Target {
    /// The single target; several are refused (threadsync posts to one room).
    fn single(self, name: &str) -> Result<String, ApiError> {
        match self {
            Target::One(t) => Ok(t),
            Target::Many(mut list) if list.len() == 1 => Ok(list.remove(0)),
            Target::Many(_) => Err(ApiError(Error::invalid_params(format!(
                "The \"{name}\" param must name exactly one room."
            )))),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostBody {
    room_id: Option<Target>,
    channel: Option<Target>,
    text: Option<String>,
    alias: Option<String>,
    emoji: Option<String>,
    avatar: Option<String>,
    attachments: Option<Vec<Value>>,
    tmid: Option<String>,
    custom_fields: Option<Map<String, Value>>,
}

/// `POST /api/v1/chat.postMessage` (auth): `{roomId | channel, text?, alias?,
/// emoji?, avatar?, attachments?, tmid?, customFields?}` → `{ts: <epoch ms>,
/// channel: <as given>, message}`. `channel` is `#name`, `@username` (DM), a
/// room id or a room name; neither given → `[invalid-channel]`.
async fn post_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<PostBody>,
) -> ApiResult {
    let post = PostMessage {
        channel: body.channel.map(|t| t.single("channel")).transpose()?,
        room_id: body.room_id.map(|t| t.single("roomId")).transpose()?,
        text: body.text,
        alias: body.alias,
        emoji: body.emoji,
        avatar: body.avatar,
        attachments: body.attachments,
        tmid: body.tmid,
        custom_fields: body.custom_fields,
    };
    let posted = services.post_message(&caller.user, post).await?;
    ok(json!({
        "ts": posted.message.ts.millis(),
        "channel": posted.channel,
        "message": posted.message,
    }))
}

/// `GET /api/v1/chat.getMessage?msgId=` (auth) → `{message}`. Unknown id, or
/// a message of a room the caller cannot read → 400 `No message found with
/// the id of "<id>".` (the same answer, so ids cannot be probed).
async fn get_message(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let message = services.get_message(&caller.user, params.required("msgId")?).await?;
    ok(json!({"message": message}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateBody {
    room_id: Option<String>,
    msg_id: Option<String>,
    text: Option<String>,
}

/// `POST /api/v1/chat.update` (auth): `{roomId, msgId, text}` → `{message}`
/// with `editedAt`/`editedBy`. Author (while `Message_AllowEditing`) or admin.
async fn update(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<UpdateBody>,
) -> ApiResult {
    let room_id = required_str(&body.room_id, "roomId")?;
    let msg_id = required_str(&body.msg_id, "msgId")?;
    let text = required(body.text.as_deref(), "text")?;
    let message = services.update_message(&caller.user, room_id, msg_id, text).await?;
    ok(json!({"message": message}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    room_id: Option<String>,
    msg_id: Option<String>,
    as_user: Option<bool>,
}

/// `POST /api/v1/chat.delete` (auth): `{roomId, msgId, asUser?}` → `{_id, ts,
/// message: {_id, rid, u}}`. Author (while `Message_AllowDeleting`), room
/// owners/moderators, or admin. A thread parent with replies stays as a
/// `t: "rm"` placeholder.
async fn delete(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<DeleteBody>,
) -> ApiResult {
    let room_id = required_str(&body.room_id, "roomId")?;
    let msg_id = required_str(&body.msg_id, "msgId")?;
    let deleted =
        services.delete_message(&caller.user, room_id, msg_id, body.as_user.unwrap_or(false)).await?;
    ok(json!({
        "_id": deleted.id,
        "ts": deleted.deleted_at,
        "message": {"_id": deleted.id, "rid": deleted.rid, "u": deleted.u},
    }))
}
