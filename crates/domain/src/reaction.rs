//! Reactions on a message: `reactions: {":emoji:": {usernames: [...]}}`,
//! kept in the message document. The rule is pure, so every backend
//! applies the same one inside its own write.

use serde_json::{json, Map, Value};

/// The longest emoji name accepted (between the colons).
pub const MAX_EMOJI_NAME: usize = 64;

/// The stored form of an emoji, `:name:`, from what a client sends (`smile`
/// or `:smile:`). `None` for an obviously invalid name: empty, too long, or
/// with characters no emoji shortcode has (shortcodes are letters, digits,
/// `_`, `+` and `-`, e.g. `:+1:`, `:flag_us:`, `:e-mail:`).
pub fn normalize_emoji(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let name = raw.strip_prefix(':').unwrap_or(raw);
    let name = name.strip_suffix(':').unwrap_or(name);
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_EMOJI_NAME
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'));
    valid.then(|| format!(":{name}:"))
}

/// Adds or removes `username`'s `emoji` reaction in a message's `extra`
/// fields: toggles it, or with `should_react` sets it to that. An emoji no
/// one reacts with any more is dropped, and `reactions` itself when empty.
/// Returns whether anything changed.
pub fn toggle(
    extra: &mut Map<String, Value>,
    emoji: &str,
    username: &str,
    should_react: Option<bool>,
) -> bool {
    let mut reactions = match extra.remove("reactions") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut usernames: Vec<Value> = reactions
        .get(emoji)
        .and_then(|r| r.get("usernames"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has = usernames.iter().any(|u| u.as_str() == Some(username));
    let react = should_react.unwrap_or(!has);
    let changed = react != has;
    if changed {
        if react {
            usernames.push(json!(username));
        } else {
            usernames.retain(|u| u.as_str() != Some(username));
        }
        if usernames.is_empty() {
            reactions.remove(emoji);
        } else {
            reactions.insert(emoji.to_owned(), json!({"usernames": usernames}));
        }
    }
    if !reactions.is_empty() {
        extra.insert("reactions".to_owned(), Value::Object(reactions));
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(normalize_emoji("smile").as_deref(), Some(":smile:"));
        assert_eq!(normalize_emoji(":+1:").as_deref(), Some(":+1:"));
        assert_eq!(normalize_emoji(" :flag_us: ").as_deref(), Some(":flag_us:"));
        for bad in ["", "::", ":a b:", "<script>", ":smile", &"x".repeat(65), "é"] {
            let expected = if bad == ":smile" { Some(":smile:".to_owned()) } else { None };
            assert_eq!(normalize_emoji(bad), expected, "{bad}");
        }
    }

    #[test]
    fn toggles_and_sets() {
        let mut extra = Map::new();
        assert!(toggle(&mut extra, ":a:", "ann", None));
        assert!(toggle(&mut extra, ":a:", "bob", None));
        assert_eq!(extra["reactions"], json!({":a:": {"usernames": ["ann", "bob"]}}));
        // Forcing what is already so changes nothing.
        assert!(!toggle(&mut extra, ":a:", "ann", Some(true)));
        assert!(!toggle(&mut extra, ":b:", "ann", Some(false)));
        assert!(toggle(&mut extra, ":a:", "ann", None));
        assert_eq!(extra["reactions"], json!({":a:": {"usernames": ["bob"]}}));
        assert!(toggle(&mut extra, ":a:", "bob", Some(false)));
        assert!(!extra.contains_key("reactions"), "{extra:?}");
    }
}
