//! Timestamps: milliseconds since the Unix epoch, written on the wire as
//! ISO-8601 UTC strings with milliseconds and `Z` (`2019-04-16T18:30:46.615Z`).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time with millisecond precision, the resolution of the wire format.
///
/// The store, not the caller, assigns the timestamps that sync relies on
/// (`_updatedAt`, `_deletedAt`), so that they strictly increase per room in
/// commit order (docs/sync.md#the-guarantee-lossless-sync).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_millis())
    }

    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// The wire form: `2019-04-16T18:30:46.615Z`.
    pub fn to_iso(self) -> String {
        match Utc.timestamp_millis_opt(self.0).single() {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => "1970-01-01T00:00:00.000Z".to_owned(),
        }
    }

    /// Parses what clients send as a date: RFC 3339 / ISO-8601 with a zone
    /// (`Z` or an offset), with or without fractional seconds, and also the
    /// zone-less forms JavaScript's `Date` accepts (taken as UTC), and a
    /// plain date. Returns `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() || s.len() > 64 {
            return None;
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(Timestamp(dt.with_timezone(&Utc).timestamp_millis()));
        }
        // A `+` in a query string may have been decoded as a space.
        if let Some(fixed) = fix_space_offset(s) {
            if let Ok(dt) = DateTime::parse_from_rfc3339(&fixed) {
                return Some(Timestamp(dt.with_timezone(&Utc).timestamp_millis()));
            }
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
            if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
                return Some(Timestamp(naive.and_utc().timestamp_millis()));
            }
        }
        if let Ok(date) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return date.and_hms_opt(0, 0, 0).map(|naive| Timestamp(naive.and_utc().timestamp_millis()));
        }
        None
    }
}

fn fix_space_offset(s: &str) -> Option<String> {
    let idx = s.rfind(' ')?;
    let (head, tail) = s.split_at(idx);
    let tail = &tail[1..];
    if tail.len() == 5 && tail.contains(':') {
        Some(format!("{head}+{tail}"))
    } else {
        None
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_iso())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    /// Accepts the ISO string form, epoch milliseconds, and MongoDB's
    /// extended JSON `{"$date": ...}` (so exported Rocket.Chat documents load).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        from_json(&value).ok_or_else(|| serde::de::Error::custom("invalid date"))
    }
}

/// Reads a date from JSON: an ISO string, epoch milliseconds, or `{"$date": <either>}`.
pub fn from_json(value: &serde_json::Value) -> Option<Timestamp> {
    match value {
        serde_json::Value::String(s) => Timestamp::parse(s),
        serde_json::Value::Number(n) => n.as_i64().map(Timestamp),
        serde_json::Value::Object(map) if map.len() == 1 => map.get("$date").and_then(from_json),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip_keeps_milliseconds() {
        let t = Timestamp::parse("2019-04-16T18:30:46.615Z").expect("valid");
        assert_eq!(t.0, 1_555_439_446_615);
        assert_eq!(t.to_iso(), "2019-04-16T18:30:46.615Z");
    }

    #[test]
    fn parses_the_forms_clients_send() {
        let base = Timestamp::parse("2019-04-01T00:00:00.000Z").expect("valid");
        assert_eq!(Timestamp::parse("2019-04-01T00:00:00Z"), Some(base));
        assert_eq!(Timestamp::parse("2019-04-01T02:00:00+02:00"), Some(base));
        assert_eq!(Timestamp::parse("2019-04-01T02:00:00.000 02:00"), Some(base));
        assert_eq!(Timestamp::parse("2019-04-01T00:00:00.000"), Some(base));
        assert_eq!(Timestamp::parse("2019-04-01"), Some(base));
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(Timestamp::parse(""), None);
        assert_eq!(Timestamp::parse("2019-13-01T00:00:00Z"), None);
    }

    #[test]
    fn reads_extended_json_dates() {
        let v = serde_json::json!({"$date": "2019-04-16T18:30:46.615Z"});
        assert_eq!(from_json(&v), Some(Timestamp(1_555_439_446_615)));
        assert_eq!(from_json(&serde_json::json!(5)), Some(Timestamp(5)));
        assert_eq!(from_json(&serde_json::json!(true)), None);
    }
}
