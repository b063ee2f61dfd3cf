//! Chat: send, post, get, update and delete messages.

use crate::error::ApiError;
use crate::extract::{required, required_query, required_str, Body, CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::{PageQuery, RoomIdQuery};
use crate::response::{ok, ApiResult, Success, TypedResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use threadsync_domain::Error;
use threadsync_domain::{param, Reject};
use threadsync_service::{message_id_param, Marked, MarkedRequest, PostMessage, ReactRequest, SearchRequest};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(send_message))
        .merge(routes!(post_message))
        .merge(routes!(get_message))
        .merge(routes!(update))
        .merge(routes!(delete))
        .merge(routes!(react))
        .merge(routes!(star_message))
        .merge(routes!(unstar_message))
        .merge(routes!(pin_message))
        .merge(routes!(unpin_message))
        .merge(routes!(get_pinned_messages))
        .merge(routes!(get_starred_messages))
        .merge(routes!(get_mentioned_messages))
        .merge(routes!(channel_mentions))
        .merge(routes!(report_message))
        .merge(routes!(read_receipts))
        .merge(routes!(ignore_user))
        .merge(routes!(search))
}

/// Searches a room's messages.
///
/// `GET /api/v1/chat.search?roomId=&searchText=&count=&offset=` (auth) →
/// `{messages}`: the messages of a room the caller may read that contain
/// every word of `searchText` (full-text index, case and diacritics folded;
/// `"phrases"`, `-excluded`, `prefix*`), thread replies included, removed
/// messages never; newest first; Rocket.Chat's operators `from:`,
/// `mention:`, `has:star`, `is:pinned`, `before:`/`after:`/`on:` and
/// `order:` (docs/rest.md#chatsearch). Checks in order: `roomId`,
/// `searchText`, `count`/`offset`, access (`error-not-allowed`, also for a
/// room that does not exist).
#[utoipa::path(
    get,
    path = "/api/v1/chat.search",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    params(SearchQuery, PageQuery),
    responses(
        (status = 200, description = "The matching messages, newest first.", body = doc::MessagesFound),
        (status = 400, description = "Missing `roomId` (`error-roomId-param-not-provided`) or `searchText` (`error-searchText-param-not-provided`); bad `count`/`offset` (`error-invalid-params`); a room the caller may not read (`error-not-allowed`)."),
    ),
)]
async fn search(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<SearchQuery>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let request = SearchRequest::read(
        request.room_id.as_deref(),
        request.search_text.as_deref(),
        page.count.as_deref(),
        page.offset.as_deref(),
    );
    let messages = services.search_messages(&caller.user, request).await?;
    ok(json!({"messages": messages}))
}

/// `chat.search`'s own parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct SearchQuery {
    /// The room.
    #[param(rename = "roomId", required = true, value_type = String)]
    room_id: Option<String>,
    /// Words, `"phrases"`, `-excluded`, `prefix*`, and operators
    /// (`from:user`, `mention:user`, `has:star`, `is:pinned`,
    /// `before:d-m-yyyy`, `after:`, `on:`, `order:asc`).
    #[param(rename = "searchText", required = true, value_type = String)]
    search_text: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = MessageIdRequest)]
#[serde(rename_all = "camelCase")]
struct MessageIdBody {
    #[schema(value_type = String)]
    message_id: Option<String>,
}

/// Stars a message for the caller.
///
/// `POST /api/v1/chat.starMessage {messageId}` (auth) → `{}`: adds the
/// caller to the message's `starred`; needs a subscription to its room.
#[utoipa::path(
    post,
    path = "/api/v1/chat.starMessage",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = MessageIdBody,
    responses(
        (status = 200, description = "Starred.", body = doc::Done),
        (status = 400, description = "Missing `messageId`; no such message (`error-message-not-found`); not subscribed to its room (`error-action-not-allowed`)."),
    ),
)]
async fn star_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<MessageIdBody>,
) -> ApiResult {
    services.star_message(&caller.user, message_id_param(body.message_id.as_deref()), true).await?;
    ok(json!({}))
}

