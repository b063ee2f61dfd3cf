//! Compiling the query language (`threadsync_domain::query`) to SQLite SQL.
//!
//! The output is a boolean SQL expression over the `doc` column (the JSON
//! message document), with every literal passed as a parameter: no client
//! text ever becomes SQL. Field paths come from the static allow-list. Each
//! expression evaluates to 0 or 1, never NULL (types are tested with `IS`,
//! and conditions on a value are guarded by a test of its JSON type), so
//! `NOT` means what it means in the in-memory matcher. The caller ANDs the
//! expression into the endpoint's own filter: a query can only narrow.
//!
//! Regular expressions run in `ts_regexp(pattern, value)`, a function backed
//! by the `regex` crate (linear time, no backtracking), registered on every
//! connection by [`register_functions`].

use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use std::sync::Arc;
// The parser compiles every pattern under the same bound, so a pattern
// that parsed always compiles here.
use threadsync_domain::query::REGEX_SIZE_LIMIT;
use threadsync_domain::query::{Cond, Field, Filter, Literal, Shape};

/// Appends a parameter and returns its placeholder (`?N`, 1-based over all
/// the statement's parameters).
fn param(args: &mut Vec<SqlValue>, value: SqlValue) -> String {
    args.push(value);
    format!("?{}", args.len())
}

/// The SQL expression of `filter`, over the message JSON in column `doc`.
/// New parameters are appended to `args`, after the statement's own.
pub(crate) fn compile(filter: &Filter, args: &mut Vec<SqlValue>) -> String {
    match filter {
        Filter::True => "1".to_owned(),
        Filter::And(parts) => join(parts, " AND ", "1", args),
        Filter::Or(parts) => join(parts, " OR ", "0", args),
        Filter::Nor(parts) => format!("NOT {}", join(parts, " OR ", "0", args)),
        Filter::Field { field, cond } => field_cond(field, cond, args),
    }
}

fn join(parts: &[Filter], op: &str, empty: &str, args: &mut Vec<SqlValue>) -> String {
    if parts.is_empty() {
        return empty.to_owned();
    }
    let sql: Vec<String> = parts.iter().map(|p| compile(p, args)).collect();
    format!("({})", sql.join(op))
}

/// A condition at the level of a field: `Not`, `All` and `Exists` look at the
/// field as a whole; the other operators ask "does some candidate satisfy?".
fn field_cond(field: &Field, cond: &Cond, args: &mut Vec<SqlValue>) -> String {
    match cond {
        Cond::Not(inner) => format!("NOT {}", field_cond(field, inner, args)),
        Cond::All(conds) => {
            let sql: Vec<String> = conds.iter().map(|c| field_cond(field, c, args)).collect();
            if sql.is_empty() {
                "1".to_owned()
            } else {
                format!("({})", sql.join(" AND "))
            }
        }
        Cond::Exists(present) => {
            let test = exists(field);
            if *present {
                test
            } else {
                format!("NOT {test}")
            }
        }
        atomic => some_candidate(field, atomic, args),
    }
}

/// The JSON path of a dotted field path.
fn json_path(path: &str) -> String {
    format!("'$.{path}'")
}

fn exists(field: &Field) -> String {
    match field.shape {
        Shape::Scalar => format!("(json_type(doc, {}) IS NOT NULL)", json_path(field.path)),
        Shape::Array => format!("(json_type(doc, {}) IS 'array')", json_path(field.path)),
        Shape::InArray { array, sub } => format!(
            "(json_type(doc, {arr}) IS 'array' AND EXISTS (SELECT 1 FROM json_each(doc, {arr}) AS e \
              WHERE json_type(doc, e.fullkey || '.{sub}') IS NOT NULL))",
            arr = json_path(array)
        ),
    }
}

