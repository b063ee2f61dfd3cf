//! Request bodies: JSON, or `application/x-www-form-urlencoded` as
//! Rocket.Chat also accepts, decoded into a route's body type with errors in
//! a client's words (never serde's, which name Rust types).
//!
//! Form bodies follow the `qs` conventions Rocket.Chat's body parser uses:
//! `a=1&b=2` is `{"a": "1", "b": "2"}`, `message[rid]=X` nests,
//! `members[]=a&members[]=b` (or `members=a&members=b`) is a list. Every
//! value is a string; where the route's body type wants a boolean or a
//! number, `"true"` / `"false"` and numerals are read as such, a single value
//! is read as a one-element list where a list is wanted, and an empty value
//! counts as absent.

use axum::http::{header, HeaderMap};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use threadsync_domain::Error;
use threadsync_domain::Reject;

/// How a body is encoded, from its `Content-Type`. Anything but a form is
/// read as JSON: several clients send JSON without saying so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Form,
}

impl Format {
    pub fn of(headers: &HeaderMap) -> Format {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if form {
            Format::Form
        } else {
            Format::Json
        }
    }
}

/// The most levels of brackets a form key may have (`a[b][c]` has three).
const MAX_FORM_DEPTH: usize = 8;

/// Parses a body into a JSON value. Empty (or blank) bodies read as `{}`:
/// Rocket.Chat clients send some POSTs without one.
pub fn parse(bytes: &[u8], format: Format) -> Result<Value, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    match format {
        Format::Json => serde_json::from_slice(bytes)
            .map_err(|e| Error::from(Reject::BodyJsonInvalid { detail: json_syntax_words(&e) })),
        Format::Form => parse_form(bytes),
    }
}

/// Decodes a parsed body into `T`. Form bodies (`lenient`) convert strings
/// where `T` wants booleans, numbers or lists.
pub fn decode<T: DeserializeOwned>(value: Value, format: Format) -> Result<T, Error> {
    T::deserialize(Lenient { value, form: format == Format::Form })
        .map_err(|e| Error::from(Reject::BodyInvalid { detail: e.to_string() }))
}

/// serde_json's syntax errors, reworded where its words are internal
/// (`unexpected end of hex escape` for a lone surrogate, for instance), with
/// the position.
fn json_syntax_words(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = message.find(" at line ").map_or(message.as_str(), |idx| &message[..idx]);
    let words = if message.contains("hex escape")
        || message.contains("surrogate")
        || message.contains("unicode code point")
    {
        "invalid unicode escape"
    } else if message.starts_with("invalid escape") {
        "invalid escape in a string"
    } else if message.starts_with("EOF while parsing") {
        "the JSON ends too early"
    } else if message.starts_with("recursion limit exceeded") {
        "nested too deeply"
    } else if message.starts_with("control character") {
        "unescaped control character in a string"
    } else {
        message
    };
    format!("{words} (line {}, column {})", e.line(), e.column())
}

// ---------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------

fn parse_form(bytes: &[u8]) -> Result<Value, Error> {
    let mut root = Map::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        let path = form_key(&key);
        if path.len() > MAX_FORM_DEPTH {
            return Err(Error::from(Reject::FormTooDeep { key: key.into_owned(), depth: MAX_FORM_DEPTH }));
        }
        insert(&mut root, &path, value.into_owned());
    }
    Ok(Value::Object(root))
}

/// `a[b][]` → `["a", "b", ""]`. A key whose brackets do not close is one
/// literal name, as `qs` reads it.
fn form_key(key: &str) -> Vec<&str> {
    let Some(open) = key.find('[').filter(|&i| i > 0) else {
        return vec![key];
    };
    let mut path = vec![&key[..open]];
    let mut rest = &key[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return vec![key];
        };
        path.push(&inner[..close]);
        rest = &inner[close + 1..];
    }
    if rest.is_empty() {
        path
    } else {
        vec![key]
    }
}

/// Puts `value` at `path` under `map`; a repeated name becomes a list.
fn insert(map: &mut Map<String, Value>, path: &[&str], value: String) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match map.get_mut(*first) {
        None => {
            map.insert((*first).to_owned(), build(rest, value));
        }
        Some(existing) => place(existing, rest, value),
    }
}

/// A fresh value holding `value` at `path`.
fn build(path: &[&str], value: String) -> Value {
    match path.split_first() {
        None => Value::String(value),
        Some((segment, rest)) if segment.is_empty() || segment.parse::<usize>().is_ok() => {
            Value::Array(vec![build(rest, value)])
        }
        Some((segment, rest)) => {
            let mut map = Map::new();
            map.insert((*segment).to_owned(), build(rest, value));
            Value::Object(map)
        }
    }
}

