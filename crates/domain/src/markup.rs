//! A message's markup tree (`md`) as the JSON text it is stored and sent as.
//!
//! The tree is parsed once, when the text is written (docs/markup.md), and
//! from then on only copied: into the stored document, out of it, into
//! answers. Holding it as JSON text rather than a `serde_json::Value` keeps
//! those copies flat: a `Value` is one allocation per node and per key (a
//! 5,000-character message of emoticons builds one in about 1.5 ms, the
//! text in a fifth of that), and reading a stored document would rebuild it
//! every time. The text is always valid JSON (checked when made).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// The `md` of a message: a JSON array of Rocket.Chat markup blocks, kept as
/// text. Serialises as that JSON (not as a string); deserialises from any
/// JSON value, whichever serde_json form it comes from (text or `Value`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Markup(Box<RawValue>);

impl Markup {
    /// Wraps JSON text; `None` when it is not valid JSON.
    pub fn from_json(text: String) -> Option<Self> {
        RawValue::from_string(text).ok().map(Markup)
    }

    /// The JSON text of a value.
    pub fn from_value(value: &Value) -> Self {
        // Serialising a `Value` to text cannot fail (its keys are strings).
        Markup(serde_json::value::to_raw_value(value).unwrap_or_else(|_| empty()))
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The tree as a `Value` (parsed on each call: for tests and rare reads).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }
}

fn empty() -> Box<RawValue> {
    RawValue::from_string("[]".to_owned()).unwrap_or_else(|_| unreachable!("`[]` is JSON"))
}

/// Equal when the trees are: the same text, or texts that differ only in
/// spacing or key order (PostgreSQL's `jsonb` gives keys back in its own
/// order).
impl PartialEq for Markup {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json() || self.to_value() == other.to_value()
    }
}

impl PartialEq<Value> for Markup {
    fn eq(&self, other: &Value) -> bool {
        self.to_value() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_text_and_values() {
        let md = Markup::from_json(r#"[{"type":"PARAGRAPH","value":[]}]"#.to_owned()).expect("json");
        assert_eq!(serde_json::to_string(&md).expect("text"), r#"[{"type":"PARAGRAPH","value":[]}]"#);
        assert_eq!(serde_json::to_value(&md).expect("value"), json!([{"type": "PARAGRAPH", "value": []}]));
        let back: Markup =
            serde_json::from_value(json!([{"value": [], "type": "PARAGRAPH"}])).expect("from value");
        assert_eq!(back, md, "key order does not matter");
        assert_eq!(md, json!([{"type": "PARAGRAPH", "value": []}]));
        assert_ne!(Markup::from_value(&json!([1])), md);
        assert!(Markup::from_json("[".to_owned()).is_none());
    }
}
