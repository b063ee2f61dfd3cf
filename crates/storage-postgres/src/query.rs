//! Compiling the query language (`threadsync_domain::query`) to PostgreSQL
//! SQL.
//!
//! The output is a boolean SQL expression over the `jsonb` column `doc` (the
//! message document), with every literal passed as a parameter: no client
//! text ever becomes SQL. Field paths come from the static allow-list (they
//! contain only `[A-Za-z_.]`, so the `'{a,b}'` path literals built from them
//! are safe). The caller ANDs the expression into the endpoint's own filter:
//! a query can only narrow.
//!
//! The semantics are the matcher's ([`Filter::matches`]), built the same way
//! as the SQLite compiler:
//! - **Never NULL.** Every expression is `true` or `false`, so `NOT` means
//!   what it means in the matcher. A missing field reads as SQL NULL, so each
//!   test either handles NULL explicitly (`COALESCE`) or sits in a `CASE`
//!   whose `ELSE` is `FALSE`.
//! - **Type bracketing** with `jsonb_typeof` (`'string' 'number' 'boolean'
//!   'null' 'array' 'object'`). PostgreSQL does not promise to evaluate the
//!   operands of `AND` left to right, so a type test in an `AND` could not
//!   protect a cast; casts sit in `CASE WHEN jsonb_typeof(x) = ... THEN ...
//!   ELSE FALSE END`, whose evaluation order is guaranteed. Likewise the
//!   array given to `jsonb_array_elements` is always an array (`'[]'` when the
//!   field is not one), so no evaluation order can make it fail.
//! - **Numbers** compare as `float8` (the matcher's `f64`), **strings**
//!   byte-wise (`COLLATE "C"`, the code-point order of UTF-8), **dates** as
//!   the ISO strings they are stored as.
//!
//! **Regular expressions** are not run in PostgreSQL: its engine is another
//! dialect and not guaranteed linear. A `$regex` condition compiles to an
//! over-approximation that depends on its polarity (how many negations sit
//! above it): "some candidate is a string" in positive position, `FALSE`
//! under an odd number of negations. The whole expression then selects a
//! superset of the matches, [`Compiled::exact`] is `false`, and the caller
//! re-checks each row with [`Filter::matches`]. Queries without `$regex`
//! are compiled exactly.

use threadsync_domain::query::{Cond, Field, Filter, Literal, Shape};

/// A statement parameter.
pub(crate) type Param = Box<dyn tokio_postgres::types::ToSql + Sync + Send>;

/// A compiled filter.
#[derive(Debug)]
pub(crate) struct Compiled {
    /// A boolean SQL expression over the `jsonb` column `doc`; never NULL.
    pub sql: String,
    /// `false` when the filter uses `$regex`: `sql` then selects a superset
    /// of the matches and every row must be re-checked with
    /// [`Filter::matches`].
    pub exact: bool,
}

/// Boolean SQL over the jsonb column `doc`; placeholders `$N` continue after
/// the params already in `params` (N = params.len() after push, 1-based).
/// `exact == false` when the filter uses $regex: `sql` then selects a
/// SUPERSET of the matches and the caller re-checks each row with
/// `Filter::matches`.
pub(crate) fn compile(filter: &Filter, params: &mut Vec<Param>) -> Compiled {
    let mut compiler = Compiler { params, exact: true };
    let sql = compiler.filter(filter, Polarity::Positive);
    Compiled { sql, exact: compiler.exact }
}

/// Whether an even (`Positive`) or odd (`Negative`) number of negations sit
/// above the expression being compiled: which way a regex atom may err.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Polarity {
    Positive,
    Negative,
}

impl Polarity {
    fn flip(self) -> Self {
        match self {
            Polarity::Positive => Polarity::Negative,
            Polarity::Negative => Polarity::Positive,
        }
    }
}

struct Compiler<'a> {
    params: &'a mut Vec<Param>,
    /// Cleared when an approximated (regex) atom is compiled.
    exact: bool,
}

