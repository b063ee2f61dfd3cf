//! The DDP wire format: the frames the server sends, the EJSON date form,
//! and Meteor's error objects. Nothing here does I/O.
//!
//! Dates travel as `{"$date": <ms>}` over DDP while REST sends ISO strings,
//! and the message documents are serialised once in their REST form; so a
//! document on its way to a socket goes through [`to_ejson`], which rewrites
//! the date fields in place.

use serde_json::{json, Map, Value};
use threadsync_domain::error::{echo, wait_secs};
use threadsync_domain::Code;
use threadsync_domain::{Error, Timestamp};

/// Fields that hold dates in the documents we send (messages, rooms,
/// subscriptions, login results), at any depth.
const DATE_FIELDS: &[&str] =
    &["ts", "_updatedAt", "editedAt", "tlm", "_deletedAt", "lm", "ls", "lr", "tokenExpires", "_createdAt"];

/// Rewrites every ISO date string under a date field into `{"$date": ms}`.
pub fn to_ejson(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if DATE_FIELDS.contains(&key.as_str()) {
                    if let Some(ms) = field.as_str().and_then(Timestamp::parse) {
                        *field = json!({"$date": ms.millis()});
                        continue;
                    }
                }
                to_ejson(field);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_ejson),
        _ => {}
    }
}

/// A date parameter: `{"$date": ms}` (EJSON), an ISO string or epoch ms.
pub fn date_param(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Object(map) => map.get("$date").and_then(date_param),
        Value::String(s) => Timestamp::parse(s),
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).map(Timestamp::from_millis),
        _ => None,
    }
}

/// A DDP error object (Meteor.Error), as sent in `result` and `nosub`.
pub fn error_object(error: Value, reason: &str, details: Option<Value>) -> Value {
    let code = match &error {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let message = if reason.is_empty() { format!("[{code}]") } else { format!("{reason} [{code}]") };
    let mut object = json!({
        "isClientSafe": true,
        "error": error,
        "reason": reason,
        "message": message,
        "errorType": "Meteor.Error",
    });
    if let (Some(details), Some(map)) = (details, object.as_object_mut()) {
        map.insert("details".into(), details);
    }
    object
}

/// The realtime refusals that are not domain errors (the protocol, the
/// login method, subs): one variant each, and one `match` that gives each
/// its Meteor `error` (a Rocket.Chat code, a number, or a bare word, as
/// Rocket.Chat sends it), its words and its `details`. The domain's own
/// refusals come through [`domain_error`] from their catalogue
/// (`threadsync_domain::reject`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DdpRefusal {
    /// A known method called before any login.
    NeedsLogin {
        method: String,
    },
    MethodNotFound {
        name: String,
    },
    InvalidParams {
        method: String,
    },
    /// `getThreadMessages` of a thread the caller may not read.
    ThreadNotAllowed {
        method: String,
    },
    /// A room the caller may not read (`getRoomIdByNameOrId`, `getRoomNameById`).
    RoomNotReadable {
        method: String,
    },
    /// `leaveRoom` of a room the caller may not read.
    InvalidRoom {
        method: String,
    },
    LoginMatchFailed,
    LoggedOutByServer,
    IncorrectPassword,
    LoginBlocked {
        wait_ms: u64,
    },
    TooManySubscriptions,
    SubscriptionNotFound {
        name: String,
    },
    InvalidEventName,
    /// A stream the caller may not read, or a stream write (typing) the
    /// caller may not make.
    StreamNotAllowed,
}

