//! Room settings of the `channels` and `groups` families: `setTopic`,
//! `setDescription`, `setPurpose`, `setAnnouncement`, `setReadOnly`,
//! `rename`, `setType`, `archive`, `unarchive`, `setCustomFields`,
//! generated from one
//! descriptor per family ([`room_settings!`]) as room_roles.rs does. The
//! rules are in the service (`Services::change_room_setting`).

use crate::error::ApiError;
use crate::extract::{Body, CurrentUser};
use crate::response::{ok, ApiResult};
use crate::AppState;
use serde::Deserialize;
use serde_json::json;
use threadsync_domain::Reject;
use threadsync_domain::{Error, RoomType};
use threadsync_service::{RoomSelector, RoomSetting};
use utoipa::ToSchema;

/// The body of every settings route: the room, and the one field the route
/// changes (the others are ignored).
#[derive(Deserialize, ToSchema)]
#[schema(as = RoomSettingRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct SettingBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    pub topic: Option<String>,
    pub description: Option<String>,
    pub purpose: Option<String>,
    pub announcement: Option<String>,
    pub read_only: Option<bool>,
    pub name: Option<String>,
    /// `c` or `p`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// A JSON object.
    #[schema(value_type = Object)]
    pub custom_fields: Option<serde_json::Value>,
}

/// Which field a route reads, and the key its answer carries.
#[derive(Clone, Copy)]
enum Field {
    Topic,
    Description,
    Purpose,
    Announcement,
    ReadOnly,
    Name,
    Type,
    Archive,
    Unarchive,
    CustomFields,
}

/// Rocket.Chat's text for a missing field (`API.v1.failure`: no code).
fn required(name: &str) -> ApiError {
    ApiError(Error::from(Reject::BodyParamRequired { name: name.to_owned() }))
}

/// Parses the route's field, changes it, and answers Rocket.Chat's shape:
/// the text set (`{topic}` ...), the room (`{channel}` / `{group}`), or `{}`.
async fn change(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    body: SettingBody,
    field: Field,
) -> ApiResult {
    let text = |value: Option<String>, name: &str| value.ok_or_else(|| required(name));
    let setting = match field {
        Field::Topic => RoomSetting::Topic(text(body.topic, "topic")?),
        Field::Description => RoomSetting::Description(text(body.description, "description")?),
        Field::Purpose => RoomSetting::Purpose(text(body.purpose, "purpose")?),
        Field::Announcement => RoomSetting::Announcement(text(body.announcement, "announcement")?),
        Field::ReadOnly => RoomSetting::ReadOnly(body.read_only.ok_or_else(|| required("readOnly"))?),
        Field::Name => RoomSetting::Name(text(body.name, "name")?.trim().to_owned()),
        Field::Type => {
            let kind = text(body.kind, "type")?;
            RoomSetting::Type(
                RoomType::parse(&kind).ok_or_else(|| ApiError(Error::from(Reject::RoomTypeParamInvalid)))?,
            )
        }
        Field::Archive => RoomSetting::Archived(true),
        Field::Unarchive => RoomSetting::Archived(false),
        // Checked before the room, as Rocket.Chat does. Its test is
        // JavaScript's `typeof … === 'object'`; an array is refused here
        // too, since it cannot be a set of named fields.
        Field::CustomFields => match body.custom_fields {
            Some(serde_json::Value::Object(fields)) => RoomSetting::CustomFields(fields),
            _ => return Err(ApiError(Error::from(Reject::CustomFieldsRequired))),
        },
    };
    let selector = RoomSelector { room_id: body.room_id.as_deref(), room_name: body.room_name.as_deref() };
    let answer_text = match &setting {
        RoomSetting::Topic(v) => Some(("topic", v.clone())),
        RoomSetting::Description(v) => Some(("description", v.clone())),
        RoomSetting::Purpose(v) => Some(("purpose", v.clone())),
        RoomSetting::Announcement(v) => Some(("announcement", v.clone())),
        _ => None,
    };
    let room = services.change_room_setting(&caller.user, t, selector, setting).await?;
    let key = if t == RoomType::Group { "group" } else { "channel" };
    match (answer_text, field) {
        (Some((name, value)), _) => ok(json!({ name: value })),
        (None, Field::Archive | Field::Unarchive) => ok(json!({})),
        (None, _) => ok(json!({ key: room })),
    }
}

