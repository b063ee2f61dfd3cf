//! The one error type of threadsync.
//!
//! Every failure a client can see is a variant here. The HTTP layer maps each
//! variant, in one place, to a status code and Rocket.Chat's envelope
//! (`{"success": false, "error": "<reason> [<code>]", "errorType": "<code>"}`);
//! nothing else builds error bodies. Internal detail (`Internal`) is logged by
//! the HTTP layer and never sent to the client.
//!
//! The words and code of each refusal a client can get (`Rejected`,
//! `Failure`, `Legacy`) are chosen in [`crate::reject`], one variant per
//! refusal; code elsewhere refuses with `Error::from(Reject::...)`.

use crate::reject::Reject;
use serde_json::Value;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Declares [`Code`] from one list: each variant with its wire string, so the
/// enum, its strings and [`Code::ALL`] can never drift apart.
macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $name:ident => $wire:literal, )*) => {
        /// Every `errorType` threadsync sends, one variant per code.
        ///
        /// The strings are Rocket.Chat's, kept byte for byte even where
        /// Rocket.Chat spells one idea several ways (`roomId`, `room-id`,
        /// `roomid`): clients match on the exact code of each route. A code
        /// is chosen here and nowhere else; a test checks that every variant
        /// is used somewhere in the workspace.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])* $name, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$name),*];

            /// The code as it goes on the wire (`error-...`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Code::$name => $wire, )*
                }
            }

            /// The variant's name, as written in source (`NotAllowed`).
            pub fn name(self) -> &'static str {
                match self {
                    $( Code::$name => stringify!($name), )*
                }
            }
        }
    };
}