impl DdpRefusal {
    /// The Meteor error object.
    pub fn object(&self) -> Value {
        let method = |m: &str| Some(json!({ "method": m }));
        match self {
            DdpRefusal::NeedsLogin { method: m } => {
                error_object(json!(Code::NotAllowed), "Not allowed", method(m))
            }
            DdpRefusal::MethodNotFound { name } => {
                error_object(json!(404), &format!("Method '{}' not found", echo(name)), None)
            }
            DdpRefusal::InvalidParams { method: m } => {
                error_object(json!(Code::InvalidParams), "Invalid params", method(m))
            }
            DdpRefusal::ThreadNotAllowed { method: m } => {
                error_object(json!(Code::NotAllowed), "not-allowed", method(m))
            }
            DdpRefusal::RoomNotReadable { method: m } => {
                error_object(json!(Code::NotAllowed), "Not allowed", method(m))
            }
            DdpRefusal::InvalidRoom { method: m } => {
                error_object(json!(Code::InvalidRoom), "Invalid room", method(m))
            }
            DdpRefusal::LoginMatchFailed => error_object(json!(400), "Match failed", None),
            DdpRefusal::LoggedOutByServer => {
                error_object(json!(403), "You've been logged out by the server. Please log in again.", None)
            }
            DdpRefusal::IncorrectPassword => error_object(json!(403), "Incorrect password", None),
            DdpRefusal::LoginBlocked { wait_ms } => error_object(
                json!(Code::LoginBlocked),
                &format!("Too many failed login attempts. Wait {} seconds.", wait_secs(*wait_ms)),
                Some(json!({"timeToReset": wait_ms})),
            ),
            DdpRefusal::TooManySubscriptions => {
                error_object(json!("too-many-subscriptions"), "Too many subscriptions", None)
            }
            DdpRefusal::SubscriptionNotFound { name } => {
                error_object(json!(404), &format!("Subscription '{}' not found", echo(name)), None)
            }
            DdpRefusal::InvalidEventName => {
                error_object(json!("invalid-event-name"), "Invalid event name", None)
            }
            DdpRefusal::StreamNotAllowed => error_object(json!(Code::MethodNotAllowed), "Not allowed", None),
        }
    }
}

/// The DDP error for a domain error: Rocket.Chat's code as `error`, its
/// reason as `reason`. Internal detail never leaves the server.
pub fn domain_error(error: &Error) -> Value {
    match error {
        Error::Rejected { reason, code, details } => error_object(json!(code), reason, details.clone()),
        Error::Legacy(message) => error_object(Value::String(message.clone()), message, None),
        Error::Failure { message, code } => error_object(json!(code), message, None),
        Error::NotLoggedIn => {
            error_object(json!(Code::NotAllowed), "You must be logged in to do this.", None)
        }
        Error::LoginFailed => DdpRefusal::IncorrectPassword.object(),
        Error::Forbidden => error_object(
            json!(Code::Unauthorized),
            "User does not have the permissions required for this action",
            None,
        ),
        Error::TooManyRequests { wait_ms } => {
            let secs = wait_ms.div_ceil(1000).max(1);
            let unit = if secs == 1 { "second" } else { "seconds" };
            error_object(
                json!(Code::MethodTooManyRequests),
                &format!("Error, too many requests. Please slow down. You must wait {secs} {unit} before trying again."),
                Some(json!({"timeToReset": wait_ms})),
            )
        }
        Error::Refused(refusal) => error_object(json!(refusal.code()), &refusal.reason(), None),
        Error::RouteNotFound => error_object(json!(404), "Not found", None),
        Error::Internal(_) => error_object(json!(500), "Internal server error", None),
    }
}

/// `{"msg":"result","id":…,"result":…}`; `result` is left out when null,
/// as Meteor does.
pub fn result_frame(id: &Value, result: Value) -> Value {
    let mut frame = Map::new();
    frame.insert("msg".into(), json!("result"));
    frame.insert("id".into(), id.clone());
    if !result.is_null() {
        frame.insert("result".into(), result);
    }
    Value::Object(frame)
}

pub fn error_result_frame(id: &Value, error: Value) -> Value {
    json!({"msg": "result", "id": id, "error": error})
}

pub fn updated_frame(id: &Value) -> Value {
    json!({"msg": "updated", "methods": [id]})
}

pub fn ready_frame(sub_id: &Value) -> Value {
    json!({"msg": "ready", "subs": [sub_id]})
}

pub fn nosub_frame(sub_id: &Value, error: Option<Value>) -> Value {
    match error {
        Some(error) => json!({"msg": "nosub", "id": sub_id, "error": error}),
        None => json!({"msg": "nosub", "id": sub_id}),
    }
}

/// A stream event: streams send only `changed`, with the literal id `"id"`.
pub fn stream_frame(stream: &str, event_name: &str, args: Value) -> Value {
    json!({
        "msg": "changed",
        "collection": stream,
        "id": "id",
        "fields": {"eventName": event_name, "args": args},
    })
}

