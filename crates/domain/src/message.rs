//! Messages, thread fields and tombstones.

use crate::markup::Markup;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A reference to a user inside another document (`u`, `editedBy`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
}

/// A user mentioned in a message (`@username`, or `all` / `here`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
}

/// A channel named in a message (`#name`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelMention {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
}

/// A message document. Fields threadsync models are typed; every other field
/// of the stored document (the client's content fields, see
/// [`CLIENT_CONTENT_FIELDS`], or fields of an imported document) is kept in
/// `extra` and round-trips unchanged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    #[serde(rename = "_id")]
    pub id: String,
    pub rid: String,
    #[serde(default)]
    pub msg: String,
    /// The markup tree of `msg` (Rocket.Chat's `md`, see docs/markup.md),
    /// computed when the text is written; absent when there is no text and
    /// on deleted thread parents.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub md: Option<Markup>,
    pub ts: Timestamp,
    pub u: UserRef,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Timestamp,
    #[serde(default)]
    pub mentions: Vec<Mention>,
    #[serde(default)]
    pub channels: Vec<ChannelMention>,
    /// The thread this message replies to (always a top-level message).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tmid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tshow: Option<bool>,
    /// Thread parents: number of (non-deleted) replies.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tcount: Option<i64>,
    /// Thread parents: time of the last reply.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tlm: Option<Timestamp>,
    /// Thread parents: ids of the users following the thread.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub replies: Option<Vec<String>>,
    /// Message type; `rm` marks a deleted thread parent kept as a placeholder.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub t: Option<String>,
    #[serde(rename = "editedAt", skip_serializing_if = "Option::is_none", default)]
    pub edited_at: Option<Timestamp>,
    #[serde(rename = "editedBy", skip_serializing_if = "Option::is_none", default)]
    pub edited_by: Option<UserRef>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The content fields a client may send with a message besides the modelled
/// `_id`, `rid`, `msg`, `tmid` and `tshow`: what Rocket.Chat documents for
/// `chat.sendMessage` and `chat.postMessage`. They are stored in `extra`.
/// Every other field of a client's message object is dropped, so nothing a
/// client sends escapes the size limits (docs/contract.md#messages).
pub const CLIENT_CONTENT_FIELDS: &[&str] =
    &["alias", "emoji", "avatar", "attachments", "blocks", "customFields"];

/// The most bytes the content fields of one message may take together,
/// written as a compact JSON object. `msg` has its own limit (the setting
/// `Message_MaxAllowedSize`, in characters); this one bounds the rest: room
/// for a dozen rich attachments (file cards, quotes of long messages,
/// integration fields), not for a payload.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;

/// The size of `value` written as compact JSON, without building the text.
pub fn json_size(value: &impl Serialize) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing JSON values to a counter cannot fail; if it ever did, the
    // value counts as too large rather than as empty.
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

impl Message {
    /// Whether this message is a thread parent (has, or had, replies).
    pub fn is_thread_parent(&self) -> bool {
        self.tcount.is_some()
    }

    /// Whether this message is a deleted thread parent kept as a placeholder.
    pub fn is_removed_placeholder(&self) -> bool {
        self.t.as_deref() == Some("rm")
    }
}

/// A message document as the store keeps it: its JSON text, and the change
/// stamp (`_updatedAt`) it is filed under.
///
/// A change feed hands these out so that a page served whole (no `fields`,
/// no `sort`: every hot sync and every full resync) is spliced into the
/// answer as stored, never decoded into a [`Message`] and encoded again:
/// that round trip (the markup tree and the free-form `extra` fields go
/// through serde's buffered `flatten` path) was the largest part of a hot
/// sync's own work. The text is checked to be one JSON value when it is
/// read, so what is spliced is always well-formed; [`StoredMessage::decode`]
/// gives the typed message where the rules need its fields.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    updated_at: Timestamp,
    text: Box<serde_json::value::RawValue>,
}

impl StoredMessage {
    /// The stored text of a message stamped `updated_at`; an error when the
    /// text is not one JSON value.
    pub fn from_text(updated_at: Timestamp, text: String) -> Result<Self, serde_json::Error> {
        Ok(StoredMessage { updated_at, text: serde_json::value::RawValue::from_string(text)? })
    }

