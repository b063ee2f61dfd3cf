//! `chat.search`: full-text search of a room's messages
//! (docs/rest.md#chatsearch).
//!
//! The search text is Rocket.Chat's: free words, plus operators that are
//! taken out of the text before the words are searched. Words go to the
//! store's text index ([`threadsync_storage::SearchStore`]); operators
//! become a [`Filter`] over the message document, ANDed in.

use crate::paging::Paging;
use crate::Services;
use serde_json::{json, Value};
use threadsync_domain::query::Filter;
use threadsync_domain::{param, Param, Reject};
use threadsync_domain::{Error, Message, Result, User};
use threadsync_storage::search::terms;
use threadsync_storage::{SearchOrder, SearchQuery};

/// `chat.search`'s request.
#[derive(Clone, Debug)]
pub struct SearchRequest<'a> {
    pub room_id: Param<&'a str>,
    pub text: Param<&'a str>,
    pub count: Option<&'a str>,
    pub offset: Option<&'a str>,
}

impl<'a> SearchRequest<'a> {
    /// `roomId`, `searchText`, `count` and `offset` as the client sent them
    /// (an empty `roomId` or `searchText` is missing).
    pub fn read(
        room_id: Option<&'a str>,
        text: Option<&'a str>,
        count: Option<&'a str>,
        offset: Option<&'a str>,
    ) -> Self {
        SearchRequest {
            room_id: param::required_nonempty(room_id, Reject::RoomIdMissing),
            text: param::required_nonempty(text, Reject::SearchTextMissing),
            count,
            offset,
        }
    }
}

/// The search text, split into what the index searches and what filters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedSearch {
    /// The free text left once operators are taken out.
    pub text: String,
    /// `from:` usernames (`me` already resolved to the caller's).
    pub from: Vec<String>,
    /// `mention:` usernames.
    pub mentions: Vec<String>,
    /// `has:star`: starred by the caller.
    pub starred: bool,
    /// `is:pinned` / `has:pin`.
    pub pinned: bool,
    /// An operator asking for content threadsync never stores (`has:url`,
    /// `has:location`, `label:`, `file-desc:`, `file-title:`): nothing
    /// can match.
    pub unmatchable: bool,
    /// `ts` bounds in milliseconds: at or after, before (exclusive), at or before.
    pub ts_gte: Option<i64>,
    pub ts_lt: Option<i64>,
    pub ts_lte: Option<i64>,
    pub order: Option<SearchOrder>,
}

impl ParsedSearch {
    fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
            && self.from.is_empty()
            && self.mentions.is_empty()
            && !self.starred
            && !self.pinned
            && !self.unmatchable
            && self.ts_gte.is_none()
            && self.ts_lt.is_none()
            && self.ts_lte.is_none()
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm); out-of-range days roll over as JavaScript's `Date` does.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + day - 1
}

/// `d-m-yyyy` (separators `/`, `.` or `-`; Rocket.Chat's day-first form):
/// the start of that day in the caller's time zone (`utcOffset` hours),
/// in milliseconds.
fn day_start(value: &str, utc_offset: f64) -> Option<i64> {
    let parts: Vec<&str> = value.split(['/', '.', '-']).collect();
    let [d, m, y] = parts.as_slice() else { return None };
    let digits =
        |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(d, 2) && digits(m, 2) && y.len() == 4 && digits(y, 4)) {
        return None;
    }
    let (d, m, y): (i64, i64, i64) = (d.parse().ok()?, m.parse().ok()?, y.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let offset_ms = (utc_offset * 3_600_000.0).round() as i64;
    Some(days_from_civil(y, m, d) * 86_400_000 - offset_ms)
}

const DAY_MS: i64 = 86_400_000;

