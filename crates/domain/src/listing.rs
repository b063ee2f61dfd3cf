//! `sort` and `fields` for message listings (docs/query.md).
//!
//! Both arrive as raw JSON strings in the query string. They are parsed here
//! into typed values against an allow-list of message fields, so that the
//! storage layer only ever sees known fields and fixed directions, never
//! client text.

use crate::error::Error;
use crate::reject::Reject;
use serde_json::{Map, Value};

/// A message field clients may sort by. Each maps to an indexed or cheap
/// column in every backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortField {
    Id,
    Ts,
    UpdatedAt,
    Tlm,
    Tcount,
    EditedAt,
    Msg,
    Username,
}

impl SortField {
    pub fn parse(path: &str) -> Option<SortField> {
        Some(match path {
            "_id" => SortField::Id,
            "ts" => SortField::Ts,
            "_updatedAt" => SortField::UpdatedAt,
            "tlm" => SortField::Tlm,
            "tcount" => SortField::Tcount,
            "editedAt" => SortField::EditedAt,
            "msg" => SortField::Msg,
            "u.username" => SortField::Username,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// Sort keys in priority order. Backends append `_id` as the final
/// tie-breaker (same direction as the first key) so paging is stable.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Sort(pub Vec<(SortField, Direction)>);

impl Sort {
    pub fn by(field: SortField, direction: Direction) -> Sort {
        Sort(vec![(field, direction)])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses `{"field": 1 | -1, ...}`. An absent or empty parameter gives an
    /// empty sort (the endpoint's default applies). A refusal is `Invalid
    /// sort parameter provided: "<raw>" (<reason>) [error-invalid-sort]`, the
    /// same form as `query`'s.
    pub fn parse(raw: Option<&str>) -> Result<Sort, Error> {
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(Sort::default());
        };
        Sort::parse_raw(raw)
            .map_err(|reason| Error::from(Reject::SortInvalid { raw: raw.to_owned(), reason }))
    }

    fn parse_raw(raw: &str) -> Result<Sort, String> {
        if raw.len() > MAX_SORT_BYTES {
            return Err(format!("longer than {MAX_SORT_BYTES} bytes"));
        }
        let map = json_object(raw)?;
        if map.len() > MAX_SORT_KEYS {
            return Err(format!("more than {MAX_SORT_KEYS} fields"));
        }
        let mut keys = Vec::with_capacity(map.len());
        for (path, dir) in &map {
            let field = SortField::parse(path).ok_or_else(|| format!("cannot sort by {}", quoted(path)))?;
            let direction = match dir.as_i64() {
                Some(1) => Direction::Asc,
                Some(-1) => Direction::Desc,
                _ => return Err(format!("the direction of {} must be 1 or -1", quoted(path))),
            };
            if keys.iter().any(|(f, _)| *f == field) {
                return Err(format!("{} is given twice", quoted(path)));
            }
            keys.push((field, direction));
        }
        Ok(Sort(keys))
    }
}

/// The longest `sort` parameter, and its most keys.
const MAX_SORT_BYTES: usize = 1024;
const MAX_SORT_KEYS: usize = 8;
/// The longest `fields` parameter, and its most keys.
const MAX_FIELDS_BYTES: usize = 2048;
const MAX_FIELDS_KEYS: usize = 64;

/// `raw` as a JSON object, or why not (in a client's words, never serde's).
fn json_object(raw: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".into()),
        Err(_) => Err("not valid JSON".into()),
    }
}

/// A field name for an error message, quoted and cut.
fn quoted(name: &str) -> String {
    format!("\"{}\"", crate::error::truncate(name, 64))
}

/// Fields never returned, whatever the projection asks for.
const INTERNAL_FIELDS: &[&str] = &["e2e", "_hidden", "sandstormSessionId"];

/// A `fields` projection: include only some fields, or exclude some.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Projection {
    /// Everything (but internal fields).
    #[default]
    All,
    /// Only these paths (and `_id` unless `exclude_id`).
    Include { paths: Vec<String>, exclude_id: bool },
    /// Everything but these paths.
    Exclude(Vec<String>),
}

impl Projection {
    /// Parses `{"field": 0 | 1, ...}` (also `true`/`false`). Inclusion and
    /// exclusion may only be mixed through `_id`, as in MongoDB. A refusal is
    /// `Invalid fields parameter provided: "<raw>" (<reason>) [error-invalid-fields]`.
    pub fn parse(raw: Option<&str>) -> Result<Projection, Error> {
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(Projection::All);
        };
        Projection::parse_raw(raw)
            .map_err(|reason| Error::from(Reject::FieldsInvalid { raw: raw.to_owned(), reason }))
    }

    fn parse_raw(raw: &str) -> Result<Projection, String> {
        if raw.len() > MAX_FIELDS_BYTES {
            return Err(format!("longer than {MAX_FIELDS_BYTES} bytes"));
        }
        let map = json_object(raw)?;
        if map.len() > MAX_FIELDS_KEYS {
            return Err(format!("more than {MAX_FIELDS_KEYS} fields"));
        }
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        let mut exclude_id = false;
        for (path, v) in &map {
            let on = match v {
                Value::Bool(b) => *b,
                Value::Number(n) if n.as_i64() == Some(1) => true,
                Value::Number(n) if n.as_i64() == Some(0) => false,
                _ => return Err(format!("the value of {} must be 0 or 1", quoted(path))),
            };
            if !valid_path(path) {
                return Err(format!("{} is not a field that can be projected", quoted(path)));
            }
            match (path.as_str(), on) {
                ("_id", false) => exclude_id = true,
                ("_id", true) => {}
                (_, true) => include.push(path.clone()),
                (_, false) => exclude.push(path.clone()),
            }
        }
        match (include.is_empty(), exclude.is_empty()) {
            (false, false) => Err("fields cannot be both included and excluded, except _id".into()),
            (false, true) => Ok(Projection::Include { paths: include, exclude_id }),
            (true, false) => {
                if exclude_id {
                    exclude.push("_id".into());
                }
                Ok(Projection::Exclude(exclude))
            }
            (true, true) if exclude_id => Ok(Projection::Exclude(vec!["_id".into()])),
            (true, true) => Ok(Projection::Include { paths: Vec::new(), exclude_id: false }),
        }
    }

    /// Applies the projection to a serialised document.
    pub fn apply(&self, doc: Value) -> Value {
        let Value::Object(mut map) = doc else {
            return doc;
        };
        for f in INTERNAL_FIELDS {
            map.remove(*f);
        }
        match self {
            Projection::All => Value::Object(map),
            Projection::Exclude(paths) => {
                for p in paths {
                    remove_path(&mut map, p);
                }
                Value::Object(map)
            }
            Projection::Include { paths, exclude_id } => {
                let mut out = Map::new();
                if !exclude_id {
                    if let Some(id) = map.get("_id") {
                        out.insert("_id".into(), id.clone());
                    }
                }
                for p in paths {
                    copy_path(&map, &mut out, p);
                }
                Value::Object(out)
            }
        }
    }
}

fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 128
        && !path.starts_with('$')
        && path.split('.').all(|seg| !seg.is_empty() && !seg.starts_with('$'))
        && !INTERNAL_FIELDS.contains(&path)
}

