//! The `md` field of Rocket.Chat messages: the markup tree that Rocket.Chat's
//! official parser (`@rocket.chat/message-parser`, pinned to 0.31.32 in
//! `scripts/markup-corpus`) produces from a message's text, computed here by
//! a hand-written port of its grammar. Pure: no I/O, no JavaScript.
//!
//! The contract, the options and the known differences are in
//! `docs/markup.md`; the differential corpus in `tests/corpus` holds the
//! reference parser's output for every covered input.

mod node;
mod parser;
mod psl;
mod tables;
mod write;

use serde_json::Value;

/// KaTeX delimiters the parser recognises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Katex {
    /// `$…$` inline and `$$…$$` blocks.
    pub dollar_syntax: bool,
    /// `\(…\)` inline and `\[…\]` blocks.
    pub parenthesis_syntax: bool,
}

/// Parser options, as the npm parser's `Options`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `color:#rgb` / `#rrggbb` / `#rrggbbaa` become COLOR nodes.
    pub colors: bool,
    /// `:)`-style emoticons become EMOJI nodes.
    pub emoticons: bool,
    /// KaTeX; `None` disables it.
    pub katex: Option<Katex>,
    /// Extra host names (besides `localhost`) auto-linked without a public suffix.
    pub custom_domains: Vec<String>,
}

impl Default for Options {
    /// What a Rocket.Chat server passes when it stores `md` with its default
    /// settings: colours on (`HexColorPreview_Enabled`), emoticons always on,
    /// KaTeX on (`Katex_Enabled`) with `\(…\)` (`Katex_Parenthesis_Syntax`)
    /// but not `$…$` (`Katex_Dollar_Syntax`), no custom domains
    /// (`Message_CustomDomain_AutoLink` empty).
    fn default() -> Self {
        Options {
            colors: true,
            emoticons: true,
            katex: Some(Katex { dollar_syntax: false, parenthesis_syntax: true }),
            custom_domains: Vec::new(),
        }
    }
}

/// A parsed message text: the markup tree, typed. Write it as the JSON of
/// `md` without building a `serde_json::Value` first
/// ([`Md::to_json_string`]), or ask for the `Value` ([`Md::to_value`]).
///
/// Not `Send`: subtrees the parser reused are shared by reference count.
/// Write it where it was parsed.
#[derive(Clone, Debug)]
pub struct Md(Vec<node::N>);

impl Md {
    /// The tree as a `serde_json::Value` (what [`parse`] returns).
    pub fn to_value(&self) -> Value {
        Value::Array(self.0.iter().map(node::N::to_json).collect())
    }

    /// The tree as JSON text, written directly from the typed tree.
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::with_capacity(256);
        write::list(&mut out, &self.0);
        // Only whole UTF-8 encodings of characters and ASCII were written.
        String::from_utf8(out).unwrap_or_default()
    }

    /// The user names (`MENTION_USER`, including `all` / `here`) and channel
    /// names (`MENTION_CHANNEL`) the tree mentions, each once, in order of
    /// first appearance: the same as [`mentions`] of [`Md::to_value`].
    pub fn mentions(&self) -> (Vec<String>, Vec<String>) {
        let mut users = Vec::new();
        let mut channels = Vec::new();
        for n in &self.0 {
            n.mentions(&mut users, &mut channels);
        }
        (users, channels)
    }
}

/// Parses a message text into its typed markup tree, or `None` for text the
/// reference parser rejects (the empty string).
pub fn parse_tree(text: &str, options: &Options) -> Option<Md> {
    let mut p = parser::Parser::new(text, options);
    p.start().map(Md)
}

/// Parses a message text into its markup tree (a JSON array of block nodes),
/// or `None` for text the reference parser rejects (the empty string).
pub fn parse(text: &str, options: &Options) -> Option<Value> {
    parse_tree(text, options).map(|md| md.to_value())
}

/// The user names (`MENTION_USER`, including `all` / `here`) and channel
/// names (`MENTION_CHANNEL`) a tree mentions, each once, in order of first
/// appearance.
pub fn mentions(tree: &Value) -> (Vec<String>, Vec<String>) {
    let mut users = Vec::new();
    let mut channels = Vec::new();
    // Explicit stack: the tree is shallow, but a stack keeps this safe for
    // any JSON given to it.
    let mut stack = vec![tree];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => {
                let kind = map.get("type").and_then(Value::as_str);
                let name = map.get("value").and_then(|v| v.get("value")).and_then(Value::as_str);
                match (kind, name) {
                    (Some("MENTION_USER"), Some(n)) => {
                        if !users.iter().any(|u| u == n) {
                            users.push(n.to_owned());
                        }
                    }
                    (Some("MENTION_CHANNEL"), Some(n)) => {
                        if !channels.iter().any(|c| c == n) {
                            channels.push(n.to_owned());
                        }
                    }
                    _ => {
                        if let Some(inner) = map.get("value") {
                            stack.push(inner);
                        }
                        if let Some(label) = map.get("label") {
                            stack.push(label);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (users, channels)
}