/// Takes the caller's star off a message.
///
/// `POST /api/v1/chat.unStarMessage {messageId}` (auth) → `{}`.
#[utoipa::path(
    post,
    path = "/api/v1/chat.unStarMessage",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = MessageIdBody,
    responses(
        (status = 200, description = "Not starred any more.", body = doc::Done),
        (status = 400, description = "Missing `messageId`; no such message (`error-message-not-found`); not subscribed to its room (`error-action-not-allowed`)."),
    ),
)]
async fn unstar_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<MessageIdBody>,
) -> ApiResult {
    services.star_message(&caller.user, message_id_param(body.message_id.as_deref()), false).await?;
    ok(json!({}))
}

/// Pins a message.
///
/// `POST /api/v1/chat.pinMessage {messageId}` (auth, `pin-message`) →
/// `{message}`: Rocket.Chat's `message_pinned` system message quoting it.
#[utoipa::path(
    post,
    path = "/api/v1/chat.pinMessage",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = MessageIdBody,
    responses(
        (status = 200, description = "The system message (the message itself if it was pinned already).", body = doc::MessageAnswer),
        (status = 400, description = "Missing `messageId`; no such message (`error-message-not-found`); no `pin-message` permission (`Not Authorized`, `not-authorized`)."),
    ),
)]
async fn pin_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<MessageIdBody>,
) -> ApiResult {
    let message =
        services.pin_message(&caller.user, message_id_param(body.message_id.as_deref()), true).await?;
    ok(json!({"message": message}))
}

/// Unpins a message.
///
/// `POST /api/v1/chat.unPinMessage {messageId}` (auth, `pin-message`) → `{}`.
#[utoipa::path(
    post,
    path = "/api/v1/chat.unPinMessage",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = MessageIdBody,
    responses(
        (status = 200, description = "Unpinned.", body = doc::Done),
        (status = 400, description = "Missing `messageId`; no such message (`error-message-not-found`); no `pin-message` permission (`not-authorized`)."),
    ),
)]
async fn unpin_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<MessageIdBody>,
) -> ApiResult {
    services.pin_message(&caller.user, message_id_param(body.message_id.as_deref()), false).await?;
    ok(json!({}))
}

/// The pinned messages of a room.
///
/// `GET /api/v1/chat.getPinnedMessages?roomId=&count=&offset=` (auth) →
/// `{messages, count, offset, total}`, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/chat.getPinnedMessages",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    params(RoomIdQuery, PageQuery),
    responses(
        (status = 200, description = "The pinned messages.", body = doc::MessagesPage),
        (status = 400, description = "Missing `roomId` (`error-roomId-param-not-provided`); a room the caller may not read (`error-not-allowed`); bad `count`/`offset`."),
    ),
)]
async fn get_pinned_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(room): Query<RoomIdQuery>,
    Query(page): Query<PageQuery>,
) -> TypedResult<super::threads::ListingBody> {
    marked(&services, &caller, (room, page), Marked::Pinned).await
}

/// The messages of a room the caller starred.
///
/// `GET /api/v1/chat.getStarredMessages?roomId=&count=&offset=` (auth) →
/// `{messages, count, offset, total}`, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/chat.getStarredMessages",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    params(RoomIdQuery, PageQuery),
    responses(
        (status = 200, description = "The caller's starred messages.", body = doc::MessagesPage),
        (status = 400, description = "Missing `roomId` (`error-roomId-param-not-provided`); a room the caller may not read (`error-not-allowed`); bad `count`/`offset`."),
    ),
)]
async fn get_starred_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(room): Query<RoomIdQuery>,
    Query(page): Query<PageQuery>,
) -> TypedResult<super::threads::ListingBody> {
    marked(&services, &caller, (room, page), Marked::StarredByCaller).await
}

/// The messages of a room that mention the caller.
///
/// `GET /api/v1/chat.getMentionedMessages?roomId=&count=&offset=` (auth) →
/// `{messages, count, offset, total}`, newest first: messages whose
/// `mentions` name the caller (`@all` and `@here` do not).
#[utoipa::path(
    get,
    path = "/api/v1/chat.getMentionedMessages",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    params(RoomIdQuery, PageQuery),
    responses(
        (status = 200, description = "The messages mentioning the caller.", body = doc::MessagesPage),
        (status = 400, description = "Missing `roomId` (`error-roomId-param-not-provided`); a room the caller may not read (`error-not-allowed`); bad `count`/`offset`."),
    ),
)]
async fn get_mentioned_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(room): Query<RoomIdQuery>,
    Query(page): Query<PageQuery>,
) -> TypedResult<super::threads::ListingBody> {
    marked(&services, &caller, (room, page), Marked::MentioningCaller).await
}

