//! Finding people and rooms by name: `spotlight` (the clients' search box)
//! and `directory` (the directory page). Both search usernames, names and
//! room names as plain text, case-insensitively, through the stores'
//! filters (never a pattern a client writes), and show only what the
//! caller may see (docs/rest.md#finding-users-and-rooms).

use crate::paging::Paging;
use crate::rooms::Listing;
use crate::Services;
use serde_json::Value;
use threadsync_domain::Reject;
use threadsync_domain::{Error, Result, Room, RoomType, User};
use threadsync_storage::{RoomListQuery, UserListQuery, UserSortField};

/// How many users and how many rooms `spotlight` answers, as Rocket.Chat.
pub const SPOTLIGHT_LIMIT: usize = 5;

/// How many of the caller's private groups `spotlight` looks through.
const SPOTLIGHT_OWN_GROUPS: u64 = 500;

/// What `directory` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectoryKind {
    Users,
    Channels,
}

/// A `directory` request: `text`, `type`, or the older `query` JSON
/// (`{"text": …, "type": …}`), which the explicit parameters override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryQuery {
    pub text: String,
    pub kind: DirectoryKind,
}

impl DirectoryQuery {
    /// Rocket.Chat's checks: `type` is `users` or `channels` (the default;
    /// `teams` and other kinds threadsync has not: `Invalid type`), `query`
    /// a JSON object.
    pub fn parse(text: Option<&str>, kind: Option<&str>, query: Option<&str>) -> Result<DirectoryQuery> {
        let legacy: serde_json::Map<String, Value> = match query.filter(|q| !q.trim().is_empty()) {
            None => serde_json::Map::new(),
            Some(raw) => match serde_json::from_str(raw) {
                Ok(Value::Object(map)) => map,
                _ => return Err(Error::from(Reject::InvalidQuery)),
            },
        };
        let field = |name: &str| legacy.get(name).and_then(Value::as_str).map(str::to_owned);
        let text = text.map(str::to_owned).or_else(|| field("text")).unwrap_or_default();
        let kind = match kind.map(str::to_owned).or_else(|| field("type")).as_deref() {
            None | Some("") | Some("channels") => DirectoryKind::Channels,
            Some("users") => DirectoryKind::Users,
            Some(_) => return Err(Error::from(Reject::InvalidType)),
        };
        Ok(DirectoryQuery { text: text.trim().to_owned(), kind })
    }
}

/// One `directory` page: users or channels.
pub enum DirectoryPage {
    Users(Listing<User>),
    Channels(Listing<Room>),
}

impl Services {
    /// `spotlight?query=`: up to [`SPOTLIGHT_LIMIT`] active users whose
    /// username or name contains the text, and as many rooms the caller may
    /// see whose name does (public channels, and private groups the caller
    /// is in). A leading `@` searches users only, `#` rooms only, as in
    /// Rocket.Chat; an empty text finds nothing.
    pub async fn spotlight(&self, caller: &User, query: &str) -> Result<(Vec<User>, Vec<Room>)> {
        let query = query.trim();
        let (text, users_wanted, rooms_wanted) = match query.chars().next() {
            Some('@') => (&query[1..], true, false),
            Some('#') => (&query[1..], false, true),
            _ => (query, true, true),
        };
        let text = text.trim();
        if text.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut users = Vec::new();
        if users_wanted {
            // Inactive users are left out after the read: read a few more.
            let found = UserListQuery {
                text: Some(text.to_owned()),
                count: (SPOTLIGHT_LIMIT * 4) as u64,
                ..UserListQuery::default()
            };
            users = self.store.list_users(&found).await?.items;
            users.retain(|u| u.active);
            users.truncate(SPOTLIGHT_LIMIT);
        }
        let mut rooms = Vec::new();
        if rooms_wanted {
            let channels = RoomListQuery {
                types: vec![RoomType::Channel],
                name_contains: Some(text.to_owned()),
                offset: 0,
                count: SPOTLIGHT_LIMIT as u64,
            };
            rooms = self.store.list_rooms(&channels).await?.items;
            if rooms.len() < SPOTLIGHT_LIMIT {
                let folded = text.to_lowercase();
                let own =
                    self.store.rooms_of_user(&caller.id, &[RoomType::Group], 0, SPOTLIGHT_OWN_GROUPS).await?;
                let matching = own.items.into_iter().filter(|room| {
                    room.name.as_deref().is_some_and(|name| name.to_lowercase().contains(&folded))
                });
                rooms.extend(matching.take(SPOTLIGHT_LIMIT - rooms.len()));
            }
        }
        Ok((users, rooms))
    }

    /// `directory`: a page of users (by username) or public channels (by
    /// name) whose name contains the text (every one without a text).
    pub async fn directory(&self, query: &DirectoryQuery, paging: Paging) -> Result<DirectoryPage> {
        let text = (!query.text.is_empty()).then(|| query.text.clone());
        Ok(match query.kind {
            DirectoryKind::Users => {
                let users = UserListQuery {
                    text,
                    sort: UserSortField::Username,
                    offset: paging.offset,
                    count: paging.count,
                    ..UserListQuery::default()
                };
                let page = self.store.list_users(&users).await?;
                DirectoryPage::Users(Listing { items: page.items, total: page.total })
            }
            DirectoryKind::Channels => {
                let channels = RoomListQuery {
                    types: vec![RoomType::Channel],
                    name_contains: text,
                    offset: paging.offset,
                    count: paging.count,
                };
                let page = self.store.list_rooms(&channels).await?;
                DirectoryPage::Channels(Listing { items: page.items, total: page.total })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_domain::Code;

    #[test]
    fn directory_requests_read_both_forms() {
        let q = DirectoryQuery::parse(Some(" bob "), Some("users"), None).expect("explicit");
        assert_eq!(q, DirectoryQuery { text: "bob".into(), kind: DirectoryKind::Users });
        let q = DirectoryQuery::parse(None, None, Some(r#"{"text": "rocket", "type": "users"}"#))
            .expect("legacy");
        assert_eq!(q, DirectoryQuery { text: "rocket".into(), kind: DirectoryKind::Users });
        let q =
            DirectoryQuery::parse(None, Some("channels"), Some(r#"{"type": "users"}"#)).expect("override");
        assert_eq!(q.kind, DirectoryKind::Channels);
        assert_eq!(DirectoryQuery::parse(None, None, None).expect("none").kind, DirectoryKind::Channels);
        let bad = DirectoryQuery::parse(None, Some("teams"), None).expect_err("teams");
        assert_eq!(bad.code(), Some(Code::InvalidType));
        let bad = DirectoryQuery::parse(None, None, Some("[1]")).expect_err("not an object");
        assert_eq!(bad.code(), Some(Code::InvalidQuery));
    }
}
