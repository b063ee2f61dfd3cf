//! The tree written as JSON text, by hand: the shape and key order of
//! `@rocket.chat/message-parser`'s output after `JSON.stringify`, byte for
//! byte what `serde_json::to_string` writes for the `Value` form
//! (`tests/corpus.rs` and `tests/robustness.rs` compare the two on every
//! input).
//!
//! Why not `serde`: a tree is mostly tiny objects with constant keys
//! (`{"type":"PLAIN_TEXT","value":"x"}`), and a generic serializer spends
//! its time on per-key and per-string bookkeeping. Here each constant
//! piece is one `extend_from_slice`, and strings are copied with an ASCII
//! fast path: writing costs about a third of what it did through `serde`.

use crate::node::{number, N};

/// Appends the JSON of a list of nodes.
pub(crate) fn list(out: &mut Vec<u8>, nodes: &[N]) {
    out.push(b'[');
    for (i, n) in nodes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        node(out, n);
    }
    out.push(b']');
}

/// A UTF-16 string as a JSON string: escaped as serde_json escapes
/// (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other controls as `\u00xx`),
/// lone surrogates written as U+FFFD (as `String::from_utf16_lossy`).
fn string(out: &mut Vec<u8>, s: &[u16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c < 0x80 {
            // ASCII: most code units of most texts.
            let b = c as u8;
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0C => out.extend_from_slice(b"\\f"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0..=0x1F => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 15)],
                ]),
                _ => out.push(b),
            }
            i += 1;
            continue;
        }
        // A surrogate pair is one character; a lone surrogate is U+FFFD.
        let (ch, width) = match c {
            0xD800..=0xDBFF => match s.get(i + 1) {
                Some(&lo @ 0xDC00..=0xDFFF) => {
                    let v = 0x10000 + ((u32::from(c) - 0xD800) << 10) + (u32::from(lo) - 0xDC00);
                    (char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER), 2)
                }
                _ => (char::REPLACEMENT_CHARACTER, 1),
            },
            0xDC00..=0xDFFF => (char::REPLACEMENT_CHARACTER, 1),
            _ => (char::from_u32(u32::from(c)).unwrap_or(char::REPLACEMENT_CHARACTER), 1),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        i += width;
    }
    out.push(b'"');
}

