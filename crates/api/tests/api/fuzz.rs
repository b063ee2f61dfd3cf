//! Hostile input across the whole HTTP surface (docs/contract.md#wire-rules).
//!
//! A property test sends random and malformed requests to every route:
//! garbled JSON bodies (truncated, wrong types, huge strings, deep nesting,
//! odd unicode, lone surrogate and NUL escapes, out-of-range numbers,
//! non-JSON bytes), random query strings (unknown, repeated and
//! percent-garbled parameters, bad `count`/`offset`/dates/`query`/`sort`/
//! `fields`), odd methods and paths, and valid, wrong, partial or garbled
//! auth headers. Real ids (rooms, messages, threads, users, settings) are
//! seeded into the generators, and half the requests start from a
//! well-formed request of the route, so the deep paths are reached and not
//! only the validation errors.
//!
//! Every response must be 2xx or 4xx (a panic would be a 500 through the
//! catch-panic layer, so "never 5xx" covers it), `application/json`, and a
//! JSON object with a boolean `success` (`false` with an `error` string on
//! a 4xx). Cases: `HTTP_FUZZ_CASES` (default 2000). A failure is shrunk to
//! a small request and printed in full, ready to replay.

use crate::support::{enc, RawReply, Session, TestApp, ADMIN_PASS};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use threadsync_domain::settings::DEFINITIONS;
use threadsync_domain::{id, Timestamp};
use threadsync_service::hash_token;

const PASSWORD: &str = "pw-123456";

/// Every route of the API (`src/routes/*.rs`), method and path.
/// [`route_list_matches_the_document`] keeps it complete.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/info"),
    ("GET", "/avatar/{name}"),
    ("GET", "/file-upload/{id}/{name}"),
    ("POST", "/api/v1/users.setAvatar"),
    ("POST", "/api/v1/channels.addAll"),
    ("POST", "/api/v1/groups.addAll"),
    ("GET", "/api/v1/channels.getIntegrations"),
    ("GET", "/api/v1/groups.getIntegrations"),
    ("GET", "/api/v1/channels.getAllUserMentionsByChannel"),
    ("POST", "/api/v1/chat.reportMessage"),
    ("POST", "/api/v1/users.resetAvatar"),
    ("GET", "/api/v1/users.getAvatar"),
    ("POST", "/api/v1/rooms.upload/{rid}"),
    ("POST", "/api/v1/rooms.media/{rid}"),
    ("POST", "/api/v1/rooms.mediaConfirm/{rid}/{fileId}"),
    ("GET", "/api/v1/channels.files"),
    ("GET", "/api/v1/groups.files"),
    ("GET", "/api/v1/im.files"),
    ("GET", "/api/v1/dm.files"),
    ("POST", "/api/v1/login"),
    ("POST", "/api/v1/logout"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/users.register"),
    ("POST", "/api/v1/users.create"),
    ("GET", "/api/v1/users.info"),
    ("POST", "/api/v1/users.delete"),
    ("POST", "/api/v1/users.setActiveStatus"),
    ("POST", "/api/v1/users.setStatus"),
    ("POST", "/api/v1/users.update"),
    ("GET", "/api/v1/users.getPreferences"),
    ("POST", "/api/v1/users.setPreferences"),
    ("GET", "/api/v1/users.getUsernameSuggestion"),
    ("POST", "/api/v1/users.forgotPassword"),
    ("POST", "/api/v1/users.createToken"),
    ("POST", "/api/v1/im.delete"),
    ("POST", "/api/v1/dm.delete"),
    ("POST", "/api/v1/im.setTopic"),
    ("POST", "/api/v1/dm.setTopic"),
    ("POST", "/api/v1/channels.close"),
    ("POST", "/api/v1/channels.open"),
    ("POST", "/api/v1/groups.close"),
    ("POST", "/api/v1/groups.open"),
    ("POST", "/api/v1/im.close"),
    ("POST", "/api/v1/im.open"),
    ("POST", "/api/v1/dm.close"),
    ("POST", "/api/v1/dm.open"),
    ("GET", "/api/v1/users.list"),
    ("GET", "/api/v1/roles.getUsersInRole"),
    ("POST", "/api/v1/rooms.createDiscussion"),
    ("GET", "/api/v1/chat.getDiscussions"),
    ("GET", "/api/v1/chat.getMessageReadReceipts"),
    ("POST", "/api/v1/roles.addUserToRole"),
    ("POST", "/api/v1/roles.removeUserFromRole"),
    ("POST", "/api/v1/roles.create"),
    ("POST", "/api/v1/roles.update"),
    ("POST", "/api/v1/roles.delete"),
    ("POST", "/api/v1/channels.setDefault"),
    ("POST", "/api/v1/channels.setJoinCode"),
    ("GET", "/api/v1/settings/{id}"),
    ("POST", "/api/v1/settings/{id}"),
    ("GET", "/api/v1/settings.public"),
    ("GET", "/api/v1/settings.oauth"),
    ("GET", "/api/v1/settings"),
    ("GET", "/api/v1/permissions.listAll"),
    ("POST", "/api/v1/permissions.update"),
    ("GET", "/api/v1/roles.list"),
    ("GET", "/api/v1/roles.sync"),
    ("GET", "/api/v1/spotlight"),
    ("GET", "/api/v1/directory"),
    ("GET", "/api/v1/roles.getUsersInPublicRoles"),
    ("GET", "/api/v1/emoji-custom.list"),
    ("GET", "/api/v1/commands.list"),
    ("POST", "/api/v1/push.token"),
    ("DELETE", "/api/v1/push.token"),
    ("GET", "/api/v1/users.presence"),
    ("GET", "/api/v1/users.getStatus"),
    ("GET", "/api/v1/users.getPresence"),
    ("POST", "/api/v1/channels.create"),
    ("GET", "/api/v1/channels.info"),
    ("POST", "/api/v1/channels.join"),
    ("POST", "/api/v1/channels.invite"),
    ("POST", "/api/v1/channels.kick"),
    ("POST", "/api/v1/channels.addOwner"),
    ("POST", "/api/v1/channels.removeOwner"),
    ("POST", "/api/v1/channels.addModerator"),
    ("POST", "/api/v1/channels.removeModerator"),
    ("POST", "/api/v1/channels.addLeader"),
    ("POST", "/api/v1/channels.removeLeader"),
    ("POST", "/api/v1/groups.addOwner"),
    ("POST", "/api/v1/groups.removeOwner"),
    ("POST", "/api/v1/groups.addModerator"),
    ("POST", "/api/v1/groups.removeModerator"),
    ("POST", "/api/v1/groups.addLeader"),
    ("POST", "/api/v1/groups.removeLeader"),
    ("POST", "/api/v1/channels.setTopic"),
    ("POST", "/api/v1/channels.setDescription"),
    ("POST", "/api/v1/channels.setPurpose"),
    ("POST", "/api/v1/channels.setAnnouncement"),
    ("POST", "/api/v1/channels.setReadOnly"),
    ("POST", "/api/v1/channels.rename"),
    ("POST", "/api/v1/channels.setType"),
    ("POST", "/api/v1/channels.archive"),
    ("POST", "/api/v1/channels.unarchive"),
    ("POST", "/api/v1/channels.setCustomFields"),
    ("POST", "/api/v1/groups.setTopic"),
    ("POST", "/api/v1/groups.setDescription"),
    ("POST", "/api/v1/groups.setPurpose"),
    ("POST", "/api/v1/groups.setAnnouncement"),
    ("POST", "/api/v1/groups.setReadOnly"),
    ("POST", "/api/v1/groups.rename"),
    ("POST", "/api/v1/groups.setType"),
    ("POST", "/api/v1/groups.archive"),
    ("POST", "/api/v1/groups.unarchive"),
    ("POST", "/api/v1/groups.setCustomFields"),
    ("POST", "/api/v1/channels.leave"),
    ("GET", "/api/v1/channels.members"),
    ("GET", "/api/v1/channels.online"),
    ("GET", "/api/v1/groups.online"),
    ("POST", "/api/v1/channels.delete"),
    ("GET", "/api/v1/channels.list.joined"),
    ("GET", "/api/v1/channels.list"),
    ("GET", "/api/v1/groups.listAll"),
    ("GET", "/api/v1/rooms.adminRooms"),
    ("GET", "/api/v1/im.list"),
    ("GET", "/api/v1/dm.list"),
    ("GET", "/api/v1/im.list.everyone"),
    ("GET", "/api/v1/dm.list.everyone"),
    ("GET", "/api/v1/im.members"),
    ("GET", "/api/v1/channels.roles"),
    ("GET", "/api/v1/groups.roles"),
    ("GET", "/api/v1/channels.moderators"),
    ("GET", "/api/v1/groups.moderators"),
    ("GET", "/api/v1/channels.counters"),
    ("GET", "/api/v1/groups.counters"),
    ("GET", "/api/v1/im.counters"),
    ("GET", "/api/v1/dm.counters"),
    ("GET", "/api/v1/dm.members"),
    ("POST", "/api/v1/groups.create"),
    ("GET", "/api/v1/groups.info"),
    ("POST", "/api/v1/groups.invite"),
    ("POST", "/api/v1/groups.kick"),
    ("POST", "/api/v1/groups.leave"),
    ("GET", "/api/v1/groups.members"),
    ("POST", "/api/v1/groups.delete"),
    ("GET", "/api/v1/groups.list"),
    ("GET", "/api/v1/groups.list.joined"),
    ("POST", "/api/v1/im.create"),
    ("POST", "/api/v1/dm.create"),
    ("GET", "/api/v1/rooms.info"),
    ("GET", "/api/v1/subscriptions.getOne"),
    ("GET", "/api/v1/subscriptions.get"),
    ("POST", "/api/v1/subscriptions.read"),
    ("POST", "/api/v1/subscriptions.unread"),
    ("GET", "/api/v1/rooms.get"),
    ("POST", "/api/v1/rooms.favorite"),
    ("POST", "/api/v1/rooms.leave"),
    ("POST", "/api/v1/rooms.cleanHistory"),
    ("GET", "/api/v1/channels.history"),
    ("GET", "/api/v1/channels.messages"),
    ("GET", "/api/v1/groups.history"),
    ("GET", "/api/v1/groups.messages"),
    ("GET", "/api/v1/im.history"),
    ("GET", "/api/v1/im.messages"),
    ("GET", "/api/v1/dm.history"),
    ("GET", "/api/v1/dm.messages"),
    ("POST", "/api/v1/chat.sendMessage"),
    ("POST", "/api/v1/chat.postMessage"),
    ("GET", "/api/v1/chat.getMessage"),
    ("POST", "/api/v1/chat.update"),
    ("POST", "/api/v1/chat.delete"),
    ("POST", "/api/v1/chat.react"),
    ("POST", "/api/v1/chat.starMessage"),
    ("POST", "/api/v1/chat.unStarMessage"),
    ("POST", "/api/v1/chat.pinMessage"),
    ("POST", "/api/v1/chat.unPinMessage"),
    ("GET", "/api/v1/chat.getPinnedMessages"),
    ("GET", "/api/v1/chat.getStarredMessages"),
    ("GET", "/api/v1/chat.getMentionedMessages"),
    ("GET", "/api/v1/chat.ignoreUser"),
    ("GET", "/api/v1/chat.search"),
    ("GET", "/api/v1/chat.syncThreadMessages"),
    ("GET", "/api/v1/chat.getThreadMessages"),
    ("GET", "/api/v1/chat.getThreadsList"),
    ("GET", "/api/v1/chat.syncThreadsList"),
    ("POST", "/api/v1/chat.followMessage"),
    ("POST", "/api/v1/chat.unfollowMessage"),
    ("GET", "/api/v1/chat.syncMessages"),
    ("GET", "/api/v1/chat.getDeletedMessages"),
];

