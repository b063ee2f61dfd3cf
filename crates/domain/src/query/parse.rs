//! Parsing the `query` parameter into a [`Filter`]. (Being written.)

use super::Filter;
use crate::error::Error;

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
        Limits { max_bytes: 8192, max_depth: 6, max_nodes: 64, max_string: 1024, max_regex: 256, max_in: 100 }
    }
}

impl Filter {
    /// Parses the raw `query` parameter. Absent or blank: [`Filter::True`].
    /// Any refusal is `Invalid query parameter provided: "<raw>"
    /// [error-invalid-query]`.
    pub fn parse(raw: Option<&str>) -> Result<Filter, Error> {
        Filter::parse_with(raw, &Limits::default())
    }

    pub fn parse_with(raw: Option<&str>, limits: &Limits) -> Result<Filter, Error> {
        let _ = limits;
        match raw.filter(|r| !r.trim().is_empty()) {
            None => Ok(Filter::True),
            Some(raw) => Err(Error::rejected(
                format!("Invalid query parameter provided: \"{raw}\""),
                "error-invalid-query",
            )),
        }
    }
}