/// The messages of a channel that mention the caller, oldest first.
///
/// `GET /api/v1/channels.getAllUserMentionsByChannel?roomId=&count=&offset=`
/// (auth) → `{mentions, count, offset, total}`: the messages of
/// `chat.getMentionedMessages`, in Rocket.Chat's order for this route.
#[utoipa::path(
    get,
    path = "/api/v1/channels.getAllUserMentionsByChannel",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    params(RoomIdQuery, PageQuery),
    responses(
        (status = 200, description = "The messages mentioning the caller, oldest first.", body = doc::MentionsPage),
        (status = 400, description = "Missing `roomId` (`error-roomId-param-not-provided`); a room the caller may not read (`error-not-allowed`); bad `count`/`offset`."),
    ),
)]
async fn channel_mentions(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(room): Query<RoomIdQuery>,
    Query(page): Query<PageQuery>,
) -> TypedResult<super::threads::ListingBody> {
    let request = MarkedRequest::read(
        room.room_id.as_deref(),
        Marked::MentioningCallerOldestFirst,
        page.count.as_deref(),
        page.offset.as_deref(),
    );
    let listing = services.marked_messages(&caller.user, request).await?;
    Ok(Success(super::threads::listing_body("mentions", listing)))
}

/// `chat.reportMessage`'s body.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReportBody {
    message_id: Option<String>,
    description: Option<String>,
}

/// Reports a message to the server's moderators.
///
/// `POST /api/v1/chat.reportMessage` (auth) `{messageId, description}` →
/// `{}`. Checks, Rocket.Chat's: both given; a non-blank description
/// (`error-invalid-description`); a message the caller can read
/// (`error-invalid-message_id`). The report is written to the server log
/// (docs/rest.md#reports): threadsync has no moderation console yet.
#[utoipa::path(
    post,
    path = "/api/v1/chat.reportMessage",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = ReportBody,
    responses(
        (status = 200, description = "The report was received.", body = doc::Done),
        (status = 400, description = "Missing `messageId` or `description`; a blank description (`error-invalid-description`); no message the caller can read (`error-invalid-message_id`)."),
    ),
)]
async fn report_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<ReportBody>,
) -> ApiResult {
    let message_id = body
        .message_id
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError(Error::from(Reject::ReportMessageIdMissing)))?;
    let description =
        body.description.ok_or_else(|| ApiError(Error::from(Reject::ReportDescriptionMissing)))?;
    services.report_message(&caller.user, &message_id, &description).await?;
    ok(json!({}))
}

/// Read receipts: an enterprise feature of Rocket.Chat, which a server
/// without it answers with a refusal; so does threadsync.
///
/// `GET /api/v1/chat.getMessageReadReceipts?messageId=` (auth) → 400
/// `This is an enterprise feature [error-action-not-allowed]`, checked
/// before anything else, as Rocket.Chat's unlicensed server does. Clients
/// (the mobile app) hide read receipts on that answer.
#[utoipa::path(
    get,
    path = "/api/v1/chat.getMessageReadReceipts",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    params(ReadReceiptsQuery),
    responses(
        (status = 400, description = "Always: read receipts are not offered (`error-action-not-allowed`).", body = doc::ErrorBody),
    ),
)]
async fn read_receipts(_caller: CurrentUser) -> ApiResult {
    Err(ApiError(Error::from(Reject::EnterpriseFeature)))
}

/// `chat.getMessageReadReceipts`' parameter (documented; never read, the
/// answer is the same refusal whatever it is).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ReadReceiptsQuery {
    /// The message.
    #[param(rename = "messageId")]
    message_id: String,
}

