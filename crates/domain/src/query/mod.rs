//! The `query` parameter: a safe subset of MongoDB's query language over
//! message documents (docs/query.md).
//!
//! Rocket.Chat passed `query` to MongoDB nearly raw and had to disable it: it
//! reached documents outside the caller's permissions and caused unindexed
//! scans. Here a query is parsed ([`Filter::parse`]) into a typed AST over an
//! allow-list of fields ([`FIELDS`]) and operators, with limits on size and
//! depth. Backends compile the AST to parameterised SQL that is always ANDed
//! inside the endpoint's own filter, so a query can narrow a result and never
//! widen it. [`Filter::matches`] evaluates the same semantics in memory: it
//! is the oracle the backends' compilers are tested against.
//!
//! # Semantics (shared by the matcher and every compiler)
//! A condition is evaluated on the *candidates* of its field in a document:
//! - a scalar field has one candidate, its value, if present;
//! - an array field (`replies`) has its elements as candidates;
//! - a field inside an array of objects (`mentions._id`) has the sub-field of
//!   each element that has it.
//!
//! Then:
//! - `$eq v`: some candidate has the same type as `v` and equals it (type
//!   bracketing: a number never equals a string; integers and floats are both
//!   numbers). `$eq null` (scalar fields only): the field is missing or null.
//! - `$gt $gte $lt $lte v` (numbers, strings, dates): some candidate of the
//!   same type compares so. Strings compare by Unicode code point.
//! - `$in [..]`: `$eq` of some element. `$ne`, `$nin`: the negation of `$eq`,
//!   `$in` (so they match documents where the field is missing).
//! - `$exists b`: whether the field has a candidate, including a JSON null
//!   (for an array field: whether the array itself is present).
//! - `$regex p` (+ `$options` of `i m s x`): some candidate is a string the
//!   pattern matches. Patterns run on the `regex` crate's linear-time engine;
//!   backreferences and look-around are refused.
//! - `$not {ops}`: the negation of the operator document.
//! - `$and $or $nor [...]`: conjunction, disjunction, negated disjunction.
//! - Several operators on one field are a conjunction; several fields too.
//! - Date fields take ISO strings or `{"$date": ...}`; they are stored as ISO
//!   strings of one fixed format, so they compare as those strings.

mod matcher;
mod parse;
#[cfg(test)]
mod tests;

pub use parse::{Limits, REGEX_SIZE_LIMIT};

/// The type of a field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    String,
    Number,
    Bool,
    /// Stored as ISO-8601 strings (`2019-04-16T18:30:46.615Z`).
    Date,
}

/// Where a field's values sit in a message document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A single value at `path` (dotted through objects).
    Scalar,
    /// An array at `path` whose elements are the values.
    Array,
    /// An array of objects at `array`; the values are each element's `sub`.
    InArray { array: &'static str, sub: &'static str },
}

/// A field clients may query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The dotted path as clients write it (`u.username`).
    pub path: &'static str,
    pub kind: ValueKind,
    pub shape: Shape,
}

const fn scalar(path: &'static str, kind: ValueKind) -> Field {
    Field { path, kind, shape: Shape::Scalar }
}

const fn in_array(path: &'static str, array: &'static str, sub: &'static str) -> Field {
    Field { path, kind: ValueKind::String, shape: Shape::InArray { array, sub } }
}

/// The allow-list of queryable message fields. Internal fields never appear
/// here, so no query can read or test them.
pub const FIELDS: &[Field] = &[
    scalar("_id", ValueKind::String),
    scalar("rid", ValueKind::String),
    scalar("tmid", ValueKind::String),
    scalar("msg", ValueKind::String),
    scalar("t", ValueKind::String),
    scalar("alias", ValueKind::String),
    scalar("emoji", ValueKind::String),
    scalar("u._id", ValueKind::String),
    scalar("u.username", ValueKind::String),
    scalar("u.name", ValueKind::String),
    scalar("editedBy._id", ValueKind::String),
    scalar("editedBy.username", ValueKind::String),
    scalar("ts", ValueKind::Date),
    scalar("_updatedAt", ValueKind::Date),
    scalar("editedAt", ValueKind::Date),
    scalar("tlm", ValueKind::Date),
    scalar("tcount", ValueKind::Number),
    scalar("tshow", ValueKind::Bool),
    scalar("pinned", ValueKind::Bool),
    Field { path: "replies", kind: ValueKind::String, shape: Shape::Array },
    in_array("mentions._id", "mentions", "_id"),
    in_array("mentions.username", "mentions", "username"),
    in_array("channels._id", "channels", "_id"),
    in_array("channels.name", "channels", "name"),
    in_array("starred._id", "starred", "_id"),
];

/// Looks a field up in the allow-list.
pub fn field(path: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.path == path)
}

/// A literal in a query. Dates are kept as the ISO string they are stored as.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
}

/// A compiled regular expression with its source (for SQL parameters) and
/// the compiled form (for the matcher). `pattern` already carries the
/// options as an inline group (`(?i)...`).
#[derive(Clone, Debug)]
pub struct Pattern {
    pub pattern: String,
    pub regex: regex::Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

/// A condition on one field's candidates.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Eq(Literal),
    Gt(Literal),
    Gte(Literal),
    Lt(Literal),
    Lte(Literal),
    In(Vec<Literal>),
    Exists(bool),
    Regex(Pattern),
    /// Negation (`$ne`, `$nin`, `$not`).
    Not(Box<Cond>),
    /// Several operators on one field.
    All(Vec<Cond>),
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// Matches every document (`{}`).
    True,
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Nor(Vec<Filter>),
    Field {
        field: &'static Field,
        cond: Cond,
    },
}

impl Default for Filter {
    /// No query: every document matches.
    fn default() -> Self {
        Filter::True
    }
}