/// Adds `value` at `path` inside an existing value.
fn place(existing: &mut Value, path: &[&str], value: String) {
    match (existing, path.split_first()) {
        (Value::Array(items), None) => items.push(Value::String(value)),
        (slot @ Value::String(_), None) => {
            let first = std::mem::take(slot);
            *slot = Value::Array(vec![first, Value::String(value)]);
        }
        (Value::Object(map), Some(_)) => insert(map, path, value),
        (Value::Array(items), Some((segment, rest))) => {
            // `a[]=x` appends; `a[2][k]=x` adds to element 2 if it exists.
            match segment.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(item) if !rest.is_empty() => place(item, rest, value),
                _ => items.push(build(rest, value)),
            }
        }
        // A name used both plainly and with brackets: the later use wins.
        (slot, _) => *slot = build(path, value),
    }
}

// ---------------------------------------------------------------------------
// Decoding with a client's words
// ---------------------------------------------------------------------------

/// Why a body does not fit the route's type, and where.
#[derive(Debug)]
pub struct BodyError {
    /// Field names and list indexes from the top, outermost first.
    path: Vec<String>,
    words: String,
}

impl BodyError {
    fn new(words: impl Into<String>) -> BodyError {
        BodyError { path: Vec::new(), words: words.into() }
    }

    fn expected(what: &str) -> BodyError {
        BodyError::new(format!("must be {what}"))
    }

    fn at(mut self, segment: String) -> BodyError {
        self.path.insert(0, segment);
        self
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            return write!(f, "the body {}", self.words);
        }
        let mut path = String::new();
        for segment in &self.path {
            if segment.starts_with('[') {
                path.push_str(segment);
            } else {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&threadsync_domain::error::truncate(segment, 64));
            }
        }
        write!(f, "\"{path}\" {}", self.words)
    }
}

impl std::error::Error for BodyError {}

impl de::Error for BodyError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        // Messages from derived code name Rust types (`untagged enum Target`);
        // others come from our own `Deserialize` impls and are meant to be read.
        let msg = msg.to_string();
        if msg.contains("enum ") || msg.contains("struct ") || msg.contains("variant") {
            BodyError::new("has an unexpected form")
        } else {
            BodyError::new(msg)
        }
    }

    fn invalid_type(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        let expected = expected.to_string();
        let what = if expected.contains("bool") {
            "true or false"
        } else if ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "size", "integer"]
            .iter()
            .any(|t| expected.contains(t))
        {
            "a whole number"
        } else if ["f32", "f64", "float", "number"].iter().any(|t| expected.contains(t)) {
            "a number"
        } else if expected.contains("string") || expected.contains("char") {
            "a string"
        } else if ["sequence", "array", "tuple", "list"].iter().any(|t| expected.contains(t)) {
            "a list"
        } else if expected.contains("map") || expected.contains("struct") {
            "an object"
        } else {
            return BodyError::new(format!("has the wrong type ({})", unexpected_words(&unexpected)));
        };
        BodyError::expected(what)
    }

    fn invalid_value(unexpected: de::Unexpected<'_>, _expected: &dyn de::Expected) -> Self {
        match unexpected {
            de::Unexpected::Signed(_) | de::Unexpected::Unsigned(_) | de::Unexpected::Float(_) => {
                BodyError::new("is out of range")
            }
            _ => BodyError::new("has an invalid value"),
        }
    }

    fn invalid_length(len: usize, _expected: &dyn de::Expected) -> Self {
        BodyError::new(format!("has the wrong number of elements ({len})"))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let variant = threadsync_domain::error::echo(variant);
        BodyError::new(format!("must be one of {} (not \"{variant}\")", expected.join(", ")))
    }

    fn unknown_field(_field: &str, _expected: &'static [&'static str]) -> Self {
        BodyError::new("is not an accepted field")
    }

    fn missing_field(field: &'static str) -> Self {
        BodyError::new("is required").at(field.to_owned())
    }

    fn duplicate_field(field: &'static str) -> Self {
        BodyError::new("is given twice").at(field.to_owned())
    }
}