impl Compiler<'_> {
    /// Appends a text parameter and returns its typed placeholder.
    fn text(&mut self, value: &str) -> String {
        self.params.push(Box::new(value.to_owned()));
        format!("${}::text", self.params.len())
    }

    /// Appends a float8 parameter and returns its typed placeholder.
    fn float(&mut self, value: f64) -> String {
        self.params.push(Box::new(value));
        format!("${}::float8", self.params.len())
    }

    fn filter(&mut self, filter: &Filter, polarity: Polarity) -> String {
        match filter {
            Filter::True => "TRUE".to_owned(),
            Filter::And(parts) => self.join(parts, " AND ", "TRUE", polarity),
            Filter::Or(parts) => self.join(parts, " OR ", "FALSE", polarity),
            Filter::Nor(parts) => format!("(NOT {})", self.join(parts, " OR ", "FALSE", polarity.flip())),
            Filter::Field { field, cond } => self.field_cond(field, cond, polarity),
        }
    }

    fn join(&mut self, parts: &[Filter], op: &str, empty: &str, polarity: Polarity) -> String {
        if parts.is_empty() {
            return empty.to_owned();
        }
        let sql: Vec<String> = parts.iter().map(|p| self.filter(p, polarity)).collect();
        format!("({})", sql.join(op))
    }

    /// A condition at the level of a field: `Not`, `All` and `Exists` look at
    /// the field as a whole; the other operators ask "does some candidate
    /// satisfy?".
    fn field_cond(&mut self, field: &Field, cond: &Cond, polarity: Polarity) -> String {
        match cond {
            Cond::Not(inner) => format!("(NOT {})", self.field_cond(field, inner, polarity.flip())),
            Cond::All(conds) => {
                if conds.is_empty() {
                    return "TRUE".to_owned();
                }
                let sql: Vec<String> = conds.iter().map(|c| self.field_cond(field, c, polarity)).collect();
                format!("({})", sql.join(" AND "))
            }
            Cond::Exists(true) => exists(field),
            Cond::Exists(false) => format!("(NOT {})", exists(field)),
            atomic => self.some_candidate(field, atomic, polarity),
        }
    }

    /// "Some candidate satisfies `cond`", for the operators that test values.
    fn some_candidate(&mut self, field: &Field, cond: &Cond, polarity: Polarity) -> String {
        match field.shape {
            Shape::Scalar => self.value_test(&scalar(field.path), cond, true, polarity),
            Shape::Array => {
                let test = self.value_test("e.value", cond, false, polarity);
                format!("(EXISTS (SELECT 1 FROM {} AS e WHERE {test}))", elements(field.path))
            }
            Shape::InArray { array, sub } => {
                let test = self.value_test("c.v", cond, false, polarity);
                format!("(EXISTS (SELECT 1 FROM {} AS c WHERE {test}))", sub_values(array, sub))
            }
        }
    }

    /// A test of one candidate `x` (a jsonb expression, SQL NULL when there
    /// is no candidate). `nullable`: whether `$eq null` also means "missing"
    /// (scalar fields).
    fn value_test(&mut self, x: &str, cond: &Cond, nullable: bool, polarity: Polarity) -> String {
        match cond {
            Cond::Eq(lit) => self.equals(x, lit, nullable),
            Cond::Gt(lit) => self.compare(x, ">", lit),
            Cond::Gte(lit) => self.compare(x, ">=", lit),
            Cond::Lt(lit) => self.compare(x, "<", lit),
            Cond::Lte(lit) => self.compare(x, "<=", lit),
            Cond::In(lits) => {
                if lits.is_empty() {
                    return "FALSE".to_owned();
                }
                let sql: Vec<String> = lits.iter().map(|l| self.equals(x, l, nullable)).collect();
                format!("({})", sql.join(" OR "))
            }
            Cond::Regex(_) => {
                // Not evaluated here: an over-approximation in positive
                // position, an under-approximation in negative position, so
                // the whole expression selects a superset of the matches.
                self.exact = false;
                match polarity {
                    Polarity::Positive => format!("(COALESCE(jsonb_typeof({x}) = 'string', FALSE))"),
                    Polarity::Negative => "FALSE".to_owned(),
                }
            }
            // Field-level operators never reach a single candidate (they are
            // handled by `field_cond`); answer "no match" rather than guess.
            Cond::Not(_) | Cond::All(_) | Cond::Exists(_) => "FALSE".to_owned(),
        }
    }

    /// `$eq`, type-bracketed.
    fn equals(&mut self, x: &str, lit: &Literal, nullable: bool) -> String {
        match lit {
            Literal::Null if nullable => format!("(COALESCE(jsonb_typeof({x}), 'null') = 'null')"),
            Literal::Null => format!("(COALESCE(jsonb_typeof({x}) = 'null', FALSE))"),
            // jsonb equality never fails and a boolean only equals itself.
            Literal::Bool(b) => format!("(COALESCE({x} = '{b}'::jsonb, FALSE))"),
            Literal::Number(_) | Literal::String(_) => self.compare(x, "=", lit),
        }
    }

    /// Type-bracketed comparison: only candidates of the literal's JSON type
    /// compare; null and booleans have no order.
    fn compare(&mut self, x: &str, op: &str, lit: &Literal) -> String {
        match lit {
            Literal::Number(n) => {
                let p = self.float(*n);
                format!("(CASE WHEN jsonb_typeof({x}) = 'number' THEN ({x})::float8 {op} {p} ELSE FALSE END)")
            }
            Literal::String(s) => {
                let p = self.text(s);
                format!(
                    "(CASE WHEN jsonb_typeof({x}) = 'string' THEN ({x} #>> '{{}}') COLLATE \"C\" {op} {p} \
                     ELSE FALSE END)"
                )
            }
            Literal::Null | Literal::Bool(_) => "FALSE".to_owned(),
        }
    }
}