codes! {
    ActionNotAllowed => "error-action-not-allowed",
    AdminRequired => "error-admin-required",
    AppNameParamNotValid => "error-appName-param-not-valid",
    AvatarUrlHandling => "error-avatar-url-handling",
    BadRequest => "error-bad-request",
    BlockedUsername => "error-blocked-username",
    ChannelsSetdefaultIsRequired => "error-channels-setdefault-is-required",
    ChannelsSetdefaultMissingDefaultParam => "error-channels-setdefault-missing-default-param",
    DuplicateChannelName => "error-duplicate-channel-name",
    DuplicateId => "error-duplicate-id",
    EmojiParamNotProvided => "error-emoji-param-not-provided",
    FieldUnavailable => "error-field-unavailable",
    FileNotFound => "error-file-not-found",
    FileTooLarge => "error-file-too-large",
    FileUploadDisabled => "error-file-upload-disabled",
    HeadersTooLarge => "error-headers-too-large",
    IdParamNotValid => "error-id-param-not-valid",
    InvalidArguments => "error-invalid-arguments",
    InvalidBodyParams => "error-invalid-body-params",
    InvalidDescription => "error-invalid-description",
    InvalidEmail => "error-invalid-email",
    InvalidFields => "error-invalid-fields",
    InvalidFileType => "error-invalid-file-type",
    InvalidImage => "error-invalid-image",
    InvalidMessage => "error-invalid-message",
    InvalidMessageId => "error-invalid-message_id",
    InvalidParams => "error-invalid-params",
    InvalidPermission => "error-invalid-permission",
    InvalidQuery => "error-invalid-query",
    InvalidRole => "error-invalid-role",
    InvalidRoleId => "error-invalid-roleId",
    InvalidRoleProperties => "error-invalid-role-properties",
    InvalidRoom => "error-invalid-room",
    InvalidRoomName => "error-invalid-room-name",
    InvalidSort => "error-invalid-sort",
    InvalidStatus => "error-invalid-status",
    InvalidSubscription => "error-invalid-subscription",
    InvalidUser => "error-invalid-user",
    InvalidUsername => "error-invalid-username",
    LastUpdateParamInvalid => "error-lastUpdate-param-invalid",
    LastUpdateParamNotProvided => "error-lastUpdate-param-not-provided",
    LoginBlocked => "error-login-blocked",
    MessageNotFound => "error-message-not-found",
    MessageSizeExceeded => "error-message-size-exceeded",
    MessageidParamNotProvided => "error-messageid-param-not-provided",
    NestedDiscussion => "error-nested-discussion",
    NoFile => "error-no-file",
    NotAllowed => "error-not-allowed",
    NotAuthorized => "error-not-authorized",
    NotReady => "error-not-ready",
    ParamNotProvided => "error-param-not-provided",
    RangeNotSatisfiable => "error-range-not-satisfiable",
    RemoveLastOwner => "error-remove-last-owner",
    RequestTimeout => "error-request-timeout",
    RequestTooLarge => "error-request-too-large",
    ResyncRequired => "error-resync-required",
    RoleNotFound => "error-role-not-found",
    /// `rid` missing (thread lists, `chat.ignoreUser`: Rocket.Chat spells this one `room-id`).
    RoomDashIdParamNotProvided => "error-room-id-param-not-provided",
    RoomIdParamInvalid => "error-roomId-param-invalid",
    /// `roomId` missing (sync, search and message-mark routes spell it `roomId`).
    RoomIdParamNotProvided => "error-roomId-param-not-provided",
    RoomNotFound => "error-room-not-found",
    /// A group or direct-message selector missing (`groups.*`, `im.*`).
    RoomParamNotProvided => "error-room-param-not-provided",
    /// A channel selector missing (`channels.*`: Rocket.Chat spells this one `roomid`).
    RoomidParamNotProvided => "error-roomid-param-not-provided",
    SearchTextParamNotProvided => "error-searchText-param-not-provided",
    SettingNotFound => "error-setting-not-found",
    SinceParamInvalid => "error-since-param-invalid",
    SinceParamNotProvided => "error-since-param-not-provided",
    StatusNotAllowed => "error-status-not-allowed",
    TokenParamNotValid => "error-token-param-not-valid",
    TooManyRequests => "error-too-many-requests",
    TypeParamNotValid => "error-type-param-not-valid",
    Unauthorized => "error-unauthorized",
    UpdatedSinceParamInvalid => "error-updatedSince-param-invalid",
    UriTooLong => "error-uri-too-long",
    UserAlreadyInRole => "error-user-already-in-role",
    UserIdParamNotProvided => "error-user-id-param-not-provided",
    UserLimitExceeded => "error-user-limit-exceeded",
    UserNotInRole => "error-user-not-in-role",
    UserNotInRoom => "error-user-not-in-room",
    UserParamNotProvided => "error-user-param-not-provided",
    UserRegistrationSecret => "error-user-registration-secret",
    WebsocketExpected => "error-websocket-expected",
    YouAreLastOwner => "error-you-are-last-owner",
    UserAlreadyLeader => "error-user-already-leader",
    UserAlreadyModerator => "error-user-already-moderator",
    UserAlreadyOwner => "error-user-already-owner",
    UserNotLeader => "error-user-not-leader",
    UserNotModerator => "error-user-not-moderator",
    UserNotOwner => "error-user-not-owner",
    CodeRequired => "error-code-required",
    InvalidType => "error-invalid-type",
    DirectMessageMaxUserExceeded => "error-direct-message-max-user-exceeded",
    DuplicateRoleNamesNotAllowed => "error-duplicate-role-names-not-allowed",
    InvalidScope => "error-invalid-scope",
    RoleProtected => "error-role-protected",
    RoleInUse => "error-role-in-use",
    CodeInvalid => "error-code-invalid",
    /// Rocket.Chat's request-schema failures (`must have required property
    /// 'rid'`): this family of codes has no `error-` prefix.
    SchemaInvalidParams => "invalid-params",
    /// `chat.postMessage` to a channel that does not resolve (no prefix).
    InvalidChannel => "invalid-channel",
    /// An upload form field Rocket.Chat's parser refuses (no prefix).
    InvalidField => "invalid-field",
    /// A file Rocket.Chat's upload checks refuse (no prefix).
    InvalidFile => "invalid-file",
    /// A realtime call over its rate limit (no prefix, as DDP sends it).
    MethodTooManyRequests => "too-many-requests",
    /// A realtime stream event the caller may not send (no prefix).
    MethodNotAllowed => "not-allowed",
    /// A Meteor method refused for lack of rights (no prefix).
    MethodNotAuthorized => "not-authorized",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The route needs a logged-in user and the auth headers are missing or wrong (401).
    #[error("You must be logged in to do this.")]
    NotLoggedIn,
    /// `login` with an unknown user or a wrong password (401, same body for both).
    #[error("Unauthorized")]
    LoginFailed,
    /// An admin-only route called by a user without the permission (403).
    #[error("User does not have the permissions required for this action")]
    Forbidden,
    /// No route matches the path (404).
    #[error("Resource not found")]
    RouteNotFound,
    /// The route's rate limit or the login brake refused the call (429);
    /// the next call is allowed `wait_ms` milliseconds from now.
    #[error("Error, too many requests. Please slow down. You must wait {} before trying this endpoint again.", wait_words(*wait_ms))]
    TooManyRequests { wait_ms: u64 },
    /// A request the server refuses (400): `"<reason> [<code>]"` with `errorType: <code>`,
    /// and optional `details`.
    #[error("{}", display_rejected(reason, code.as_str()))]
    Rejected { reason: String, code: Code, details: Option<Value> },
    /// A legacy Rocket.Chat error (400) whose body has no `errorType`.
    #[error("{0}")]
    Legacy(String),
    /// Rocket.Chat's `API.v1.failure(message, errorType)` (400): the message
    /// as it is (no ` [code]` suffix) and `errorType: <code>`.
    #[error("{message}")]
    Failure { message: String, code: Code },
    /// The HTTP layer refused the request itself: a size or time limit, or
    /// a store that does not answer (each kind has its own status).
    #[error("{}", display_rejected(&.0.reason(), .0.code().as_str()))]
    Refused(Refusal),
    /// An unexpected failure (500). The text is for the server log only.
    #[error("Internal server error")]
    Internal(String),
}