/// One handler of [`room_settings!`].
macro_rules! setting_handler {
    ($name:ident, $path:literal, $tag:literal, $t:expr, $field:expr, $summary:literal, $rules:literal) => {
        #[doc = $summary]
        ///
        #[doc = $rules]
        #[utoipa::path(
            post,
            path = $path,
            tag = $tag,
            security(("userId" = [], "authToken" = [])),
            request_body = SettingBody,
            responses(
                (status = 200, description = "Changed (or already so, for texts).", body = doc::RoomSettingAnswer),
                (status = 400, description = "Missing or unknown room; the field missing (`The bodyParam \"…\" is required`); no change to make; the caller lacks the permission (`error-action-not-allowed`, `error-not-authorized`); an invalid or taken name."),
            ),
        )]
        async fn $name(
            State(services): State<AppState>,
            caller: CurrentUser,
            Body(body): Body<SettingBody>,
        ) -> ApiResult {
            super::change(&services, &caller, $t, body, $field).await
        }
    };
}

/// One family's ten settings routes.
macro_rules! room_settings {
    ($module:ident, $t:expr, $tag:literal, $p_topic:literal, $p_description:literal, $p_purpose:literal, $p_announcement:literal, $p_read_only:literal, $p_rename:literal, $p_type:literal, $p_archive:literal, $p_unarchive:literal, $p_custom_fields:literal $(,)?) => {
        pub mod $module {
            use super::*;
            use crate::openapi::schemas as doc;
            use axum::extract::State;
            use crate::routing::Routes;
            use crate::routing::routes;

            pub fn routes() -> Routes {
                Routes::new()
                    .merge(routes!(set_topic))
                    .merge(routes!(set_description))
                    .merge(routes!(set_purpose))
                    .merge(routes!(set_announcement))
                    .merge(routes!(set_read_only))
                    .merge(routes!(rename))
                    .merge(routes!(set_type))
                    .merge(routes!(archive))
                    .merge(routes!(unarchive))
                    .merge(routes!(set_custom_fields))
            }

            setting_handler!(set_topic, $p_topic, $tag, $t, Field::Topic,
                "Sets the room's topic.", "`{roomId|roomName, topic}` → `{topic}`; needs `edit-room`; posts `room_changed_topic`.");
            setting_handler!(set_description, $p_description, $tag, $t, Field::Description,
                "Sets the room's description.", "`{roomId|roomName, description}` → `{description}`; needs `edit-room`; posts `room_changed_description`.");
            setting_handler!(set_purpose, $p_purpose, $tag, $t, Field::Purpose,
                "Sets the room's purpose (its description).", "`{roomId|roomName, purpose}` → `{purpose}`; needs `edit-room`; posts `room_changed_description`.");
            setting_handler!(set_announcement, $p_announcement, $tag, $t, Field::Announcement,
                "Sets the room's announcement.", "`{roomId|roomName, announcement}` → `{announcement}`; needs `edit-room`; posts `room_changed_announcement`.");
            setting_handler!(set_read_only, $p_read_only, $tag, $t, Field::ReadOnly,
                "Makes the room read-only, or not.", "`{roomId|roomName, readOnly}` → the room; needs `edit-room` and `set-readonly`; posts `room-set-read-only` / `room-removed-read-only`.");
            setting_handler!(rename, $p_rename, $tag, $t, Field::Name,
                "Renames the room.", "`{roomId|roomName, name}` → the room; needs `edit-room`; the name must be valid and free; members' subscriptions follow; posts `r`.");
            setting_handler!(set_type, $p_type, $tag, $t, Field::Type,
                "Makes a channel a private group or back.", "`{roomId|roomName, type: c|p}` → the room; needs `edit-room` and `create-c` / `create-p`; posts `room_changed_privacy`.");
            setting_handler!(archive, $p_archive, $tag, $t, Field::Archive,
                "Archives the room.", "`{roomId|roomName}` → `{}`; needs `archive-room`; no one may post until it is unarchived; posts `room-archived`.");
            setting_handler!(unarchive, $p_unarchive, $tag, $t, Field::Unarchive,
                "Unarchives the room.", "`{roomId|roomName}` → `{}`; needs `unarchive-room`; posts `room-unarchived`.");
            setting_handler!(set_custom_fields, $p_custom_fields, $tag, $t, Field::CustomFields,
                "Sets the room's custom fields.", "`{roomId|roomName, customFields: {…}}` → the room with `customFields`; the object replaces the previous one; `customFields` is checked first (`The bodyParam \"customFields\" is required with a type like object.`); needs `edit-room`; no system message.");
        }
    };
}