/// The jsonb path literal of a dotted field path (`'{u,_id}'`).
fn path_literal(path: &str) -> String {
    format!("'{{{}}}'", path.replace('.', ","))
}

/// The value of a scalar field (SQL NULL when missing).
fn scalar(path: &str) -> String {
    format!("(doc #> {})", path_literal(path))
}

/// The elements of the array at `path`, as rows `e(value)`; none when the
/// field is missing or not an array (the guard is inside the argument, so it
/// holds whatever order PostgreSQL evaluates things in).
fn elements(path: &str) -> String {
    let arr = scalar(path);
    format!("jsonb_array_elements(CASE WHEN jsonb_typeof({arr}) = 'array' THEN {arr} ELSE '[]'::jsonb END)")
}

/// The sub-field `sub` of each element of the array at `array`, as rows
/// `(v)`: SQL NULL for an element that is not an object or lacks `sub`.
fn sub_values(array: &str, sub: &str) -> String {
    format!(
        "(SELECT (CASE WHEN jsonb_typeof(e.value) = 'object' THEN e.value -> '{sub}' END) AS v FROM {} AS e)",
        elements(array)
    )
}

/// `$exists: true`: the field has a candidate, a JSON null included (for an
/// array field: the array itself is there).
fn exists(field: &Field) -> String {
    match field.shape {
        Shape::Scalar => format!("({} IS NOT NULL)", scalar(field.path)),
        Shape::Array => format!("(COALESCE(jsonb_typeof({}) = 'array', FALSE))", scalar(field.path)),
        Shape::InArray { array, sub } => {
            format!("(EXISTS (SELECT 1 FROM {} AS c WHERE c.v IS NOT NULL))", sub_values(array, sub))
        }
    }
}

#[cfg(test)]
mod tests {
    //! The compiler against the matcher on a real PostgreSQL (when
    //! `TEST_DATABASE_URL` is set, else ignored), plus checks of the SQL text that need no
    //! database.

    use super::{compile, Param};
    use serde_json::{json, Map, Value};
    use std::collections::BTreeSet;
    use threadsync_domain::query::{Cond, Filter, ValueKind, FIELDS};
    use tokio_postgres::types::ToSql;
    use tokio_postgres::{Client, NoTls};

    fn parse(raw: &str) -> Filter {
        match Filter::parse(Some(raw)) {
            Ok(f) => f,
            Err(e) => panic!("{raw} should parse: {e}"),
        }
    }

    /// Whether the filter uses `$regex` anywhere.
    fn has_regex(filter: &Filter) -> bool {
        fn cond(c: &Cond) -> bool {
            match c {
                Cond::Regex(_) => true,
                Cond::Not(inner) => cond(inner),
                Cond::All(cs) => cs.iter().any(cond),
                _ => false,
            }
        }
        match filter {
            Filter::True => false,
            Filter::And(ps) | Filter::Or(ps) | Filter::Nor(ps) => ps.iter().any(has_regex),
            Filter::Field { cond: c, .. } => cond(c),
        }
    }

