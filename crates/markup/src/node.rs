//! The tree the parser builds, and its JSON form (the shape and key order of
//! `@rocket.chat/message-parser`'s output after `JSON.stringify`).

use serde_json::{Map, Value};
use std::rc::Rc;

/// Text is kept as UTF-16 code units until the tree is serialised, because the
/// reference grammar matches code units (`.` can take half a surrogate pair).
pub(crate) type U16s = Vec<u16>;

#[derive(Clone, Debug)]
pub(crate) enum N {
    Plain(U16s),
    Bold(Vec<N>),
    Italic(Vec<N>),
    Strike(Vec<N>),
    InlineCode(U16s),
    Link(U16s, Option<Vec<N>>),
    Image(U16s, Option<Box<N>>),
    MentionUser(U16s),
    MentionChannel(U16s),
    /// `:shortcode:` (value == shortcode) or an emoticon (value = its text).
    Emoji {
        short: U16s,
        value: U16s,
    },
    EmojiUnicode(U16s),
    Color([u32; 4]),
    InlineKatex(U16s),
    Timestamp(U16s, u16),
    /// An array result (italic fallbacks) that the next reduce flattens.
    Seq(Vec<N>),
    Paragraph(Vec<N>),
    Heading(usize, Vec<N>),
    Code(Option<U16s>, Vec<U16s>),
    Quote(Vec<N>),
    Tasks(Vec<(bool, Vec<N>)>),
    OrderedList(Vec<(Vec<N>, f64)>),
    UnorderedList(Vec<Vec<N>>),
    Katex(U16s),
    LineBreak,
    BigEmoji(Vec<N>),
    /// A memoised BOLD / ITALIC / STRIKE / LINK node, shared between the
    /// places that use it: a memo hit costs a reference count, not a copy of
    /// the subtree. Never a `Plain`, `Seq` or emoji node, which the reduce
    /// steps look into.
    Shared(Rc<N>),
}

impl N {
    /// The node to keep in the memo: emphasis and link subtrees are shared.
    pub(crate) fn share(self) -> N {
        match self {
            N::Bold(_) | N::Italic(_) | N::Strike(_) | N::Link(..) => N::Shared(Rc::new(self)),
            other => other,
        }
    }
}

fn s(v: &[u16]) -> Value {
    Value::String(String::from_utf16_lossy(v))
}

/// A JSON object with these keys in this order. Cloned from a prototype
/// built once per call site (the keys with null values), then filled in
/// key order: a clone copies the key table instead of hashing every key
/// again, and allocates at the final size.
macro_rules! obj {
    ([$(($k:literal, $v:expr)),* $(,)?]) => {{
        static PROTO: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        let proto = PROTO.get_or_init(|| {
            let mut m = Map::new();
            $(m.insert($k.to_owned(), Value::Null);)*
            Value::Object(m)
        });
        let mut object = proto.clone();
        if let Value::Object(m) = &mut object {
            let mut slots = m.values_mut();
            $(if let Some(slot) = slots.next() {
                *slot = $v;
            })*
        }
        object
    }};
}

fn typed(t: &str, value: Value) -> Value {
    obj!([("type", t.into()), ("value", value)])
}

fn plain(v: &[u16]) -> Value {
    typed("PLAIN_TEXT", s(v))
}

fn list(v: &[N]) -> Value {
    Value::Array(v.iter().map(N::to_json).collect())
}

pub(crate) fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

