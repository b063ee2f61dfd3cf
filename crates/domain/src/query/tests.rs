//! Tests of the query parser and matcher.

use super::*;
use crate::error::Code;
use crate::error::Error;
use crate::message::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// A thread parent as the API serialises it.
fn parent() -> Value {
    json!({
        "_id": "m1", "rid": "GENERAL", "msg": "Hello Élodie\nsecond line",
        "ts": "2019-04-16T18:30:46.615Z",
        "u": {"_id": "u1", "username": "alice", "name": "Alice"},
        "_updatedAt": "2019-04-16T18:35:00.000Z",
        "mentions": [
            {"_id": "u2", "username": "bob", "type": "user"},
            {"_id": "here"},
            "not-an-object"
        ],
        "channels": [{"_id": "c1", "name": "dev"}],
        "tcount": 2, "tlm": "2019-04-17T08:00:00.000Z",
        "replies": ["u2", "u3"],
        "tshow": false,
        "alias": null
    })
}

/// A reply, with fewer fields.
fn reply() -> Value {
    json!({
        "_id": "m2", "rid": "GENERAL", "msg": "élodie says hi", "tmid": "m1",
        "ts": "2019-04-17T08:00:00.000Z",
        "u": {"_id": "u2", "username": "bob"},
        "_updatedAt": "2019-04-17T08:00:00.000Z",
        "mentions": [], "channels": [],
        "pinned": true
    })
}

fn parse(raw: &str) -> Filter {
    match Filter::parse(Some(raw)) {
        Ok(filter) => filter,
        Err(e) => panic!("{raw} should parse: {e}"),
    }
}

fn hits(raw: &str, doc: &Value) -> bool {
    parse(raw).matches(doc)
}

/// Which of (parent, reply) a query matches.
fn which(raw: &str) -> (bool, bool) {
    let f = parse(raw);
    (f.matches(&parent()), f.matches(&reply()))
}

/// Asserts the refusal and returns the parenthesised reason.
fn rejected_with(raw: &str, limits: &Limits) -> String {
    let err = match Filter::parse_with(Some(raw), limits) {
        Ok(f) => panic!("{} should be rejected, parsed as {f:?}", &raw[..raw.len().min(80)]),
        Err(e) => e,
    };
    let Error::Rejected { reason, code, details: None } = &err else {
        panic!("wrong error variant: {err:?}");
    };
    assert_eq!(*code, Code::InvalidQuery);
    let echoed: String = raw.chars().take(200).collect();
    let cut = if raw.chars().count() > 200 { "…" } else { "" };
    let head = format!("Invalid query parameter provided: \"{echoed}{cut}\" (");
    assert!(reason.starts_with(&head), "{reason}");
    assert!(reason.ends_with(')'), "{reason}");
    assert!(err.to_string().ends_with(") [error-invalid-query]"));
    reason[head.len()..reason.len() - 1].to_owned()
}

fn rejected(raw: &str) -> String {
    rejected_with(raw, &Limits::default())
}

fn field_of(path: &str) -> &'static Field {
    field(path).expect("allow-listed")
}

fn s(v: &str) -> Literal {
    Literal::String(v.to_owned())
}

// ---- parser: shapes ----

#[test]
fn absent_blank_and_empty_match_everything() {
    assert_eq!(Filter::parse(None), Ok(Filter::True));
    assert_eq!(Filter::parse(Some("")), Ok(Filter::True));
    assert_eq!(Filter::parse(Some("  \n\t")), Ok(Filter::True));
    assert_eq!(Filter::parse(Some("{}")), Ok(Filter::True));
    assert_eq!(Filter::parse(Some(" { } ")), Ok(Filter::True));
    assert!(Filter::True.matches(&parent()));
}