/// Documented routes outside the REST API this file fuzzes: the health
/// checks, the two non-API documents, and the realtime entry points (their
/// frames and the `method.call` bodies are covered by the realtime tests).
const NOT_FUZZED: &[&str] = &[
    "/metrics",
    "/api/openapi.json",
    "/livez",
    "/readyz",
    "/websocket",
    "/sockjs/info",
    "/sockjs/{server}/{session}/websocket",
    "/api/v1/method.call/{method}",
    "/api/v1/method.callAnon/{method}",
];

/// The longest URI the `http` crate represents (a `u16` length); hyper
/// refuses longer request lines before any routing.
const MAX_URI: usize = 65_534;

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/// Query parameters some GET route reads.
const QUERY_PARAMS: &[&str] = &[
    "roomId",
    "roomName",
    "msgId",
    "tmid",
    "rid",
    "updatedSince",
    "count",
    "offset",
    "sort",
    "query",
    "fields",
    "type",
    "text",
    "lastUpdate",
    "next",
    "previous",
    "since",
    "userId",
    "username",
    "_id",
    "latest",
    "oldest",
    "inclusive",
    "showThreadMessages",
    "ids",
    "from",
];

/// Body fields some POST route reads, and those of `chat.sendMessage`'s
/// `message` object (reserved ones included: clients may not forge them).
const BODY_FIELDS: &[&str] = &[
    "user",
    "username",
    "email",
    "password",
    "resume",
    "pass",
    "name",
    "roles",
    "active",
    "verified",
    "joinDefaultChannels",
    "userId",
    "value",
    "members",
    "readOnly",
    "roomId",
    "roomName",
    "message",
    "channel",
    "text",
    "alias",
    "emoji",
    "avatar",
    "attachments",
    "tmid",
    "customFields",
    "msgId",
    "asUser",
    "mid",
    "_id",
    "rid",
    "msg",
    "tshow",
    "u",
    "t",
    "tcount",
    "_updatedAt",
    "replies",
    "messageId",
    "reaction",
    "shouldReact",
    "readThreads",
    "firstUnreadMessage",
    "type",
    "appName",
    "token",
    "editedAt",
    "digest",
    "algorithm",
    "$date",
];

/// Strings that have broken servers before: bad numbers, bad dates, bad
/// JSON for `sort`/`query`/`fields`, odd unicode (RTL marks, emoji,
/// combining marks, BOM, the last code point), NUL, injection attempts,
/// values of enumerations, mention and channel syntax.
const JUNK: &[&str] = &[
    "",
    " ",
    "\t\n",
    "-1",
    "0",
    "-0",
    "1e9",
    "1e999",
    "abc",
    "1.5",
    "0x10",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "{\"$where\":\"sleep(1000)\"}",
    "{\"msg\":{\"$regex\":\"(a+)+$\"}}",
    "{\"msg\":{\"$regex\":\"[\"}}",
    "{\"$or\":[{\"$and\":[{\"$nor\":[{\"$not\":{\"msg\":1}}]}]}]}",
    "{\"_updatedAt\":{\"$gt\":{\"$date\":\"x\"}}}",
    "{\"ts\":2}",
    "{\"ts\":-1,\"ts\":1}",
    "{\"msg\":1,\"u\":0}",
    "{\"e2e\":1}",
    "{\"a\":",
    "{{{{",
    "[1,2",
    "\"",
    "2019-04-01T00:00:00.000Z",
    "2019-04-01T00:00:00.000 02:00",
    "2019-13-45T99:99:99Z",
    "+275760-09-13T00:00:00.000Z",
    "+262143-12-31T23:59:59.999Z",
    "-262144-01-01T00:00:00Z",
    "+262143-12-31T23:59:59.999",
    "-262144-01-01T00:00:00",
    "2019-04-01T00:00:00.000+99:99",
    "2019-02-29",
    "9999-12-31T23:59:59.999Z",
    "0000-01-01",
    "1970-01-01T00:00:00.000Z",
    "yesterday",
    "1555439446615",
    "-1555439446615",
    "\u{202E}evil\u{202C}",
    "\u{200F}\u{200E}rtl",
    "مرحبا بالعالم",
    "🧵🔥👩‍👩‍👧‍👦",
    "\u{FEFF}",
    "\u{FFFD}",
    "a\u{0301}\u{0301}\u{0301}",
    "\u{10FFFF}",
    "a\u{0}b",
    "\u{0}",
    "\u{1b}[31m",
    "#general",
    "@admin",
    "@all @here",
    "@",
    "#",
    "GENERAL",
    "general",
    "UPDATED",
    "DELETED",
    "following",
    "unread",
    "all",
    "../../etc/passwd",
    "%",
    "%zz",
    "%FF",
    "%00",
    "\\",
    "'; DROP TABLE messages; --",
    "\" OR 1=1 --",
    "<script>alert(1)</script>",
    "x@y",
    "sha-256",
    "Public",
    "Disabled",
];

/// JSON text no `serde_json::Value` can produce: out-of-range and odd
/// numbers, lone surrogate and NUL escapes, JavaScript-isms, syntax errors.
const RAW_JSON: &[&str] = &[
    "1e999",
    "-1e999",
    "-0",
    "-0.0",
    "1e-999",
    "18446744073709551616",
    "-9223372036854775809",
    "0.1e1",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800\\u0041\"",
    "\"\\udbff\\udfff\"",
    "\"\\u0000\"",
    "\"a\\u0000b\"",
    "\"\\uFFFF\"",
    "\"\\u202e\"",
    "NaN",
    "Infinity",
    "undefined",
    "'single'",
    "\"unterminated",
    "[1,]",
    "{\"a\":1,}",
    "01",
    "+1",
    ".5",
    "0x10",
    "\"\\x41\"",
    "\"\t\"",
    "{}",
    "[]",
    "\"\"",
    "[[[[[]]]]]",
    "{\"$date\":\"2019-01-01\"}",
    "{\"$date\":1e999}",
    "{\"digest\":\"00\",\"algorithm\":\"sha-256\"}",
    "{\"digest\":\"00\",\"algorithm\":\"md5\"}",
    "{\"__proto__\":{\"admin\":true}}",
];

/// What a ~100 KB string is made of.
const HUGE_UNITS: &[&str] = &["a", "é", "🧵", "\u{202E}", "%", "\"", "\\", " "];

const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/json"),
    Some("application/json"),
    None,
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    Some("application/json; charset=utf-16"),
    Some("multipart/form-data; boundary=x"),
];

// ------------------------------------------------------------ case model

/// Where a real value comes from (resolved against the current world, so
/// a case stays meaningful when the world is rebuilt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Real {
    Room,
    RoomName,
    Message,
    Thread,
    Removed,
    UserId,
    Username,
    Setting,
    Date,
    Stamp,
    Token,
}

const REALS: &[Real] = &[
    Real::Room,
    Real::RoomName,
    Real::Message,
    Real::Thread,
    Real::Removed,
    Real::UserId,
    Real::Username,
    Real::Setting,
    Real::Date,
    Real::Stamp,
    Real::Token,
];

/// A string value.
#[derive(Clone, Debug)]
enum Atom {
    Real(Real, u32),
    Junk(usize),
    Text(String),
    /// About 100 KB of one of [`HUGE_UNITS`].
    Huge(usize),
}

/// A JSON value, possibly one no `Value` can hold.
#[derive(Clone, Debug)]
enum JVal {
    Str(Atom),
    Raw(usize),
    Bool(bool),
    Null,
    Int(i64),
    Float(f64),
    /// Arrays nested this deep.
    Deep(u16),
    Arr(Vec<JVal>),
    Obj(Vec<(Key, JVal)>),
}