impl N {
    pub(crate) fn to_json(&self) -> Value {
        match self {
            N::Plain(v) => plain(v),
            N::Bold(v) => typed("BOLD", list(v)),
            N::Italic(v) => typed("ITALIC", list(v)),
            N::Strike(v) => typed("STRIKE", list(v)),
            N::InlineCode(v) => typed("INLINE_CODE", plain(v)),
            N::Link(src, label) => typed(
                "LINK",
                obj!([
                    ("src", plain(src)),
                    ("label", label.as_ref().map_or_else(|| Value::Array(vec![plain(src)]), |l| list(l))),
                ]),
            ),
            N::Image(src, label) => typed(
                "IMAGE",
                obj!([
                    ("src", plain(src)),
                    ("label", label.as_ref().map_or_else(|| plain(src), |l| l.to_json())),
                ]),
            ),
            N::MentionUser(v) => typed("MENTION_USER", plain(v)),
            N::MentionChannel(v) => typed("MENTION_CHANNEL", plain(v)),
            N::Emoji { short, value } => {
                obj!([("type", "EMOJI".into()), ("value", plain(value)), ("shortCode", s(short))])
            }
            N::EmojiUnicode(v) => obj!([("type", "EMOJI".into()), ("unicode", s(v))]),
            N::Color([r, g, b, a]) => typed(
                "COLOR",
                obj!([("r", (*r).into()), ("g", (*g).into()), ("b", (*b).into()), ("a", (*a).into())]),
            ),
            N::InlineKatex(v) => typed("INLINE_KATEX", s(v)),
            N::Timestamp(ts, format) => {
                let mut fallback: Vec<u16> = "<t:".encode_utf16().collect();
                fallback.extend_from_slice(ts);
                fallback.push(u16::from(b':'));
                fallback.push(*format);
                fallback.push(u16::from(b'>'));
                obj!([
                    ("type", "TIMESTAMP".into()),
                    ("value", obj!([("timestamp", s(ts)), ("format", s(&[*format]))])),
                    ("fallback", plain(&fallback)),
                ])
            }
            N::Seq(v) => list(v),
            N::Paragraph(v) => typed("PARAGRAPH", list(v)),
            N::Heading(level, v) => {
                obj!([("type", "HEADING".into()), ("level", (*level).into()), ("value", list(v))])
            }
            N::Code(lang, lines) => obj!([
                ("type", "CODE".into()),
                ("language", lang.as_ref().map_or_else(|| "none".into(), |l| s(l))),
                ("value", Value::Array(lines.iter().map(|l| typed("CODE_LINE", plain(l))).collect())),
            ]),
            N::Quote(v) => typed("QUOTE", list(v)),
            N::Tasks(items) => typed(
                "TASKS",
                Value::Array(
                    items
                        .iter()
                        .map(|(done, v)| {
                            obj!([("type", "TASK".into()), ("status", (*done).into()), ("value", list(v))])
                        })
                        .collect(),
                ),
            ),
            N::OrderedList(items) => typed(
                "ORDERED_LIST",
                Value::Array(
                    items
                        .iter()
                        .map(|(v, n)| {
                            // `listItem` only sets `number` when it is truthy.
                            if *n != 0.0 {
                                obj!([
                                    ("type", "LIST_ITEM".into()),
                                    ("value", list(v)),
                                    ("number", number(*n))
                                ])
                            } else {
                                obj!([("type", "LIST_ITEM".into()), ("value", list(v))])
                            }
                        })
                        .collect(),
                ),
            ),
            N::UnorderedList(items) => typed(
                "UNORDERED_LIST",
                Value::Array(items.iter().map(|v| typed("LIST_ITEM", list(v))).collect()),
            ),
            N::Katex(v) => typed("KATEX", s(v)),
            N::LineBreak => obj!([("type", "LINE_BREAK".into())]),
            N::BigEmoji(v) => typed("BIG_EMOJI", list(v)),
            N::Shared(n) => n.to_json(),
        }
    }
}

/// JavaScript `String.prototype.trim` emptiness (its whitespace set).
pub(crate) fn js_blank(v: &[u16]) -> bool {
    v.iter().all(|&c| {
        matches!(c, 0x09..=0x0D | 0x20 | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000 | 0xFEFF)
    })
}

fn is_emoji(n: Option<&N>) -> bool {
    matches!(n, Some(N::Emoji { .. } | N::EmojiUnicode(_)))
}