/// What a client sent, in its words.
fn unexpected_words(unexpected: &de::Unexpected<'_>) -> &'static str {
    match unexpected {
        de::Unexpected::Bool(_) => "a boolean",
        de::Unexpected::Signed(_) | de::Unexpected::Unsigned(_) | de::Unexpected::Float(_) => "a number",
        de::Unexpected::Str(_) | de::Unexpected::Char(_) => "a string",
        de::Unexpected::Unit | de::Unexpected::Option => "null",
        de::Unexpected::Seq => "a list",
        de::Unexpected::Map => "an object",
        _ => "something else",
    }
}

/// A parsed body on its way into a route's type. It reports errors as
/// [`BodyError`]s with the path of the offending field, and for form
/// bodies converts strings to what the type asks for.
struct Lenient {
    value: Value,
    form: bool,
}

impl Lenient {
    fn describe(&self) -> de::Unexpected<'_> {
        match &self.value {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Number(_) => de::Unexpected::Float(0.0),
            Value::String(s) => de::Unexpected::Str(s),
            Value::Array(_) => de::Unexpected::Seq,
            Value::Object(_) => de::Unexpected::Map,
        }
    }

    fn mismatch(&self, what: &str) -> BodyError {
        BodyError::new(format!("must be {what}, not {}", unexpected_words(&self.describe())))
    }

    /// A number sent as a form string, if it is one.
    fn form_number(&self) -> Option<serde_json::Number> {
        match &self.value {
            Value::String(s) if self.form => serde_json::from_str::<serde_json::Number>(s.trim()).ok(),
            _ => None,
        }
    }

    fn visit_number<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        let number = match &self.value {
            Value::Number(n) => n.clone(),
            _ => match self.form_number() {
                Some(n) => n,
                None => return Err(self.mismatch("a number")),
            },
        };
        if let Some(u) = number.as_u64() {
            visitor.visit_u64(u)
        } else if let Some(i) = number.as_i64() {
            visitor.visit_i64(i)
        } else {
            visitor.visit_f64(number.as_f64().unwrap_or(f64::NAN))
        }
    }
}

struct Items {
    items: std::iter::Enumerate<std::vec::IntoIter<Value>>,
    form: bool,
}

