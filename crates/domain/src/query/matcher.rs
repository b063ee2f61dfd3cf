//! The in-memory evaluation of a [`Filter`]: the oracle the backends'
//! compilers are tested against (semantics in the [module doc](super)).

use super::{Cond, Field, Filter, Literal, Shape};
use serde_json::Value;
use std::cmp::Ordering;

impl Filter {
    /// Whether the serialised message `doc` matches the filter.
    pub fn matches(&self, doc: &Value) -> bool {
        match self {
            Filter::True => true,
            Filter::And(parts) => parts.iter().all(|p| p.matches(doc)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches(doc)),
            Filter::Nor(parts) => !parts.iter().any(|p| p.matches(doc)),
            Filter::Field { field, cond } => Candidates::of(field, doc).satisfy(cond),
        }
    }
}

/// The values of one field in one document.
struct Candidates<'a> {
    /// Whether the field is there at all (for `$exists`).
    present: bool,
    values: Vec<&'a Value>,
    /// Whether `$eq null` also means "missing" (scalar fields).
    nullable: bool,
}

impl<'a> Candidates<'a> {
    fn of(field: &Field, doc: &'a Value) -> Self {
        match field.shape {
            Shape::Scalar => {
                let value = lookup(doc, field.path);
                Candidates { present: value.is_some(), values: value.into_iter().collect(), nullable: true }
            }
            Shape::Array => match lookup(doc, field.path) {
                Some(Value::Array(items)) => {
                    Candidates { present: true, values: items.iter().collect(), nullable: false }
                }
                _ => Candidates { present: false, values: Vec::new(), nullable: false },
            },
            Shape::InArray { array, sub } => {
                let values: Vec<&Value> = match lookup(doc, array) {
                    Some(Value::Array(items)) => items.iter().filter_map(|item| item.get(sub)).collect(),
                    _ => Vec::new(),
                };
                Candidates { present: !values.is_empty(), values, nullable: false }
            }
        }
    }

    /// Field-level evaluation: `Not`, `All`, `Exists` look at the field as a
    /// whole; the other conditions ask whether some candidate satisfies them.
    fn satisfy(&self, cond: &Cond) -> bool {
        match cond {
            Cond::Not(inner) => !self.satisfy(inner),
            Cond::All(conds) => conds.iter().all(|c| self.satisfy(c)),
            Cond::Exists(wanted) => self.present == *wanted,
            Cond::Eq(lit) => self.eq(lit),
            Cond::In(lits) => lits.iter().any(|lit| self.eq(lit)),
            Cond::Gt(lit) => self.some_cmp(lit, |o| o == Ordering::Greater),
            Cond::Gte(lit) => self.some_cmp(lit, |o| o != Ordering::Less),
            Cond::Lt(lit) => self.some_cmp(lit, |o| o == Ordering::Less),
            Cond::Lte(lit) => self.some_cmp(lit, |o| o != Ordering::Greater),
            Cond::Regex(p) => self.values.iter().any(|v| v.as_str().is_some_and(|s| p.regex.is_match(s))),
        }
    }

    fn eq(&self, lit: &Literal) -> bool {
        match lit {
            Literal::Null => (self.nullable && !self.present) || self.values.iter().any(|v| v.is_null()),
            _ => self.values.iter().any(|v| compare(v, lit) == Some(Ordering::Equal)),
        }
    }

    /// Whether some candidate of the literal's type compares as `want` says.
    /// Only numbers and strings have an order here.
    fn some_cmp(&self, lit: &Literal, want: impl Fn(Ordering) -> bool) -> bool {
        matches!(lit, Literal::Number(_) | Literal::String(_))
            && self.values.iter().any(|v| compare(v, lit).is_some_and(&want))
    }
}

/// The value at a dotted path through nested objects.
fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |value, key| value.as_object()?.get(key))
}

/// Type-bracketed comparison of a candidate with a literal: `None` when
/// their types differ (a number never equals a string).
fn compare(value: &Value, lit: &Literal) -> Option<Ordering> {
    match (value, lit) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(a), Literal::Number(b)) => a.as_f64()?.partial_cmp(b),
        (Value::String(a), Literal::String(b)) => Some(a.as_str().cmp(b.as_str())),
        _ => None,
    }
}