/// A field or parameter name: one the route knows (by index), or any text.
#[derive(Clone, Debug)]
enum Key {
    Known(usize),
    Text(String),
}

#[derive(Clone, Copy, Debug)]
enum Encoding {
    /// Percent-encoded.
    Encoded,
    /// As is, when the URI allows it (clients send some values unencoded).
    Raw,
    /// Encoded, then a broken percent sequence inserted.
    Garbled(u8),
}

#[derive(Clone, Debug)]
struct QuerySpec {
    /// Start from a well-formed query of the route.
    base: bool,
    pairs: Vec<(Key, Atom, Encoding)>,
    /// A raw query string of URI-safe characters and percent garbage instead.
    raw: Option<String>,
}

#[derive(Clone, Debug)]
enum BodySpec {
    None,
    Blank(u8),
    /// An object: the route's well-formed fields (`base`) overlaid with
    /// random ones, optionally cut to `cut`/1000 of its length.
    Object {
        base: bool,
        fields: Vec<(Key, JVal)>,
        cut: Option<u16>,
    },
    Value(JVal),
    Bytes(Vec<u8>),
    /// `[[[...]]]`, this deep.
    Deep(u32),
    /// Just over the 1 MiB body limit.
    Oversized,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Normal,
    Other,
    Admin,
}

#[derive(Clone, Debug)]
enum AuthSpec {
    None,
    Valid(Who),
    WrongToken(Who),
    OnlyUserId(Who),
    OnlyToken(Who),
    /// One user's id with another's token.
    Swapped,
    Garbage(String, String),
    /// Header bytes outside ASCII (not valid `to_str()`).
    NonAscii(Vec<u8>),
    Blank,
    Huge,
}

#[derive(Clone, Debug)]
enum PathMod {
    None,
    TrailingSlash,
    Upper,
    DoubleSlash,
    Suffix(String),
    /// For `settings/{id}`: this id, encoded this way.
    SettingId(Atom, Encoding),
}

#[derive(Clone, Debug)]
struct Case {
    route: usize,
    method: Option<usize>,
    path: PathMod,
    query: QuerySpec,
    body: BodySpec,
    auth: AuthSpec,
    content_type: usize,
    /// Picks the real values of the well-formed base.
    seed: u32,
}

// ------------------------------------------------------------ strategies

fn atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        5 => (0..REALS.len(), any::<u32>()).prop_map(|(k, i)| Atom::Real(REALS[k], i)),
        4 => (0..JUNK.len()).prop_map(Atom::Junk),
        2 => "\\PC{0,40}".prop_map(Atom::Text),
        1 => any::<String>().prop_map(Atom::Text),
        1 => (0..HUGE_UNITS.len()).prop_map(Atom::Huge),
    ]
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        8 => any::<usize>().prop_map(Key::Known),
        1 => "\\PC{0,12}".prop_map(Key::Text),
        1 => any::<String>().prop_map(Key::Text),
    ]
}

fn jval() -> impl Strategy<Value = JVal> {
    let leaf = prop_oneof![
        6 => atom().prop_map(JVal::Str),
        3 => (0..RAW_JSON.len()).prop_map(JVal::Raw),
        1 => any::<bool>().prop_map(JVal::Bool),
        1 => Just(JVal::Null),
        2 => any::<i64>().prop_map(JVal::Int),
        1 => any::<f64>().prop_map(JVal::Float),
        1 => (1u16..300).prop_map(JVal::Deep),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(JVal::Arr),
            prop::collection::vec((key(), inner), 0..5).prop_map(JVal::Obj),
        ]
    })
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        6 => Just(Encoding::Encoded),
        3 => Just(Encoding::Raw),
        1 => any::<u8>().prop_map(Encoding::Garbled),
    ]
}

fn query_spec() -> impl Strategy<Value = QuerySpec> {
    (
        prop::bool::weighted(0.75),
        prop::collection::vec((key(), atom(), encoding()), 0..6),
        prop::option::weighted(0.08, "[a-zA-Z0-9=&%+;._~:,/?@!$'()*-]{0,300}"),
    )
        .prop_map(|(base, pairs, raw)| QuerySpec { base, pairs, raw })
}

fn body_spec() -> impl Strategy<Value = BodySpec> {
    prop_oneof![
        2 => Just(BodySpec::None),
        1 => any::<u8>().prop_map(BodySpec::Blank),
        12 => (
            prop::bool::weighted(0.75),
            prop::collection::vec((key(), jval()), 0..6),
            prop::option::weighted(0.15, 0u16..1000),
        )
            .prop_map(|(base, fields, cut)| BodySpec::Object { base, fields, cut }),
        2 => jval().prop_map(BodySpec::Value),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(BodySpec::Bytes),
        1 => (1u32..20_000).prop_map(BodySpec::Deep),
        1 => Just(BodySpec::Oversized),
    ]
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![Just(Who::Normal), Just(Who::Other), Just(Who::Admin)]
}

fn auth_spec() -> impl Strategy<Value = AuthSpec> {
    prop_oneof![
        2 => Just(AuthSpec::None),
        8 => Just(AuthSpec::Valid(Who::Normal)),
        3 => Just(AuthSpec::Valid(Who::Other)),
        5 => Just(AuthSpec::Valid(Who::Admin)),
        1 => who().prop_map(AuthSpec::WrongToken),
        1 => who().prop_map(AuthSpec::OnlyUserId),
        1 => who().prop_map(AuthSpec::OnlyToken),
        1 => Just(AuthSpec::Swapped),
        1 => (any::<String>(), "\\PC{0,60}").prop_map(|(a, b)| AuthSpec::Garbage(a, b)),
        1 => prop::collection::vec(0x80u8..=0xff, 1..40).prop_map(AuthSpec::NonAscii),
        1 => Just(AuthSpec::Blank),
        1 => Just(AuthSpec::Huge),
    ]
}

fn path_mod() -> impl Strategy<Value = PathMod> {
    prop_oneof![
        20 => Just(PathMod::None),
        1 => Just(PathMod::TrailingSlash),
        1 => Just(PathMod::Upper),
        1 => Just(PathMod::DoubleSlash),
        1 => "[a-zA-Z0-9%./_-]{0,20}".prop_map(PathMod::Suffix),
        6 => (atom(), encoding()).prop_map(|(a, e)| PathMod::SettingId(a, e)),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..ROUTES.len(),
        prop::option::weighted(0.08, 0..METHODS.len()),
        path_mod(),
        query_spec(),
        body_spec(),
        auth_spec(),
        0..CONTENT_TYPES.len(),
        any::<u32>(),
    )
        .prop_map(|(route, method, path, query, body, auth, content_type, seed)| Case {
            route,
            method,
            path,
            query,
            body,
            auth,
            content_type,
            seed,
        })
}

// ------------------------------------------------------------ the world

/// The seeded rooms of one generation: a public channel, a private group
/// and a DM, each with a thread (parent + reply), a plain message and a
/// deleted reply (a tombstone).
struct Seeded {
    rid: String,
    t: threadsync_domain::RoomType,
    name: Option<String>,
    parent: String,
    reply: String,
    plain: String,
    removed: String,
}

/// The server under attack, with real ids to aim at. Requests that change
/// the world (logout, deletions, kicks, settings) are repaired after the
/// fact by [`World::heal`], so every case starts from a usable world.
struct World {
    app: TestApp,
    normal: Session,
    other: Session,
    rooms: Vec<Seeded>,
    generation: u32,
    rebuilds: u32,
}

impl World {
    async fn new() -> World {
        let app = TestApp::unlimited().await;
        let normal = app.user("fuzz_normal").await;
        let other = app.user("fuzz_other").await;
        let mut world = World { app, normal, other, rooms: Vec::new(), generation: 0, rebuilds: 0 };
        world.seed().await;
        world
    }

    async fn seed(&mut self) {
        self.generation += 1;
        let g = self.generation;
        let (app, normal, other) = (&self.app, &self.normal, &self.other);
        let c_name = format!("fuzz-public-{g}");
        let p_name = format!("fuzz-private-{g}");
        let c = app.channel(normal, &c_name, &[other]).await;
        let p = app.group(normal, &p_name, &[other]).await;
        let d = app.direct(normal, other).await;
        // `other` holds the room roles of the two families, so the
        // role-removing routes have something to remove (and, once
        // removed, the adding ones something to add).
        for (family, rid) in [("channels", &c), ("groups", &p)] {
            for role in ["Owner", "Moderator", "Leader"] {
                app.post(
                    &format!("/api/v1/{family}.add{role}"),
                    Some(normal),
                    json!({"roomId": rid, "userId": other.user_id}),
                )
                .await
                .ok();
            }
        }
        let mut rooms = Vec::new();
        use threadsync_domain::RoomType;
        let seeded = [
            (c, RoomType::Channel, Some(c_name)),
            (p, RoomType::Group, Some(p_name)),
            (d, RoomType::Direct, None),
        ];
        for (rid, t, name) in seeded {
            let parent = app.say(normal, &rid, &format!("parent {g} @fuzz_other")).await;
            let parent = parent["_id"].as_str().expect("id").to_owned();
            let reply =
                app.reply_in(other, &rid, &parent, "reply").await["_id"].as_str().expect("id").to_owned();
            let plain = app.say(other, &rid, "plain #general").await["_id"].as_str().expect("id").to_owned();
            let removed =
                app.reply_in(normal, &rid, &parent, "gone").await["_id"].as_str().expect("id").to_owned();
            app.remove(normal, &rid, &removed).await;
            rooms.push(Seeded { rid, t, name, parent, reply, plain, removed });
        }
        self.rooms = rooms;
    }