/// Why the HTTP layer refused a request before (or instead of) handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request line or headers could not be parsed (400).
    Malformed,
    /// The body did not arrive in time, or the server is stopping (408).
    Timeout,
    /// The body is larger than `limit` bytes (413).
    BodyTooLarge { limit: usize },
    /// The URL is longer than `limit` bytes (414).
    UriTooLong { limit: usize },
    /// The headers are larger than `limit` bytes, or too many (431).
    HeadersTooLarge { limit: usize },
    /// The store does not answer (503, from the readiness check).
    Unavailable,
    /// A download's `Range` starts past the end of its `size` bytes (416).
    RangeNotSatisfiable { size: u64 },
}

impl Refusal {
    /// The `errorType`.
    pub fn code(self) -> Code {
        match self {
            Refusal::Malformed => Code::BadRequest,
            Refusal::Timeout => Code::RequestTimeout,
            Refusal::BodyTooLarge { .. } => Code::RequestTooLarge,
            Refusal::UriTooLong { .. } => Code::UriTooLong,
            Refusal::HeadersTooLarge { .. } => Code::HeadersTooLarge,
            Refusal::Unavailable => Code::NotReady,
            Refusal::RangeNotSatisfiable { .. } => Code::RangeNotSatisfiable,
        }
    }

    /// The words before the code.
    pub fn reason(self) -> String {
        match self {
            Refusal::Malformed => "The request could not be parsed as HTTP".into(),
            Refusal::Timeout => "The request was not received in time".into(),
            Refusal::BodyTooLarge { limit } => format!("The request body is larger than {limit} bytes"),
            Refusal::UriTooLong { limit } => format!("The request URL is longer than {limit} bytes"),
            Refusal::HeadersTooLarge { limit } => {
                format!("The request headers are larger than {limit} bytes, or too many")
            }
            Refusal::Unavailable => "The store is not answering".into(),
            Refusal::RangeNotSatisfiable { size } => {
                format!("The requested range is not within the file's {size} bytes")
            }
        }
    }
}

/// A wait in whole seconds, rounded up (at least one): `1 second`, `5 seconds`.
fn wait_words(wait_ms: u64) -> String {
    match wait_secs(wait_ms) {
        1 => "1 second".to_owned(),
        n => format!("{n} seconds"),
    }
}

/// A wait in whole seconds, rounded up, at least 1 (what `Retry-After` says).
pub fn wait_secs(wait_ms: u64) -> u64 {
    wait_ms.div_ceil(1000).max(1)
}

/// How many characters of a client's raw parameter an error repeats.
const ECHO_CHARS: usize = 200;

/// A client's raw parameter for an error message: cut to 200 characters
/// (with `…`), so a megabyte of input never comes back as a megabyte error.
pub fn echo(raw: &str) -> String {
    truncate(raw, ECHO_CHARS)
}

/// `s` cut to `max` characters, with `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

fn display_rejected(reason: &str, code: &str) -> String {
    if reason.is_empty() {
        format!("[{code}]")
    } else {
        format!("{reason} [{code}]")
    }
}

impl Error {
    /// Adds Rocket.Chat's `details` object (e.g. `{"method": "followMessage"}`).
    pub fn with_details(self, extra: Value) -> Self {
        match self {
            Error::Rejected { reason, code, .. } => Error::Rejected { reason, code, details: Some(extra) },
            other => other,
        }
    }

