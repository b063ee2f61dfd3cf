//! `close` and `open` of the `channels`, `groups` and `im` (`dm`) families:
//! hide a room from the caller's room list, or show it again
//! (docs/rest.md#closing-and-opening). One handler body, generated per
//! family and verb by [`room_open!`]; the rules are in the service
//! (`Services::set_room_open`).

use crate::extract::{Body, CurrentUser};
use crate::response::{ok, ApiResult};
use crate::AppState;
use serde::Deserialize;
use serde_json::json;
use threadsync_domain::RoomType;
use threadsync_service::RoomSelector;
use utoipa::ToSchema;

/// The room to close or open.
#[derive(Deserialize, ToSchema)]
#[schema(as = RoomOpenRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct OpenBody {
    pub room_id: Option<String>,
    /// `channels` and `groups` only.
    pub room_name: Option<String>,
}

async fn set_open(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    body: OpenBody,
    open: bool,
) -> ApiResult {
    let selector = RoomSelector { room_id: body.room_id.as_deref(), room_name: body.room_name.as_deref() };
    services.set_room_open(&caller.user, t, selector, open).await?;
    ok(json!({}))
}

/// One handler of [`room_open!`].
macro_rules! open_handler {
    ($name:ident, $path:literal, $tag:literal, $t:expr, $open:expr, $summary:literal, $rules:literal) => {
        #[doc = $summary]
        ///
        #[doc = $rules]
        #[utoipa::path(
            post,
            path = $path,
            tag = $tag,
            security(("userId" = [], "authToken" = [])),
            request_body = OpenBody,
            responses(
                (status = 200, description = "Done.", body = doc::Done),
                (status = 400, description = "Missing or unknown room; the caller is not in it; already closed (or open), in Rocket.Chat's words without `errorType`."),
            ),
        )]
        async fn $name(
            State(services): State<AppState>,
            caller: CurrentUser,
            Body(body): Body<OpenBody>,
        ) -> ApiResult {
            super::set_open(&services, &caller, $t, body, $open).await
        }
    };
}

/// One family's `close` and `open` routes.
macro_rules! room_open {
    ($module:ident, $t:expr, $tag:literal, $p_close:literal, $p_open:literal $(,)?) => {
        pub mod $module {
            use super::*;
            use crate::openapi::schemas as doc;
            use axum::extract::State;
            use crate::routing::Routes;
            use crate::routing::routes;

            pub fn routes() -> Routes {
                Routes::new().merge(routes!(close)).merge(routes!(open))
            }

            open_handler!(close, $p_close, $tag, $t, false,
                "Hides the room from the caller's room list.",
                "`{roomId|roomName}` → `{}`: the caller's subscription is no longer `open`; the room, its messages and the membership stay.");
            open_handler!(open, $p_open, $tag, $t, true,
                "Shows the room in the caller's room list again.",
                "`{roomId|roomName}` → `{}`: the caller's subscription is `open` again.");
        }
    };
}

room_open!(channels, RoomType::Channel, "channels", "/api/v1/channels.close", "/api/v1/channels.open");
room_open!(groups, RoomType::Group, "groups", "/api/v1/groups.close", "/api/v1/groups.open");
room_open!(im, RoomType::Direct, "im", "/api/v1/im.close", "/api/v1/im.open");
room_open!(dm, RoomType::Direct, "im", "/api/v1/dm.close", "/api/v1/dm.open");

pub fn routes() -> crate::routing::Routes {
    channels::routes().merge(groups::routes()).merge(im::routes()).merge(dm::routes())
}