/// Takes Rocket.Chat's operators out of the search text (each a whole
/// word of it; `from:`/`mention:` case-insensitively, the others as
/// written, like Rocket.Chat's patterns).
pub fn parse_search(text: &str, caller: &User) -> ParsedSearch {
    let mut parsed = ParsedSearch::default();
    let mut kept: Vec<&str> = Vec::new();
    let username_ok = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    for token in text.split_whitespace() {
        let lower = token.to_ascii_lowercase();
        if let Some(name) = lower.strip_prefix("from:").map(|_| &token[5..]).filter(|n| username_ok(n)) {
            let name = if name.eq_ignore_ascii_case("me") { caller.username.as_str() } else { name };
            parsed.from.push(name.to_owned());
        } else if let Some(name) =
            lower.strip_prefix("mention:").map(|_| &token[8..]).filter(|n| username_ok(n))
        {
            parsed.mentions.push(name.to_owned());
        } else if token == "has:star" {
            parsed.starred = true;
        } else if matches!(token, "is:pinned" | "has:pin") {
            parsed.pinned = true;
        } else if matches!(token, "has:url" | "has:link" | "has:location" | "has:map")
            || ["label:", "file-desc:", "file-title:"]
                .iter()
                .any(|p| token.len() > p.len() && token.starts_with(p))
        {
            parsed.unmatchable = true;
        } else if let Some(day) = token.strip_prefix("before:").and_then(|v| day_start(v, caller.utc_offset))
        {
            parsed.ts_lte = Some(parsed.ts_lte.map_or(day, |t| t.min(day)));
        } else if let Some(day) = token.strip_prefix("after:").and_then(|v| day_start(v, caller.utc_offset)) {
            // Rocket.Chat's `after:` starts at the next day.
            let from = day + DAY_MS;
            parsed.ts_gte = Some(parsed.ts_gte.map_or(from, |t| t.max(from)));
        } else if let Some(day) = token.strip_prefix("on:").and_then(|v| day_start(v, caller.utc_offset)) {
            parsed.ts_gte = Some(day);
            parsed.ts_lt = Some(day + DAY_MS);
        } else if let Some(order) =
            token.strip_prefix("order:").or_else(|| token.strip_prefix("sort:")).and_then(|d| match d {
                "asc" | "ascend" | "ascending" => Some(SearchOrder::Oldest),
                "desc" | "descend" | "descending" => Some(SearchOrder::Newest),
                "relevance" | "score" => Some(SearchOrder::Relevance),
                _ => None,
            })
        {
            parsed.order = Some(order);
        } else {
            kept.push(token);
        }
    }
    parsed.text = kept.join(" ");
    parsed
}

/// The operators as a filter over message documents; `from`/`mention`
/// name users by id (usernames resolved by the caller of this function).
fn operator_filter(
    parsed: &ParsedSearch,
    from_ids: &[String],
    mention_ids: &[String],
    caller: &User,
) -> Result<Filter> {
    let mut parts: Vec<Value> = Vec::new();
    if !parsed.from.is_empty() {
        parts.push(json!({"u._id": {"$in": from_ids}}));
    }
    if !parsed.mentions.is_empty() {
        parts.push(json!({"mentions._id": {"$in": mention_ids}}));
    }
    if parsed.starred {
        parts.push(json!({"starred._id": caller.id}));
    }
    if parsed.pinned {
        parts.push(json!({"pinned": true}));
    }
    let mut ts = serde_json::Map::new();
    if let Some(t) = parsed.ts_gte {
        ts.insert("$gte".into(), json!({"$date": t}));
    }
    if let Some(t) = parsed.ts_lt {
        ts.insert("$lt".into(), json!({"$date": t}));
    }
    if let Some(t) = parsed.ts_lte {
        ts.insert("$lte".into(), json!({"$date": t}));
    }
    if !ts.is_empty() {
        parts.push(json!({"ts": ts}));
    }
    if parts.is_empty() {
        return Ok(Filter::True);
    }
    // Built here from known parts: a parse failure is a bug.
    Filter::parse(Some(&json!({"$and": parts}).to_string())).map_err(Error::internal)
}