room_settings!(
    channels,
    RoomType::Channel,
    "channels",
    "/api/v1/channels.setTopic",
    "/api/v1/channels.setDescription",
    "/api/v1/channels.setPurpose",
    "/api/v1/channels.setAnnouncement",
    "/api/v1/channels.setReadOnly",
    "/api/v1/channels.rename",
    "/api/v1/channels.setType",
    "/api/v1/channels.archive",
    "/api/v1/channels.unarchive",
    "/api/v1/channels.setCustomFields",
);
room_settings!(
    groups,
    RoomType::Group,
    "groups",
    "/api/v1/groups.setTopic",
    "/api/v1/groups.setDescription",
    "/api/v1/groups.setPurpose",
    "/api/v1/groups.setAnnouncement",
    "/api/v1/groups.setReadOnly",
    "/api/v1/groups.rename",
    "/api/v1/groups.setType",
    "/api/v1/groups.archive",
    "/api/v1/groups.unarchive",
    "/api/v1/groups.setCustomFields",
);

pub fn routes() -> crate::routing::Routes {
    channels::routes().merge(groups::routes()).merge(crate::routing::routes!(set_default, set_join_code))
}

/// `channels.setDefault`'s body: the room and `default` (a boolean, or a
/// string: `"true"` and `"1"`, any case, mean true, as Rocket.Chat reads it).
#[derive(Deserialize, ToSchema)]
#[schema(as = SetDefaultRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct DefaultBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    #[schema(value_type = bool)]
    pub default: Option<serde_json::Value>,
}

/// Makes a channel default (new users join it) or not.
///
/// `POST /api/v1/channels.setDefault` (auth): `{roomId | roomName, default}`
/// → `{channel}`. Rocket.Chat's order: `default` given, the channel, a
/// change to make, `edit-room` in the room, `view-room-administration`. No
/// system message.
#[utoipa::path(
    post,
    path = "/api/v1/channels.setDefault",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = DefaultBody,
    responses(
        (status = 200, description = "The channel as it is now.", body = crate::openapi::schemas::RoomSettingAnswer),
        (status = 400, description = "`default` missing (`error-channels-setdefault-is-required`); missing or unknown channel; already so (`error-channels-setdefault-missing-default-param`); the caller lacks `edit-room` or `view-room-administration` (`error-action-not-allowed`)."),
    ),
)]
async fn set_default(
    axum::extract::State(services): axum::extract::State<AppState>,
    caller: CurrentUser,
    Body(body): Body<DefaultBody>,
) -> ApiResult {
    let on = match &body.default {
        None | Some(serde_json::Value::Null) => return Err(ApiError(Error::from(Reject::DefaultRequired))),
        Some(serde_json::Value::Bool(on)) => *on,
        // `toString()` of anything else, as Rocket.Chat compares it.
        Some(serde_json::Value::String(s)) => ["true", "1"].contains(&s.to_lowercase().as_str()),
        Some(other) => ["true", "1"].contains(&other.to_string().to_lowercase().as_str()),
    };
    let selector = RoomSelector { room_id: body.room_id.as_deref(), room_name: body.room_name.as_deref() };
    let room = services
        .change_room_setting(&caller.user, RoomType::Channel, selector, RoomSetting::Default(on))
        .await?;
    ok(json!({ "channel": room }))
}

/// `channels.setJoinCode`'s body: the channel and its new code.
#[derive(Deserialize, ToSchema)]
#[schema(as = SetJoinCodeRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct JoinCodeBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    pub join_code: Option<String>,
}

/// Sets the code joining a channel needs.
///
/// `POST /api/v1/channels.setJoinCode` (auth): `{roomId | roomName,
/// joinCode}` → `{channel}` with `joinCodeRequired: true` (the code itself
/// is never answered). A missing or blank code: `The bodyParam "joinCode"
/// is required` (checked first, as Rocket.Chat does); then the channel, and
/// `edit-room` in it. No system message.
#[utoipa::path(
    post,
    path = "/api/v1/channels.setJoinCode",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = JoinCodeBody,
    responses(
        (status = 200, description = "The channel as it is now.", body = crate::openapi::schemas::RoomSettingAnswer),
        (status = 400, description = "`joinCode` missing or blank; missing or unknown channel; the caller lacks `edit-room` (`error-action-not-allowed`)."),
    ),
)]
async fn set_join_code(
    axum::extract::State(services): axum::extract::State<AppState>,
    caller: CurrentUser,
    Body(body): Body<JoinCodeBody>,
) -> ApiResult {
    let code = body.join_code.filter(|code| !code.trim().is_empty()).ok_or_else(|| required("joinCode"))?;
    let selector = RoomSelector { room_id: body.room_id.as_deref(), room_name: body.room_name.as_deref() };
    let room = services
        .change_room_setting(&caller.user, RoomType::Channel, selector, RoomSetting::JoinCode(code))
        .await?;
    ok(json!({ "channel": room }))
}