/// "Some candidate satisfies `cond`", for the operators that test values.
fn some_candidate(field: &Field, cond: &Cond, args: &mut Vec<SqlValue>) -> String {
    match field.shape {
        Shape::Scalar => {
            let path = json_path(field.path);
            let ty = format!("json_type(doc, {path})");
            let value = format!("json_extract(doc, {path})");
            value_test(&ty, &value, cond, true, args)
        }
        Shape::Array => {
            let arr = json_path(field.path);
            let test = value_test("e.type", "e.value", cond, false, args);
            format!("(json_type(doc, {arr}) IS 'array' AND EXISTS (SELECT 1 FROM json_each(doc, {arr}) AS e WHERE {test}))")
        }
        Shape::InArray { array, sub } => {
            let arr = json_path(array);
            // Reading the sub-field through the element's full path keeps
            // every json_* call on `doc`, which is always valid JSON.
            let ty = format!("json_type(doc, e.fullkey || '.{sub}')");
            let value = format!("json_extract(doc, e.fullkey || '.{sub}')");
            let test = value_test(&ty, &value, cond, false, args);
            format!("(json_type(doc, {arr}) IS 'array' AND EXISTS (SELECT 1 FROM json_each(doc, {arr}) AS e WHERE {test}))")
        }
    }
}

/// A test of one candidate, given its JSON type and value expressions.
/// `nullable`: whether `$eq null` can mean "missing or null" here (scalars).
fn value_test(ty: &str, value: &str, cond: &Cond, nullable: bool, args: &mut Vec<SqlValue>) -> String {
    match cond {
        Cond::Eq(lit) => compare(ty, value, "=", lit, nullable, args),
        Cond::Gt(lit) => compare(ty, value, ">", lit, nullable, args),
        Cond::Gte(lit) => compare(ty, value, ">=", lit, nullable, args),
        Cond::Lt(lit) => compare(ty, value, "<", lit, nullable, args),
        Cond::Lte(lit) => compare(ty, value, "<=", lit, nullable, args),
        Cond::In(lits) => {
            if lits.is_empty() {
                return "0".to_owned();
            }
            let sql: Vec<String> = lits.iter().map(|l| compare(ty, value, "=", l, nullable, args)).collect();
            format!("({})", sql.join(" OR "))
        }
        Cond::Regex(pattern) => {
            let p = param(args, SqlValue::Text(pattern.pattern.clone()));
            format!("({ty} IS 'text' AND ts_regexp({p}, {value}))")
        }
        // Field-level operators nested under an array candidate cannot come
        // from the parser; answer "no match" rather than guess.
        Cond::Not(_) | Cond::All(_) | Cond::Exists(_) => "0".to_owned(),
    }
}

/// Type-bracketed comparison: only values of the literal's JSON type compare.
fn compare(
    ty: &str,
    value: &str,
    op: &str,
    lit: &Literal,
    nullable: bool,
    args: &mut Vec<SqlValue>,
) -> String {
    match lit {
        Literal::Null if op == "=" && nullable => format!("({ty} IS NULL OR {ty} IS 'null')"),
        Literal::Null if op == "=" => format!("({ty} IS 'null')"),
        Literal::Null => "0".to_owned(),
        Literal::Bool(b) if op == "=" => format!("({ty} IS '{}')", if *b { "true" } else { "false" }),
        Literal::Bool(_) => "0".to_owned(),
        Literal::Number(n) => {
            let p = param(args, SqlValue::Real(*n));
            format!("(({ty} IS 'integer' OR {ty} IS 'real') AND {value} {op} {p})")
        }
        Literal::String(s) => {
            let p = param(args, SqlValue::Text(s.clone()));
            format!("({ty} IS 'text' AND {value} {op} {p})")
        }
    }
}

/// Registers `ts_regexp(pattern, value)` on a connection: 1 if `value` is a
/// string the pattern matches, else 0. Each statement compiles its pattern
/// once (SQLite keeps it as auxiliary data of the constant argument).
pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    // `ts_lower(text)`: Unicode lower case (SQLite's `lower` folds ASCII
    // only), as the stores fold usernames and as PostgreSQL's `lower` does.
    conn.create_scalar_function(
        "ts_lower",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Text(bytes) => {
                    std::str::from_utf8(bytes).map(str::to_lowercase).ok()
                }
                _ => None,
            })
        },
    )?;
    conn.create_scalar_function(
        "ts_regexp",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let regex: Arc<regex::Regex> = ctx.get_or_create_aux(0, |vr| -> Result<_, BoxError> {
                let pattern = vr.as_str()?;
                Ok(regex::RegexBuilder::new(pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_SIZE_LIMIT)
                    .build()?)
            })?;
            let matched = match ctx.get_raw(1) {
                rusqlite::types::ValueRef::Text(bytes) => {
                    std::str::from_utf8(bytes).map(|s| regex.is_match(s)).unwrap_or(false)
                }
                _ => false,
            };
            Ok(matched)
        },
    )
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