impl Services {
    /// `chat.search`: the messages of a room the caller may read that match
    /// the search text, newest first (or as `order:` says), paged. Checks in
    /// order: `roomId`, `searchText`, `count`/`offset`, access (`Not
    /// allowed`, also for a room that does not exist).
    pub async fn search_messages(&self, caller: &User, request: SearchRequest<'_>) -> Result<Vec<Message>> {
        let rid = request.room_id?;
        let text = request.text?;
        let paging = Paging::from_params(request.count, request.offset, &self.settings())?;
        if !self.can_read_room_id(caller, rid).await? {
            return Err(Error::not_allowed());
        }
        let parsed = parse_search(text, caller);
        // Rocket.Chat finds nothing for a text with nothing to search by.
        if parsed.is_empty() || parsed.unmatchable {
            return Ok(Vec::new());
        }
        let from_ids = self.user_ids(&parsed.from).await?;
        let mention_ids = self.user_ids(&parsed.mentions).await?;
        if (!parsed.from.is_empty() && from_ids.is_empty())
            || (!parsed.mentions.is_empty() && mention_ids.is_empty())
        {
            return Ok(Vec::new());
        }
        let query = SearchQuery {
            rid: rid.to_owned(),
            terms: terms(&parsed.text),
            filter: operator_filter(&parsed, &from_ids, &mention_ids, caller)?,
            order: parsed.order.unwrap_or(SearchOrder::Newest),
            offset: paging.offset,
            count: paging.count,
        };
        Ok(self.store.search_messages(&query).await?)
    }

    /// The ids of the users with these usernames (case-insensitive), those
    /// that exist.
    async fn user_ids(&self, usernames: &[String]) -> Result<Vec<String>> {
        if usernames.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.users_by_usernames(usernames).await?.into_iter().map(|u| u.id).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> User {
        User {
            id: "u1".into(),
            username: "alice".into(),
            name: "Alice".into(),
            emails: Vec::new(),
            password_hash: None,
            roles: vec!["user".into()],
            active: true,
            status: "online".into(),
            status_text: String::new(),
            status_default: "online".into(),
            status_connection: "offline".into(),
            last_login: None,
            utc_offset: 2.0,
            kind: "user".into(),
            created_at: threadsync_domain::Timestamp(0),
            updated_at: threadsync_domain::Timestamp(0),
        }
    }

    #[test]
    fn operators_are_taken_out_of_the_text() {
        let p = parse_search(
            "deploy from:me FROM:Bob mention:carol has:star is:pinned order:asc \"roll back\"",
            &caller(),
        );
        assert_eq!(p.text, "deploy \"roll back\"");
        assert_eq!(p.from, vec!["alice".to_owned(), "Bob".to_owned()]);
        assert_eq!(p.mentions, vec!["carol".to_owned()]);
        assert!(p.starred && p.pinned && !p.unmatchable);
        assert_eq!(p.order, Some(SearchOrder::Oldest));
        // Not operators: kept as words.
        let p = parse_search("from: has:stars before:1-2-24 order:sideways", &caller());
        assert_eq!(p.text, "from: has:stars before:1-2-24 order:sideways");
        assert!(parse_search("has:url", &caller()).unmatchable);
    }

    #[test]
    fn dates_are_days_in_the_callers_zone() {
        // 2024-02-01T00:00 at UTC+2 is 2024-01-31T22:00Z.
        let start = 1_706_745_600_000 - 2 * 3_600_000;
        let p = parse_search("on:1-2-2024", &caller());
        assert_eq!((p.ts_gte, p.ts_lt), (Some(start), Some(start + DAY_MS)));
        let p = parse_search("before:01/02/2024 after:31.01.2024", &caller());
        assert_eq!((p.ts_lte, p.ts_gte), (Some(start), Some(start)));
        assert_eq!(parse_search("on:31-13-2024", &caller()).ts_gte, None, "no 13th month");
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
