//! Parsing the `query` parameter into a [`Filter`].
//!
//! The raw text is parsed by `serde_json` (whose recursion limit of 128
//! stays on, so no input can exhaust the stack), then walked once. Every
//! recursion checks the depth limit before descending, and every condition
//! is charged against the node budget as it is built, so the work done on a
//! hostile query is bounded by [`Limits`] whatever it contains.
//!
//! Every refusal is one error: `Invalid query parameter provided: "<raw>"
//! (<reason>) [error-invalid-query]`, with `<raw>` cut to
//! [`ECHO_CHARS`] characters.

use super::{field, Cond, Field, Filter, Literal, Pattern, Shape, ValueKind};
use crate::error::{truncate, Error};
use crate::reject::Reject;
use crate::time::{self, Timestamp};
use serde_json::{Map, Value};

/// Bounds on what a query may be, so hostile input costs bounded work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Length of the raw parameter.
    pub max_bytes: usize,
    /// Nesting of `$and` / `$or` / `$nor` / `$not`.
    pub max_depth: usize,
    /// Conditions and logical nodes in the whole query.
    pub max_nodes: usize,
    /// Length of one string literal.
    pub max_string: usize,
    /// Length of one regular expression.
    pub max_regex: usize,
    /// Elements of one `$in` / `$nin` list.
    pub max_in: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Elements of `$in` count as nodes, so `max_nodes` leaves room for a
        // full `$in` list plus the conditions around it.
        Limits {
            max_bytes: 8192,
            max_depth: 6,
            max_nodes: 256,
            max_string: 1024,
            max_regex: 256,
            max_in: 100,
        }
    }
}

/// How much memory a compiled regular expression may use (both the program
/// and the lazy DFA's cache). The SQLite backend compiles with the same bound.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The longest field or operator name an error message repeats.
const ECHO_NAME_CHARS: usize = 64;

impl Filter {
    /// Parses the raw `query` parameter. Absent or blank: [`Filter::True`].
    /// Any refusal is `Invalid query parameter provided: "<raw>" (<reason>)
    /// [error-invalid-query]` (`<raw>` cut to 200 characters).
    pub fn parse(raw: Option<&str>) -> Result<Filter, Error> {
        Filter::parse_with(raw, &Limits::default())
    }

    /// [`Filter::parse`] with explicit limits.
    pub fn parse_with(raw: Option<&str>, limits: &Limits) -> Result<Filter, Error> {
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(Filter::True);
        };
        parse_raw(raw, limits).map_err(|reason| rejection(raw, &reason))
    }
}

/// The one error of the parser.
fn rejection(raw: &str, reason: &str) -> Error {
    Error::from(Reject::QueryInvalid { raw: raw.to_owned(), reason: reason.to_owned() })
}

/// A name from the query, quoted and cut for an error message.
fn quoted(name: &str) -> String {
    format!("\"{}\"", truncate(name, ECHO_NAME_CHARS))
}

/// Why a query was refused (becomes the parenthesised part of the error).
type Reason = String;

fn parse_raw(raw: &str, limits: &Limits) -> Result<Filter, Reason> {
    if raw.len() > limits.max_bytes {
        return Err(format!("longer than {} bytes", limits.max_bytes));
    }
    let value: Value = serde_json::from_str(raw).map_err(|_| "not valid JSON".to_owned())?;
    let Value::Object(map) = value else {
        return Err("not a JSON object".to_owned());
    };
    let mut parser = Parser { limits, nodes: 0 };
    parser.object(&map, 0)
}

struct Parser<'a> {
    limits: &'a Limits,
    /// Nodes built so far (logical nodes, conditions, `$in` elements).
    nodes: usize,
}

