//! The query-string groups many GET endpoints share: paging, listing (paging
//! plus the safe `sort` / `query` / `fields`), and the room a request names.
//! Each is read with [`crate::extract::Query`] next to the endpoint's own
//! request struct, and documents itself in the OpenAPI document through
//! `IntoParams`, so the parameters an endpoint reads and the ones it
//! documents are the same fields.

use crate::error::ApiError;
use crate::AppState;
use serde::Deserialize;
use threadsync_service::{ListParams, Paging, RoomSelector, UserSelector};
use utoipa::IntoParams;

/// Paging of a list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return (capped by `API_Upper_Count_Limit`; `0`
    /// asks for all up to that cap). Default `API_Default_Count`.
    #[param(value_type = Option<u64>)]
    pub count: Option<String>,
    /// How many items to skip.
    #[param(value_type = Option<u64>)]
    pub offset: Option<String>,
}

impl PageQuery {
    /// The page asked for, per the settings (`count` capped by
    /// `API_Upper_Count_Limit`); a bad number is `error-invalid-params`.
    pub fn paging(&self, services: &AppState) -> Result<Paging, ApiError> {
        Ok(Paging::from_params(self.count.as_deref(), self.offset.as_deref(), &services.settings())?)
    }
}

/// Paging, order, filter and projection of a list of messages.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many items to return (capped by `API_Upper_Count_Limit`).
    #[param(value_type = Option<u64>)]
    pub count: Option<String>,
    /// How many items to skip.
    #[param(value_type = Option<u64>)]
    pub offset: Option<String>,
    /// A JSON object of fields to `1` (ascending) or `-1` (descending),
    /// e.g. `{"ts":-1}`. See docs/query.md.
    pub sort: Option<String>,
    /// A JSON filter over message fields, e.g. `{"u.username":"alice"}`. See docs/query.md.
    pub query: Option<String>,
    /// A JSON projection, e.g. `{"msg":1}` (only the chosen fields are returned).
    pub fields: Option<String>,
}

impl ListQuery {
    /// The listing as the services take it (they check it, in order).
    pub fn params(&self) -> ListParams<'_> {
        ListParams {
            offset: self.offset.as_deref(),
            count: self.count.as_deref(),
            sort: self.sort.as_deref(),
            query: self.query.as_deref(),
            fields: self.fields.as_deref(),
        }
    }
}

/// The room a request names: by id or by name (one of the two).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct RoomQuery {
    /// The room's id.
    #[param(rename = "roomId")]
    pub room_id: Option<String>,
    /// The room's name (used when `roomId` is absent).
    #[param(rename = "roomName")]
    pub room_name: Option<String>,
}

impl RoomQuery {
    pub fn selector(&self) -> RoomSelector<'_> {
        RoomSelector { room_id: self.room_id.as_deref(), room_name: self.room_name.as_deref() }
    }
}

/// The room a request names by id only.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct RoomIdQuery {
    /// The room.
    #[param(rename = "roomId", required = true, value_type = String)]
    pub room_id: Option<String>,
}

/// An endpoint with no query parameters of its own (beside a shared group
/// such as paging), for macros that take one request struct per route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoQuery {}

/// The delta lists' (`rooms.get`, `subscriptions.get`) parameter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedSinceQuery {
    /// ISO date: only changes after it.
    #[param(rename = "updatedSince")]
    pub updated_since: Option<String>,
}

/// The user a request names: by id or by username (one of the two).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct UserQuery {
    /// The user id.
    #[param(rename = "userId")]
    pub user_id: Option<String>,
    /// The username (used when `userId` is absent).
    pub username: Option<String>,
}

impl UserQuery {
    pub fn selector(&self) -> UserSelector<'_> {
        UserSelector { user_id: self.user_id.as_deref(), username: self.username.as_deref() }
    }
}

/// Every non-empty value of a parameter a client repeats, under any of
/// `names` (`types[]=c&types[]=p`, the bracket form Rocket.Chat's own REST
/// client writes for arrays, or `types=c`), in order, from the raw query
/// string: a query struct keeps one value per name.
pub fn repeated(raw: Option<&str>, names: &[&str]) -> Vec<String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(name, value)| names.contains(&name.as_ref()) && !value.is_empty())
        .map(|(_, value)| value.into_owned())
        .collect()
}