    /// A required body or query parameter is missing.
    pub fn missing_param(name: &str) -> Self {
        Error::from(Reject::ParamMissing { name: name.to_owned() })
    }

    /// Meteor's `check()` failure, as Rocket.Chat answers it: a 400 without
    /// `errorType`, `Match error: <detail>`.
    pub fn match_failed(detail: impl std::fmt::Display) -> Self {
        Error::from(Reject::MatchFailed { detail: detail.to_string() })
    }

    /// The generic room-access denial outside the thread endpoints.
    pub fn not_allowed() -> Self {
        Error::from(Reject::NotAllowed)
    }

    /// An unexpected failure; `detail` goes to the log, never to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Error::Internal(detail.to_string())
    }

    /// The `errorType` code, when the variant has one.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Rejected { code, .. } | Error::Failure { code, .. } => Some(*code),
            Error::Forbidden => Some(Code::Unauthorized),
            Error::TooManyRequests { .. } => Some(Code::TooManyRequests),
            Error::Refused(refusal) => Some(refusal.code()),
            _ => None,
        }
    }
}

/// A JSON value's type as Meteor's `check()` names it in its errors
/// (`Expected string, got number`).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The workspace's Rust sources (outside `target` and `tests`
/// directories), with their paths: what the catalogues' checks read.
#[cfg(test)]
pub(crate) fn workspace_sources() -> Vec<(std::path::PathBuf, String)> {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let mut dirs = vec![crates];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a source directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if !path.ends_with("target") && !path.ends_with("tests") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                found.push((path, text));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_displays_reason_and_code() {
        let e = Error::from(Reject::NotAllowedCapitalised);
        assert_eq!(e.to_string(), "Not Allowed [error-not-allowed]");
        assert_eq!(e.code(), Some(Code::NotAllowed));
    }

    #[test]
    fn waits_are_rounded_up_and_worded() {
        let e = |wait_ms| Error::TooManyRequests { wait_ms }.to_string();
        assert!(e(1).contains("You must wait 1 second before"), "{}", e(1));
        assert!(e(1000).contains("You must wait 1 second before"));
        assert!(e(1001).contains("You must wait 2 seconds before"));
        assert!(e(0).contains("You must wait 1 second before"));
        assert_eq!(wait_secs(59_500), 60);
    }

    #[test]
    fn refusals_display_reason_and_code() {
        let e = Error::Refused(Refusal::BodyTooLarge { limit: 10 });
        assert_eq!(e.to_string(), "The request body is larger than 10 bytes [error-request-too-large]");
        assert_eq!(e.code(), Some(Code::RequestTooLarge));
    }

    #[test]
    fn internal_never_displays_detail() {
        let e = Error::internal("disk I/O error at /secret/path");
        assert_eq!(e.to_string(), "Internal server error");
    }

    #[test]
    fn codes_are_distinct_and_dashed() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let wire = code.as_str();
            assert!(wire.split('-').all(|word| !word.is_empty()) && wire.contains('-'), "{code:?}");
            assert!(seen.insert(code.as_str()), "{} declared twice", code.as_str());
        }
    }

    /// Like Lemmy's unused-error-type check: a code nobody sends is dead
    /// weight that the docs would still promise. Every variant must be named
    /// (`Code::Name`) somewhere in the workspace's sources outside this file.
    #[test]
    fn every_code_is_sent_somewhere() {
        let mut sources = String::new();
        for (path, text) in workspace_sources() {
            if !path.ends_with("domain/src/error.rs") {
                sources.push_str(&text);
            }
        }
        // This file counts too (a refusal's code is chosen here), minus the
        // declaring list and these tests.
        let own = include_str!("error.rs");
        let declared_from = own.find("codes! {").expect("the code list");
        let declared_to = own[declared_from..].find("\n}\n").expect("the list's end") + declared_from;
        let tests_from = own.find("#[cfg(test)]").expect("the tests");
        sources.push_str(&own[..declared_from]);
        sources.push_str(&own[declared_to..tests_from]);
        let unused: Vec<&str> = Code::ALL
            .iter()
            .map(|c| c.name())
            .filter(|name| !sources.contains(&format!("Code::{name}")))
            .collect();
        assert!(unused.is_empty(), "codes never sent: {unused:?}");
    }
}