impl Parser<'_> {
    /// Charges `n` nodes against the budget.
    fn charge(&mut self, n: usize) -> Result<(), Reason> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            Err(format!("more than {} conditions", self.limits.max_nodes))
        } else {
            Ok(())
        }
    }

    /// The depth of a nested level, refused before descending into it.
    fn deeper(&self, depth: usize) -> Result<usize, Reason> {
        let next = depth + 1;
        if next > self.limits.max_depth {
            Err(format!("nested deeper than {}", self.limits.max_depth))
        } else {
            Ok(next)
        }
    }

    /// A query document: a conjunction of its keys, in order.
    fn object(&mut self, map: &Map<String, Value>, depth: usize) -> Result<Filter, Reason> {
        let mut parts = Vec::with_capacity(map.len());
        for (key, value) in map {
            parts.push(self.entry(key, value, depth)?);
        }
        Ok(match parts.len() {
            0 => Filter::True,
            1 => parts.pop().unwrap_or(Filter::True),
            _ => Filter::And(parts),
        })
    }

    /// One key of a query document: a logical operator or a field.
    fn entry(&mut self, key: &str, value: &Value, depth: usize) -> Result<Filter, Reason> {
        match key {
            "$and" | "$or" | "$nor" => {
                self.charge(1)?;
                let inner = self.deeper(depth)?;
                let Value::Array(items) = value else {
                    return Err(format!("{key} needs a non-empty array"));
                };
                if items.is_empty() {
                    return Err(format!("{key} needs a non-empty array"));
                }
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(map) = item else {
                        return Err(format!("{key} needs an array of objects"));
                    };
                    parts.push(self.object(map, inner)?);
                }
                Ok(match key {
                    "$and" => Filter::And(parts),
                    "$or" => Filter::Or(parts),
                    _ => Filter::Nor(parts),
                })
            }
            _ if key.starts_with('$') => Err(format!("operator {} is not allowed here", quoted(key))),
            _ => {
                let field = field(key).ok_or_else(|| format!("unknown field {}", quoted(key)))?;
                let cond = self.field_value(field, value, depth)?;
                Ok(Filter::Field { field, cond })
            }
        }
    }

    /// The value of a field: a literal (implicit `$eq`) or operators.
    fn field_value(&mut self, field: &'static Field, value: &Value, depth: usize) -> Result<Cond, Reason> {
        match value {
            Value::Object(map) if !is_date_object(map) => self.operators(field, map, depth),
            _ => {
                self.charge(1)?;
                Ok(Cond::Eq(self.literal(field, value, Op::Eq)?))
            }
        }
    }

    /// An operator document (`{"$gt": 1, "$lt": 5}`): the conjunction of its
    /// operators, in order.
    fn operators(
        &mut self,
        field: &'static Field,
        map: &Map<String, Value>,
        depth: usize,
    ) -> Result<Cond, Reason> {
        if map.is_empty() {
            return Err(format!("empty operator object for {}", quoted(field.path)));
        }
        if !map.keys().all(|k| k.starts_with('$')) {
            return Err(if map.keys().any(|k| k.starts_with('$')) {
                format!("operators mixed with plain keys for {}", quoted(field.path))
            } else {
                format!("objects cannot be compared ({})", quoted(field.path))
            });
        }
        if map.contains_key("$options") && !map.contains_key("$regex") {
            return Err("$options without $regex".to_owned());
        }
        let mut conds = Vec::with_capacity(map.len());
        for (op, value) in map {
            let cond = match op.as_str() {
                "$eq" => Cond::Eq(self.literal(field, value, Op::Eq)?),
                "$ne" => Cond::Not(Box::new(Cond::Eq(self.literal(field, value, Op::Eq)?))),
                "$gt" => Cond::Gt(self.literal(field, value, Op::Range)?),
                "$gte" => Cond::Gte(self.literal(field, value, Op::Range)?),
                "$lt" => Cond::Lt(self.literal(field, value, Op::Range)?),
                "$lte" => Cond::Lte(self.literal(field, value, Op::Range)?),
                "$in" => Cond::In(self.list(field, op, value)?),
                "$nin" => Cond::Not(Box::new(Cond::In(self.list(field, op, value)?))),
                "$exists" => Cond::Exists(exists_flag(value)?),
                "$regex" => Cond::Regex(self.regex(field, value, map.get("$options"))?),
                // Read with `$regex`.
                "$options" => continue,
                "$not" => {
                    let inner = self.deeper(depth)?;
                    let Value::Object(ops) = value else {
                        return Err("$not needs an operator object".to_owned());
                    };
                    if ops.is_empty() || !ops.keys().all(|k| k.starts_with('$')) || is_date_object(ops) {
                        return Err("$not needs an operator object".to_owned());
                    }
                    self.charge(1)?;
                    conds.push(Cond::Not(Box::new(self.operators(field, ops, inner)?)));
                    continue;
                }
                _ => return Err(format!("operator {} is not allowed", quoted(op))),
            };
            self.charge(1)?;
            conds.push(cond);
        }
        Ok(match conds.len() {
            1 => conds.pop().unwrap_or(Cond::All(Vec::new())),
            _ => Cond::All(conds),
        })
    }

    /// The array of `$in` / `$nin`.
    fn list(&mut self, field: &'static Field, op: &str, value: &Value) -> Result<Vec<Literal>, Reason> {
        let Value::Array(items) = value else {
            return Err(format!("{op} needs an array"));
        };
        if items.len() > self.limits.max_in {
            return Err(format!("{op} with more than {} values", self.limits.max_in));
        }
        self.charge(items.len())?;
        items.iter().map(|item| self.literal(field, item, Op::Eq)).collect()
    }

    /// A literal compared with `field` by an operator of kind `op`.
    fn literal(&self, field: &'static Field, value: &Value, op: Op) -> Result<Literal, Reason> {
        let name = quoted(field.path);
        match value {
            Value::Null => match (op, field.shape) {
                (Op::Eq, Shape::Scalar) => Ok(Literal::Null),
                (Op::Eq, _) => Err(format!("null cannot be compared with array field {name}")),
                (Op::Range, _) => Err("null cannot be compared by range".to_owned()),
            },
            Value::Bool(b) => match op {
                Op::Eq => Ok(Literal::Bool(*b)),
                Op::Range => Err("booleans cannot be compared by range".to_owned()),
            },
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(Literal::Number(f)),
                _ => Err("number out of range".to_owned()),
            },
            Value::String(s) if field.kind == ValueKind::Date => date(Timestamp::parse(s)),
            Value::String(s) => {
                if s.len() > self.limits.max_string {
                    Err(format!("string longer than {} bytes", self.limits.max_string))
                } else {
                    Ok(Literal::String(s.clone()))
                }
            }
            Value::Object(map) if is_date_object(map) => {
                if field.kind == ValueKind::Date {
                    date(time::from_json(value))
                } else {
                    Err(format!("{name} is not a date field"))
                }
            }
            Value::Array(_) => Err(format!("arrays cannot be compared ({name})")),
            Value::Object(_) => Err(format!("objects cannot be compared ({name})")),
        }
    }

    /// `$regex` (with its `$options`) compiled on the linear-time engine.
    fn regex(
        &self,
        field: &'static Field,
        value: &Value,
        options: Option<&Value>,
    ) -> Result<Pattern, Reason> {
        if field.kind == ValueKind::Date {
            return Err(format!("$regex cannot apply to date field {}", quoted(field.path)));
        }
        let Value::String(source) = value else {
            return Err("$regex needs a string".to_owned());
        };
        if source.chars().count() > self.limits.max_regex {
            return Err(format!("$regex longer than {} characters", self.limits.max_regex));
        }
        let flags = match options {
            None => String::new(),
            Some(Value::String(opts)) => regex_flags(opts)?,
            Some(_) => return Err("$options needs a string".to_owned()),
        };
        let pattern = if flags.is_empty() { source.clone() } else { format!("(?{flags}){source}") };
        let regex = regex::RegexBuilder::new(&pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(regex_reason)?;
        Ok(Pattern { pattern, regex })
    }
}