/// Sent once before `ready` to a sub that asked for `useCollection`.
pub fn stream_added_frame(stream: &str, event_name: &str) -> Value {
    json!({"msg": "added", "collection": stream, "id": "id", "fields": {"eventName": event_name}})
}

pub fn bad_request_frame(offending: Value) -> Value {
    json!({"msg": "error", "reason": "Bad request", "offendingMessage": offending})
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_domain::Reject;

    /// Realtime refusals are words of [`DdpRefusal`] or of the domain's
    /// catalogue: no other realtime source builds an error object.
    #[test]
    fn error_objects_come_from_the_catalogues() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/realtime");
        for entry in std::fs::read_dir(&dir).expect("the realtime sources") {
            let path = entry.expect("an entry").path();
            if path.ends_with("ddp.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a source");
            assert!(!text.contains("error_object("), "{} builds an error object", path.display());
        }
    }

    #[test]
    fn refusals_keep_rocket_chat_words() {
        let blocked = DdpRefusal::LoginBlocked { wait_ms: 1_500 }.object();
        assert_eq!(blocked["error"], "error-login-blocked");
        assert_eq!(blocked["reason"], "Too many failed login attempts. Wait 2 seconds.");
        assert_eq!(blocked["details"]["timeToReset"], 1_500);
        let missing = DdpRefusal::MethodNotFound { name: "x".repeat(500) }.object();
        assert_eq!(missing["error"], 404);
        assert!(missing["reason"].as_str().is_some_and(|r| r.chars().count() < 240), "{missing}");
        assert_eq!(DdpRefusal::StreamNotAllowed.object()["error"], "not-allowed");
    }

    #[test]
    fn dates_become_ejson_at_any_depth() {
        let mut doc = json!({
            "_id": "m1",
            "ts": "2024-01-02T03:04:05.678Z",
            "_updatedAt": "2024-01-02T03:04:05.679Z",
            "msg": "2024-01-02T03:04:05.678Z",
            "lastMessage": {"ts": "1970-01-01T00:00:01.000Z"},
            "attachments": [{"ts": "not a date"}],
        });
        to_ejson(&mut doc);
        assert_eq!(doc["ts"], json!({"$date": 1_704_164_645_678_i64}));
        assert_eq!(doc["_updatedAt"], json!({"$date": 1_704_164_645_679_i64}));
        // Only date fields are rewritten, never text that looks like a date.
        assert_eq!(doc["msg"], json!("2024-01-02T03:04:05.678Z"));
        assert_eq!(doc["lastMessage"]["ts"], json!({"$date": 1000}));
        assert_eq!(doc["attachments"][0]["ts"], json!("not a date"));
    }

    #[test]
    fn date_params_take_every_form() {
        assert_eq!(date_param(&json!({"$date": 5})), Some(Timestamp(5)));
        assert_eq!(date_param(&json!(7)), Some(Timestamp(7)));
        assert_eq!(date_param(&json!("1970-01-01T00:00:00.010Z")), Some(Timestamp(10)));
        assert_eq!(date_param(&json!(null)), None);
        assert_eq!(date_param(&json!({"$date": "x"})), None);
    }

    #[test]
    fn results_leave_out_null() {
        assert_eq!(result_frame(&json!("1"), Value::Null), json!({"msg": "result", "id": "1"}));
        assert_eq!(
            result_frame(&json!("1"), json!(false)),
            json!({"msg": "result", "id": "1", "result": false})
        );
    }

    #[test]
    fn error_objects_have_meteor_shape() {
        let e = domain_error(&Error::from(Reject::ActionNotAllowed));
        assert_eq!(e["error"], Code::ActionNotAllowed.as_str());
        assert_eq!(e["reason"], "Not allowed");
        assert_eq!(e["message"], "Not allowed [error-action-not-allowed]");
        assert_eq!(e["errorType"], "Meteor.Error");
        assert_eq!(e["isClientSafe"], true);
        let e = domain_error(&Error::internal("secret detail"));
        assert_eq!(e["error"], 500);
        assert!(!e.to_string().contains("secret"));
    }
}
