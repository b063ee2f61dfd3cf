//! Discussions: `rooms.createDiscussion`, `chat.getDiscussions`
//! (docs/rest.md#discussions).

use crate::extract::{Body, CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::PageQuery;
use crate::response::{ok, ApiResult, Success, TypedResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use threadsync_domain::Error;
use threadsync_domain::{param, Reject};
use threadsync_service::NewDiscussion;
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::new().merge(routes!(create_discussion)).merge(routes!(discussions))
}

/// `rooms.createDiscussion`'s body.
#[derive(Deserialize, ToSchema)]
struct CreateDiscussionBody {
    /// The parent room.
    prid: Option<String>,
    /// The parent room's message the discussion is about.
    pmid: Option<String>,
    /// The discussion's name.
    t_name: Option<String>,
    /// Usernames to invite.
    #[schema(value_type = Option<Vec<String>>)]
    users: Option<Value>,
    /// A first message in the discussion.
    reply: Option<String>,
}

/// Starts a discussion: a room of its own, linked to its parent room.
///
/// `POST /api/v1/rooms.createDiscussion` (auth; `start-discussion` or
/// `start-discussion-other-user` in the parent, `Discussion_enabled`)
/// `{prid, t_name, pmid?, users?, reply?}` → `{discussion}`.
#[utoipa::path(
    post,
    path = "/api/v1/rooms.createDiscussion",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = CreateDiscussionBody,
    responses(
        (status = 200, description = "The discussion.", body = doc::DiscussionAnswer),
        (status = 400, description = "No `prid` or `t_name`, or `users` not a list of usernames (`error-invalid-params`); discussions off or the permission missing (`error-action-not-allowed`); a parent the caller cannot post in (`error-not-allowed`); a discussion as parent (`error-nested-discussion`); `pmid` not a message of the parent (`error-invalid-message`)."),
    ),
)]
async fn create_discussion(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<CreateDiscussionBody>,
) -> ApiResult {
    let users: Vec<String> = match &body.users {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|u| u.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::from(Reject::DiscussionUsersNotUsernames))?,
        Some(_) => return Err(Error::from(Reject::DiscussionUsersNotArray).into()),
    };
    let new = NewDiscussion {
        prid: body.prid.as_deref(),
        pmid: body.pmid.as_deref(),
        name: body.t_name.as_deref(),
        users: &users,
        reply: body.reply.as_deref(),
    };
    let room = services.create_discussion(&caller.user, new).await?;
    let mut discussion = serde_json::to_value(&room).map_err(Error::internal)?;
    discussion["rid"] = json!(room.id);
    ok(json!({"discussion": discussion}))
}

/// The discussions started in a room.
///
/// `GET /api/v1/chat.getDiscussions?roomId=&text=&count=&offset=` (auth) →
/// `{messages, count, offset, total}`: its `discussion-created` messages
/// (with `drid`, `dcount`, `dlm`), newest first; `text` filters by name.
#[utoipa::path(
    get,
    path = "/api/v1/chat.getDiscussions",
    tag = "chat",
    security(("userId" = [], "authToken" = [])),
    params(DiscussionsQuery, PageQuery),
    responses(
        (status = 200, description = "The discussions' messages.", body = doc::MessagesPage),
        (status = 400, description = "Missing `roomId` or bad `count`/`offset` (`error-invalid-params`); a room the caller may not read (`error-not-allowed`)."),
    ),
)]
async fn discussions(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<DiscussionsQuery>,
    Query(page): Query<PageQuery>,
) -> TypedResult<super::threads::ListingBody> {
    let listing = services
        .discussions(
            &caller.user,
            param::required_text(request.room_id.as_deref(), Reject::RoomIdQueryMissing),
            request.text.as_deref(),
            page.count.as_deref(),
            page.offset.as_deref(),
        )
        .await?;
    Ok(Success(super::threads::listing_body("messages", listing)))
}

/// `chat.getDiscussions`' own parameters.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct DiscussionsQuery {
    /// The room.
    #[param(rename = "roomId", required = true, value_type = String)]
    room_id: Option<String>,
    /// Only discussions whose name contains it.
    text: Option<String>,
}
