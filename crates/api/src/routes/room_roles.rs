//! Room roles of the `channels` and `groups` families:
//! `<family>.addOwner` / `removeOwner` / `addModerator` / `removeModerator`
//! / `addLeader` / `removeLeader`, generated from one descriptor per family
//! ([`room_roles!`]) like room_reads.rs: the families differ only in room
//! type, paths and tag. The rules are in the service
//! (`Services::set_room_role`).

use super::rooms::RoomUserBody;
use crate::extract::{Body, CurrentUser};
use crate::response::{ok, ApiResult};
use crate::AppState;
use serde_json::json;
use threadsync_domain::RoomType;
use threadsync_service::RoomRole;

/// Gives or takes `role`: `{roomId|roomName, userId|username}` → `{}`.
async fn set_role(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    body: &RoomUserBody,
    role: RoomRole,
    on: bool,
) -> ApiResult {
    services.set_room_role(&caller.user, t, body.room(), body.user(), role, on).await?;
    ok(json!({}))
}

/// One handler of [`room_roles!`]: `role_handler!(name, "path", "tag", Role, on, "summary")`.
macro_rules! role_handler {
    ($name:ident, $path:literal, $tag:literal, $t:expr, $role:expr, $on:expr, $summary:literal) => {
        #[doc = $summary]
        ///
        /// `POST` with `{roomId|roomName, userId|username}` (auth) → `{}`.
        /// Needs `set-owner` / `set-moderator` / `set-leader` in the room
        /// (admins and owners by default); the user must be a member; a
        /// role held cannot be given again, one not held cannot be taken;
        /// the room's last owner keeps the role.
        #[utoipa::path(
            post,
            path = $path,
            tag = $tag,
            security(("userId" = [], "authToken" = [])),
            request_body = RoomUserBody,
            responses(
                (status = 200, description = "Done.", body = doc::Done),
                (status = 400, description = "Missing or unknown room or user; the caller may not; the user is not a member, already holds the role, does not hold it, or is the last owner."),
            ),
        )]
        async fn $name(
            State(services): State<AppState>,
            caller: CurrentUser,
            Body(body): Body<RoomUserBody>,
        ) -> ApiResult {
            super::set_role(&services, &caller, $t, &body, $role, $on).await
        }
    };
}

/// One family's six role routes.
macro_rules! room_roles {
    ($module:ident, $t:expr, $tag:literal,
     $add_owner:literal, $remove_owner:literal,
     $add_moderator:literal, $remove_moderator:literal,
     $add_leader:literal, $remove_leader:literal) => {
        pub mod $module {
            use super::*;
            use crate::openapi::schemas as doc;
            use crate::routing::routes;
            use crate::routing::Routes;
            use axum::extract::State;

            pub fn routes() -> Routes {
                Routes::new()
                    .merge(routes!(add_owner))
                    .merge(routes!(remove_owner))
                    .merge(routes!(add_moderator))
                    .merge(routes!(remove_moderator))
                    .merge(routes!(add_leader))
                    .merge(routes!(remove_leader))
            }

            role_handler!(
                add_owner,
                $add_owner,
                $tag,
                $t,
                RoomRole::Owner,
                true,
                "Makes a member an owner of the room."
            );
            role_handler!(
                remove_owner,
                $remove_owner,
                $tag,
                $t,
                RoomRole::Owner,
                false,
                "Takes the owner role from a member."
            );
            role_handler!(
                add_moderator,
                $add_moderator,
                $tag,
                $t,
                RoomRole::Moderator,
                true,
                "Makes a member a moderator of the room."
            );
            role_handler!(
                remove_moderator,
                $remove_moderator,
                $tag,
                $t,
                RoomRole::Moderator,
                false,
                "Takes the moderator role from a member."
            );
            role_handler!(
                add_leader,
                $add_leader,
                $tag,
                $t,
                RoomRole::Leader,
                true,
                "Makes a member a leader of the room."
            );
            role_handler!(
                remove_leader,
                $remove_leader,
                $tag,
                $t,
                RoomRole::Leader,
                false,
                "Takes the leader role from a member."
            );
        }
    };
}

room_roles!(
    channels,
    RoomType::Channel,
    "channels",
    "/api/v1/channels.addOwner",
    "/api/v1/channels.removeOwner",
    "/api/v1/channels.addModerator",
    "/api/v1/channels.removeModerator",
    "/api/v1/channels.addLeader",
    "/api/v1/channels.removeLeader"
);
room_roles!(
    groups,
    RoomType::Group,
    "groups",
    "/api/v1/groups.addOwner",
    "/api/v1/groups.removeOwner",
    "/api/v1/groups.addModerator",
    "/api/v1/groups.removeModerator",
    "/api/v1/groups.addLeader",
    "/api/v1/groups.removeLeader"
);

pub fn routes() -> crate::routing::Routes {
    channels::routes().merge(groups::routes())
}