    fn session(&self, who: Who) -> &Session {
        match who {
            Who::Normal => &self.normal,
            Who::Other => &self.other,
            Who::Admin => &self.app.admin,
        }
    }

    /// A real value of `kind`, chosen by `i`. Room-bound values with the
    /// same `i` come from the same room (so `roomId` and `msgId` agree).
    fn real(&self, kind: Real, i: u32) -> String {
        let i = i as usize;
        // `Room` is GENERAL one time in four (none of the seeded messages is there).
        let room = &self.rooms[i % self.rooms.len()];
        let sessions = [&self.normal, &self.other, &self.app.admin];
        match kind {
            Real::Room if i % 4 == 3 => "GENERAL".to_owned(),
            Real::Room => room.rid.clone(),
            Real::RoomName => room.name.clone().unwrap_or_else(|| "general".to_owned()),
            Real::Message => [&room.parent, &room.reply, &room.plain, &room.parent][(i / 3) % 4].clone(),
            Real::Thread if (i / 3) % 5 == 4 => room.reply.clone(),
            Real::Thread => room.parent.clone(),
            Real::Removed => room.removed.clone(),
            Real::UserId => sessions[i % 3].user_id.clone(),
            Real::Username => sessions[i % 3].username.clone(),
            Real::Setting => DEFINITIONS[i % DEFINITIONS.len()].id.to_owned(),
            Real::Date => [
                "2000-01-01T00:00:00.000Z".to_owned(),
                "1970-01-01T00:00:00.000Z".to_owned(),
                Timestamp::now().to_iso(),
                "2019-04-01T00:00:00.000Z".to_owned(),
            ][i % 4]
                .clone(),
            Real::Stamp => ["0", "1", "1555439446615", "9223372036854775807"][i % 4].to_owned(),
            Real::Token => sessions[i % 3].token.clone(),
        }
    }

    fn atom(&self, atom: &Atom) -> String {
        match atom {
            Atom::Real(kind, i) => self.real(*kind, *i),
            Atom::Junk(i) => JUNK[i % JUNK.len()].to_owned(),
            Atom::Text(s) => s.clone(),
            Atom::Huge(i) => {
                let unit = HUGE_UNITS[i % HUGE_UNITS.len()];
                unit.repeat(100_000 / unit.len())
            }
        }
    }

    /// Repairs what a successful write may have broken: deleted users
    /// (rebuild everything), revoked sessions, changed settings, deleted or
    /// left rooms and deleted seed messages (seed a new generation).
    async fn heal(&mut self) {
        let mut users_intact = true;
        for s in [&self.normal, &self.other, &self.app.admin] {
            users_intact &= self.app.services.store().user_by_id(&s.user_id).await.expect("store").is_some();
        }
        if !users_intact {
            let rebuilds = self.rebuilds + 1;
            *self = World::new().await;
            self.rebuilds = rebuilds;
            return;
        }
        // A deactivated user (users.setActiveStatus) is active again before
        // its session is restored.
        for s in [&self.normal, &self.other, &self.app.admin] {
            let store = self.app.services.store();
            if store.user_by_id(&s.user_id).await.expect("store").is_some_and(|u| !u.active) {
                store.set_user_active(&s.user_id, true).await.expect("reactivate");
            }
        }
        // Roles granted or taken (roles.addUserToRole, users.update) are
        // put back: the admin is the admin, the others plain users.
        for (who, roles) in
            [(Who::Admin, vec!["admin", "user"]), (Who::Normal, vec!["user"]), (Who::Other, vec!["user"])]
        {
            let id = self.session(who).user_id.clone();
            let store = self.app.services.store();
            let user = store.user_by_id(&id).await.expect("store").expect("user");
            let wanted: Vec<String> = roles.into_iter().map(str::to_owned).collect();
            if user.roles != wanted {
                let patch = threadsync_storage::UserPatch { roles: Some(wanted), ..Default::default() };
                store.update_user(&id, &patch).await.expect("restore roles");
            }
        }
        // Sessions and settings are restored through the services, not
        // HTTP: the fuzz cases may have tripped the login brake with wrong
        // passwords, or switched the rate limiter on.
        for who in [Who::Admin, Who::Normal, Who::Other] {
            let s = self.session(who).clone();
            if self.app.services.authenticate(&s.user_id, &s.token).await.is_err() {
                let token = format!("{}{}", id::new_id(), id::new_id());
                self.app
                    .services
                    .store()
                    .insert_login_token(&s.user_id, &hash_token(&token), Timestamp::now())
                    .await
                    .expect("store");
                let fresh = Session { token, ..s };
                match who {
                    Who::Admin => self.app.admin = fresh,
                    Who::Normal => self.normal = fresh,
                    Who::Other => self.other = fresh,
                }
            }
        }
        let admin = self.app.services.authenticate(&self.app.admin.user_id, &self.app.admin.token).await;
        let admin = admin.expect("the admin's session");
        let settings = self.app.services.settings();
        for def in DEFINITIONS {
            let wanted =
                if def.id == "API_Enable_Rate_Limiter" { json!(false) } else { def.default.to_json() };
            if settings.get(def.id) != Some(&wanted) {
                self.app.services.change_setting(&admin, def.id, &wanted).await.expect("reset a setting");
            }
        }
        let store = self.app.services.store();
        let mut intact = true;
        for room in &self.rooms {
            let members = [&self.normal.user_id, &self.other.user_id];
            for uid in members {
                intact &= store.subscription(&room.rid, uid).await.expect("store").is_some();
            }
            // Settings a case may have changed (archived, read-only, a new
            // name or type) would refuse the next cases' posts or names.
            let stored = store.room_by_id(&room.rid).await.expect("store");
            intact &=
                stored.is_some_and(|r| !r.archived && !r.read_only && r.name == room.name && r.t == room.t);
            let parent = store.message_by_id(&room.parent).await.expect("store");
            intact &= parent.is_some_and(|p| p.t.is_none() && p.tcount.unwrap_or(0) > 0);
            for id in [&room.reply, &room.plain] {
                intact &= store.message_by_id(id).await.expect("store").is_some();
            }
        }
        if !intact {
            self.seed().await;
        }
    }
}

// ------------------------------------------------------------ rendering