/// Ignores another member of a room, or stops.
///
/// `GET /api/v1/chat.ignoreUser?rid=&userId=&ignore=` (auth) → `{}`: the
/// user's id joins (or, with `ignore=false`, leaves) the `ignored` list of
/// the caller's subscription; both must be members. `ignore` defaults to
/// true; `true`/`1` mean yes, anything else no (Rocket.Chat's `/true|1/`).
#[utoipa::path(
    get,
    path = "/api/v1/chat.ignoreUser",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    params(IgnoreUserQuery),
    responses(
        (status = 200, description = "Done.", body = doc::Done),
        (status = 400, description = "Missing `rid` (`error-room-id-param-not-provided`) or `userId` (`error-user-id-param-not-provided`); the caller or the user not a member (`error-invalid-subscription`)."),
    ),
)]
async fn ignore_user(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<IgnoreUserQuery>,
) -> ApiResult {
    let ignore = request.ignore.as_deref().is_none_or(|v| v.contains("true") || v.contains('1'));
    let rid = param::required_trimmed(request.rid.as_deref(), Reject::RidRequired);
    let user_id = param::required_trimmed(request.user_id.as_deref(), Reject::UserIdRequired);
    services.ignore_user(&caller.user, rid, user_id, ignore).await?;
    ok(json!({}))
}

/// `chat.ignoreUser`'s parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct IgnoreUserQuery {
    /// The room.
    #[param(required = true, value_type = String)]
    rid: Option<String>,
    /// The member to ignore.
    #[param(rename = "userId", required = true, value_type = String)]
    user_id: Option<String>,
    /// `false` to stop ignoring (default `true`).
    ignore: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ReactRequest)]
#[serde(rename_all = "camelCase")]
struct ReactBody {
    #[schema(value_type = String)]
    message_id: Option<String>,
    /// `smile` or `:smile:`.
    emoji: Option<String>,
    /// The same as `emoji` (Rocket.Chat accepts either).
    reaction: Option<String>,
    /// `true` adds, `false` removes; absent toggles.
    #[schema(value_type = Option<bool>)]
    should_react: Option<Value>,
}

/// Reacts to a message (toggles, or sets with `shouldReact`).
///
/// `POST /api/v1/chat.react {messageId, emoji | reaction, shouldReact?}`
/// (auth) → `{}`: the caller's reaction is stored in the message's
/// `reactions: {":emoji:": {usernames}}`, stamped like an edit and
/// broadcast as a message change. Checks in order: `messageId`, `emoji`,
/// the message (also for one in a room the caller may not read), the emoji.
#[utoipa::path(
    post,
    path = "/api/v1/chat.react",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = ReactBody,
    responses(
        (status = 200, description = "The reaction is set.", body = doc::Done),
        (status = 400, description = "Missing `messageId` (`error-messageid-param-not-provided`) or `emoji` (`error-emoji-param-not-provided`); no such message (`error-message-not-found`); an invalid emoji (`Invalid emoji provided.`, `error-not-allowed`); a bad `shouldReact`."),
    ),
)]
async fn react(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<ReactBody>,
) -> ApiResult {
    let should_react = match &body.should_react {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s == "true" => Some(true),
        Some(Value::String(s)) if s == "false" => Some(false),
        Some(_) => return Err(Error::from(Reject::ShouldReactNotBoolean).into()),
    };
    let emoji = body.emoji.as_deref().or(body.reaction.as_deref());
    services.react(&caller.user, ReactRequest::read(body.message_id.as_deref(), emoji, should_react)).await?;
    ok(json!({}))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SendMessageRequest)]
struct SendBody {
    /// Kept as a map: the service picks the fields a message keeps.
    #[schema(value_type = doc::NewMessage)]
    message: Option<Map<String, Value>>,
}

/// Sends a message (a thread reply with `tmid`).
///
/// `POST /api/v1/chat.sendMessage` (auth): `{message: {_id?, rid, msg?, tmid?,
/// tshow?, alias?, emoji?, avatar?, attachments?, customFields?, ...}}` →
/// `{message}`. Client `_id` kept; other fields dropped, content bounded
/// (docs/contract.md#messages); posting to a public channel joins it; `tmid`
/// makes a thread reply.
#[utoipa::path(
    post,
    path = "/api/v1/chat.sendMessage",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = SendBody,
    responses(
        (status = 200, description = "The stored message.", body = doc::MessageAnswer),
        (status = 400, description = "Missing `message` or `rid`; a message over `Message_MaxAllowedSize`; a room the caller may not post to; a bad `tmid`; a duplicate `_id`."),
    ),
)]
async fn send_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<SendBody>,
) -> ApiResult {
    let message = body.message.ok_or_else(|| ApiError(Error::from(Reject::MessageMissing)))?;
    let message = services.send_message(&caller.user, message).await?;
    ok(json!({"message": message}))
}