    #[test]
    fn placeholders_continue_after_the_callers_params() {
        let mut params: Vec<Param> = vec![Box::new("room".to_owned()), Box::new(7i64)];
        let c = compile(
            &parse(r#"{"msg": "x", "tcount": {"$gt": 1}, "u._id": {"$in": ["a", "b"]}}"#),
            &mut params,
        );
        assert_eq!(params.len(), 6);
        for p in ["$3::text", "$4::float8", "$5::text", "$6::text"] {
            assert!(c.sql.contains(p), "{p} in {}", c.sql);
        }
        assert!(!c.sql.contains("$7") && !c.sql.contains("$1:") && !c.sql.contains("$2:"));
        assert!(c.exact);
    }

    #[test]
    fn client_text_never_becomes_sql() {
        let evil = r#"x'); DROP TABLE m; -- $1 \"C\" {a,b}"#;
        let raw = json!({"$or": [
            {"msg": evil}, {"alias": {"$gt": evil}}, {"u.name": {"$regex": evil.replace(['(', ')', '\\', '{', '}', '$'], "")}},
        ]})
        .to_string();
        let mut params = Vec::new();
        let c = compile(&parse(&raw), &mut params);
        assert!(!c.sql.contains("DROP") && !c.sql.contains("--"), "{}", c.sql);
        assert_eq!(params.len(), 2, "the two string literals are parameters; the regex is not sent");
    }

    #[test]
    fn strings_compare_byte_wise_whatever_the_database_collation() {
        // The test database may well use a code-point collation already, so
        // the oracle below would not notice a missing COLLATE "C".
        for raw in [
            r#"{"msg": "a"}"#,
            r#"{"msg": {"$gt": "a"}}"#,
            r#"{"ts": {"$lte": {"$date": 0}}}"#,
            r#"{"replies": {"$lt": "a"}}"#,
            r#"{"mentions.username": {"$gte": "a"}}"#,
        ] {
            let c = compile(&parse(raw), &mut Vec::new());
            assert!(c.sql.contains(r#" COLLATE "C" "#), "{raw}: {}", c.sql);
        }
    }

    #[test]
    fn exact_unless_regex_and_regex_atoms_follow_polarity() {
        let mut params = Vec::new();
        assert!(compile(&Filter::True, &mut params).exact);
        assert_eq!(compile(&Filter::True, &mut params).sql, "TRUE");
        let exact =
            r#"{"$nor": [{"msg": {"$not": {"$in": ["a", 1, true]}}}, {"mentions._id": {"$exists": 0}}]}"#;
        assert!(compile(&parse(exact), &mut params).exact);
        let positive = compile(&parse(r#"{"msg": {"$regex": "^h"}}"#), &mut params);
        assert!(!positive.exact);
        assert_eq!(positive.sql, "(COALESCE(jsonb_typeof((doc #> '{msg}')) = 'string', FALSE))");
        let negative = compile(&parse(r#"{"msg": {"$not": {"$regex": "^h"}}}"#), &mut params);
        assert_eq!((negative.exact, negative.sql.as_str()), (false, "(NOT FALSE)"));
        let double = compile(&parse(r#"{"$nor": [{"msg": {"$not": {"$regex": "^h"}}}]}"#), &mut params);
        assert!(double.sql.contains("'string'"), "{}", double.sql);
    }

    // ---- Against PostgreSQL -------------------------------------------------

    /// A small deterministic generator (splitmix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }

        fn pick<T: Clone>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())].clone()
        }
    }

    const WORDS: &[&str] = &[
        "hello",
        "Hello World",
        "été",
        "ÉTÉ",
        "rust",
        "b",
        "",
        "a.b",
        "zz top",
        "Ünïcode",
        "😀 grin",
        "\u{ffff}",
        "2",
        "true",
        "null",
        "it's",
        "%_",
        "back\\slash",
        "quo\"te",
        "line\nbreak",
    ];

    const DATES: &[&str] = &[
        "2019-04-16T18:30:46.615Z",
        "2019-04-16T18:30:46.616Z",
        "2020-01-01T00:00:00.000Z",
        "2021-06-30T12:00:00.000Z",
        "1970-01-01T00:00:00.000Z",
        "2024-02-29T23:59:59.999Z",
    ];

    const USERS: &[(&str, &str)] = &[("u1", "alice"), ("u2", "bob"), ("u3", "été"), ("u4", "Bob")];

    fn numbers() -> Vec<Value> {
        vec![
            json!(0),
            json!(1),
            json!(2),
            json!(-3),
            json!(1.5),
            json!(-0.0),
            json!(2.0),
            json!(0.1),
            json!(1e20),
            json!(9_007_199_254_740_993u64),
            json!(9_007_199_254_740_992u64),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1e-300),
        ]
    }

    fn any_json(rng: &mut Rng) -> Value {
        match rng.below(9) {
            0 => Value::Null,
            1 => Value::Bool(rng.chance(50)),
            2 | 3 => rng.pick(&numbers()),
            4..=6 => json!(rng.pick(WORDS)),
            7 => json!(["x", 1, null, ["hello"]]),
            _ => json!({"k": "v", "_id": "u1"}),
        }
    }

    fn user(rng: &mut Rng) -> Value {
        let (id, name) = rng.pick(USERS);
        match rng.below(12) {
            0 => json!("u1"),
            1 => json!([{"_id": id}]),
            2 => Value::Null,
            3 => json!({"_id": null, "username": 5}),
            4 => json!({"_id": {"x": id}, "username": [name]}),
            _ => {
                let mut u = Map::new();
                u.insert("_id".into(), json!(id));
                if rng.chance(85) {
                    u.insert("username".into(), json!(name));
                }
                if rng.chance(50) {
                    u.insert("name".into(), json!(rng.pick(WORDS)));
                }
                Value::Object(u)
            }
        }
    }

    fn mentions(rng: &mut Rng) -> Value {
        match rng.below(10) {
            0 => json!({"_id": "u1", "username": "alice"}),
            1 => json!("u1"),
            2 => Value::Null,
            _ => {
                let n = rng.below(4);
                let items: Vec<Value> = (0..n)
                    .map(|_| {
                        let (id, name) = rng.pick(USERS);
                        match rng.below(10) {
                            0 => json!("_id"),
                            1 => Value::Null,
                            2 => json!({"_id": null}),
                            3 => json!({"username": 5, "name": name}),
                            4 => json!([{"_id": id}]),
                            5 => json!({"_id": id, "username": rng.pick(WORDS)}),
                            _ => json!({"_id": id, "username": name, "type": "user"}),
                        }
                    })
                    .collect();
                Value::Array(items)
            }
        }
    }

    fn channels(rng: &mut Rng) -> Value {
        match rng.below(8) {
            0 => json!("general"),
            1 => json!({"name": "general"}),
            _ => {
                let n = rng.below(3);
                let items: Vec<Value> = (0..n)
                    .map(|_| match rng.below(6) {
                        0 => json!({"_id": "C1"}),
                        1 => json!({"name": null, "_id": 3}),
                        2 => json!("rust"),
                        _ => {
                            let c = rng.below(2);
                            let name = ["general", "rust"][c];
                            json!({"_id": format!("C{c}"), "name": name})
                        }
                    })
                    .collect();
                Value::Array(items)
            }
        }
    }

    fn replies(rng: &mut Rng) -> Value {
        match rng.below(8) {
            0 => json!("u1"),
            1 => json!({"0": "u1"}),
            2 => Value::Null,
            _ => {
                let n = rng.below(4);
                let items: Vec<Value> = (0..n)
                    .map(|_| match rng.below(8) {
                        0 => json!(["u1"]),
                        1 => Value::Null,
                        2 => json!(1),
                        3 => json!(rng.pick(WORDS)),
                        _ => json!(rng.pick(USERS).0),
                    })
                    .collect();
                Value::Array(items)
            }
        }
    }

    /// Sets `key` to `value` with probability `percent`.
    fn maybe(
        rng: &mut Rng,
        doc: &mut Map<String, Value>,
        percent: usize,
        key: &str,
        value: impl FnOnce(&mut Rng) -> Value,
    ) {
        if rng.chance(percent) {
            let value = value(rng);
            doc.insert(key.to_owned(), value);
        }
    }

    fn date_or_odd(rng: &mut Rng) -> Value {
        match rng.below(10) {
            0 => Value::Null,
            1 => json!(1_555_439_446_615u64),
            2 => json!({"$date": "2019-04-16T18:30:46.615Z"}),
            _ => json!(rng.pick(DATES)),
        }
    }

    fn document(rng: &mut Rng, i: usize) -> Value {
        let mut d = Map::new();
        d.insert("_id".into(), json!(format!("d{i:02}")));
        maybe(rng, &mut d, 90, "rid", |rng| json!(rng.pick(&["GENERAL", "room2"])));
        if rng.chance(40) {
            let tmid = if rng.chance(80) { json!(rng.pick(&["d00", "d01"])) } else { Value::Null };
            d.insert("tmid".into(), tmid);
        }
        maybe(
            rng,
            &mut d,
            95,
            "msg",
            |rng| if rng.chance(85) { json!(rng.pick(WORDS)) } else { any_json(rng) },
        );
        maybe(rng, &mut d, 20, "t", |rng| json!(rng.pick(&["uj", "ul", "rm"])));
        maybe(rng, &mut d, 80, "alias", any_json);
        maybe(rng, &mut d, 30, "emoji", |rng| json!(rng.pick(&[":smile:", "😀", ""])));
        maybe(rng, &mut d, 95, "u", user);
        maybe(rng, &mut d, 30, "editedBy", user);
        maybe(rng, &mut d, 95, "ts", |rng| json!(rng.pick(DATES)));
        maybe(rng, &mut d, 90, "_updatedAt", |rng| json!(rng.pick(DATES)));
        maybe(rng, &mut d, 30, "editedAt", date_or_odd);
        maybe(rng, &mut d, 40, "tlm", date_or_odd);
        maybe(
            rng,
            &mut d,
            50,
            "tcount",
            |rng| if rng.chance(60) { rng.pick(&numbers()) } else { any_json(rng) },
        );
        let flag = |rng: &mut Rng| match rng.below(6) {
            0 => Value::Null,
            1 => json!("true"),
            2 => json!(1),
            _ => Value::Bool(rng.chance(50)),
        };
        maybe(rng, &mut d, 50, "tshow", flag);
        maybe(rng, &mut d, 40, "pinned", flag);
        maybe(rng, &mut d, 40, "replies", replies);
        maybe(rng, &mut d, 70, "mentions", mentions);
        maybe(rng, &mut d, 50, "channels", channels);
        maybe(rng, &mut d, 10, "e2e", |_| json!("secret"));
        Value::Object(d)
    }

    /// A literal for a field (sometimes of the wrong type, so that type
    /// bracketing and the parser's refusals are exercised).
    fn literal(rng: &mut Rng, date: bool) -> Value {
        if date {
            return match rng.below(8) {
                0 => json!({"$date": rng.pick(DATES)}),
                1 => json!({"$date": rng.pick(&[0u64, 1_555_439_446_615, 1_555_439_446_616])}),
                2 => {
                    json!(rng.pick(&["2019-04-16", "2019-04-16T18:30:46Z", "2019-04-16T18:30:46.615+02:00"]))
                }
                3 => json!(1),
                _ => json!(rng.pick(DATES)),
            };
        }
        match rng.below(12) {
            0..=4 => json!(rng.pick(WORDS)),
            5 => {
                json!(rng.pick(&["u1", "u2", "alice", "bob", "C0", "C1", "general", "rust", "d00", "GENERAL"]))
            }
            6 | 7 => rng.pick(&numbers()),
            8 => Value::Bool(rng.chance(50)),
            9 => Value::Null,
            10 => json!(rng.pick(&["uj", ":smile:", "😀", "secret", "nothing"])),
            _ => json!(rng.pick(&[1, 3, 5])),
        }
    }

    fn regex(rng: &mut Rng) -> Value {
        let pattern = rng.pick(&[
            "^h", "o", "été", "^$", "W.r", "^[a-z]+$", "\\.", "u", "^r", "ü", "(a+)+$", "^\\d+$", "^", "\\n",
            "b$",
        ]);
        match rng.pick(&["", "", "i", "m", "is", "x"]) {
            "" => json!({"$regex": pattern}),
            options => json!({"$regex": pattern, "$options": options}),
        }
    }

    /// An operator document (or a bare literal) for one field.
    fn condition(rng: &mut Rng, date: bool, depth: usize) -> Value {
        let lit = |rng: &mut Rng| literal(rng, date);
        let list = |rng: &mut Rng| {
            let n = rng.below(4);
            Value::Array((0..n).map(|_| literal(rng, date)).collect())
        };
        match rng.below(17) {
            0..=2 => lit(rng),
            3 => json!({"$eq": lit(rng)}),
            4 => json!({"$ne": lit(rng)}),
            5 => json!({"$gt": lit(rng)}),
            6 => json!({"$gte": lit(rng)}),
            7 => json!({"$lt": lit(rng)}),
            8 => json!({"$lte": lit(rng)}),
            9 => json!({"$in": list(rng)}),
            10 => json!({"$nin": list(rng)}),
            11 => json!({"$exists": rng.pick(&[json!(true), json!(false), json!(0), json!(1)])}),
            12 | 13 => regex(rng),
            14 => json!({"$gte": lit(rng), "$lt": lit(rng)}),
            15 if depth < 2 => {
                let inner = condition(rng, date, depth + 1);
                if inner.as_object().is_some_and(|m| m.keys().all(|k| k.starts_with('$'))) {
                    json!({"$not": inner})
                } else {
                    json!({"$not": {"$eq": inner}})
                }
            }
            _ => {
                // Several operators on one field, a regex among them.
                let mut ops = Map::new();
                if let Value::Object(m) = regex(rng) {
                    ops.extend(m);
                }
                ops.insert(rng.pick(&["$ne", "$gt", "$lte"]).to_owned(), lit(rng));
                Value::Object(ops)
            }
        }
    }

    fn field_query(rng: &mut Rng) -> Value {
        let field = rng.pick(FIELDS);
        let cond = condition(rng, field.kind == ValueKind::Date, 0);
        json!({ field.path: cond })
    }

    /// Whole queries: field conditions combined with `$and`, `$or`, `$nor`
    /// and multi-key objects, a few levels deep.
    fn query(rng: &mut Rng, depth: usize) -> Value {
        if depth >= 3 || rng.chance(45) {
            return field_query(rng);
        }
        let n = 1 + rng.below(3);
        let parts: Vec<Value> = (0..n).map(|_| query(rng, depth + 1)).collect();
        match rng.below(4) {
            0 => json!({"$and": parts}),
            1 => json!({"$or": parts}),
            2 => json!({"$nor": parts}),
            _ => {
                let mut merged = Map::new();
                for p in parts {
                    if let Value::Object(m) = p {
                        merged.extend(m);
                    }
                }
                Value::Object(merged)
            }
        }
    }

    /// Queries aimed at the corners of the semantics.
    const CORNERS: &[&str] = &[
        r#"{}"#,
        r#"{"tcount": "2"}"#,
        r#"{"tcount": 2}"#,
        r#"{"tcount": {"$gte": 9007199254740992}}"#,
        r#"{"tcount": {"$eq": 9007199254740993}}"#,
        r#"{"tcount": {"$lt": -9223372036854775808}}"#,
        r#"{"tcount": {"$lte": -9223372036854775808}}"#,
        r#"{"tcount": -0.0}"#,
        r#"{"tcount": {"$gt": 1e-301}}"#,
        r#"{"tcount": {"$ne": 1}}"#,
        r#"{"tcount": {"$not": {"$gt": 1}}}"#,
        r#"{"alias": null}"#,
        r#"{"alias": {"$ne": null}}"#,
        r#"{"alias": {"$in": [null, "b"]}}"#,
        r#"{"alias": {"$nin": [null, 1.5, true]}}"#,
        r#"{"alias": {"$exists": false}}"#,
        r#"{"alias": {"$gt": ""}}"#,
        r#"{"alias": {"$lt": "é"}}"#,
        r#"{"alias": {"$gt": "\uffff"}}"#,
        r#"{"alias": {"$lt": "😀"}}"#,
        r#"{"alias": true}"#,
        r#"{"alias": {"$ne": false}}"#,
        r#"{"u._id": null}"#,
        r#"{"u._id": {"$exists": true}}"#,
        r#"{"u.username": {"$in": []}}"#,
        r#"{"u.username": {"$nin": []}}"#,
        r#"{"mentions._id": "u1"}"#,
        r#"{"mentions._id": {"$exists": true}}"#,
        r#"{"mentions._id": {"$exists": false}}"#,
        r#"{"mentions._id": {"$ne": "u1"}}"#,
        r#"{"mentions.username": {"$gt": "b"}}"#,
        r#"{"channels.name": {"$nin": ["general"]}}"#,
        r#"{"channels._id": {"$not": {"$exists": true}}}"#,
        r#"{"replies": "u1"}"#,
        r#"{"replies": {"$exists": true}}"#,
        r#"{"replies": {"$exists": false}}"#,
        r#"{"replies": {"$ne": "u1"}}"#,
        r#"{"replies": {"$gte": 1}}"#,
        r#"{"tshow": true}"#,
        r#"{"tshow": {"$ne": true}}"#,
        r#"{"pinned": null}"#,
        r#"{"ts": {"$gt": "2019-04-16T18:30:46.615Z"}}"#,
        r#"{"ts": {"$gte": {"$date": 1555439446615}}}"#,
        r#"{"editedAt": {"$lt": {"$date": "2030-01-01T00:00:00Z"}}}"#,
        r#"{"tlm": {"$exists": true, "$ne": null}}"#,
        r#"{"msg": {"$regex": "^h", "$options": "i"}}"#,
        r#"{"msg": {"$not": {"$regex": "^h", "$options": "i"}}}"#,
        r#"{"$nor": [{"msg": {"$regex": "o"}}]}"#,
        r#"{"$nor": [{"msg": {"$not": {"$regex": "o"}}}]}"#,
        r#"{"$or": [{"alias": {"$regex": "."}}, {"tcount": {"$gt": 1}}]}"#,
        r#"{"replies": {"$regex": "^u"}}"#,
        r#"{"mentions.username": {"$regex": "É", "$options": "i"}}"#,
        r#"{"mentions.username": {"$not": {"$regex": "^b"}}}"#,
        r#"{"tcount": {"$regex": "1"}}"#,
        r#"{"$and": [{"msg": {"$regex": "^$"}}, {"msg": {"$exists": true}}]}"#,
        r#"{"$nor": [{"$or": [{"alias": {"$regex": "e"}}, {"msg": {"$ne": "hello"}}]}]}"#,
    ];

    struct Table {
        client: Client,
        schema: String,
    }

    impl Table {
        /// The ids (in order) of the rows the compiled filter selects, as
        /// the SQL says and after the matcher's re-check.
        async fn select(&self, filter: &Filter) -> Result<(bool, Vec<String>, Vec<String>), String> {
            // A parameter of the caller's own comes first, as in the store.
            let mut params: Vec<Param> = vec![Box::new(0i32)];
            let compiled = compile(filter, &mut params);
            let sql = format!(
                "SELECT id, doc::text FROM {}.docs WHERE n >= $1::int4 AND {} ORDER BY id",
                self.schema, compiled.sql
            );
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
            let rows = self.client.query(&sql, &refs).await.map_err(|e| format!("{e:?}\n  SQL: {sql}"))?;
            // Never NULL, on any row: otherwise NOT would not mean what it
            // means in the matcher.
            let nulls = format!(
                "SELECT count(*) FROM {}.docs WHERE n >= $1::int4 AND ({}) IS NULL",
                self.schema, compiled.sql
            );
            let nulls: i64 = self.client.query_one(&nulls, &refs).await.map_err(|e| format!("{e:?}"))?.get(0);
            if nulls != 0 {
                return Err(format!("NULL on {nulls} rows\n  SQL: {sql}"));
            }
            let mut raw = Vec::new();
            let mut checked = Vec::new();
            for row in rows {
                let id: String = row.get(0);
                let text: String = row.get(1);
                let doc: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                if compiled.exact || filter.matches(&doc) {
                    checked.push(id.clone());
                }
                raw.push(id);
            }
            Ok((compiled.exact, raw, checked))
        }
    }

    #[tokio::test]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
    async fn compiled_sql_agrees_with_the_matcher_on_postgres() {
        let url = crate::test_support::database_url();
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
        let driver = tokio::spawn(connection);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let schema = format!("ts_query_test_{}_{nanos}", std::process::id());
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; CREATE TABLE {schema}.docs (n int4 NOT NULL, id text PRIMARY KEY, doc jsonb NOT NULL)"
            ))
            .await
            .expect("create the schema");
        let table = Table { client, schema };
        let outcome = run(&table).await;
        table
            .client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", table.schema))
            .await
            .expect("drop the schema");
        drop(table);
        driver.abort();
        match outcome {
            Ok(summary) => eprintln!("{summary}"),
            Err(failures) => panic!("{} failure(s):\n{}", failures.len(), failures.join("\n")),
        }
    }

    /// Inserts the documents and runs the queries; every disagreement is
    /// collected (so the schema is dropped before the test fails).
    async fn run(table: &Table) -> Result<String, Vec<String>> {
        let mut rng = Rng(0x7468_7265_6164_7379);
        let docs: Vec<(String, Value)> =
            (0..60).map(|i| (format!("d{i:02}"), document(&mut rng, i))).collect();
        let insert =
            format!("INSERT INTO {}.docs (n, id, doc) VALUES ($1, $2, $3::text::jsonb)", table.schema);
        for (n, (id, doc)) in docs.iter().enumerate() {
            let n = i32::try_from(n).unwrap_or(i32::MAX);
            table
                .client
                .execute(&insert, &[&n, id, &doc.to_string()])
                .await
                .map_err(|e| vec![e.to_string()])?;
        }

        let mut queries: Vec<String> = CORNERS.iter().map(|q| (*q).to_owned()).collect();
        queries.extend((0..700).map(|_| query(&mut rng, 0).to_string()));
        let mut failures = Vec::new();
        let (mut ran, mut refused, mut approximate, mut nonempty) = (0, 0, 0, 0);
        for raw in &queries {
            let Ok(filter) = Filter::parse(Some(raw)) else {
                refused += 1;
                continue;
            };
            ran += 1;
            let expected: Vec<String> =
                docs.iter().filter(|(_, d)| filter.matches(d)).map(|(id, _)| id.clone()).collect();
            let (exact, raw_ids, checked) = match table.select(&filter).await {
                Ok(result) => result,
                Err(e) => {
                    failures.push(format!("query {raw}: backend error {e}"));
                    continue;
                }
            };
            if !expected.is_empty() {
                nonempty += 1;
            }
            if !exact {
                approximate += 1;
            }
            if exact == has_regex(&filter) {
                failures.push(format!("query {raw}: exact = {exact}"));
            }
            let superset: BTreeSet<&String> = raw_ids.iter().collect();
            let missing: Vec<&String> = expected.iter().filter(|id| !superset.contains(id)).collect();
            if !missing.is_empty() {
                failures.push(format!("query {raw}: the SQL misses matches {missing:?}"));
            }
            if checked != expected {
                let show = |id: &String| {
                    docs.iter().find(|(d, _)| d == id).map(|(_, v)| v.to_string()).unwrap_or_default()
                };
                let only_sql: Vec<&String> = checked.iter().filter(|id| !expected.contains(id)).collect();
                let only_matcher: Vec<&String> = expected.iter().filter(|id| !checked.contains(id)).collect();
                let mut text =
                    format!("query {raw}\n  only in SQL: {only_sql:?}\n  only in matcher: {only_matcher:?}");
                for id in only_sql.iter().chain(&only_matcher).take(3) {
                    text.push_str(&format!("\n  {id}: {}", show(id)));
                }
                failures.push(text);
            }
        }
        if ran * 2 < queries.len() || nonempty * 4 < ran || approximate * 10 < ran {
            failures.push(format!(
                "the generator tests too little: {ran} ran, {refused} refused, {nonempty} non-empty, {approximate} with $regex"
            ));
        }
        if failures.is_empty() {
            Ok(format!(
                "postgres query compiler: {ran} queries ({approximate} with $regex, {nonempty} with matches; \
                 {refused} refused by the parser) over {} documents: 0 disagreements",
                docs.len()
            ))
        } else {
            Err(failures)
        }
    }
}