    /// The stamp the document is filed under in the change feeds.
    pub fn updated_at(&self) -> Timestamp {
        self.updated_at
    }

    /// The document's JSON text, as stored.
    pub fn json(&self) -> &str {
        self.text.get()
    }

    /// The typed message.
    pub fn decode(&self) -> Result<Message, serde_json::Error> {
        serde_json::from_str(self.text.get())
    }
}

/// Two stored documents are equal when they hold the same text under the
/// same stamp (the text is compared as stored, not as JSON).
impl PartialEq for StoredMessage {
    fn eq(&self, other: &Self) -> bool {
        self.updated_at == other.updated_at && self.json() == other.json()
    }
}

/// Serialises as the stored JSON value itself.
impl Serialize for StoredMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(serializer)
    }
}

/// What remains of a deleted message: enough for sync to report the removal.
/// The content itself is dropped at deletion time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    #[serde(rename = "_id")]
    pub id: String,
    pub rid: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tmid: Option<String>,
    #[serde(rename = "_deletedAt")]
    pub deleted_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stored_message_is_served_as_its_text_and_decodes_to_the_message() {
        let doc = r#"{"_id":"m1","rid":"R","msg":"hi","ts":"2019-04-16T18:30:46.615Z","u":{"_id":"u1","username":"alice"},"_updatedAt":"2019-04-16T18:30:46.669Z","mentions":[],"channels":[],"alias":"bot"}"#;
        let stamp = Timestamp::parse("2019-04-16T18:30:46.669Z").expect("date");
        let stored = StoredMessage::from_text(stamp, doc.to_owned()).expect("JSON");
        assert_eq!(stored.updated_at(), stamp);
        // Spliced verbatim, inside whatever holds it.
        assert_eq!(serde_json::to_string(&vec![&stored]).expect("serialises"), format!("[{doc}]"));
        let message = stored.decode().expect("a message");
        assert_eq!(message.id, "m1");
        assert_eq!(message.extra.get("alias"), Some(&json!("bot")));
        // A message's own stored form decodes back to it.
        let text = serde_json::to_string(&message).expect("serialises");
        let again = StoredMessage::from_text(message.updated_at, text).expect("JSON");
        assert_eq!(again.decode().expect("decodes"), message);
        assert_eq!(again.updated_at(), message.updated_at);
    }

    #[test]
    fn stored_text_that_is_not_one_json_value_is_refused() {
        for bad in ["", "{", "{\"a\":1} {}", "not json", "{\"a\":1}x"] {
            assert!(StoredMessage::from_text(Timestamp(1), bad.to_owned()).is_err(), "{bad:?}");
        }
        // JSON that is not a message is stored text all the same; decoding says so.
        let odd = StoredMessage::from_text(Timestamp(1), "[1,2]".to_owned()).expect("JSON");
        assert!(odd.decode().is_err());
    }

    #[test]
    fn unknown_fields_round_trip() {
        let doc = json!({
            "_id": "m1", "rid": "GENERAL", "msg": "hi",
            "ts": "2019-04-16T18:30:46.615Z",
            "u": {"_id": "u1", "username": "alice", "name": "Alice"},
            "_updatedAt": "2019-04-16T18:30:46.669Z",
            "mentions": [], "channels": [],
            "alias": "bot", "customFields": {"a": [1, 2]}, "somethingNew": true
        });
        let m: Message = serde_json::from_value(doc.clone()).expect("parses");
        assert_eq!(m.extra.get("somethingNew"), Some(&json!(true)));
        assert_eq!(serde_json::to_value(&m).expect("serialises"), doc);
    }

    #[test]
    fn json_size_is_the_length_of_the_compact_text() {
        for value in [json!({}), json!({"alias": "é", "attachments": [{"text": "a\"b\n"}]}), json!(null)] {
            let text = serde_json::to_string(&value).expect("serialises");
            assert_eq!(json_size(&value), text.len(), "{text}");
        }
    }
}
