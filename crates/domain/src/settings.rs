//! The settings threadsync knows, their types and defaults (docs/contract.md#settings).

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The type of a setting's value, used to validate `POST settings/:id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingKind {
    Boolean,
    /// An integer within `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// One of a fixed set of strings.
    Select(&'static [&'static str]),
    /// Any string of at most `max` characters.
    Text {
        max: usize,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct SettingDef {
    pub id: &'static str,
    pub kind: SettingKind,
    pub default: DefaultValue,
}

#[derive(Clone, Copy, Debug)]
pub enum DefaultValue {
    Bool(bool),
    Int(i64),
    Str(&'static str),
}

impl DefaultValue {
    pub fn to_json(self) -> Value {
        match self {
            DefaultValue::Bool(b) => json!(b),
            DefaultValue::Int(i) => json!(i),
            DefaultValue::Str(s) => json!(s),
        }
    }
}

pub const THREADS_ENABLED: &str = "Threads_enabled";
pub const MESSAGE_MAX_ALLOWED_SIZE: &str = "Message_MaxAllowedSize";
pub const API_DEFAULT_COUNT: &str = "API_Default_Count";
pub const API_UPPER_COUNT_LIMIT: &str = "API_Upper_Count_Limit";
pub const API_ALLOW_INFINITE_COUNT: &str = "API_Allow_Infinite_Count";
pub const ACCOUNTS_REGISTRATION_FORM: &str = "Accounts_RegistrationForm";
pub const API_ENABLE_RATE_LIMITER: &str = "API_Enable_Rate_Limiter";
pub const RATE_LIMIT_CALLS_DEFAULT: &str = "API_Enable_Rate_Limiter_Limit_Calls_Default";
pub const RATE_LIMIT_TIME_DEFAULT: &str = "API_Enable_Rate_Limiter_Limit_Time_Default";
pub const MESSAGE_ALLOW_EDITING: &str = "Message_AllowEditing";
pub const MESSAGE_ALLOW_DELETING: &str = "Message_AllowDeleting";
pub const MESSAGE_SHOW_DELETED_STATUS: &str = "Message_ShowDeletedStatus";
pub const API_ENABLE_CORS: &str = "API_Enable_CORS";
pub const API_CORS_ORIGIN: &str = "API_CORS_Origin";
pub const API_USE_REST_FOR_DDP_CALLS: &str = "API_Use_REST_For_DDP_Calls";
pub const HEX_COLOR_PREVIEW_ENABLED: &str = "HexColorPreview_Enabled";
pub const KATEX_ENABLED: &str = "Katex_Enabled";
pub const KATEX_DOLLAR_SYNTAX: &str = "Katex_Dollar_Syntax";
pub const KATEX_PARENTHESIS_SYNTAX: &str = "Katex_Parenthesis_Syntax";
pub const MESSAGE_CUSTOM_DOMAIN_AUTOLINK: &str = "Message_CustomDomain_AutoLink";
pub const UNREAD_COUNT: &str = "Unread_Count";
pub const DISCUSSION_ENABLED: &str = "Discussion_enabled";
pub const UNREAD_COUNT_DM: &str = "Unread_Count_DM";
pub const ACCOUNTS_ALLOW_USER_STATUS_MESSAGE_CHANGE: &str = "Accounts_AllowUserStatusMessageChange";
pub const ACCOUNTS_ALLOW_INVISIBLE_STATUS_OPTION: &str = "Accounts_AllowInvisibleStatusOption";
pub const ACCOUNTS_ALLOW_USERNAME_CHANGE: &str = "Accounts_AllowUsernameChange";
pub const TROUBLESHOOT_DISABLE_PRESENCE_BROADCAST: &str = "Troubleshoot_Disable_Presence_Broadcast";
pub const FILE_UPLOAD_ENABLED: &str = "FileUpload_Enabled";
pub const FILE_UPLOAD_MAX_FILE_SIZE: &str = "FileUpload_MaxFileSize";
pub const FILE_UPLOAD_MEDIA_TYPE_WHITE_LIST: &str = "FileUpload_MediaTypeWhiteList";
pub const FILE_UPLOAD_MEDIA_TYPE_BLACK_LIST: &str = "FileUpload_MediaTypeBlackList";
pub const FILE_UPLOAD_PROTECT_FILES: &str = "FileUpload_ProtectFiles";
pub const ACCOUNTS_ALLOW_USER_AVATAR_CHANGE: &str = "Accounts_AllowUserAvatarChange";
/// Rocket.Chat's id, misspelling included (three s).
pub const DIRECT_MESSAGE_MAX_USERS: &str = "DirectMesssage_maxUsers";

/// The upper bound of `DirectMesssage_maxUsers`. Rocket.Chat has none; a
/// direct message's id is its members' ids concatenated (17 characters
/// each), and this keeps it short enough for every place a room id goes
/// (PostgreSQL notifications carry it, and their payload is at most 8000
/// bytes).
pub const MAX_DIRECT_MESSAGE_USERS: i64 = 100;

/// Default of `API_Enable_Rate_Limiter_Limit_Calls_Default`: calls per window,
/// per user (or per client IP when unauthenticated) and route. Rocket.Chat
/// ships 10; see the note on the definition below.
pub const DEFAULT_RATE_LIMIT_CALLS: i64 = 600;
/// Default of `API_Enable_Rate_Limiter_Limit_Time_Default`, in milliseconds (Rocket.Chat's).
pub const DEFAULT_RATE_LIMIT_WINDOW_MS: i64 = 60_000;

/// Every setting threadsync knows. Unknown ids are refused by `settings/:id`.
pub const DEFINITIONS: &[SettingDef] = &[
    SettingDef { id: THREADS_ENABLED, kind: SettingKind::Boolean, default: DefaultValue::Bool(true) },
    SettingDef {
        id: MESSAGE_MAX_ALLOWED_SIZE,
        kind: SettingKind::Int { min: 1, max: 1_000_000 },
        default: DefaultValue::Int(5000),
    },
    SettingDef {
        id: API_DEFAULT_COUNT,
        kind: SettingKind::Int { min: 1, max: 10_000 },
        default: DefaultValue::Int(50),
    },
    SettingDef {
        id: API_UPPER_COUNT_LIMIT,
        kind: SettingKind::Int { min: 1, max: 10_000 },
        default: DefaultValue::Int(100),
    },
    SettingDef {
        id: API_ALLOW_INFINITE_COUNT,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(true),
    },
    SettingDef {
        id: ACCOUNTS_REGISTRATION_FORM,
        kind: SettingKind::Select(&["Public", "Disabled", "Secret Url"]),
        default: DefaultValue::Str("Public"),
    },
    SettingDef { id: API_ENABLE_RATE_LIMITER, kind: SettingKind::Boolean, default: DefaultValue::Bool(true) },
    // Deliberately not Rocket.Chat's 10 calls / 60 s, which ordinary users
    // reading threads run into: the defaults must be such that a normal
    // client never meets them (docs/contract.md#rate-limits). Our key is
    // per user and route (not per IP), so the budget is 600 calls per
    // 60 000 ms window per user per route. The setting names and the window
    // are Rocket.Chat's.
    SettingDef {
        id: RATE_LIMIT_CALLS_DEFAULT,
        kind: SettingKind::Int { min: 1, max: 1_000_000 },
        default: DefaultValue::Int(DEFAULT_RATE_LIMIT_CALLS),
    },
    SettingDef {
        id: RATE_LIMIT_TIME_DEFAULT,
        kind: SettingKind::Int { min: 1, max: 86_400_000 },
        default: DefaultValue::Int(DEFAULT_RATE_LIMIT_WINDOW_MS),
    },
    SettingDef { id: MESSAGE_ALLOW_EDITING, kind: SettingKind::Boolean, default: DefaultValue::Bool(true) },
    SettingDef { id: MESSAGE_ALLOW_DELETING, kind: SettingKind::Boolean, default: DefaultValue::Bool(true) },
    // Rocket.Chat's: when on, a deleted message stays as a `t: "rm"`
    // placeholder ("message deleted") instead of leaving a tombstone.
    SettingDef {
        id: MESSAGE_SHOW_DELETED_STATUS,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(false),
    },
    // Cross-origin requests from browsers, as Rocket.Chat's REST API
    // settings: off by default; the origin is `*` or a comma-separated list.
    SettingDef { id: API_ENABLE_CORS, kind: SettingKind::Boolean, default: DefaultValue::Bool(false) },
    SettingDef {
        id: API_CORS_ORIGIN,
        kind: SettingKind::Text { max: 4096 },
        default: DefaultValue::Str("*"),
    },
    // Tells clients that may call methods through `POST method.call/:m`
    // instead of the websocket; both paths always work (docs/realtime.md).
    // Rocket.Chat's default.
    SettingDef {
        id: API_USE_REST_FOR_DDP_CALLS,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(true),
    },
    // The markup parser's options (docs/markup.md#options): Rocket.Chat's
    // names and defaults. They apply to texts written after a change; the
    // `md` already stored stays as it was parsed.
    SettingDef {
        id: HEX_COLOR_PREVIEW_ENABLED,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(true),
    },
    SettingDef { id: KATEX_ENABLED, kind: SettingKind::Boolean, default: DefaultValue::Bool(true) },
    SettingDef { id: KATEX_DOLLAR_SYNTAX, kind: SettingKind::Boolean, default: DefaultValue::Bool(false) },
    SettingDef {
        id: KATEX_PARENTHESIS_SYNTAX,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(true),
    },
    // A comma-separated list of host names auto-linked without a public suffix.
    SettingDef {
        id: MESSAGE_CUSTOM_DOMAIN_AUTOLINK,
        kind: SettingKind::Text { max: 4096 },
        default: DefaultValue::Str(""),
    },
    // Whether users may set their status and status message
    // (`users.setStatus`), and whether `offline` ("invisible") is one of
    // the statuses they may choose. Rocket.Chat's names and defaults.
    SettingDef {
        id: ACCOUNTS_ALLOW_USER_STATUS_MESSAGE_CHANGE,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(true),
    },
    SettingDef {
        id: ACCOUNTS_ALLOW_INVISIBLE_STATUS_OPTION,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(true),
    },
    // Users may rename themselves (users.update); admins with
    // edit-other-user-info rename others whatever it says.
    SettingDef {
        id: ACCOUNTS_ALLOW_USERNAME_CHANGE,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(true),
    },
    // Status changes are still derived and stored while on; only their
    // realtime events stop (each goes to every logged-in listener, which a
    // large server may not want: docs/realtime.md#presence).
    SettingDef {
        id: TROUBLESHOOT_DISABLE_PRESENCE_BROADCAST,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(false),
    },
    // File uploads (docs/files.md), Rocket.Chat's names and defaults: on,
    // 100 MiB per file (-1: no limit), every media type but SVG, which can
    // carry script. Files are served to logged-in room members only unless
    // `FileUpload_ProtectFiles` is off.
    SettingDef { id: FILE_UPLOAD_ENABLED, kind: SettingKind::Boolean, default: DefaultValue::Bool(true) },
    SettingDef {
        id: FILE_UPLOAD_MAX_FILE_SIZE,
        kind: SettingKind::Int { min: -1, max: i64::MAX },
        default: DefaultValue::Int(104_857_600),
    },
    SettingDef {
        id: FILE_UPLOAD_MEDIA_TYPE_WHITE_LIST,
        kind: SettingKind::Text { max: 4096 },
        default: DefaultValue::Str(""),
    },
    SettingDef {
        id: FILE_UPLOAD_MEDIA_TYPE_BLACK_LIST,
        kind: SettingKind::Text { max: 4096 },
        default: DefaultValue::Str("image/svg+xml"),
    },
    SettingDef {
        id: FILE_UPLOAD_PROTECT_FILES,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(true),
    },
    // Whether users may change their own avatar (`users.setAvatar`,
    // `users.resetAvatar`); changing another's needs `edit-other-user-avatar`.
    SettingDef {
        id: ACCOUNTS_ALLOW_USER_AVATAR_CHANGE,
        kind: SettingKind::Boolean,
        default: DefaultValue::Bool(true),
    },
    // Which new messages count in a member's `unread` (Rocket.Chat's
    // defaults: in rooms, only messages that mention the member or the
    // room; in direct messages, every message).
    SettingDef {
        id: UNREAD_COUNT,
        kind: SettingKind::Select(&[
            "all_messages",
            "user_mentions_only",
            "group_mentions_only",
            "user_and_group_mentions_only",
        ]),
        default: DefaultValue::Str("user_and_group_mentions_only"),
    },
    // Whether users may start discussions (`rooms.createDiscussion`).
    SettingDef { id: DISCUSSION_ENABLED, kind: SettingKind::Boolean, default: DefaultValue::Bool(true) },
    SettingDef {
        id: UNREAD_COUNT_DM,
        kind: SettingKind::Select(&["all_messages", "mentions_only"]),
        default: DefaultValue::Str("all_messages"),
    },
    // The most members a direct message may have, the caller included
    // (`im.create` with `usernames`). Rocket.Chat's name and default.
    SettingDef {
        id: DIRECT_MESSAGE_MAX_USERS,
        kind: SettingKind::Int { min: 1, max: MAX_DIRECT_MESSAGE_USERS },
        default: DefaultValue::Int(8),
    },
];

/// The settings any client may read without logging in (`settings.public`),
/// as Rocket.Chat marks them public: what a client needs before login to
/// choose its code paths (threads, editing, the REST fallback for methods)
/// and its limits. Rate-limiter and CORS settings stay private.
pub const PUBLIC: &[&str] = &[
    THREADS_ENABLED,
    MESSAGE_MAX_ALLOWED_SIZE,
    ACCOUNTS_REGISTRATION_FORM,
    MESSAGE_ALLOW_EDITING,
    MESSAGE_ALLOW_DELETING,
    API_USE_REST_FOR_DDP_CALLS,
    // Public in Rocket.Chat: its clients parse texts without `md` with them.
    HEX_COLOR_PREVIEW_ENABLED,
    KATEX_ENABLED,
    KATEX_DOLLAR_SYNTAX,
    KATEX_PARENTHESIS_SYNTAX,
    MESSAGE_CUSTOM_DOMAIN_AUTOLINK,
    // Public in Rocket.Chat: clients show or hide the status editor by them.
    ACCOUNTS_ALLOW_USER_STATUS_MESSAGE_CHANGE,
    ACCOUNTS_ALLOW_INVISIBLE_STATUS_OPTION,
    // Public in Rocket.Chat: the profile form offers a username field by it.
    ACCOUNTS_ALLOW_USERNAME_CHANGE,
    // Public in Rocket.Chat: clients check a file before sending it.
    FILE_UPLOAD_ENABLED,
    FILE_UPLOAD_MAX_FILE_SIZE,
    FILE_UPLOAD_MEDIA_TYPE_WHITE_LIST,
    FILE_UPLOAD_MEDIA_TYPE_BLACK_LIST,
    FILE_UPLOAD_PROTECT_FILES,
    ACCOUNTS_ALLOW_USER_AVATAR_CHANGE,
    // Public in Rocket.Chat: clients show counters by them.
    UNREAD_COUNT,
    UNREAD_COUNT_DM,
    // Public in Rocket.Chat: clients offer discussions by it.
    DISCUSSION_ENABLED,
    // Public in Rocket.Chat: clients stop adding members at it.
    DIRECT_MESSAGE_MAX_USERS,
];

pub fn is_public(id: &str) -> bool {
    PUBLIC.contains(&id)
}

pub fn definition(id: &str) -> Option<&'static SettingDef> {
    DEFINITIONS.iter().find(|d| d.id == id)
}

/// Checks `value` against the setting's type. Returns the value to store, or
/// a human-readable reason for the refusal.
pub fn validate(def: &SettingDef, value: &Value) -> Result<Value, String> {
    match def.kind {
        SettingKind::Boolean => {
            value.as_bool().map(Value::Bool).ok_or_else(|| format!("Setting {} expects a boolean", def.id))
        }
        SettingKind::Int { min, max } => match value.as_i64() {
            Some(i) if (min..=max).contains(&i) => Ok(json!(i)),
            _ => Err(format!("Setting {} expects an integer from {min} to {max}", def.id)),
        },
        SettingKind::Select(options) => match value.as_str() {
            Some(s) if options.contains(&s) => Ok(json!(s)),
            _ => Err(format!("Setting {} expects one of {}", def.id, options.join(", "))),
        },
        SettingKind::Text { max } => match value.as_str() {
            Some(s) if s.chars().count() <= max => Ok(json!(s)),
            _ => Err(format!("Setting {} expects a string of at most {max} characters", def.id)),
        },
    }
}

/// A typed snapshot of every setting, read on each request from the service's cache.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub values: BTreeMap<String, Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { values: DEFINITIONS.iter().map(|d| (d.id.to_owned(), d.default.to_json())).collect() }
    }
}