#[test]
fn the_exact_error_message() {
    let err = Filter::parse(Some(r#"{"$where":"1"}"#)).expect_err("refused");
    assert_eq!(
        err,
        Error::Rejected {
            reason: r#"Invalid query parameter provided: "{"$where":"1"}" (operator "$where" is not allowed here)"#
                .to_owned(),
            code: Code::InvalidQuery,
            details: None,
        }
    );
    assert_eq!(
        err.to_string(),
        r#"Invalid query parameter provided: "{"$where":"1"}" (operator "$where" is not allowed here) [error-invalid-query]"#
    );
    assert_eq!(err.code(), Some(Code::InvalidQuery));
}

#[test]
fn implicit_eq_and_key_order() {
    assert_eq!(parse(r#"{"msg": "hi"}"#), Filter::Field { field: field_of("msg"), cond: Cond::Eq(s("hi")) });
    assert_eq!(
        parse(r#"{"u.username": "alice", "tcount": 2, "tshow": true, "rid": null}"#),
        Filter::And(vec![
            Filter::Field { field: field_of("u.username"), cond: Cond::Eq(s("alice")) },
            Filter::Field { field: field_of("tcount"), cond: Cond::Eq(Literal::Number(2.0)) },
            Filter::Field { field: field_of("tshow"), cond: Cond::Eq(Literal::Bool(true)) },
            Filter::Field { field: field_of("rid"), cond: Cond::Eq(Literal::Null) },
        ])
    );
}

#[test]
fn operator_shapes() {
    let msg = field_of("msg");
    let f = |cond| Filter::Field { field: msg, cond };
    assert_eq!(parse(r#"{"msg": {"$eq": "a"}}"#), f(Cond::Eq(s("a"))));
    assert_eq!(parse(r#"{"msg": {"$ne": "a"}}"#), f(Cond::Not(Box::new(Cond::Eq(s("a"))))));
    assert_eq!(parse(r#"{"msg": {"$in": ["a", "b"]}}"#), f(Cond::In(vec![s("a"), s("b")])));
    assert_eq!(parse(r#"{"msg": {"$nin": []}}"#), f(Cond::Not(Box::new(Cond::In(vec![])))));
    assert_eq!(parse(r#"{"msg": {"$exists": 0}}"#), f(Cond::Exists(false)));
    assert_eq!(parse(r#"{"msg": {"$exists": 1}}"#), f(Cond::Exists(true)));
    assert_eq!(
        parse(r#"{"msg": {"$gte": "a", "$lt": "b"}}"#),
        f(Cond::All(vec![Cond::Gte(s("a")), Cond::Lt(s("b"))]))
    );
    assert_eq!(
        parse(r#"{"msg": {"$not": {"$not": {"$gt": "a"}}}}"#),
        f(Cond::Not(Box::new(Cond::Not(Box::new(Cond::Gt(s("a")))))))
    );
    assert_eq!(
        parse(r#"{"$or": [{"msg": "a"}, {"$nor": [{"msg": "b"}]}], "$and": [{}]}"#),
        Filter::And(vec![
            Filter::Or(vec![f(Cond::Eq(s("a"))), Filter::Nor(vec![f(Cond::Eq(s("b")))])]),
            Filter::And(vec![Filter::True]),
        ])
    );
}

#[test]
fn regex_options_become_an_inline_prefix() {
    let pattern = |raw: &str| match parse(raw) {
        Filter::Field { cond: Cond::Regex(p), .. } => p.pattern,
        other => panic!("not a regex: {other:?}"),
    };
    assert_eq!(pattern(r#"{"msg": {"$regex": "^a"}}"#), "^a");
    assert_eq!(pattern(r#"{"msg": {"$regex": "^a", "$options": ""}}"#), "^a");
    assert_eq!(pattern(r#"{"msg": {"$regex": "^a", "$options": "i"}}"#), "(?i)^a");
    assert_eq!(pattern(r#"{"msg": {"$options": "smi", "$regex": "^a"}}"#), "(?ims)^a");
    assert_eq!(pattern(r#"{"msg": {"$regex": "a b", "$options": "x"}}"#), "(?x)a b");
    assert_eq!(pattern(r#"{"msg": {"$regex": "a", "$options": "xsmi"}}"#), "(?imsx)a");
    // The pattern compiles the same way the SQLite backend compiles it.
    let p = pattern(r#"{"msg": {"$regex": "^h.llo", "$options": "i"}}"#);
    let re = regex::RegexBuilder::new(&p).size_limit(REGEX_SIZE_LIMIT).build().expect("compiles");
    assert!(re.is_match("HELLO"));
}

#[test]
fn dates_are_stored_as_iso_strings() {
    let ts = field_of("ts");
    let iso = || s("2019-04-16T18:30:46.615Z");
    for raw in [
        r#"{"ts": "2019-04-16T18:30:46.615Z"}"#,
        r#"{"ts": "2019-04-16T20:30:46.615+02:00"}"#,
        r#"{"ts": {"$date": "2019-04-16T18:30:46.615Z"}}"#,
        r#"{"ts": {"$date": 1555439446615}}"#,
        r#"{"ts": {"$eq": {"$date": 1555439446615}}}"#,
    ] {
        assert_eq!(parse(raw), Filter::Field { field: ts, cond: Cond::Eq(iso()) }, "{raw}");
    }
    assert_eq!(
        parse(r#"{"_updatedAt": {"$gt": "2019-04-01"}}"#),
        Filter::Field { field: field_of("_updatedAt"), cond: Cond::Gt(s("2019-04-01T00:00:00.000Z")) }
    );
    assert_eq!(
        parse(r#"{"ts": {"$in": ["2019-04-01", {"$date": 0}]}}"#),
        Filter::Field {
            field: ts,
            cond: Cond::In(vec![s("2019-04-01T00:00:00.000Z"), s("1970-01-01T00:00:00.000Z")])
        }
    );
    // Numbers and booleans on a date field are kept (and never match).
    assert_eq!(
        parse(r#"{"ts": 1555439446615}"#),
        Filter::Field { field: ts, cond: Cond::Eq(Literal::Number(1_555_439_446_615.0)) }
    );
    assert!(!hits(r#"{"ts": 1555439446615}"#, &parent()));
    assert!(!hits(r#"{"ts": true}"#, &parent()));
}

// ---- matcher ----

#[test]
fn implicit_eq_and_dotted_paths() {
    assert_eq!(which(r#"{"msg": "élodie says hi"}"#), (false, true));
    assert_eq!(which(r#"{"u.username": "alice"}"#), (true, false));
    assert_eq!(which(r#"{"u._id": "u2"}"#), (false, true));
    assert_eq!(which(r#"{"u.name": "Alice"}"#), (true, false));
    assert_eq!(which(r#"{"rid": "GENERAL", "u.username": "bob"}"#), (false, true));
    assert_eq!(which(r#"{"tmid": "m1"}"#), (false, true));
    assert_eq!(which(r#"{"tshow": false}"#), (true, false));
    assert_eq!(which(r#"{"pinned": true}"#), (false, true));
    // A path through a non-object has no value.
    assert!(!hits(r#"{"u.username": "alice"}"#, &json!({"u": ["alice"]})));
    assert!(hits(r#"{"u.username": null}"#, &json!({"u": "alice"})));
}

#[test]
fn comparison_operators() {
    assert_eq!(which(r#"{"tcount": {"$eq": 2}}"#), (true, false));
    assert_eq!(which(r#"{"tcount": {"$eq": 2.0}}"#), (true, false));
    assert_eq!(which(r#"{"tcount": {"$gt": 1}}"#), (true, false));
    assert_eq!(which(r#"{"tcount": {"$gt": 2}}"#), (false, false));
    assert_eq!(which(r#"{"tcount": {"$gte": 2}}"#), (true, false));
    assert_eq!(which(r#"{"tcount": {"$lt": 2.5}}"#), (true, false));
    assert_eq!(which(r#"{"tcount": {"$lt": 2}}"#), (false, false));
    assert_eq!(which(r#"{"tcount": {"$lte": 2}}"#), (true, false));
    assert_eq!(which(r#"{"tcount": {"$gt": -1e300, "$lt": 1e300}}"#), (true, false));
    // Strings compare by code point: "é" (U+E9) > "z" > "H".
    assert_eq!(which(r#"{"msg": {"$gt": "z"}}"#), (false, true));
    assert_eq!(which(r#"{"msg": {"$lt": "I"}}"#), (true, false));
    assert_eq!(which(r#"{"msg": {"$gte": "Hello Élodie\nsecond line"}}"#), (true, true));
    assert_eq!(which(r#"{"msg": {"$lte": "Hello Élodie\nsecond line"}}"#), (true, false));
    assert_eq!(which(r#"{"_id": {"$gt": "m1", "$lte": "m2"}}"#), (false, true));
}

#[test]
fn ne_and_nin_match_missing_fields() {
    assert_eq!(which(r#"{"tmid": {"$ne": "m1"}}"#), (true, false));
    assert_eq!(which(r#"{"tmid": {"$nin": ["m1", "m9"]}}"#), (true, false));
    assert_eq!(which(r#"{"tmid": {"$in": ["m1", "m9"]}}"#), (false, true));
    assert_eq!(which(r#"{"tcount": {"$ne": 2}}"#), (false, true));
    assert_eq!(which(r#"{"msg": {"$in": []}}"#), (false, false));
    assert_eq!(which(r#"{"msg": {"$nin": []}}"#), (true, true));
    assert_eq!(which(r#"{"tshow": {"$ne": true}}"#), (true, true));
}

#[test]
fn null_means_missing_or_null() {
    // parent: "alias": null; reply: no alias; tmid only on the reply.
    assert_eq!(which(r#"{"alias": null}"#), (true, true));
    assert_eq!(which(r#"{"alias": {"$ne": null}}"#), (false, false));
    assert_eq!(which(r#"{"tmid": null}"#), (true, false));
    assert_eq!(which(r#"{"tmid": {"$eq": null}}"#), (true, false));
    assert_eq!(which(r#"{"tmid": {"$ne": null}}"#), (false, true));
    assert_eq!(which(r#"{"tmid": {"$in": [null, "zzz"]}}"#), (true, false));
    assert_eq!(which(r#"{"tmid": {"$nin": [null]}}"#), (false, true));
    assert!(hits(r#"{"alias": {"$in": ["bot", null]}}"#, &json!({"alias": "bot"})));
}

#[test]
fn exists_counts_null_as_present() {
    assert_eq!(which(r#"{"alias": {"$exists": true}}"#), (true, false));
    assert_eq!(which(r#"{"alias": {"$exists": false}}"#), (false, true));
    assert_eq!(which(r#"{"tmid": {"$exists": true}}"#), (false, true));
    assert_eq!(which(r#"{"tcount": {"$exists": false}}"#), (false, true));
    assert_eq!(which(r#"{"editedBy.username": {"$exists": false}}"#), (true, true));
    // Arrays: whether the array is there; in arrays: whether some element has the sub-field.
    assert_eq!(which(r#"{"replies": {"$exists": true}}"#), (true, false));
    assert_eq!(which(r#"{"mentions.username": {"$exists": true}}"#), (true, false));
    assert_eq!(which(r#"{"mentions._id": {"$exists": true}}"#), (true, false));
    assert_eq!(which(r#"{"channels.name": {"$exists": false}}"#), (false, true));
    assert!(hits(r#"{"replies": {"$exists": true}}"#, &json!({"replies": []})));
    assert!(hits(r#"{"mentions.username": {"$exists": true}}"#, &json!({"mentions": [{"username": null}]})));
    assert!(!hits(r#"{"mentions.username": {"$exists": true}}"#, &json!({"mentions": [{"_id": "x"}, 5]})));
}

#[test]
fn type_bracketing() {
    assert_eq!(which(r#"{"tcount": "2"}"#), (false, false));
    assert_eq!(which(r#"{"tcount": {"$gt": "1"}}"#), (false, false));
    assert_eq!(which(r#"{"tcount": {"$in": ["2", true]}}"#), (false, false));
    assert_eq!(which(r#"{"tcount": {"$ne": "2"}}"#), (true, true));
    assert_eq!(which(r#"{"tshow": 0}"#), (false, false));
    assert_eq!(which(r#"{"tshow": "false"}"#), (false, false));
    assert_eq!(which(r#"{"msg": {"$gt": 0}}"#), (false, false));
    assert!(hits(r#"{"u._id": "5"}"#, &json!({"u": {"_id": "5"}})));
    assert!(!hits(r#"{"u._id": 5}"#, &json!({"u": {"_id": "5"}})));
    assert!(!hits(r#"{"u._id": "5"}"#, &json!({"u": {"_id": 5}})));
    // A regex only looks at strings.
    assert!(!hits(r#"{"tcount": {"$regex": "2"}}"#, &parent()));
}

#[test]
fn arrays_and_fields_inside_arrays() {
    assert_eq!(which(r#"{"replies": "u3"}"#), (true, false));
    assert_eq!(which(r#"{"replies": {"$in": ["u9", "u2"]}}"#), (true, false));
    assert_eq!(which(r#"{"replies": {"$ne": "u3"}}"#), (false, true));
    assert_eq!(which(r#"{"replies": {"$nin": ["u1"]}}"#), (true, true));
    assert_eq!(which(r#"{"replies": {"$gt": "u2"}}"#), (true, false));
    assert_eq!(which(r#"{"mentions.username": "bob"}"#), (true, false));
    assert_eq!(which(r#"{"mentions._id": "here"}"#), (true, false));
    assert_eq!(which(r#"{"mentions.username": {"$ne": "bob"}}"#), (false, true));
    assert_eq!(which(r#"{"mentions.username": {"$regex": "^B", "$options": "i"}}"#), (true, false));
    assert_eq!(which(r#"{"channels.name": "dev", "channels._id": "c1"}"#), (true, false));
    // Some element satisfies each condition (not necessarily the same one).
    assert!(hits(r#"{"replies": {"$gt": "u2", "$lt": "u3"}}"#, &json!({"replies": ["u1", "u4"]})));
    assert!(!hits(r#"{"replies": {"$gt": "u2", "$lt": "u3"}}"#, &json!({"replies": ["u1"]})));
    // A non-array value where an array is expected has no candidates.
    assert!(!hits(r#"{"replies": "u1"}"#, &json!({"replies": "u1"})));
    assert!(!hits(r#"{"mentions.username": "bob"}"#, &json!({"mentions": {"username": "bob"}})));
}

#[test]
fn dates_compare_as_stored_strings() {
    assert_eq!(which(r#"{"ts": "2019-04-16T18:30:46.615Z"}"#), (true, false));
    assert_eq!(which(r#"{"ts": {"$date": "2019-04-16T18:30:46.615Z"}}"#), (true, false));
    assert_eq!(which(r#"{"ts": {"$date": 1555439446615}}"#), (true, false));
    assert_eq!(which(r#"{"ts": {"$gt": "2019-04-16T18:30:46.615Z"}}"#), (false, true));
    assert_eq!(which(r#"{"ts": {"$gte": {"$date": "2019-04-16T20:30:46.615+02:00"}}}"#), (true, true));
    assert_eq!(which(r#"{"ts": {"$lt": "2019-04-17"}}"#), (true, false));
    assert_eq!(which(r#"{"_updatedAt": {"$gt": {"$date": 1555439446615}}}"#), (true, true));
    assert_eq!(which(r#"{"tlm": {"$exists": true}}"#), (true, false));
    assert_eq!(which(r#"{"tlm": {"$lte": "2019-04-17T08:00:00Z"}}"#), (true, false));
    assert_eq!(which(r#"{"editedAt": {"$ne": "2019-04-17"}}"#), (true, true));
}

#[test]
fn regex_and_options() {
    assert_eq!(which(r#"{"msg": {"$regex": "élodie"}}"#), (false, true));
    assert_eq!(which(r#"{"msg": {"$regex": "élodie", "$options": "i"}}"#), (true, true));
    assert_eq!(which(r#"{"msg": {"$regex": "ÉLODIE", "$options": "i"}}"#), (true, true));
    assert_eq!(which(r#"{"msg": {"$regex": "^second"}}"#), (false, false));
    assert_eq!(which(r#"{"msg": {"$regex": "^second", "$options": "m"}}"#), (true, false));
    assert_eq!(which(r#"{"msg": {"$regex": "Élodie.second"}}"#), (false, false));
    assert_eq!(which(r#"{"msg": {"$regex": "Élodie.second", "$options": "s"}}"#), (true, false));
    assert_eq!(which(r#"{"msg": {"$regex": "says \\s hi # comment", "$options": "x"}}"#), (false, true));
    assert_eq!(which(r#"{"msg": {"$regex": ""}}"#), (true, true));
    assert_eq!(which(r#"{"tmid": {"$regex": ""}}"#), (false, true));
    assert_eq!(which(r#"{"u.username": {"$regex": "^(alice|carol)$"}}"#), (true, false));
}

#[test]
fn not_negates_the_operator_document() {
    assert_eq!(which(r#"{"tcount": {"$not": {"$gt": 1}}}"#), (false, true));
    assert_eq!(which(r#"{"msg": {"$not": {"$regex": "^Hello"}}}"#), (false, true));
    assert_eq!(which(r#"{"msg": {"$not": {"$regex": "^hello", "$options": "i"}}}"#), (false, true));
    assert_eq!(which(r#"{"tcount": {"$not": {"$gte": 1, "$lte": 1}}}"#), (true, true));
    assert_eq!(which(r#"{"tcount": {"$not": {"$not": {"$gt": 1}}}}"#), (true, false));
    assert_eq!(which(r#"{"tmid": {"$not": {"$exists": true}}}"#), (true, false));
    assert_eq!(which(r#"{"replies": {"$not": {"$in": ["u2"]}}}"#), (false, true));
}

#[test]
fn logical_operators() {
    assert_eq!(which(r#"{"$and": [{"rid": "GENERAL"}, {"u.username": "bob"}]}"#), (false, true));
    assert_eq!(which(r#"{"$or": [{"u.username": "alice"}, {"pinned": true}]}"#), (true, true));
    assert_eq!(which(r#"{"$or": [{"u.username": "carol"}, {"pinned": true}]}"#), (false, true));
    assert_eq!(which(r#"{"$nor": [{"u.username": "carol"}, {"pinned": true}]}"#), (true, false));
    assert_eq!(which(r#"{"$nor": [{"u.username": "alice"}, {"pinned": true}]}"#), (false, false));
    assert_eq!(
        which(r#"{"rid": "GENERAL", "$or": [{"tcount": {"$gte": 1}}, {"tmid": {"$exists": true}}]}"#),
        (true, true)
    );
    assert_eq!(
        which(
            r#"{"$and": [{"$or": [{"msg": {"$regex": "hi"}}, {"tcount": 5}]}, {"$nor": [{"tshow": true}]}]}"#
        ),
        (false, true)
    );
    assert_eq!(which(r#"{"$and": [{}]}"#), (true, true));
    assert_eq!(which(r#"{"$or": [{}, {"msg": "x"}]}"#), (true, true));
    assert_eq!(which(r#"{"$nor": [{}]}"#), (false, false));
    assert!(!Filter::Or(vec![]).matches(&parent()));
    assert!(Filter::And(vec![]).matches(&parent()));
}

#[test]
fn matches_a_serialised_message() {
    let m: Message = serde_json::from_value(reply()).expect("a message");
    let doc = serde_json::to_value(&m).expect("serialises");
    assert!(hits(r#"{"ts": {"$date": "2019-04-17T10:00:00+02:00"}, "tmid": "m1"}"#, &doc));
    assert!(hits(r#"{"tcount": {"$exists": false}, "replies": {"$exists": false}}"#, &doc));
    assert!(hits(r#"{"mentions.username": {"$exists": false}, "pinned": true}"#, &doc));
}

#[test]
fn pathological_regex_runs_in_linear_time() {
    let f = parse(r#"{"msg": {"$regex": "(a+)+$"}}"#);
    let long = format!("{}!", "a".repeat(50_000));
    assert!(!f.matches(&json!({"msg": long})));
    assert!(f.matches(&json!({"msg": format!("!{}", "a".repeat(50_000))})));
    let f = parse(r#"{"msg": {"$regex": "^(a|a?)+b$", "$options": "i"}}"#);
    assert!(!f.matches(&json!({"msg": "a".repeat(50_000)})));
}

// ---- refusals ----

#[test]
fn refuses_what_is_not_a_query_object() {
    assert_eq!(rejected("{"), "not valid JSON");
    assert_eq!(rejected(r#"{"msg": "a"} x"#), "not valid JSON");
    assert_eq!(rejected(r#"{"msg": NaN}"#), "not valid JSON");
    assert_eq!(rejected(r#"{"tcount": 1e400}"#), "not valid JSON");
    assert_eq!(rejected("[]"), "not a JSON object");
    assert_eq!(rejected(r#""msg""#), "not a JSON object");
    assert_eq!(rejected("null"), "not a JSON object");
    assert_eq!(rejected("42"), "not a JSON object");
}

#[test]
fn refuses_code_execution_and_unknown_operators() {
    assert_eq!(rejected(r#"{"$where": "this.msg.length > 1"}"#), r#"operator "$where" is not allowed here"#);
    assert_eq!(rejected(r#"{"$expr": {"$gt": ["$tcount", 1]}}"#), r#"operator "$expr" is not allowed here"#);
    assert_eq!(
        rejected(r#"{"$function": {"body": "function() {return true}", "args": [], "lang": "js"}}"#),
        r#"operator "$function" is not allowed here"#
    );
    rejected(r#"{"$text": {"$search": "hi"}}"#);
    rejected(r#"{"$jsonSchema": {}}"#);
    rejected(r#"{"$comment": "x"}"#);
    rejected(r#"{"$and": [{"$where": "1"}]}"#);
    assert_eq!(rejected(r#"{"msg": {"$where": "1"}}"#), r#"operator "$where" is not allowed"#);
    rejected(r#"{"replies": {"$size": 2}}"#);
    rejected(r#"{"mentions.username": {"$elemMatch": {"$eq": "bob"}}}"#);
    rejected(r#"{"replies": {"$all": ["u1"]}}"#);
    rejected(r#"{"tcount": {"$type": "number"}}"#);
    rejected(r#"{"tcount": {"$mod": [2, 0]}}"#);
}

#[test]
fn refuses_fields_outside_the_allow_list() {
    assert_eq!(rejected(r#"{"foo": 1}"#), r#"unknown field "foo""#);
    rejected(r#"{"e2e": "pending"}"#);
    rejected(r#"{"_hidden": true}"#);
    rejected(r#"{"_deletedAt": {"$exists": true}}"#);
    rejected(r#"{"u": {"_id": "u1", "username": "alice"}}"#);
    rejected(r#"{"mentions": []}"#);
    rejected(r#"{"mentions.0.username": "bob"}"#);
    rejected(r#"{"u.password": "x"}"#);
    rejected(r#"{"MSG": "x"}"#);
    rejected(r#"{"msg ": "x"}"#);
    rejected(r#"{"$or": [{"msg": "a"}, {"services.password": "x"}]}"#);
    let long = format!(r#"{{"{}": 1}}"#, "f".repeat(1000));
    let reason = rejected(&long);
    assert!(reason.len() < 100, "{reason}");
}

#[test]
fn refuses_malformed_operator_documents() {
    assert_eq!(rejected(r#"{"msg": {"$eq": "a", "b": 1}}"#), r#"operators mixed with plain keys for "msg""#);
    assert_eq!(rejected(r#"{"msg": {"a": 1, "$eq": "b"}}"#), r#"operators mixed with plain keys for "msg""#);
    assert_eq!(rejected(r#"{"msg": {"a": 1}}"#), r#"objects cannot be compared ("msg")"#);
    rejected(r#"{"msg": {}}"#);
    assert_eq!(rejected(r#"{"msg": {"$options": "i"}}"#), "$options without $regex");
    rejected(r#"{"msg": {"$not": {"$options": "i"}}}"#);
    assert_eq!(
        rejected(r#"{"msg": {"$regex": "a", "$options": "g"}}"#),
        r#"unsupported $options letter "g""#
    );
    assert_eq!(rejected(r#"{"msg": {"$regex": "a", "$options": "ii"}}"#), r#"repeated $options letter "i""#);
    rejected(r#"{"msg": {"$regex": "a", "$options": "u"}}"#);
    rejected(r#"{"msg": {"$regex": "a", "$options": 1}}"#);
    rejected(r#"{"msg": {"$regex": 1}}"#);
    rejected(r#"{"msg": {"$regex": ["a"]}}"#);
    rejected(r#"{"ts": {"$regex": "^2019"}}"#);
    rejected(r#"{"msg": {"$not": "a"}}"#);
    rejected(r#"{"msg": {"$not": {}}}"#);
    rejected(r#"{"msg": {"$not": {"a": 1}}}"#);
    rejected(r#"{"ts": {"$not": {"$date": 0}}}"#);
    rejected(r#"{"msg": {"$in": "a"}}"#);
    rejected(r#"{"msg": {"$nin": {"a": 1}}}"#);
    rejected(r#"{"msg": {"$in": [["a"]]}}"#);
    rejected(r#"{"msg": {"$in": [{"$regex": "a"}]}}"#);
    rejected(r#"{"msg": {"$exists": "yes"}}"#);
    rejected(r#"{"msg": {"$exists": 2}}"#);
    rejected(r#"{"msg": {"$exists": null}}"#);
    rejected(r#"{"$and": []}"#);
    rejected(r#"{"$or": {"msg": "a"}}"#);
    rejected(r#"{"$nor": ["msg"]}"#);
    rejected(r#"{"$and": [[{"msg": "a"}]]}"#);
}

#[test]
fn refuses_bad_literals() {
    assert_eq!(rejected(r#"{"tcount": {"$gt": null}}"#), "null cannot be compared by range");
    rejected(r#"{"ts": {"$lte": null}}"#);
    rejected(r#"{"tshow": {"$gte": true}}"#);
    rejected(r#"{"msg": {"$lt": ["a"]}}"#);
    rejected(r#"{"msg": {"$gt": {"a": 1}}}"#);
    assert_eq!(rejected(r#"{"replies": ["u1", "u2"]}"#), r#"arrays cannot be compared ("replies")"#);
    rejected(r#"{"msg": {"$eq": ["a"]}}"#);
    rejected(r#"{"msg": {"$ne": {"x": 1}}}"#);
    // null only on scalar fields.
    rejected(r#"{"replies": null}"#);
    rejected(r#"{"mentions.username": {"$ne": null}}"#);
    rejected(r#"{"channels._id": {"$in": [null]}}"#);
    // Dates.
    assert_eq!(rejected(r#"{"ts": "yesterday"}"#), "invalid date");
    rejected(r#"{"ts": {"$gt": "2019-13-01"}}"#);
    rejected(r#"{"ts": {"$date": "soon"}}"#);
    rejected(r#"{"ts": {"$date": 1.5}}"#);
    rejected(r#"{"ts": {"$date": {"$numberLong": "1"}}}"#);
    assert_eq!(rejected(r#"{"ts": {"$date": 9000000000000000000}}"#), "date out of range");
    rejected(r#"{"ts": {"$date": 253402300800000}}"#); // year 10000
    rejected(r#"{"ts": {"$date": -62167219200001}}"#); // before year 0
    assert!(parse(r#"{"ts": {"$date": 253402300799999}}"#) != Filter::True);
    assert_eq!(rejected(r#"{"msg": {"$date": "2019-04-01"}}"#), r#""msg" is not a date field"#);
    rejected(r#"{"ts": {"$date": "2019-04-01", "$gt": 1}}"#);
}

#[test]
fn refuses_unsafe_or_unsupported_regexes() {
    let reason = rejected(r#"{"msg": {"$regex": "(a)\\1"}}"#);
    assert!(reason.starts_with("invalid $regex") && reason.contains("backreferences"), "{reason}");
    let reason = rejected(r#"{"msg": {"$regex": "a(?=b)"}}"#);
    assert!(reason.contains("look-around"), "{reason}");
    rejected(r#"{"msg": {"$regex": "(?<=a)b"}}"#);
    rejected(r#"{"msg": {"$regex": "a(?!b)"}}"#);
    rejected(r#"{"msg": {"$regex": "(unclosed"}}"#);
    let long = format!(r#"{{"msg": {{"$regex": "{}"}}}}"#, "a".repeat(300));
    assert_eq!(rejected(&long), "$regex longer than 256 characters");
    // Small in text, huge compiled.
    assert_eq!(rejected(r#"{"msg": {"$regex": "\\w{1000}{1000}"}}"#), "$regex too large");
    assert_eq!(rejected(r#"{"msg": {"$regex": "(a{999}){999}"}}"#), "$regex too large");
}

#[test]
fn refuses_deep_nesting() {
    let nest = |n: usize| format!("{}{{\"msg\": \"x\"}}{}", "{\"$and\": [".repeat(n), "]}".repeat(n));
    assert!(Filter::parse(Some(&nest(6))).is_ok());
    assert_eq!(rejected(&nest(7)), "nested deeper than 6");
    assert_eq!(rejected(&nest(50)), "nested deeper than 6");
    // Deeper than serde_json's own recursion limit.
    assert_eq!(rejected(&nest(100)), "not valid JSON");
    assert_eq!(rejected(&nest(10_000)), "longer than 8192 bytes");
    let roomy = Limits { max_bytes: 1 << 20, ..Limits::default() };
    assert_eq!(rejected_with(&nest(10_000), &roomy), "not valid JSON");

    let nots =
        |n: usize| format!("{{\"tcount\": {}{{\"$gt\": 1}}{}}}", "{\"$not\": ".repeat(n), "}".repeat(n));
    assert!(Filter::parse(Some(&nots(6))).is_ok());
    assert_eq!(rejected(&nots(7)), "nested deeper than 6");
    assert_eq!(rejected(&nots(100)), "nested deeper than 6");
    // Logical and $not nesting add up.
    let mixed = format!("{}{}{}", "{\"$or\": [".repeat(3), nots(4), "]}".repeat(3));
    assert_eq!(rejected(&mixed), "nested deeper than 6");
    let mixed = format!("{}{}{}", "{\"$or\": [".repeat(3), nots(3), "]}".repeat(3));
    assert!(Filter::parse(Some(&mixed)).is_ok());
}

#[test]
fn refuses_oversized_queries() {
    let list = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| format!("\"u{i}\"")).collect();
        format!(r#"{{"replies": {{"$in": [{}]}}}}"#, items.join(","))
    };
    assert!(Filter::parse(Some(&list(100))).is_ok());
    assert_eq!(rejected(&list(101)), "$in with more than 100 values");
    assert_eq!(rejected(&list(10_000)), "longer than 8192 bytes");
    let roomy = Limits { max_bytes: 1 << 20, ..Limits::default() };
    assert_eq!(rejected_with(&list(10_000), &roomy), "$in with more than 100 values");
    let nin = list(10_000).replace("$in", "$nin");
    assert_eq!(rejected_with(&nin, &roomy), "$nin with more than 100 values");

    let megabyte = format!(r#"{{"msg": "{}"}}"#, "x".repeat(1 << 20));
    assert_eq!(rejected(&megabyte), "longer than 8192 bytes");
    let roomy = Limits { max_bytes: 2 << 20, ..Limits::default() };
    assert_eq!(rejected_with(&megabyte, &roomy), "string longer than 1024 bytes");
    // The echo is cut to 200 characters.
    let err = Filter::parse(Some(&megabyte)).expect_err("refused");
    assert!(err.to_string().len() < 300);
    assert!(err.to_string().contains("xxx…\" (longer than 8192 bytes) [error-invalid-query]"));
    // Cut on a character boundary.
    let wide = format!(r#"{{"msg": "{}"}}"#, "é".repeat(5000));
    assert!(rejected(&wide).starts_with("longer than"));

    // The node budget: conditions, logical nodes and $in elements.
    let tight = Limits { max_nodes: 5, ..Limits::default() };
    assert!(Filter::parse_with(Some(r#"{"$or": [{"msg": "a"}, {"replies": {"$in": ["a", "b"]}}]}"#), &tight)
        .is_ok());
    assert_eq!(
        rejected_with(r#"{"$or": [{"msg": "a"}, {"replies": {"$in": ["a", "b", "c"]}}]}"#, &tight),
        "more than 5 conditions"
    );
    let many: Vec<String> = (0..300).map(|i| format!(r#"{{"msg": "{i}"}}"#)).collect();
    assert_eq!(rejected(&format!(r#"{{"$or": [{}]}}"#, many.join(","))), "more than 256 conditions");
}

// ---- randomised checks ----

const SAMPLE_FIELDS: &[&str] =
    &["msg", "tmid", "alias", "tcount", "tshow", "ts", "replies", "mentions.username"];

fn random_literal(rng: &mut StdRng, path: &str) -> Value {
    match (path, rng.gen_range(0..4)) {
        ("tcount", 0) => json!(rng.gen_range(0..4)),
        ("tcount", 1) => json!(rng.gen_range(0..4) as f64 + 0.5),
        ("tshow", 0 | 1) => json!(rng.gen_bool(0.5)),
        ("ts", 0 | 1) => json!(format!("2019-04-{:02}T00:00:00.000Z", rng.gen_range(15..19))),
        ("ts", 2) => json!({"$date": rng.gen_range(1_555_286_400_000_i64..1_555_632_000_000)}),
        (_, 3) if matches!(path, "msg" | "tmid" | "alias" | "tcount" | "tshow" | "ts") => Value::Null,
        _ => json!(["a", "b", "m1", "u2", "bob", "2"][rng.gen_range(0..6)]),
    }
}

fn random_doc(rng: &mut StdRng) -> Value {
    let mut doc = serde_json::Map::new();
    let mut maybe = |rng: &mut StdRng, key: &str, value: Value| {
        match rng.gen_range(0..4) {
            0 => {}
            1 => {
                doc.insert(key.to_owned(), Value::Null);
            }
            _ => {
                doc.insert(key.to_owned(), value);
            }
        };
    };
    let pick = |rng: &mut StdRng| json!(["a", "b", "m1", "u2", "bob", "2"][rng.gen_range(0..6)]);
    let v = pick(rng);
    maybe(rng, "msg", v);
    let v = pick(rng);
    maybe(rng, "tmid", v);
    let v = pick(rng);
    maybe(rng, "alias", v);
    let v = json!(rng.gen_range(0..4));
    maybe(rng, "tcount", v);
    let v = json!(rng.gen_bool(0.5));
    maybe(rng, "tshow", v);
    let v = json!(format!("2019-04-{:02}T00:00:00.000Z", rng.gen_range(15..19)));
    maybe(rng, "ts", v);
    let items: Vec<Value> = (0..rng.gen_range(0..3)).map(|_| pick(rng)).collect();
    maybe(rng, "replies", Value::Array(items));
    let items: Vec<Value> = (0..rng.gen_range(0..3)).map(|_| json!({"username": pick(rng)})).collect();
    maybe(rng, "mentions", Value::Array(items));
    Value::Object(doc)
}

fn random_ops(rng: &mut StdRng, path: &str, depth: usize) -> Value {
    let mut ops = serde_json::Map::new();
    for _ in 0..rng.gen_range(1..3) {
        let lit = random_literal(rng, path);
        let orderable = !lit.is_null() && !lit.is_boolean();
        match rng.gen_range(0..10) {
            0 => ops.insert("$eq".into(), lit),
            1 => ops.insert("$ne".into(), lit),
            2 if orderable => ops.insert("$gt".into(), lit),
            3 if orderable => ops.insert("$lte".into(), lit),
            4 => ops.insert("$in".into(), json!([lit, random_literal(rng, path)])),
            5 => ops.insert("$nin".into(), json!([lit])),
            6 => ops.insert("$exists".into(), json!(rng.gen_bool(0.5))),
            7 if path != "ts" => {
                ops.insert("$regex".into(), json!(["^b", "1$", "o", "^$"][rng.gen_range(0..4)]))
            }
            8 if depth < 3 => ops.insert("$not".into(), random_ops(rng, path, depth + 1)),
            _ => ops.insert("$exists".into(), json!(true)),
        };
    }
    Value::Object(ops)
}

fn random_query(rng: &mut StdRng, depth: usize) -> Value {
    if depth < 3 && rng.gen_bool(0.3) {
        let op = ["$and", "$or", "$nor"][rng.gen_range(0..3)];
        let parts: Vec<Value> = (0..rng.gen_range(1..3)).map(|_| random_query(rng, depth + 1)).collect();
        return json!({ op: parts });
    }
    let path = SAMPLE_FIELDS[rng.gen_range(0..SAMPLE_FIELDS.len())];
    let value = if rng.gen_bool(0.3) { random_literal(rng, path) } else { random_ops(rng, path, depth) };
    let value = if path == "replies" || path == "mentions.username" {
        // No null on array fields.
        match value {
            Value::Null => json!("a"),
            other => other,
        }
    } else {
        value
    };
    json!({ path: value })
}

/// The filter of a generated query, if the parser accepts it.
fn parse_value(query: &Value) -> Option<Filter> {
    Filter::parse(Some(&query.to_string())).ok()
}

#[test]
fn random_queries_obey_the_logical_laws() {
    let mut rng = StdRng::seed_from_u64(0x7e57);
    let docs: Vec<Value> = (0..40).map(|_| random_doc(&mut rng)).collect();
    let (mut checked, mut hits) = (0, 0);
    for _ in 0..400 {
        let a = random_query(&mut rng, 0);
        let b = random_query(&mut rng, 0);
        let (Some(fa), Some(fb)) = (parse_value(&a), parse_value(&b)) else { continue };
        let nor = parse_value(&json!({"$nor": [a, b]})).expect("parses");
        let or = parse_value(&json!({"$or": [a, b]})).expect("parses");
        let and = parse_value(&json!({"$and": [a, b]})).expect("parses");
        for doc in &docs {
            let (x, y) = (fa.matches(doc), fb.matches(doc));
            assert_eq!(or.matches(doc), x || y);
            assert_eq!(and.matches(doc), x && y);
            assert_eq!(nor.matches(doc), !(x || y));
        }
        checked += 1;
        hits += docs.iter().filter(|d| fa.matches(d)).count();
    }
    assert!(checked > 300, "only {checked} random queries parsed");
    // The generator is balanced: neither almost always nor almost never a match.
    let total = checked * docs.len();
    assert!(hits > total / 5 && hits < total * 4 / 5, "{hits} of {total}");
}

#[test]
fn negating_operators_are_negations() {
    let mut rng = StdRng::seed_from_u64(42);
    let docs: Vec<Value> = (0..60).map(|_| random_doc(&mut rng)).collect();
    for _ in 0..300 {
        let path = SAMPLE_FIELDS[rng.gen_range(0..SAMPLE_FIELDS.len())];
        let lit = random_literal(&mut rng, path);
        if lit.is_null() && matches!(path, "replies" | "mentions.username") {
            continue;
        }
        let other = random_literal(&mut rng, path);
        if other.is_null() && matches!(path, "replies" | "mentions.username") {
            continue;
        }
        let pairs = [
            (json!({ path: {"$eq": lit} }), json!({ path: {"$ne": lit} })),
            (json!({ path: lit }), json!({ path: {"$not": {"$eq": lit}} })),
            (json!({ path: {"$in": [lit, other]} }), json!({ path: {"$nin": [lit, other]} })),
            (json!({ path: {"$exists": true} }), json!({ path: {"$exists": false} })),
        ];
        for (pos, neg) in pairs {
            let pos = parse_value(&pos).expect("parses");
            let neg = parse_value(&neg).expect("parses");
            for doc in &docs {
                assert_eq!(pos.matches(doc), !neg.matches(doc), "{pos:?} / {neg:?} on {doc}");
            }
        }
        // $in is the disjunction of $eq.
        let within = parse_value(&json!({ path: {"$in": [lit, other]} })).expect("parses");
        let either = parse_value(&json!({"$or": [{ path: lit }, { path: other }]})).expect("parses");
        for doc in &docs {
            assert_eq!(within.matches(doc), either.matches(doc));
        }
    }
}

#[test]
fn mangled_queries_never_panic() {
    let mut rng = StdRng::seed_from_u64(7);
    let alphabet: Vec<char> = r#"{}[]":,$\ 0123456789.-eE+aZé"#.chars().collect();
    for _ in 0..3000 {
        let mut raw: Vec<char> = random_query(&mut rng, 0).to_string().chars().collect();
        for _ in 0..rng.gen_range(1..4) {
            if raw.is_empty() {
                break;
            }
            let at = rng.gen_range(0..raw.len());
            match rng.gen_range(0..3) {
                0 => {
                    raw.remove(at);
                }
                1 => raw.insert(at, alphabet[rng.gen_range(0..alphabet.len())]),
                _ => raw[at] = alphabet[rng.gen_range(0..alphabet.len())],
            }
        }
        let raw: String = raw.into_iter().collect();
        match Filter::parse(Some(&raw)) {
            Ok(filter) => {
                let _ = filter.matches(&parent());
            }
            Err(e) => assert_eq!(e.code(), Some(Code::InvalidQuery), "{raw}: {e}"),
        }
    }
}