/// What a literal is compared by: equality (`$eq $ne $in $nin`, implicit)
/// or order (`$gt $gte $lt $lte`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Range,
}

/// `{"$date": ...}`: MongoDB extended JSON for a date.
fn is_date_object(map: &Map<String, Value>) -> bool {
    map.len() == 1 && map.contains_key("$date")
}

/// A parsed date as its stored form. Dates whose ISO form would not have
/// the stored shape (years outside 0000–9999) would compare wrongly as
/// strings, so they are refused.
fn date(ts: Option<Timestamp>) -> Result<Literal, Reason> {
    let ts = ts.ok_or_else(|| "invalid date".to_owned())?;
    if chrono::DateTime::from_timestamp_millis(ts.millis()).is_none() {
        return Err("date out of range".to_owned());
    }
    let iso = ts.to_iso();
    if iso.len() != "2019-04-16T18:30:46.615Z".len() || !iso.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("date out of range".to_owned());
    }
    Ok(Literal::String(iso))
}

/// `$exists`: a boolean, or 0 / 1.
fn exists_flag(value: &Value) -> Result<bool, Reason> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
        _ => Err("$exists needs true or false".to_owned()),
    }
}

/// `$options` as inline flags, in the canonical order `imsx`.
fn regex_flags(options: &str) -> Result<String, Reason> {
    let mut seen = [false; 4];
    for c in options.chars() {
        let Some(i) = "imsx".find(c) else {
            return Err(format!("unsupported $options letter {}", quoted(&c.to_string())));
        };
        if std::mem::replace(&mut seen[i], true) {
            return Err(format!("repeated $options letter {}", quoted(&c.to_string())));
        }
    }
    Ok("imsx".chars().zip(seen).filter(|(_, on)| *on).map(|(c, _)| c).collect())
}

/// A short reason for a refused pattern (the `regex` crate's syntax errors
/// span several lines and repeat the pattern).
fn regex_reason(err: regex::Error) -> Reason {
    match err {
        regex::Error::CompiledTooBig(_) => "$regex too large".to_owned(),
        regex::Error::Syntax(text) => {
            let detail = text.lines().rev().find_map(|l| l.strip_prefix("error: ")).unwrap_or("syntax error");
            format!("invalid $regex: {}", truncate(detail, ECHO_NAME_CHARS))
        }
        _ => "invalid $regex".to_owned(),
    }
}