/// `{"type":"PLAIN_TEXT","value":"…"}`.
fn plain(out: &mut Vec<u8>, s: &[u16]) {
    out.extend_from_slice(br#"{"type":"PLAIN_TEXT","value":"#);
    string(out, s);
    out.push(b'}');
}

/// `{"type":"<t>","value":` — the caller writes the value and the `}`.
fn open(out: &mut Vec<u8>, t: &str) {
    out.extend_from_slice(br#"{"type":""#);
    out.extend_from_slice(t.as_bytes());
    out.extend_from_slice(br#"","value":"#);
}

/// `{"type":"<t>","value":[…]}`.
fn typed_list(out: &mut Vec<u8>, t: &str, nodes: &[N]) {
    open(out, t);
    list(out, nodes);
    out.push(b'}');
}

/// `{"type":"<t>","value":{"type":"PLAIN_TEXT","value":"…"}}`.
fn typed_plain(out: &mut Vec<u8>, t: &str, s: &[u16]) {
    open(out, t);
    plain(out, s);
    out.push(b'}');
}

fn integer(out: &mut Vec<u8>, n: impl Into<u64>) {
    out.extend_from_slice(n.into().to_string().as_bytes());
}

/// Appends the JSON of one node.
pub(crate) fn node(out: &mut Vec<u8>, n: &N) {
    match n {
        N::Plain(v) => plain(out, v),
        N::Bold(v) => typed_list(out, "BOLD", v),
        N::Italic(v) => typed_list(out, "ITALIC", v),
        N::Strike(v) => typed_list(out, "STRIKE", v),
        N::InlineCode(v) => typed_plain(out, "INLINE_CODE", v),
        N::Link(src, label) => {
            open(out, "LINK");
            out.extend_from_slice(br#"{"src":"#);
            plain(out, src);
            out.extend_from_slice(br#","label":"#);
            match label {
                Some(label) => list(out, label),
                None => {
                    out.push(b'[');
                    plain(out, src);
                    out.push(b']');
                }
            }
            out.extend_from_slice(b"}}");
        }
        N::Image(src, label) => {
            open(out, "IMAGE");
            out.extend_from_slice(br#"{"src":"#);
            plain(out, src);
            out.extend_from_slice(br#","label":"#);
            match label {
                Some(label) => node(out, label),
                None => plain(out, src),
            }
            out.extend_from_slice(b"}}");
        }
        N::MentionUser(v) => typed_plain(out, "MENTION_USER", v),
        N::MentionChannel(v) => typed_plain(out, "MENTION_CHANNEL", v),
        N::Emoji { short, value } => {
            open(out, "EMOJI");
            plain(out, value);
            out.extend_from_slice(br#","shortCode":"#);
            string(out, short);
            out.push(b'}');
        }
        N::EmojiUnicode(v) => {
            out.extend_from_slice(br#"{"type":"EMOJI","unicode":"#);
            string(out, v);
            out.push(b'}');
        }
        N::Color([r, g, b, a]) => {
            open(out, "COLOR");
            for (key, v) in [("{\"r\":", r), (",\"g\":", g), (",\"b\":", b), (",\"a\":", a)] {
                out.extend_from_slice(key.as_bytes());
                integer(out, *v);
            }
            out.extend_from_slice(b"}}");
        }
        N::InlineKatex(v) => {
            open(out, "INLINE_KATEX");
            string(out, v);
            out.push(b'}');
        }
        N::Timestamp(ts, format) => {
            open(out, "TIMESTAMP");
            out.extend_from_slice(br#"{"timestamp":"#);
            string(out, ts);
            out.extend_from_slice(br#","format":"#);
            string(out, &[*format]);
            out.extend_from_slice(br#"},"fallback":"#);
            let mut fallback: Vec<u16> = "<t:".encode_utf16().collect();
            fallback.extend_from_slice(ts);
            fallback.extend_from_slice(&[u16::from(b':'), *format, u16::from(b'>')]);
            plain(out, &fallback);
            out.push(b'}');
        }
        N::Seq(v) => list(out, v),
        N::Paragraph(v) => typed_list(out, "PARAGRAPH", v),
        N::Heading(level, v) => {
            out.extend_from_slice(br#"{"type":"HEADING","level":"#);
            integer(out, *level as u64);
            out.extend_from_slice(br#","value":"#);
            list(out, v);
            out.push(b'}');
        }
        N::Code(lang, lines) => {
            out.extend_from_slice(br#"{"type":"CODE","language":"#);
            match lang {
                Some(l) => string(out, l),
                None => out.extend_from_slice(br#""none""#),
            }
            out.extend_from_slice(br#","value":["#);
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                typed_plain(out, "CODE_LINE", line);
            }
            out.extend_from_slice(b"]}");
        }
        N::Quote(v) => typed_list(out, "QUOTE", v),
        N::Tasks(items) => {
            open(out, "TASKS");
            out.push(b'[');
            for (i, (done, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(br#"{"type":"TASK","status":"#);
                out.extend_from_slice(if *done { b"true" } else { b"false" });
                out.extend_from_slice(br#","value":"#);
                list(out, v);
                out.push(b'}');
            }
            out.extend_from_slice(b"]}");
        }
        N::OrderedList(items) => {
            open(out, "ORDERED_LIST");
            out.push(b'[');
            for (i, (v, n)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                open(out, "LIST_ITEM");
                list(out, v);
                // `listItem` only sets `number` when it is truthy.
                if *n != 0.0 {
                    out.extend_from_slice(br#","number":"#);
                    out.extend_from_slice(number(*n).to_string().as_bytes());
                }
                out.push(b'}');
            }
            out.extend_from_slice(b"]}");
        }
        N::UnorderedList(items) => {
            open(out, "UNORDERED_LIST");
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                typed_list(out, "LIST_ITEM", v);
            }
            out.extend_from_slice(b"]}");
        }
        N::Katex(v) => {
            open(out, "KATEX");
            string(out, v);
            out.push(b'}');
        }
        N::LineBreak => out.extend_from_slice(br#"{"type":"LINE_BREAK"}"#),
        N::BigEmoji(v) => typed_list(out, "BIG_EMOJI", v),
        N::Shared(n) => node(out, n),
    }
}

#[cfg(test)]
mod tests {
    use super::string;

    /// Every ASCII code unit, controls included, lone and paired surrogates
    /// and other planes: written as serde_json writes the lossy string.
    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut cases: Vec<Vec<u16>> = (0u16..0x80).map(|c| vec![c, u16::from(b'a')]).collect();
        cases.extend([
            vec![0xD83D, 0xDE00],
            vec![0xD83D],
            vec![0xDE00, 0x41],
            vec![0x41, 0xD83D, 0xD83D, 0xDE00],
            vec![0xE9, 0x20AC, 0xFFFF, 0x7F],
            "\"quoted\" \\ back\u{2028}".encode_utf16().collect(),
        ]);
        for units in cases {
            let mut out = Vec::new();
            string(&mut out, &units);
            let expected = serde_json::to_string(&String::from_utf16_lossy(&units)).expect("json");
            assert_eq!(String::from_utf8(out).expect("utf-8"), expected, "{units:x?}");
        }
    }
}