/// A room target: Rocket.Chat also accepts an array of them.
#[derive(Deserialize, ToSchema)]
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
            Target::Many(_) => Err(ApiError(Error::from(Reject::ParamNotOneRoom { name: name.to_owned() }))),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = PostMessageRequest)]
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

/// Posts a message to a room, channel or user.
///
/// `POST /api/v1/chat.postMessage` (auth): `{roomId | channel, text?, alias?,
/// emoji?, avatar?, attachments?, tmid?, customFields?}` → `{ts: <epoch ms>,
/// channel: <as given>, message}`. `channel` is `#name`, `@username` (DM), a
/// room id or a room name; neither given → `[invalid-channel]`.
#[utoipa::path(
    post,
    path = "/api/v1/chat.postMessage",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = PostBody,
    responses(
        (status = 200, description = "The stored message.", body = doc::PostedAnswer),
        (status = 400, description = "Neither `roomId` nor `channel` (`invalid-channel`); several targets; a room the caller may not post to; a message over `Message_MaxAllowedSize`."),
    ),
)]
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

/// A message, by id.
///
/// `GET /api/v1/chat.getMessage?msgId=` (auth) → `{message}`. Unknown id, or
/// a message of a room the caller cannot read → 400 `No message found with
/// the id of "<id>".` (the same answer, so ids cannot be probed).
#[utoipa::path(
    get,
    path = "/api/v1/chat.getMessage",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    params(GetMessageQuery),
    responses(
        (status = 200, description = "The message.", body = doc::MessageAnswer),
        (status = 400, description = "Missing `msgId`; no such message, or one in a room the caller may not read (the same answer)."),
    ),
)]
async fn get_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<GetMessageQuery>,
) -> ApiResult {
    let message = services.get_message(&caller.user, required_query(&request.msg_id, "msgId")?).await?;
    ok(json!({"message": message}))
}

/// `chat.getMessage`'s parameter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct GetMessageQuery {
    /// The message.
    #[param(rename = "msgId", required = true, value_type = String)]
    msg_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = UpdateMessageRequest)]
#[serde(rename_all = "camelCase")]
struct UpdateBody {
    #[schema(value_type = String)]
    room_id: Option<String>,
    #[schema(value_type = String)]
    msg_id: Option<String>,
    #[schema(value_type = String)]
    text: Option<String>,
}

/// Edits a message's text.
///
/// `POST /api/v1/chat.update` (auth): `{roomId, msgId, text}` → `{message}`
/// with `editedAt`/`editedBy`. Author (while `Message_AllowEditing`) or admin.
#[utoipa::path(
    post,
    path = "/api/v1/chat.update",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = UpdateBody,
    responses(
        (status = 200, description = "The edited message, with `editedAt` and `editedBy`.", body = doc::MessageAnswer),
        (status = 400, description = "A missing field; no such message in that room; the caller may not edit it; a text over `Message_MaxAllowedSize`."),
    ),
)]
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

#[derive(Deserialize, ToSchema)]
#[schema(as = DeleteMessageRequest)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    #[schema(value_type = String)]
    room_id: Option<String>,
    #[schema(value_type = String)]
    msg_id: Option<String>,
    as_user: Option<bool>,
}

/// Deletes a message.
///
/// `POST /api/v1/chat.delete` (auth): `{roomId, msgId, asUser?}` → `{_id, ts,
/// message: {_id, rid, u}}`. Author (while `Message_AllowDeleting`), room
/// owners/moderators, or admin. A thread parent with replies stays as a
/// `t: "rm"` placeholder.
#[utoipa::path(
    post,
    path = "/api/v1/chat.delete",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    request_body = DeleteBody,
    responses(
        (status = 200, description = "The message is deleted (a thread parent with replies stays as a placeholder).", body = doc::DeletedAnswer),
        (status = 400, description = "A missing field; no such message in that room; the caller may not delete it."),
    ),
)]
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

/// The body of the three marked-message listings: the room's messages
/// with the mark, newest first, paged.
async fn marked(
    services: &AppState,
    caller: &CurrentUser,
    (room, page): (RoomIdQuery, PageQuery),
    mark: Marked,
) -> TypedResult<super::threads::ListingBody> {
    let request =
        MarkedRequest::read(room.room_id.as_deref(), mark, page.count.as_deref(), page.offset.as_deref());
    let listing = services.marked_messages(&caller.user, request).await?;
    Ok(Success(super::threads::listing_body("messages", listing)))
}
