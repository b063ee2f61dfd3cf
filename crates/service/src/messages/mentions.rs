//! `@username`, `@all`, `@here` and `#channel` in message text (Rocket.Chat's
//! `MentionsParser`, server side).
//!
//! Parsing is pure and lives here; resolving the names against users and
//! rooms is done by the message service.

use std::sync::OnceLock;

/// At most this many distinct names are looked up per message, so a long
/// message full of `@x` cannot turn into an unbounded number of queries.
pub(crate) const MAX_MENTIONS: usize = 100;

/// Rocket.Chat's default `UTF8_User_Names_Validation` / channel-name pattern.
const NAME: &str = r"[0-9a-zA-Z\-_.]+";

fn user_pattern() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    // A mention starts a line or follows whitespace or `>` (quotes), as in
    // Rocket.Chat; the optional `@server` part is a federated name.
    RE.get_or_init(|| {
        regex::Regex::new(&format!(r"(?m)(?:^|[\s>])@({NAME}(?:@{NAME})?)")).expect("valid pattern")
    })
}

fn channel_pattern() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(&format!(r"(?m)(?:^|[\s>])#({NAME}(?:@{NAME})?)")).expect("valid pattern")
    })
}

/// The distinct names after `@` in `msg`, in order of first appearance
/// (`all` and `here` included), at most [`MAX_MENTIONS`].
pub(crate) fn user_mentions(msg: &str) -> Vec<String> {
    distinct(user_pattern(), msg)
}

/// The distinct names after `#` in `msg`, in order of first appearance, at
/// most [`MAX_MENTIONS`].
pub(crate) fn channel_mentions(msg: &str) -> Vec<String> {
    distinct(channel_pattern(), msg)
}

/// The name without the sentence punctuation that usually follows a mention
/// (`thanks @alice.`); `None` when nothing changes.
pub(crate) fn without_trailing_dots(name: &str) -> Option<&str> {
    let trimmed = name.trim_end_matches('.');
    (trimmed != name && !trimmed.is_empty()).then_some(trimmed)
}

fn distinct(pattern: &regex::Regex, msg: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // The match may start with the separator it consumed, so a mention
    // right after another (`@a @b`) is still found: the separator belongs to
    // the second match only.
    for caps in pattern.captures_iter(msg) {
        let Some(name) = caps.get(1) else { continue };
        let name = name.as_str();
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
            if out.len() == MAX_MENTIONS {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_user_mentions_in_order_without_duplicates() {
        assert_eq!(
            user_mentions("@alice hi @bob and @alice, @all @here"),
            vec!["alice", "bob", "all", "here"]
        );
        assert_eq!(user_mentions("line\n@carol\n>@dave"), vec!["carol", "dave"]);
    }

    #[test]
    fn ignores_at_signs_inside_words() {
        assert!(user_mentions("mail me at bob@example.com").is_empty());
        assert!(user_mentions("no mention here").is_empty());
        assert!(channel_mentions("issue#12 and a#b").is_empty());
    }

    #[test]
    fn finds_channel_mentions() {
        assert_eq!(channel_mentions("see #general and #dev-team. #general"), vec!["general", "dev-team."]);
        assert_eq!(without_trailing_dots("dev-team."), Some("dev-team"));
        assert_eq!(without_trailing_dots("dev"), None);
        assert_eq!(without_trailing_dots("..."), None);
    }

    #[test]
    fn adjacent_mentions_are_all_found() {
        assert_eq!(user_mentions("@a @b @c"), vec!["a", "b", "c"]);
    }

    #[test]
    fn bounded() {
        let text: String = (0..500).map(|i| format!("@u{i} ")).collect();
        assert_eq!(user_mentions(&text).len(), MAX_MENTIONS);
    }
}