impl Settings {
    /// Defaults overlaid with stored values (stored values of unknown or
    /// mistyped settings are ignored).
    pub fn from_stored(stored: impl IntoIterator<Item = (String, Value)>) -> Self {
        let mut s = Settings::default();
        for (id, value) in stored {
            if let Some(def) = definition(&id) {
                if let Ok(v) = validate(def, &value) {
                    s.values.insert(id, v);
                }
            }
        }
        s
    }

    pub fn get(&self, id: &str) -> Option<&Value> {
        self.values.get(id)
    }

    fn bool(&self, id: &str) -> bool {
        self.values.get(id).and_then(Value::as_bool).unwrap_or(false)
    }

    fn int(&self, id: &str) -> i64 {
        self.values.get(id).and_then(Value::as_i64).unwrap_or(0)
    }

    fn text(&self, id: &str) -> &str {
        self.values.get(id).and_then(Value::as_str).unwrap_or("")
    }

    pub fn threads_enabled(&self) -> bool {
        self.bool(THREADS_ENABLED)
    }
    pub fn file_upload_enabled(&self) -> bool {
        self.bool(FILE_UPLOAD_ENABLED)
    }
    /// The most bytes one file may have; `None`: no limit (the setting is
    /// `-1`, or `0`, which Rocket.Chat also reads as no limit).
    pub fn file_upload_max_size(&self) -> Option<u64> {
        u64::try_from(self.int(FILE_UPLOAD_MAX_FILE_SIZE)).ok().filter(|n| *n > 0)
    }
    pub fn file_upload_allow_list(&self) -> &str {
        self.text(FILE_UPLOAD_MEDIA_TYPE_WHITE_LIST)
    }
    pub fn file_upload_deny_list(&self) -> &str {
        self.text(FILE_UPLOAD_MEDIA_TYPE_BLACK_LIST)
    }
    pub fn file_upload_protect_files(&self) -> bool {
        self.bool(FILE_UPLOAD_PROTECT_FILES)
    }
    pub fn allow_user_avatar_change(&self) -> bool {
        self.bool(ACCOUNTS_ALLOW_USER_AVATAR_CHANGE)
    }
    pub fn message_max_allowed_size(&self) -> usize {
        usize::try_from(self.int(MESSAGE_MAX_ALLOWED_SIZE)).unwrap_or(5000)
    }
    pub fn api_default_count(&self) -> i64 {
        self.int(API_DEFAULT_COUNT)
    }
    pub fn api_upper_count_limit(&self) -> i64 {
        self.int(API_UPPER_COUNT_LIMIT)
    }
    pub fn api_allow_infinite_count(&self) -> bool {
        self.bool(API_ALLOW_INFINITE_COUNT)
    }
    pub fn registration_public(&self) -> bool {
        self.values.get(ACCOUNTS_REGISTRATION_FORM).and_then(Value::as_str) == Some("Public")
    }
    pub fn user_status_change_allowed(&self) -> bool {
        self.bool(ACCOUNTS_ALLOW_USER_STATUS_MESSAGE_CHANGE)
    }
    pub fn invisible_status_allowed(&self) -> bool {
        self.bool(ACCOUNTS_ALLOW_INVISIBLE_STATUS_OPTION)
    }
    pub fn username_change_allowed(&self) -> bool {
        self.bool(ACCOUNTS_ALLOW_USERNAME_CHANGE)
    }
    pub fn presence_broadcast_disabled(&self) -> bool {
        self.bool(TROUBLESHOOT_DISABLE_PRESENCE_BROADCAST)
    }
    pub fn rate_limiter_enabled(&self) -> bool {
        self.bool(API_ENABLE_RATE_LIMITER)
    }
    pub fn rate_limit_calls(&self) -> i64 {
        self.int(RATE_LIMIT_CALLS_DEFAULT)
    }
    pub fn rate_limit_window_ms(&self) -> i64 {
        self.int(RATE_LIMIT_TIME_DEFAULT)
    }
    pub fn allow_editing(&self) -> bool {
        self.bool(MESSAGE_ALLOW_EDITING)
    }
    pub fn allow_deleting(&self) -> bool {
        self.bool(MESSAGE_ALLOW_DELETING)
    }
    /// `Unread_Count` (rooms) or `Unread_Count_DM` (direct messages):
    /// which new messages count in a member's `unread`.
    pub fn unread_count(&self, direct: bool) -> &str {
        self.text(if direct { UNREAD_COUNT_DM } else { UNREAD_COUNT })
    }
    /// `Discussion_enabled`: users may start discussions.
    pub fn discussions_enabled(&self) -> bool {
        self.bool(DISCUSSION_ENABLED)
    }
    /// `DirectMesssage_maxUsers`: the most members of a direct message,
    /// its creator included (at least 1, as Rocket.Chat reads it).
    pub fn direct_message_max_users(&self) -> usize {
        usize::try_from(self.int(DIRECT_MESSAGE_MAX_USERS)).unwrap_or(1).max(1)
    }
    /// `Message_ShowDeletedStatus`: deleted messages stay as placeholders.
    pub fn show_deleted_status(&self) -> bool {
        self.bool(MESSAGE_SHOW_DELETED_STATUS)
    }
    /// `HexColorPreview_Enabled`: `color:#rgb` becomes a COLOR node.
    pub fn hex_color_preview(&self) -> bool {
        self.bool(HEX_COLOR_PREVIEW_ENABLED)
    }
    /// KaTeX in messages: `None` when `Katex_Enabled` is off, else
    /// (`Katex_Dollar_Syntax`, `Katex_Parenthesis_Syntax`).
    pub fn katex(&self) -> Option<(bool, bool)> {
        self.bool(KATEX_ENABLED)
            .then(|| (self.bool(KATEX_DOLLAR_SYNTAX), self.bool(KATEX_PARENTHESIS_SYNTAX)))
    }
    /// `Message_CustomDomain_AutoLink`, split at commas and trimmed as
    /// Rocket.Chat does (an empty setting is no domain; an empty piece
    /// between two commas is kept, as there).
    pub fn custom_domains(&self) -> Vec<String> {
        match self.values.get(MESSAGE_CUSTOM_DOMAIN_AUTOLINK).and_then(Value::as_str) {
            None | Some("") => Vec::new(),
            Some(list) => list.split(',').map(|d| d.trim().to_owned()).collect(),
        }
    }
    pub fn cors_enabled(&self) -> bool {
        self.bool(API_ENABLE_CORS)
    }
    /// `API_CORS_Origin`: `*`, or a comma-separated list of origins.
    pub fn cors_origin(&self) -> &str {
        self.values.get(API_CORS_ORIGIN).and_then(Value::as_str).unwrap_or("*")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let s = Settings::default();
        assert!(s.threads_enabled());
        assert_eq!(s.message_max_allowed_size(), 5000);
        assert_eq!(s.api_default_count(), 50);
        assert_eq!(s.api_upper_count_limit(), 100);
        assert!(s.api_allow_infinite_count());
        assert!(s.registration_public());
        assert!(s.allow_editing() && s.allow_deleting());
        // The limiter: on, Rocket.Chat's window, but a generous budget (docs/contract.md#rate-limits).
        assert!(s.rate_limiter_enabled());
        assert_eq!(s.rate_limit_calls(), 600);
        assert_eq!(s.rate_limit_window_ms(), 60_000);
        // CORS: off, and `*` once enabled (Rocket.Chat's defaults).
        assert!(!s.cors_enabled());
        assert_eq!(s.cors_origin(), "*");
        // The markup parser's options: Rocket.Chat's defaults.
        assert!(s.hex_color_preview());
        assert_eq!(s.katex(), Some((false, true)));
        assert!(s.custom_domains().is_empty());
        assert_eq!(s.direct_message_max_users(), 8);
        assert!(is_public(DIRECT_MESSAGE_MAX_USERS));
    }

