//! The message reads of the room families, `<family>.history` and
//! `<family>.messages`, generated from one descriptor per family
//! ([`room_reads!`]): the families differ only in their room type, their
//! paths and their OpenAPI tag, so the handlers are written once.

use super::threads::{listing_body, ListingBody};
use crate::error::ApiError;
use crate::extract::{CurrentUser, Query};
use crate::requests::{ListQuery, PageQuery};
use crate::response::{Success, TypedResult};
use crate::AppState;
use serde::Deserialize;
use threadsync_domain::Reject;
use threadsync_domain::{Error, RoomType};
use threadsync_service::{HistoryParams, HistoryRequest, RoomSelector};
use utoipa::IntoParams;

/// The room a read names.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoomReadQuery {
    /// The room's id.
    #[param(rename = "roomId")]
    room_id: Option<String>,
    /// The room's name (used when `roomId` is absent).
    #[param(rename = "roomName")]
    room_name: Option<String>,
    /// `im` / `dm` only, without `roomId`: the caller's direct message with this user.
    username: Option<String>,
}

impl RoomReadQuery {
    /// The name given, used when no id is (or none resolved).
    pub(super) fn room_name(&self) -> Option<&str> {
        self.room_name.as_deref()
    }
}

/// `*.history`'s window.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(super) struct HistoryQuery {
    /// ISO date: only messages before it (default: now).
    latest: Option<String>,
    /// ISO date: only messages after it.
    oldest: Option<String>,
    /// Include messages at exactly `latest` / `oldest` (default `false`).
    #[param(value_type = Option<bool>)]
    inclusive: Option<String>,
    /// `false`: leave out thread replies not also sent to the room (default `true`).
    #[param(rename = "showThreadMessages", value_type = Option<bool>)]
    show_thread_messages: Option<String>,
}

/// The room a read names: `roomId` or `roomName`; for direct messages,
/// also `username`, the caller's DM with that user (none: answered as a DM
/// the caller may not read, `invalid-channel`).
pub(super) async fn room_id_of(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    room: &RoomReadQuery,
) -> Result<Option<String>, ApiError> {
    let given = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
    match (t, given(&room.room_id), given(&room.username)) {
        (RoomType::Direct, None, Some(username)) => {
            match services.direct_room_with(&caller.user, &username).await? {
                Some(room) => Ok(Some(room.id)),
                None => Err(ApiError(Error::from(Reject::ChannelNotResolved))),
            }
        }
        (_, room_id, _) => Ok(room_id),
    }
}

/// `*.history`: newest first, between `oldest` and `latest`.
async fn history(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    (room, window, page): (RoomReadQuery, HistoryQuery, PageQuery),
) -> TypedResult<ListingBody> {
    let room_id = room_id_of(services, caller, t, &room).await?;
    let room = RoomSelector { room_id: room_id.as_deref(), room_name: room.room_name.as_deref() };
    let history = HistoryParams {
        latest: window.latest.as_deref(),
        oldest: window.oldest.as_deref(),
        inclusive: window.inclusive.as_deref(),
        show_thread_messages: window.show_thread_messages.as_deref(),
        count: page.count.as_deref(),
        offset: page.offset.as_deref(),
    };
    let listing = services.family_history(&caller.user, t, room, HistoryRequest::read(history)).await?;
    Ok(Success(listing_body("messages", listing)))
}

/// `*.messages`: filtered by `query`, in `sort` order (newest first by default).
async fn messages(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    (room, list): (RoomReadQuery, ListQuery),
) -> TypedResult<ListingBody> {
    let room_id = room_id_of(services, caller, t, &room).await?;
    let room = RoomSelector { room_id: room_id.as_deref(), room_name: room.room_name.as_deref() };
    let listing = services.family_messages(&caller.user, t, room, list.params()).await?;
    Ok(Success(listing_body("messages", listing)))
}

/// One family's `history` and `messages` handlers and their routes:
/// `room_reads!(module, RoomType, "tag", "/api/v1/<family>.history", "/api/v1/<family>.messages", "<what the room is>")`.
macro_rules! room_reads {
    ($module:ident, $t:expr, $tag:literal, $history:literal, $messages:literal, $room:literal) => {
        pub mod $module {
            use super::*;
            use crate::openapi::schemas as doc;
            use axum::extract::State;
            use crate::routing::Routes;
            use crate::routing::routes;

            pub fn routes() -> Routes {
                Routes::new().merge(routes!(history_handler)).merge(routes!(messages_handler))
            }

            /// A room's messages, newest first, in a time window.
            ///
            /// `GET <family>.history?roomId=&latest=&oldest=&inclusive=&showThreadMessages=&count=&offset=`
            /// (auth) → `{messages, count, offset, total}`.
            #[utoipa::path(
                get,
                path = $history,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                params(RoomReadQuery, HistoryQuery, PageQuery),
                responses(
                    (status = 200, description = "The messages, newest first.", body = doc::MessagesPage),
                    (status = 400, description = concat!("No room named; no such ", $room, " or one the caller may not read; a bad date, flag, `count` or `offset`.")),
                ),
            )]
            async fn history_handler(
                State(services): State<AppState>,
                caller: CurrentUser,
                Query(room): Query<RoomReadQuery>,
                Query(window): Query<HistoryQuery>,
                Query(page): Query<PageQuery>,
            ) -> TypedResult<ListingBody> {
                super::history(&services, &caller, $t, (room, window, page)).await
            }

            /// A room's messages that match a query (a thread: `{"tmid":"…"}`).
            ///
            /// `GET <family>.messages?roomId=&query=&sort=&fields=&count=&offset=`
            /// (auth) → `{messages, count, offset, total}`, newest first by default.
            #[utoipa::path(
                get,
                path = $messages,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                params(RoomReadQuery, ListQuery),
                responses(
                    (status = 200, description = "The messages.", body = doc::MessagesPage),
                    (status = 400, description = concat!("No room named; no such ", $room, " or one the caller may not read; a bad `query`, `sort`, `fields`, `count` or `offset`.")),
                ),
            )]
            async fn messages_handler(
                State(services): State<AppState>,
                caller: CurrentUser,
                Query(room): Query<RoomReadQuery>,
                Query(list): Query<ListQuery>,
            ) -> TypedResult<ListingBody> {
                super::messages(&services, &caller, $t, (room, list)).await
            }
        }
    };
}

room_reads!(
    channels,
    RoomType::Channel,
    "channels",
    "/api/v1/channels.history",
    "/api/v1/channels.messages",
    "public channel"
);
room_reads!(
    groups,
    RoomType::Group,
    "groups",
    "/api/v1/groups.history",
    "/api/v1/groups.messages",
    "private group"
);
room_reads!(im, RoomType::Direct, "im", "/api/v1/im.history", "/api/v1/im.messages", "direct message");
room_reads!(dm, RoomType::Direct, "im", "/api/v1/dm.history", "/api/v1/dm.messages", "direct message");

pub fn routes() -> crate::routing::Routes {
    channels::routes().merge(groups::routes()).merge(im::routes()).merge(dm::routes())
}