impl<'de> de::SeqAccess<'de> for Items {
    type Error = BodyError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, BodyError> {
        match self.items.next() {
            None => Ok(None),
            Some((index, value)) => seed
                .deserialize(Lenient { value, form: self.form })
                .map(Some)
                .map_err(|e| e.at(format!("[{index}]"))),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Fields {
    fields: serde_json::map::IntoIter,
    pending: Option<(String, Value)>,
    form: bool,
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = BodyError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, BodyError> {
        let Some((key, value)) = self.fields.next() else {
            return Ok(None);
        };
        let read =
            seed.deserialize(key.clone().into_deserializer()).map_err(|e: BodyError| e.at(key.clone()))?;
        self.pending = Some((key, value));
        Ok(Some(read))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, BodyError> {
        let (key, value) = self.pending.take().ok_or_else(|| BodyError::new("has a value without a name"))?;
        seed.deserialize(Lenient { value, form: self.form }).map_err(|e| e.at(key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len())
    }
}

/// One-key objects as enum variants (`{"Variant": ...}`), as serde_json reads them.
struct Variant {
    name: String,
    value: Lenient,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = BodyError;
    type Variant = Lenient;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Lenient), BodyError> {
        let name = seed.deserialize(self.name.into_deserializer())?;
        Ok((name, self.value))
    }
}

impl<'de> de::VariantAccess<'de> for Lenient {
    type Error = BodyError;

    fn unit_variant(self) -> Result<(), BodyError> {
        match self.value {
            Value::Null => Ok(()),
            _ => Err(self.mismatch("null")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, BodyError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, BodyError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

impl<'de> de::Deserializer<'de> for Lenient {
    type Error = BodyError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(_) => self.visit_number(visitor),
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => {
                visitor.visit_seq(Items { items: items.into_iter().enumerate(), form: self.form })
            }
            Value::Object(map) => {
                visitor.visit_map(Fields { fields: map.into_iter(), pending: None, form: self.form })
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match &self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::String(s) if self.form && s == "true" => visitor.visit_bool(true),
            Value::String(s) if self.form && s == "false" => visitor.visit_bool(false),
            _ => Err(self.mismatch("true or false")),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.visit_number(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.deserialize_string(visitor)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.deserialize_string(visitor)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.value {
            Value::String(s) => visitor.visit_string(s),
            _ => Err(self.mismatch("a string")),
        }
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.deserialize_any(visitor)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match &self.value {
            Value::Null => visitor.visit_none(),
            // An empty form field is an absent one.
            Value::String(s) if self.form && s.is_empty() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.mismatch("null")),
        }
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match &self.value {
            Value::Array(_) => self.deserialize_any(visitor),
            // A form field given once is a list of one where a list is wanted.
            Value::String(_) if self.form => {
                let form = self.form;
                Lenient { value: Value::Array(vec![self.value]), form }.deserialize_any(visitor)
            }
            _ => Err(self.mismatch("a list")),
        }
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, BodyError> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.value {
            Value::Object(_) => self.deserialize_any(visitor),
            _ => Err(self.mismatch("an object")),
        }
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        // Never a list: serde would otherwise read `[]` as a struct by
        // position and complain about "struct X with 4 elements".
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        let form = self.form;
        match self.value {
            Value::String(name) => visitor.visit_enum(name.into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                let Some((name, value)) = map.into_iter().next() else {
                    return Err(BodyError::expected("a name or a one-key object"));
                };
                visitor.visit_enum(Variant { name, value: Lenient { value, form } })
            }
            _ => Err(self.mismatch("a name or a one-key object")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        visitor.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn form(text: &str) -> Value {
        parse(text.as_bytes(), Format::Form).expect("a form")
    }

    #[test]
    fn forms_nest_and_repeat_like_qs() {
        assert_eq!(form("a=1&b=x%20y"), json!({"a": "1", "b": "x y"}));
        assert_eq!(
            form("message[rid]=GENERAL&message[msg]=hi"),
            json!({"message": {"rid": "GENERAL", "msg": "hi"}})
        );
        assert_eq!(form("members[]=a&members[]=b"), json!({"members": ["a", "b"]}));
        assert_eq!(form("members=a&members=b&members=c"), json!({"members": ["a", "b", "c"]}));
        assert_eq!(form("a[0][k]=1&a[0][l]=2"), json!({"a": [{"k": "1", "l": "2"}]}));
        assert_eq!(form("a[b=1"), json!({"a[b": "1"}), "unclosed brackets are a literal name");
        assert_eq!(form("+plus+=%2B"), json!({" plus ": "+"}));
        assert_eq!(form(""), json!({}));
        let deep = format!("a{}=1", "[x]".repeat(MAX_FORM_DEPTH));
        assert!(parse(deep.as_bytes(), Format::Form).is_err());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Create {
        name: Option<String>,
        members: Option<Vec<String>>,
        read_only: Option<bool>,
        count: Option<u32>,
    }

    #[test]
    fn form_strings_become_what_the_type_wants() {
        let value = form("name=x&members=alice&readOnly=true&count=12");
        let body: Create = decode(value, Format::Form).expect("decoded");
        assert_eq!(
            body,
            Create {
                name: Some("x".into()),
                members: Some(vec!["alice".into()]),
                read_only: Some(true),
                count: Some(12)
            }
        );
        let body: Create = decode(form("readOnly=&count="), Format::Form).expect("empty is absent");
        assert_eq!(body.read_only, None);
        let e = decode::<Create>(form("readOnly=yes"), Format::Form).expect_err("not a boolean");
        assert_eq!(
            e.to_string(),
            "Invalid request body: \"readOnly\" must be true or false, not a string [error-invalid-params]"
        );
        // JSON is not converted: a string is not a boolean there.
        let e = decode::<Create>(json!({"readOnly": "true"}), Format::Json).expect_err("strict");
        assert!(e.to_string().contains("\"readOnly\" must be true or false"), "{e}");
    }

    #[test]
    fn errors_never_name_rust_types() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct RegisterBody {
            username: Option<String>,
            email: Option<String>,
            pass: Option<String>,
            name: Option<String>,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Nested {
            message: Option<Inner>,
            count: Option<u8>,
            id: String,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            attachments: Option<Vec<Attachment>>,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Attachment {
            title: Option<String>,
        }
        let words = |value: Value| {
            let e = decode::<RegisterBody>(value, Format::Json).expect_err("refused");
            e.to_string()
        };
        assert_eq!(
            words(json!([])),
            "Invalid request body: the body must be an object, not a list [error-invalid-params]"
        );
        assert_eq!(
            words(json!(5)),
            "Invalid request body: the body must be an object, not a number [error-invalid-params]"
        );
        assert_eq!(
            words(json!({"username": 5})),
            "Invalid request body: \"username\" must be a string, not a number [error-invalid-params]"
        );
        let nested = |value: Value| decode::<Nested>(value, Format::Json).expect_err("refused").to_string();
        assert_eq!(
            nested(json!({"id": "x", "message": {"attachments": [{"title": "a"}, {"title": 1}]}})),
            "Invalid request body: \"message.attachments[1].title\" must be a string, not a number [error-invalid-params]"
        );
        assert_eq!(
            nested(json!({"id": "x", "count": 300})),
            "Invalid request body: \"count\" is out of range [error-invalid-params]"
        );
        assert_eq!(nested(json!({})), "Invalid request body: \"id\" is required [error-invalid-params]");
        for text in [words(json!([])), nested(json!({"id": 1}))] {
            for leak in ["struct", "RegisterBody", "Nested", "invalid length", "expected"] {
                assert!(!text.contains(leak), "{text}");
            }
        }
    }

    #[test]
    fn json_syntax_errors_are_worded() {
        let words = |text: &str| parse(text.as_bytes(), Format::Json).expect_err(text).to_string();
        assert_eq!(
            words(r#"{"a": "\ud800"}"#),
            "Invalid JSON in request body: invalid unicode escape (line 1, column 14) [error-invalid-params]"
        );
        assert!(words(r#"{"a": "x"#).contains("the JSON ends too early"));
        assert!(words("{\"a\": 1,}").contains("trailing comma"));
        assert_eq!(parse(b"  \n", Format::Json), Ok(json!({})));
    }
}