/// Names a [`Key::Known`] resolves to: the route's own, then every known one.
fn key_names(base: &[(&'static str, Src)], general: &'static [&'static str]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = base.iter().map(|(k, _)| *k).collect();
    names.extend(general.iter().copied());
    names
}

fn key_text(key: &Key, names: &[&str]) -> String {
    match key {
        Key::Known(i) => names[i % names.len()].to_owned(),
        Key::Text(s) => s.clone(),
    }
}

/// What a field of a well-formed request holds.
#[derive(Clone, Copy, Debug)]
enum Src {
    R(Real),
    Text,
    NewName,
    Email,
    Password,
    Usernames,
    /// Two usernames in one comma-separated string (`dm.create`'s `usernames`).
    UsernameList,
    SettingValue,
    MessageObject,
    /// An emoji name, with or without colons.
    Emoji,
    /// A push service: `apn` or `gcm`.
    PushType,
    /// `true` or `false`.
    Flag,
    /// A room type as `rooms.adminRooms` names it.
    RoomKind,
    /// A role id, global or room-scoped.
    Role,
    /// `permissions.update`'s list: one permission given roles that keep
    /// the table's defaults' shape (so later cases are not all refused).
    PermissionList,
    /// A status users.setStatus takes.
    StatusWord,
    /// `users.update`'s `data`: profile fields that keep the fuzzer's users
    /// able to act (a name, a status text, `active: true`).
    ProfileData,
    /// `users.setPreferences`'s `data`.
    PreferenceData,
    /// A room's `customFields` object.
    CustomFields,
}

/// The well-formed request of each route (query for GET, body for POST).
fn base_of(method: &str, path: &str) -> &'static [(&'static str, Src)] {
    use Real::*;
    use Src::*;
    match (method, path.trim_start_matches("/api/v1/")) {
        ("POST", "login") => &[("user", R(Username)), ("password", Password)],
        ("POST", "users.register") => {
            &[("username", NewName), ("email", Email), ("pass", Password), ("name", Text)]
        }
        ("POST", "users.create") => {
            &[("username", NewName), ("email", Email), ("password", Password), ("name", Text)]
        }
        ("GET", "users.info") | ("POST", "users.delete") => &[("userId", R(UserId))],
        ("POST", "users.setActiveStatus") => &[("userId", R(UserId)), ("activeStatus", Flag)],
        ("POST", "users.setStatus") => &[("status", StatusWord), ("message", Text)],
        ("POST", "users.update") => &[("userId", R(UserId)), ("data", ProfileData)],
        ("POST", "users.setPreferences") => &[("data", PreferenceData)],
        ("POST", "users.forgotPassword") => &[("email", Email)],
        ("POST", "users.createToken") => &[("userId", R(UserId)), ("secret", Text)],
        ("POST", "im.delete" | "dm.delete") => &[("roomId", R(Room))],
        ("POST", "im.setTopic" | "dm.setTopic") => &[("roomId", R(Room)), ("topic", Text)],
        ("POST", "channels.close" | "channels.open" | "groups.close" | "groups.open")
        | ("POST", "im.close" | "im.open" | "dm.close" | "dm.open") => &[("roomId", R(Room))],
        ("GET", "roles.getUsersInRole") => &[("role", Role), ("roomId", R(Room))],
        ("POST", "rooms.createDiscussion") => {
            &[("prid", R(Room)), ("t_name", Text), ("pmid", R(Message)), ("reply", Text)]
        }
        ("GET", "chat.getDiscussions") => &[("roomId", R(Room)), ("text", Text)],
        ("GET", "chat.getMessageReadReceipts") => &[("messageId", R(Message))],
        ("POST", "roles.addUserToRole") => {
            &[("roleName", Role), ("username", R(Username)), ("roomId", R(Room))]
        }
        ("POST", "roles.create") => &[("name", NewName), ("scope", Text), ("description", Text)],
        ("POST", "roles.update") => &[("roleId", Role), ("name", NewName), ("description", Text)],
        ("POST", "roles.delete") => &[("roleId", Role)],
        ("GET", "roles.sync") => &[("updatedSince", R(Date))],
        ("GET", "spotlight") => &[("query", Text)],
        ("GET", "directory") => &[("text", Text), ("type", Text), ("query", Text)],
        ("POST", "roles.removeUserFromRole") => {
            &[("roleName", Role), ("username", R(Username)), ("scope", R(Room))]
        }
        ("POST", "settings/{id}") => &[("value", SettingValue)],
        ("POST", "permissions.update") => &[("permissions", PermissionList)],
        ("POST", "channels.create" | "groups.create") => &[("name", NewName), ("members", Usernames)],
        ("POST", "channels.invite" | "channels.kick" | "groups.invite" | "groups.kick")
        | ("POST", "channels.addOwner" | "channels.removeOwner" | "channels.addModerator")
        | ("POST", "channels.removeModerator" | "channels.addLeader" | "channels.removeLeader")
        | ("POST", "groups.addOwner" | "groups.removeOwner" | "groups.addModerator")
        | ("POST", "groups.removeModerator" | "groups.addLeader" | "groups.removeLeader") => {
            &[("roomId", R(Room)), ("username", R(Username))]
        }
        ("POST", "im.create") => &[("username", R(Username))],
        ("POST", "dm.create") => &[("usernames", UsernameList), ("excludeSelf", Flag)],
        ("POST", "chat.sendMessage") => &[("message", MessageObject)],
        ("POST", "chat.postMessage") => &[("roomId", R(Room)), ("text", Text)],
        ("GET", "chat.getMessage") => &[("msgId", R(Message))],
        ("POST", "chat.update") => &[("roomId", R(Room)), ("msgId", R(Message)), ("text", Text)],
        ("POST", "chat.delete") => &[("roomId", R(Room)), ("msgId", R(Message))],
        ("GET", "chat.syncThreadMessages") => &[("tmid", R(Thread)), ("updatedSince", R(Date))],
        ("GET", "chat.getThreadMessages") => &[("tmid", R(Thread))],
        ("GET", "chat.getThreadsList") => &[("rid", R(Room))],
        ("GET", "chat.syncThreadsList") => &[("rid", R(Room)), ("updatedSince", R(Date))],
        ("POST", "chat.followMessage" | "chat.unfollowMessage") => &[("mid", R(Message))],
        ("GET", "chat.syncMessages") => &[("roomId", R(Room)), ("lastUpdate", R(Date))],
        ("GET", "chat.getDeletedMessages") => &[("roomId", R(Room)), ("since", R(Date))],
        ("GET", "users.getStatus" | "users.getPresence") => &[("userId", R(UserId))],
        ("POST", "channels.setTopic" | "groups.setTopic") => &[("roomId", R(Room)), ("topic", Text)],
        ("POST", "channels.setDescription" | "groups.setDescription") => {
            &[("roomId", R(Room)), ("description", Text)]
        }
        ("POST", "channels.setPurpose" | "groups.setPurpose") => &[("roomId", R(Room)), ("purpose", Text)],
        ("POST", "channels.setAnnouncement" | "groups.setAnnouncement") => {
            &[("roomId", R(Room)), ("announcement", Text)]
        }
        ("POST", "channels.setReadOnly" | "groups.setReadOnly") => &[("roomId", R(Room)), ("readOnly", Flag)],
        ("GET", "channels.online" | "groups.online") => &[("_id", R(Room))],
        ("POST", "channels.setDefault") => &[("roomId", R(Room)), ("default", Flag)],
        ("POST", "channels.setJoinCode") => &[("roomId", R(Room)), ("joinCode", Text)],
        ("POST", "channels.join") => &[("roomId", R(Room)), ("joinCode", Text)],
        ("POST", "channels.setCustomFields" | "groups.setCustomFields") => {
            &[("roomId", R(Room)), ("customFields", CustomFields)]
        }
        ("POST", "channels.rename" | "groups.rename") => &[("roomId", R(Room)), ("name", NewName)],
        ("POST", "channels.setType" | "groups.setType") => &[("roomId", R(Room)), ("type", RoomKind)],
        ("GET" | "POST", _) if path.contains("channels.") || path.contains("groups.") => {
            &[("roomId", R(Room))]
        }
        ("GET", "rooms.info" | "subscriptions.getOne" | "subscriptions.get" | "rooms.get") => {
            &[("roomId", R(Room)), ("updatedSince", R(Date))]
        }
        ("GET", "im.history" | "im.messages" | "dm.history" | "dm.messages") => &[("roomId", R(Room))],
        ("GET", "im.files" | "dm.files") => &[("roomId", R(Room)), ("name", Text), ("typeGroup", Text)],
        ("POST", "rooms.mediaConfirm/{rid}/{fileId}") => &[("msg", Text), ("description", Text)],
        ("POST", "rooms.upload/{rid}" | "rooms.media/{rid}") => &[("msg", Text), ("description", Text)],
        ("POST", "users.setAvatar") => &[("username", R(Username))],
        ("POST", "chat.reportMessage") => &[("messageId", R(Message)), ("description", Text)],
        ("POST", "channels.addAll" | "groups.addAll") => &[("roomId", R(Room)), ("activeUsersOnly", Flag)],
        ("POST", "users.resetAvatar") | ("GET", "users.getAvatar") => &[("username", R(Username))],
        ("GET", "im.members" | "dm.members") => &[("roomId", R(Room)), ("username", R(Username))],
        ("GET", "im.counters" | "dm.counters") => &[("roomId", R(Room))],
        ("GET", "chat.ignoreUser") => &[("rid", R(Room)), ("userId", R(UserId))],
        ("GET", "chat.getPinnedMessages" | "chat.getStarredMessages" | "chat.getMentionedMessages") => {
            &[("roomId", R(Room))]
        }
        ("GET", "chat.search") => &[("roomId", R(Room)), ("searchText", Text)],
        ("GET", "rooms.adminRooms") => &[("filter", R(RoomName)), ("types[]", RoomKind)],
        ("POST", "chat.react") => &[("messageId", R(Message)), ("emoji", Emoji)],
        ("POST", "chat.starMessage" | "chat.unStarMessage" | "chat.pinMessage" | "chat.unPinMessage") => {
            &[("messageId", R(Message))]
        }
        ("POST", "subscriptions.read") => &[("rid", R(Room))],
        ("POST", "subscriptions.unread" | "rooms.leave") => &[("roomId", R(Room))],
        ("POST", "rooms.favorite") => &[("roomId", R(Room)), ("favorite", Flag)],
        ("POST", "rooms.cleanHistory") => &[("roomId", R(Room)), ("oldest", R(Date)), ("latest", R(Date))],
        ("POST", "push.token") => &[("type", PushType), ("value", Text), ("appName", Text)],
        ("DELETE", "push.token") => &[("token", Text)],
        _ => &[],
    }
}

impl World {
    fn src(&self, src: Src, seed: u32) -> Value {
        match src {
            Src::R(kind) => json!(self.real(kind, seed)),
            Src::Text => json!(format!("fuzz text {seed} @fuzz_other #{}", self.real(Real::RoomName, seed))),
            Src::NewName => json!(format!("fz{seed}")),
            Src::Email => json!(format!("fz{seed}@example.com")),
            // The password of `R(Username)` with the same seed (the admin is index 2).
            Src::Password => json!(if seed % 3 == 2 { ADMIN_PASS } else { PASSWORD }),
            Src::Usernames => json!([self.real(Real::Username, seed), self.real(Real::Username, seed / 3)]),
            Src::UsernameList => {
                json!(format!("{},{}", self.real(Real::Username, seed), self.real(Real::Username, seed / 3)))
            }
            Src::SettingValue => [json!(true), json!(false), json!(50), json!(5000), json!("Public")]
                [seed as usize % 5]
                .clone(),
            Src::Emoji => json!(["smile", ":+1:", "tada"][seed as usize % 3]),
            Src::PushType => json!(["apn", "gcm"][seed as usize % 2]),
            Src::Flag => json!(seed.is_multiple_of(2)),
            Src::RoomKind => json!(["c", "p", "d", "teams"][seed as usize % 4]),
            Src::Role => json!(["admin", "user", "owner", "moderator"][seed as usize % 4]),
            Src::StatusWord => json!(["online", "away", "busy", "offline"][seed as usize % 4]),
            Src::ProfileData => {
                let mut data =
                    json!({"name": format!("Fuzz {seed}"), "statusText": self.src(Src::Text, seed)});
                if seed.is_multiple_of(3) {
                    data["active"] = json!(true);
                }
                data
            }
            Src::CustomFields => json!({"team": format!("t{seed}"), "size": seed % 100, "tags": ["a", "b"]}),
            Src::PreferenceData => json!({
                "language": (["en", "de", "fr"][seed as usize % 3]),
                "useEmojis": seed.is_multiple_of(2),
                "highlights": [format!("word{seed}")],
            }),
            Src::PermissionList => {
                // Permissions that only widen what users may do, so a case
                // never locks the fuzzer's own users out of later routes.
                let id =
                    ["post-readonly", "delete-message", "edit-message", "pin-message"][seed as usize % 4];
                json!([{"_id": id, "roles": ["admin", "owner", "moderator", "user"]}])
            }
            Src::MessageObject => {
                let mut m = json!({"rid": self.real(Real::Room, seed), "msg": self.src(Src::Text, seed)});
                if seed % 3 == 1 {
                    m["tmid"] = json!(self.real(Real::Thread, seed));
                }
                m
            }
        }
    }

    /// A [`JVal`] as JSON text.
    fn json_text(&self, v: &JVal, names: &[&str], out: &mut String) {
        match v {
            JVal::Str(a) => out.push_str(&Value::String(self.atom(a)).to_string()),
            JVal::Raw(i) => out.push_str(RAW_JSON[i % RAW_JSON.len()]),
            JVal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JVal::Null => out.push_str("null"),
            JVal::Int(i) => out.push_str(&i.to_string()),
            JVal::Float(f) => out.push_str(&json!(f).to_string()),
            JVal::Deep(n) => {
                out.push_str(&"[".repeat(usize::from(*n)));
                out.push_str(&"]".repeat(usize::from(*n)));
            }
            JVal::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.json_text(item, names, out);
                }
                out.push(']');
            }
            JVal::Obj(fields) => self.object_text(&[], fields, names, out),
        }
    }

    /// `{base fields..., random fields...}`: later keys win (a repeated key).
    fn object_text(
        &self,
        base: &[(String, Value)],
        fields: &[(Key, JVal)],
        names: &[&str],
        out: &mut String,
    ) {
        out.push('{');
        let mut first = true;
        for (k, v) in base {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&format!("{}:{}", Value::String(k.clone()), v));
        }
        for (k, v) in fields {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&Value::String(key_text(k, names)).to_string());
            out.push(':');
            self.json_text(v, names, out);
        }
        out.push('}');
    }

    fn encode(&self, raw: &str, how: Encoding) -> String {
        match how {
            Encoding::Encoded => {
                let mut s = String::with_capacity(raw.len());
                pct(&mut s, raw);
                s
            }
            Encoding::Raw => raw.to_owned(),
            Encoding::Garbled(n) => {
                let mut s = String::with_capacity(raw.len());
                pct(&mut s, raw);
                let garbage =
                    ["%", "%Z", "%FF", "%C3%28", "%ED%A0%80", "%00", "%%", "%E2%80"][usize::from(n) % 8];
                let at = usize::from(n).min(s.len());
                let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                s.insert_str(at, garbage);
                s
            }
        }
    }

    /// The request a case describes, and a printable description of it.
    fn render(&self, case: &Case) -> (Request<Body>, String) {
        let (route_method, route_path) = ROUTES[case.route % ROUTES.len()];
        let method = case.method.map_or(route_method, |m| METHODS[m % METHODS.len()]);
        let base = base_of(route_method, route_path);

        // Path.
        let mut path = route_path.to_owned();
        // `settings/{id}` and `avatar/{name}`: a real value, or an atom
        // encoded some way (a setting id is as good a name as any).
        // `{rid}`: a real room; `{fileId}`: as `{id}`.
        path = path.replace("{rid}", &self.real(Real::Room, case.seed));
        for param in ["{id}", "{name}", "{fileId}"] {
            if path.contains(param) {
                let id = match &case.path {
                    PathMod::SettingId(atom, how) => self.encode(&self.atom(atom), *how),
                    _ => self.real(Real::Setting, case.seed),
                };
                path = path.replace(param, &id);
            }
        }
        match &case.path {
            PathMod::TrailingSlash => path.push('/'),
            PathMod::Upper => path = path.to_uppercase(),
            PathMod::DoubleSlash => path = path.replacen("/v1/", "//v1//", 1),
            PathMod::Suffix(s) => path.push_str(s),
            PathMod::None | PathMod::SettingId(..) => {}
        }

        // Query string.
        let names = key_names(if route_method == "GET" { base } else { &[] }, QUERY_PARAMS);
        let mut query: Vec<String> = Vec::new();
        if case.query.base && route_method == "GET" {
            for (k, src) in base {
                let v = self.src(*src, case.seed);
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                query.push(format!("{k}={}", enc(&v)));
            }
        }
        for (k, v, how) in &case.query.pairs {
            query.push(format!("{}={}", enc(&key_text(k, &names)), self.encode(&self.atom(v), *how)));
        }
        let query = match &case.query.raw {
            Some(raw) => raw.clone(),
            None => query.join("&"),
        };
        let uri = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };

        // Body.
        let names = key_names(if route_method == "POST" { base } else { &[] }, BODY_FIELDS);
        // Upload routes read multipart forms: a well-formed case sends its
        // base fields and a file as one (cut short where the case says).
        let upload_route = route_path.contains("rooms.upload/")
            || route_path.contains("rooms.media/")
            || route_path.ends_with("users.setAvatar");
        let file_field = if route_path.ends_with("users.setAvatar") { "image" } else { "file" };
        let mut multipart = false;
        let body: Option<Vec<u8>> = match &case.body {
            BodySpec::Object { base: true, cut, .. } if upload_route => {
                multipart = true;
                let mut parts: Vec<(String, String)> = Vec::new();
                for (k, src) in base {
                    let v = self.src(*src, case.seed);
                    parts.push(((*k).to_owned(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)));
                }
                let (name, content_type) =
                    [("fuzz.txt", "text/plain"), ("fuzz.png", "image/png"), ("fuzz.svg", "image/svg+xml")]
                        [case.seed as usize % 3];
                let mut bytes = Vec::new();
                for (k, v) in &parts {
                    bytes.extend_from_slice(
                        format!("--{FUZZ_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                            .as_bytes(),
                    );
                }
                bytes.extend_from_slice(
                    format!(
                        "--{FUZZ_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{name}\"\r\n\
                         Content-Type: {content_type}\r\n\r\nfuzz {}\r\n--{FUZZ_BOUNDARY}--\r\n",
                        case.seed
                    )
                    .as_bytes(),
                );
                if let Some(cut) = cut {
                    bytes.truncate(bytes.len() * usize::from(*cut) / 1000);
                }
                Some(bytes)
            }
            BodySpec::None => None,
            BodySpec::Blank(n) => Some(" \n\t\r".repeat(usize::from(*n) % 16).into_bytes()),
            BodySpec::Object { base: use_base, fields, cut } => {
                let base_fields: Vec<(String, Value)> = if *use_base {
                    base.iter().map(|(k, src)| ((*k).to_owned(), self.src(*src, case.seed))).collect()
                } else {
                    Vec::new()
                };
                let mut text = String::new();
                self.object_text(&base_fields, fields, &names, &mut text);
                let mut bytes = text.into_bytes();
                if let Some(cut) = cut {
                    bytes.truncate(bytes.len() * usize::from(*cut) / 1000);
                }
                Some(bytes)
            }
            BodySpec::Value(v) => {
                let mut text = String::new();
                self.json_text(v, &names, &mut text);
                Some(text.into_bytes())
            }
            BodySpec::Bytes(bytes) => Some(bytes.clone()),
            BodySpec::Deep(n) => {
                let n = *n as usize;
                Some(format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes())
            }
            BodySpec::Oversized => {
                Some(format!("{{\"text\":\"{}\"}}", "a".repeat(crate_max_body() + 1)).into_bytes())
            }
        };

        // Headers.
        let mut headers: Vec<(&'static str, HeaderValue)> = Vec::new();
        let mut id_and_token = |id: Option<&[u8]>, token: Option<&[u8]>| {
            for (name, value) in [("x-user-id", id), ("x-auth-token", token)] {
                if let Some(v) = value {
                    let clean: Vec<u8> =
                        v.iter().copied().filter(|b| (*b >= 0x20 && *b != 0x7f) || *b == b'\t').collect();
                    if let Ok(v) = HeaderValue::from_bytes(&clean) {
                        headers.push((name, v));
                    }
                }
            }
        };
        let auth = match &case.auth {
            AuthSpec::None => "no auth".to_owned(),
            AuthSpec::Valid(w) => {
                let s = self.session(*w);
                id_and_token(Some(s.user_id.as_bytes()), Some(s.token.as_bytes()));
                format!("valid session of {}", s.username)
            }
            AuthSpec::WrongToken(w) => {
                let s = self.session(*w);
                id_and_token(
                    Some(s.user_id.as_bytes()),
                    Some(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"),
                );
                format!("{}'s id, wrong token", s.username)
            }
            AuthSpec::OnlyUserId(w) => {
                id_and_token(Some(self.session(*w).user_id.as_bytes()), None);
                "X-User-Id only".to_owned()
            }
            AuthSpec::OnlyToken(w) => {
                id_and_token(None, Some(self.session(*w).token.as_bytes()));
                "X-Auth-Token only".to_owned()
            }
            AuthSpec::Swapped => {
                id_and_token(Some(self.app.admin.user_id.as_bytes()), Some(self.normal.token.as_bytes()));
                "admin's id with a user's token".to_owned()
            }
            AuthSpec::Garbage(a, b) => {
                id_and_token(Some(a.as_bytes()), Some(b.as_bytes()));
                format!("garbage headers {a:?} / {b:?}")
            }
            AuthSpec::NonAscii(bytes) => {
                id_and_token(Some(bytes), Some(bytes));
                format!("non-ASCII header bytes {bytes:?}")
            }
            AuthSpec::Blank => {
                id_and_token(Some(b"  "), Some(b"\t"));
                "blank headers".to_owned()
            }
            AuthSpec::Huge => {
                let big = "x".repeat(16 * 1024);
                id_and_token(Some(big.as_bytes()), Some(big.as_bytes()));
                "16 KiB headers".to_owned()
            }
        };
        let form_type = format!("multipart/form-data; boundary={FUZZ_BOUNDARY}");
        let content_type = if multipart {
            Some(form_type.as_str())
        } else {
            CONTENT_TYPES[case.content_type % CONTENT_TYPES.len()]
        };

        let build = |uri: &str| {
            let mut req =
                Request::builder().method(Method::from_bytes(method.as_bytes()).expect("method")).uri(uri);
            for (name, value) in &headers {
                req = req.header(*name, value.clone());
            }
            if let (Some(ct), Some(_)) = (content_type, &body) {
                req = req.header("content-type", ct);
            }
            req.body(body.clone().map_or_else(Body::empty, Body::from))
        };
        // A raw value the URI grammar refuses is sent encoded instead; a URI
        // longer than the `http` crate admits (64 KiB, see
        // `long_query_parameters_are_refused_cleanly`) is cut to fit.
        let (req, uri) = match build(&uri) {
            Ok(req) => (req, uri),
            Err(_) => {
                let mut encoded = String::with_capacity(uri.len());
                for c in uri.chars() {
                    if c.is_ascii_alphanumeric() || "/?&=%+:;,@!$'()*._~-".contains(c) {
                        encoded.push(c);
                    } else {
                        pct(&mut encoded, c.encode_utf8(&mut [0; 4]));
                    }
                    if encoded.len() >= MAX_URI - 12 {
                        break;
                    }
                }
                (build(&encoded).expect("an encoded URI of allowed length is valid"), encoded)
            }
        };
        let body_text = body.as_ref().map_or_else(
            || "(no body)".to_owned(),
            |b| format!("{} bytes: {}", b.len(), String::from_utf8_lossy(&b[..b.len().min(400)])),
        );
        let shown_uri: String = uri.chars().take(400).collect();
        let description = format!(
            "{method} {shown_uri} ({} bytes of URI)\n  auth: {auth}\n  content-type: {content_type:?}\n  body: {body_text}",
            uri.len()
        );
        (req, description)
    }
}

/// The boundary of the fuzzer's multipart forms.
const FUZZ_BOUNDARY: &str = "fuzz-boundary-7f3a";

/// Percent-encodes `raw` onto `out`, as [`enc`] does (which is too slow
/// in a debug build for the ~100 KB values the fuzz test sends).
fn pct(out: &mut String, raw: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

fn crate_max_body() -> usize {
    threadsync_api::MAX_BODY_BYTES
}

// ------------------------------------------------------------ the verdict

/// The wire rules every response must follow (docs/contract.md#wire-rules).
fn verdict(method: &str, path: &str, reply: &RawReply) -> Result<(), String> {
    let status = reply.status.as_u16();
    let shown = String::from_utf8_lossy(&reply.bytes[..reply.bytes.len().min(400)]).into_owned();
    // `users.getAvatar` answers with a redirect to the picture.
    let location = reply.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if status == 307 && location.starts_with("/avatar/") {
        return Ok(());
    }
    if !(200..300).contains(&status) && !(400..500).contains(&status) {
        return Err(format!("status {status} (neither 2xx nor 4xx): {shown}"));
    }
    let content_type = reply.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    // Avatars are pictures: a drawn SVG, never one with script in it.
    if (200..300).contains(&status) && content_type == "image/svg+xml" {
        let svg = String::from_utf8_lossy(&reply.bytes);
        if method == "HEAD" || (svg.starts_with("<svg") && !svg.contains("<script")) {
            return Ok(());
        }
        return Err(format!("status {status}, not a plain SVG: {shown}"));
    }
    // An avatar a user uploaded is served as the picture it is (the fuzzer
    // uploads PNG avatars with `users.setAvatar`).
    if (200..300).contains(&status) && path.starts_with("/avatar/") && content_type == "image/png" {
        return Ok(());
    }
    if !content_type.starts_with("application/json") {
        return Err(format!("status {status} with content-type {content_type:?}: {shown}"));
    }
    if method == "HEAD" {
        // A HEAD response has no body.
        return Ok(());
    }
    let body: Value = serde_json::from_slice(&reply.bytes)
        .map_err(|e| format!("status {status}, body not JSON ({e}): {shown}"))?;
    let Some(object) = body.as_object() else {
        return Err(format!("status {status}, body not an object: {shown}"));
    };
    let success = object.get("success").and_then(Value::as_bool);
    if success != Some(status < 300) {
        return Err(format!("status {status} with success {:?}: {shown}", object.get("success")));
    }
    if status >= 400 && !object.get("error").is_some_and(Value::is_string) {
        return Err(format!("status {status} without an error string: {shown}"));
    }
    Ok(())
}

struct Outcome {
    result: Result<(), String>,
    status: StatusCode,
    method: Method,
    description: String,
}

async fn run_case(world: &World, case: &Case) -> Outcome {
    let (req, description) = world.render(case);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let reply = world.app.send(req).await;
    Outcome { result: verdict(method.as_str(), &path, &reply), status: reply.status, method, description }
}

// ------------------------------------------------------------ the tests

/// Random and malformed requests to every route: never a 5xx, always a
/// JSON object with a boolean `success`. Cases: `HTTP_FUZZ_CASES` (default
/// 50 per route, so each route keeps its share as routes are added).
/// The cases come from a fixed seed, so the coverage check below (70% of
/// the routes reached with a 2xx) gives the same answer on every run;
/// `HTTP_FUZZ_RANDOM=1` draws fresh cases for exploration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_survives_hostile_requests() {
    let cases: u32 = std::env::var("HTTP_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50 * ROUTES.len() as u32);
    let mut world = World::new().await;
    let config = Config { cases, ..Config::default() };
    let mut runner = if std::env::var_os("HTTP_FUZZ_RANDOM").is_some() {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
    };
    let strategy = case();
    let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
    let mut reached: BTreeSet<usize> = BTreeSet::new();
    for n in 0..cases {
        let mut tree = strategy.new_tree(&mut runner).expect("case");
        let case = tree.current();
        let outcome = run_case(&world, &case).await;
        let status = outcome.status;
        *statuses.entry(status.as_u16()).or_default() += 1;
        let own_route = case.method.is_none() && matches!(case.path, PathMod::None | PathMod::SettingId(..));
        // `users.getAvatar` answers its success with a 307 to the picture.
        let answered = status.is_success() || status == StatusCode::TEMPORARY_REDIRECT;
        if answered && own_route {
            reached.insert(case.route % ROUTES.len());
        }
        if let Err(failure) = outcome.result {
            // Shrink: simplify while it still fails, step back when it passes.
            let (mut failure, mut description) = (failure, outcome.description);
            let mut steps = 0;
            while steps < 256 && tree.simplify() {
                steps += 1;
                world.heal().await;
                let smaller = run_case(&world, &tree.current()).await;
                match smaller.result {
                    Err(e) => (failure, description) = (e, smaller.description),
                    Ok(()) => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
            panic!("case {n} of {cases} broke the wire rules: {failure}\n  request: {description}");
        }
        // Only POST routes write; repair what a successful one may have broken.
        if status.is_success() && outcome.method == Method::POST {
            world.heal().await;
        }
    }
    let reached_names: Vec<String> =
        reached.iter().map(|r| format!("{} {}", ROUTES[*r].0, ROUTES[*r].1)).collect();
    println!(
        "http fuzz: {cases} cases, statuses {statuses:?}, {} of {} routes answered 2xx, world rebuilt {} times, {} seed generations",
        reached.len(),
        ROUTES.len(),
        world.rebuilds,
        world.generation,
    );
    println!("routes that answered 2xx: {reached_names:?}");
    if cases >= 2000 {
        // The generators reach past validation on most routes.
        assert!(reached.len() * 10 >= ROUTES.len() * 7, "only {} routes answered 2xx", reached.len());
    }
}

/// [`ROUTES`] lists exactly the routes of the API: the operations of the
/// generated OpenAPI document (which `openapi.rs` proves equal to what the
/// router serves), less the health checks (`/livez`, `/readyz`) and the
/// server's two non-API documents, `/metrics`
/// (Prometheus text) and `/api/openapi.json` (an OpenAPI document, whose
/// shape the OpenAPI standard fixes). The opt-in `/bench` family of the
/// load harness is not part of either.
#[tokio::test]
async fn route_list_matches_the_document() {
    let app = TestApp::new().await;
    let raw = app.send(Request::get("/api/openapi.json").body(Body::empty()).expect("request")).await;
    let doc: Value = serde_json::from_slice(&raw.bytes).expect("the document");
    let mut documented: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() && !NOT_FUZZED.contains(&path.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let listed: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(listed, documented, "ROUTES must list every operation of /api/openapi.json");
}

// ------------------------------------------------------------ fixed cases

/// Sends `body` to `path` as the admin and returns the raw reply, checked
/// against the wire rules.
async fn post_bytes(app: &TestApp, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::post(path)
        .header("content-type", "application/json")
        .header("X-User-Id", &app.admin.user_id)
        .header("X-Auth-Token", &app.admin.token)
        .body(Body::from(body))
        .expect("request");
    let reply = app.send(req).await;
    verdict("POST", path, &reply).unwrap_or_else(|e| panic!("POST {path}: {e}"));
    (reply.status, serde_json::from_slice(&reply.bytes).expect("JSON"))
}

async fn get_uri(app: &TestApp, uri: &str, session: &Session) -> (StatusCode, Value) {
    let req = Request::get(uri)
        .header("X-User-Id", &session.user_id)
        .header("X-Auth-Token", &session.token)
        .body(Body::empty())
        .expect("request");
    let reply = app.send(req).await;
    let path = uri.split('?').next().unwrap_or_default();
    verdict("GET", path, &reply).unwrap_or_else(|e| panic!("GET {}: {e}", &uri[..uri.len().min(200)]));
    (reply.status, serde_json::from_slice(&reply.bytes).expect("JSON"))
}

/// The POST routes that read a body (`logout` takes none, and would end
/// the admin's session).
fn post_routes() -> impl Iterator<Item = String> {
    ROUTES.iter().filter(|(m, p)| *m == "POST" && *p != "/api/v1/logout").map(|(_, p)| {
        p.replace("{id}", "Threads_enabled").replace("{rid}", "GENERAL").replace("{fileId}", "nofile")
    })
}

/// Regression (found by the fuzz test): a path parameter that is not UTF-8
/// once percent-decoded was axum's plain-text 400; it is a JSON
/// `error-invalid-params` now.
#[tokio::test]
async fn invalid_utf8_in_a_path_parameter_is_a_json_400() {
    let app = TestApp::unlimited().await;
    for id in ["%FF", "%C3%28", "Threads_enabled%ED%A0%80", "%F0%9F"] {
        let path = format!("/api/v1/settings/{id}");
        let (status, body) = get_uri(&app, &path, &app.admin).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errorType"], "error-invalid-params", "{body}");
        let (status, body) = post_bytes(&app, &path, br#"{"value": false}"#.to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errorType"], "error-invalid-params", "{body}");
    }
    // Nothing changed, and well-formed ids still work.
    let (status, body) = get_uri(&app, "/api/v1/settings/Threads_enabled", &app.admin).await;
    assert_eq!((status, &body["value"]), (StatusCode::OK, &json!(true)), "{body}");
}

/// A body over the 1 MiB limit is a JSON 413 on every POST route (never
/// plain text); a body of exactly 1 MiB is read and judged on its content.
#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let app = TestApp::unlimited().await;
    let limit = threadsync_api::MAX_BODY_BYTES;
    assert_eq!(limit, 1024 * 1024);
    let padded = |prefix: &str, suffix: &str, total: usize| {
        let mut body = prefix.as_bytes().to_vec();
        body.resize(total - suffix.len(), b'a');
        body.extend_from_slice(suffix.as_bytes());
        body
    };
    // File uploads (multipart bodies) are bounded by `FileUpload_MaxFileSize`
    // instead, and refuse a JSON body for its type (tests/api/files.rs).
    let multipart =
        |p: &str| p.contains("rooms.upload/") || p.contains("rooms.media/") || p.ends_with("users.setAvatar");
    for path in post_routes().filter(|p| !multipart(p)) {
        let (status, body) = post_bytes(&app, &path, padded("{\"text\": \"", "\"}", limit + 1)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {body}");
        assert_eq!(body["errorType"], "error-request-too-large", "{path}: {body}");
    }
    // Exactly at the limit: read, then refused for what it says.
    let at_limit = padded("{\"message\": {\"rid\": \"GENERAL\", \"msg\": \"", "\"}}", limit);
    assert_eq!(at_limit.len(), limit);
    let (status, body) = post_bytes(&app, "/api/v1/chat.sendMessage", at_limit).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errorType"], "error-message-size-exceeded", "{body}");
}

/// `[[[...]]]` 10 000 deep, alone or inside a field, is a 400 on every POST
/// route (serde_json's recursion limit; no stack overflow).
#[tokio::test]
async fn ten_thousand_deep_json_is_400() {
    let app = TestApp::unlimited().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for path in post_routes() {
        for body in [deep.clone(), format!("{{\"message\": {deep}, \"value\": {deep}}}")] {
            let (status, reply) = post_bytes(&app, &path, body.into_bytes()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {reply}");
            assert_eq!(reply["errorType"], "error-invalid-params", "{path}: {reply}");
        }
    }
}

/// A `query` (and `sort`, `fields`) parameter as long as the router accepts
/// a URI to be is refused with the endpoint's error, and the error echoes a
/// bounded amount of it; a longer URI is a JSON 414. Over a real socket,
/// URIs beyond hyper's own limits get the same JSON refusals (written for
/// hyper, see `threadsync_api::server`), and the server goes on serving.
#[tokio::test]
async fn long_query_parameters_are_refused_cleanly() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let parent = app.say(&alice, "GENERAL", "p").await["_id"].as_str().expect("id").to_owned();
    app.reply_in(&alice, "GENERAL", &parent, "r").await;
    let room = "rid=GENERAL";
    let thread = format!("tmid={parent}");
    let since = "updatedSince=2000-01-01T00:00:00.000Z";
    let endpoints = [
        ("chat.getThreadMessages", thread.clone()),
        ("chat.syncThreadMessages", format!("{thread}&{since}")),
        ("chat.getThreadsList", room.to_owned()),
        ("chat.syncThreadsList", format!("{room}&{since}")),
    ];
    let limit = threadsync_api::limits::MAX_URI_BYTES;
    for (endpoint, base) in &endpoints {
        for (param, error_type) in [
            ("query", "error-invalid-query"),
            ("sort", "error-invalid-sort"),
            ("fields", "error-invalid-fields"),
        ] {
            let prefix = format!("/api/v1/{endpoint}?{base}&{param}=");
            // Exactly as long as the router accepts.
            let value = format!("%7B%22msg%22%3A%22{}", "a".repeat(limit - prefix.len() - 24));
            let uri = format!("{prefix}{value}%22%7D");
            assert_eq!(uri.len(), limit);
            let (status, body) = get_uri(&app, &uri, &alice).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{endpoint} {param}: {body}");
            assert_eq!(body["errorType"], error_type, "{endpoint} {param}: {body}");
            assert!(body["error"].as_str().is_some_and(|e| e.len() < 1000), "{body}");
            // One byte more than the router accepts.
            let longer = format!("{prefix}{value}a%22%7D");
            let (status, body) = get_uri(&app, &longer, &alice).await;
            assert_eq!(status, StatusCode::URI_TOO_LONG, "{endpoint} {param}: {body}");
            assert_eq!(body["errorType"], "error-uri-too-long", "{body}");
        }
    }
    assert!(Request::get(format!("/api/info?query={}", "a".repeat(1 << 20))).body(Body::empty()).is_err());

    // Over a real socket, served as the binary serves.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app.router.clone();
    let limits = threadsync_api::limits::EdgeLimits::default();
    let server =
        tokio::spawn(threadsync_api::server::serve(listener, router, std::future::pending(), limits));
    let answer_of = |request: Vec<u8>| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        // The server may answer and close before it has read everything.
        let _ = stream.write_all(&request).await;
        let mut response = Vec::new();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut response)).await;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status: u16 = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body: Value = text
            .split_once("\r\n\r\n")
            .and_then(|(_, body)| serde_json::from_str(body).ok())
            .unwrap_or(Value::Null);
        (status, body, text.chars().take(300).collect::<String>())
    };
    let request_line = |query_len: usize| {
        format!(
            "GET /api/v1/chat.getThreadMessages?{thread}&query={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            "a".repeat(query_len)
        )
        .into_bytes()
    };
    // Over hyper's fixed URI limit (64 KiB): 414, as JSON.
    let (status, body, text) = answer_of(request_line(70_000)).await;
    assert_eq!(
        (status, &body["errorType"]),
        (414, &json!("error-uri-too-long")),
        "a 70 KB request line: {text}"
    );
    // Over the head buffer: 431, as JSON (the client may also see the
    // connection reset while still sending; never an empty answer).
    let (status, body, text) = answer_of(request_line(2 << 20)).await;
    assert!(
        status == 0 || (status, &body["errorType"]) == (431, &json!("error-headers-too-large")),
        "{text}"
    );
    println!("a 2 MiB query parameter over a socket: {}", text.lines().next().unwrap_or_default());
    let (status, _, text) =
        answer_of(b"GET /api/info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".to_vec()).await;
    assert_eq!(status, 200, "still serving: {text}");
    server.abort();
}

/// Regression (found reviewing what the fuzz test's bodies could hold):
/// `channels.create` / `groups.create` compared every listed member with
/// every other, so one 1 MiB body of ~100 000 names pinned a worker for
/// minutes (20 000 names took 5 s in a debug build). The names are now
/// deduplicated and checked through sets.
#[tokio::test]
async fn creating_a_room_with_a_hundred_thousand_members_is_prompt() {
    let app = TestApp::unlimited().await;
    let member = app.user("real_member").await;
    for family in ["channels", "groups"] {
        // As many names as fit in a body under the limit, a real one among them.
        let mut members: Vec<String> = (0..100_000).map(|i| format!("u{i}")).collect();
        members.push(member.username.to_uppercase());
        members.push(format!("@{}", member.username));
        let body = json!({"name": format!("many-{family}"), "members": members});
        assert!(body.to_string().len() < threadsync_api::MAX_BODY_BYTES);
        let started = std::time::Instant::now();
        let reply = app.post(&format!("/api/v1/{family}.create"), Some(&app.admin), body).await;
        let elapsed = started.elapsed();
        let body = reply.err_type("error-invalid-username");
        assert!(
            body["error"].as_str().is_some_and(|e| e.starts_with("Invalid username: u0, u1, u2")),
            "{body}"
        );
        assert!(elapsed < std::time::Duration::from_secs(20), "{family}.create took {elapsed:?}");
    }
    // Duplicates (in any case, with `@`) and the caller collapse as before.
    let reply = app
        .post(
            "/api/v1/groups.create",
            Some(&app.admin),
            json!({"name": "dups", "members": ["REAL_MEMBER", "@real_member", "real_member", "Admin"]}),
        )
        .await
        .ok();
    assert_eq!(reply["group"]["usersCount"], 2, "{reply}");
}