    #[test]
    fn markup_settings_as_rocket_chat_reads_them() {
        let s = Settings::from_stored([
            (KATEX_DOLLAR_SYNTAX.to_owned(), json!(true)),
            (MESSAGE_CUSTOM_DOMAIN_AUTOLINK.to_owned(), json!(" intranet , wiki.corp")),
        ]);
        assert_eq!(s.katex(), Some((true, true)));
        assert_eq!(s.custom_domains(), vec!["intranet", "wiki.corp"]);
        let off = Settings::from_stored([(KATEX_ENABLED.to_owned(), json!(false))]);
        assert_eq!(off.katex(), None, "Katex_Enabled off turns both syntaxes off");
        assert!(is_public(KATEX_ENABLED) && is_public(MESSAGE_CUSTOM_DOMAIN_AUTOLINK));
    }

    #[test]
    fn validation_rejects_wrong_types() {
        let def = definition(THREADS_ENABLED).expect("known");
        assert!(validate(def, &json!("yes")).is_err());
        assert_eq!(validate(def, &json!(false)), Ok(json!(false)));
        let def = definition(MESSAGE_MAX_ALLOWED_SIZE).expect("known");
        assert!(validate(def, &json!(0)).is_err());
        assert!(validate(def, &json!(1.5)).is_err());
        let def = definition(API_CORS_ORIGIN).expect("known");
        assert!(validate(def, &json!(true)).is_err());
        assert!(validate(def, &json!("x".repeat(4097))).is_err());
        assert_eq!(validate(def, &json!("https://a.example")), Ok(json!("https://a.example")));
        let def = definition(DIRECT_MESSAGE_MAX_USERS).expect("known");
        assert!(validate(def, &json!(0)).is_err());
        assert!(validate(def, &json!(MAX_DIRECT_MESSAGE_USERS + 1)).is_err());
        assert_eq!(validate(def, &json!(3)), Ok(json!(3)));
        let stored = Settings::from_stored([(THREADS_ENABLED.to_owned(), json!("nope"))]);
        assert!(stored.threads_enabled(), "mistyped stored value falls back to the default");
    }
}