fn plain_text(n: Option<&N>) -> bool {
    matches!(n, Some(N::Plain(v)) if !js_blank(v))
}

/// `joinEmoji`: a `:shortcode:` or emoticon glued to text or to another emoji
/// goes back to being text.
fn join_emoji(cur: &N, prev: Option<&N>, next: Option<&N>) -> N {
    let N::Emoji { short, value } = cur else {
        return cur.clone();
    };
    if prev.is_none() && next.is_none() {
        return cur.clone();
    }
    if is_emoji(prev) || is_emoji(next) || plain_text(prev) || plain_text(next) {
        if short != value {
            return N::Plain(value.clone());
        }
        let mut t = vec![u16::from(b':')];
        t.extend_from_slice(value);
        t.push(u16::from(b':'));
        return N::Plain(t);
    }
    cur.clone()
}

/// `reducePlainTexts`: flatten one level, un-emoji glued emoji (judged on
/// the original neighbours), merge adjacent plain texts.
pub(crate) fn reduce(values: Vec<N>) -> Vec<N> {
    let mut flat = if values.iter().any(|v| matches!(v, N::Seq(_))) {
        let mut flat = Vec::with_capacity(values.len());
        for v in values {
            match v {
                N::Seq(items) => flat.extend(items),
                other => flat.push(other),
            }
        }
        flat
    } else {
        values
    };
    if flat.iter().any(|v| matches!(v, N::Emoji { .. })) {
        let joined: Vec<(usize, N)> = (0..flat.len())
            .filter(|&i| matches!(flat[i], N::Emoji { .. }))
            .map(|i| {
                let prev = if i > 0 { flat.get(i - 1) } else { None };
                (i, join_emoji(&flat[i], prev, flat.get(i + 1)))
            })
            .collect();
        for (i, n) in joined {
            flat[i] = n;
        }
    }
    // Merge each plain text into a plain text kept just before it, in place.
    flat.dedup_by(|cur, last| match (cur, last) {
        (N::Plain(v), N::Plain(last)) => {
            last.extend_from_slice(v);
            true
        }
        _ => false,
    });
    flat
}

impl N {
    /// Appends the user (`MENTION_USER`) and channel (`MENTION_CHANNEL`)
    /// names of this subtree, in document order, each once.
    pub(crate) fn mentions(&self, users: &mut Vec<String>, channels: &mut Vec<String>) {
        fn add(names: &mut Vec<String>, v: &[u16]) {
            let name = String::from_utf16_lossy(v);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let all = |v: &[N], users: &mut Vec<String>, channels: &mut Vec<String>| {
            for n in v {
                n.mentions(users, channels);
            }
        };
        match self {
            N::MentionUser(v) => add(users, v),
            N::MentionChannel(v) => add(channels, v),
            N::Bold(v)
            | N::Italic(v)
            | N::Strike(v)
            | N::Seq(v)
            | N::Paragraph(v)
            | N::Heading(_, v)
            | N::Quote(v)
            | N::BigEmoji(v) => all(v, users, channels),
            N::Link(_, Some(label)) => all(label, users, channels),
            N::Image(_, Some(label)) => label.mentions(users, channels),
            N::Tasks(items) => items.iter().for_each(|(_, v)| all(v, users, channels)),
            N::OrderedList(items) => items.iter().for_each(|(v, _)| all(v, users, channels)),
            N::UnorderedList(items) => items.iter().for_each(|v| all(v, users, channels)),
            N::Shared(n) => n.mentions(users, channels),
            N::Plain(_)
            | N::InlineCode(_)
            | N::Link(_, None)
            | N::Image(_, None)
            | N::Emoji { .. }
            | N::EmojiUnicode(_)
            | N::Color(_)
            | N::InlineKatex(_)
            | N::Timestamp(..)
            | N::Code(..)
            | N::Katex(_)
            | N::LineBreak => {}
        }
    }
}