fn remove_path(map: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            map.remove(path);
        }
        Some((head, rest)) => match map.get_mut(head) {
            Some(Value::Object(inner)) => remove_path(inner, rest),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        remove_path(inner, rest);
                    }
                }
            }
            _ => {}
        },
    }
}

fn copy_path(src: &Map<String, Value>, dst: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            if let Some(v) = src.get(path) {
                dst.insert(path.to_owned(), v.clone());
            }
        }
        Some((head, rest)) => match src.get(head) {
            Some(Value::Object(inner)) => {
                let entry = dst.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(out) = entry {
                    copy_path(inner, out, rest);
                }
            }
            Some(Value::Array(items)) => {
                // MongoDB projects into each element of an array of documents.
                let projected: Vec<Value> = items
                    .iter()
                    .filter_map(|item| item.as_object())
                    .map(|inner| {
                        let mut out = Map::new();
                        copy_path(inner, &mut out, rest);
                        Value::Object(out)
                    })
                    .collect();
                dst.insert(head.to_owned(), Value::Array(projected));
            }
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sort_parses_in_order_and_rejects_junk() {
        let s = Sort::parse(Some(r#"{"ts": -1, "_id": 1}"#)).expect("valid");
        assert_eq!(s.0, vec![(SortField::Ts, Direction::Desc), (SortField::Id, Direction::Asc)]);
        assert_eq!(Sort::parse(None), Ok(Sort::default()));
        for (bad, reason) in [
            (r#"{"ts": 2}"#, r#"the direction of "ts" must be 1 or -1"#),
            (r#"{"nope": 1}"#, r#"cannot sort by "nope""#),
            ("[1]", "not a JSON object"),
            ("{", "not valid JSON"),
            (r#"{"$where": 1}"#, r#"cannot sort by "$where""#),
            (r#"{"ts": "1"}"#, r#"the direction of "ts" must be 1 or -1"#),
        ] {
            let e = Sort::parse(Some(bad)).expect_err(bad);
            assert_eq!(
                e.to_string(),
                format!("Invalid sort parameter provided: \"{bad}\" ({reason}) [error-invalid-sort]")
            );
        }
    }

    #[test]
    fn projection_include_exclude_and_nested() {
        let doc = json!({"_id": "a", "msg": "m", "u": {"_id": "u", "username": "x"}, "e2e": "secret",
            "mentions": [{"_id": "1", "username": "y"}]});
        let p =
            Projection::parse(Some(r#"{"msg": 1, "u.username": 1, "mentions.username": 1}"#)).expect("valid");
        assert_eq!(
            p.apply(doc.clone()),
            json!({"_id": "a", "msg": "m", "u": {"username": "x"}, "mentions": [{"username": "y"}]})
        );
        let p = Projection::parse(Some(r#"{"msg": 0, "_id": 0}"#)).expect("valid");
        assert_eq!(
            p.apply(doc.clone()),
            json!({"u": {"_id": "u", "username": "x"}, "mentions": [{"_id": "1", "username": "y"}]})
        );
        let p = Projection::parse(Some(r#"{"msg": 1, "_id": 0}"#)).expect("valid");
        assert_eq!(p.apply(doc.clone()), json!({"msg": "m"}));
        assert!(Projection::All.apply(doc).get("e2e").is_none());
        for (bad, reason) in [
            (r#"{"msg": 1, "u": 0}"#, "fields cannot be both included and excluded, except _id"),
            (r#"{"msg": 2}"#, r#"the value of "msg" must be 0 or 1"#),
            (r#"{"$where": 1}"#, r#""$where" is not a field that can be projected"#),
            ("x", "not valid JSON"),
            (r#"{"e2e": 1}"#, r#""e2e" is not a field that can be projected"#),
        ] {
            let e = Projection::parse(Some(bad)).expect_err(bad);
            assert_eq!(
                e.to_string(),
                format!("Invalid fields parameter provided: \"{bad}\" ({reason}) [error-invalid-fields]")
            );
        }
    }
}
