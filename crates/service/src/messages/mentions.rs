//! The markup tree of a message's text (`md`, docs/markup.md) and the
//! `@username`, `@all`, `@here` and `#channel` names in it.
//!
//! Both come from one parse, so the `mentions` and `channels` a message
//! carries are exactly the MENTION_USER / MENTION_CHANNEL nodes of its `md`.
//! Parsing is pure and lives here; resolving the names against users and
//! rooms is done by the message service.

use threadsync_domain::settings::Settings;
use threadsync_domain::Markup;
use threadsync_markup::{Katex, Options};

/// At most this many distinct names are looked up per message, so a long
/// message full of `@x` cannot turn into an unbounded number of queries.
pub(crate) const MAX_MENTIONS: usize = 100;

/// A message text, parsed once.
pub(crate) struct Parsed {
    /// The markup tree; `None` for an empty text (Rocket.Chat stores no `md` then).
    pub md: Option<Markup>,
    /// Distinct user names (`all` and `here` included), in order, at most [`MAX_MENTIONS`].
    pub users: Vec<String>,
    /// Distinct channel names, in order, at most [`MAX_MENTIONS`].
    pub channels: Vec<String>,
}

/// The parser options a Rocket.Chat server builds from its settings when it
/// stores `md` (docs/markup.md#options): colours from
/// `HexColorPreview_Enabled`, emoticons always, KaTeX only when
/// `Katex_Enabled` (with its two syntaxes), custom domains from
/// `Message_CustomDomain_AutoLink`.
pub(crate) fn options(settings: &Settings) -> Options {
    Options {
        colors: settings.hex_color_preview(),
        emoticons: true,
        katex: settings
            .katex()
            .map(|(dollar_syntax, parenthesis_syntax)| Katex { dollar_syntax, parenthesis_syntax }),
        custom_domains: settings.custom_domains(),
    }
}

/// Parses `msg` with `options`. The typed tree gives the mentions and the
/// stored JSON text directly (no walk over the JSON, no `Value` built).
pub(crate) fn parse(msg: &str, options: &Options) -> Parsed {
    let Some(tree) = threadsync_markup::parse_tree(msg, options) else {
        return Parsed { md: None, users: Vec::new(), channels: Vec::new() };
    };
    let (mut users, mut channels) = tree.mentions();
    users.truncate(MAX_MENTIONS);
    channels.truncate(MAX_MENTIONS);
    Parsed { md: Markup::from_json(tree.to_json_string()), users, channels }
}

/// The name without the sentence punctuation that usually follows a mention
/// (`thanks @alice.`: the markup keeps the dot in the name); `None` when
/// nothing changes.
pub(crate) fn without_trailing_dots(name: &str) -> Option<&str> {
    let trimmed = name.trim_end_matches('.');
    (trimmed != name && !trimmed.is_empty()).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(msg: &str) -> Parsed {
        super::parse(msg, &options(&Settings::default()))
    }

    fn users(msg: &str) -> Vec<String> {
        parse(msg).users
    }

    fn channels(msg: &str) -> Vec<String> {
        parse(msg).channels
    }

    #[test]
    fn default_settings_give_the_default_options() {
        assert_eq!(options(&Settings::default()), Options::default());
    }

    #[test]
    fn finds_user_mentions_in_order_without_duplicates() {
        assert_eq!(users("@alice hi @bob and @alice, @all @here"), vec!["alice", "bob", "all", "here"]);
        assert_eq!(users("line\n@carol\n>@dave"), vec!["carol", "dave"]);
    }

    #[test]
    fn ignores_at_signs_inside_words_and_code() {
        assert!(users("mail me at bob@example.com").is_empty());
        assert!(users("no mention here").is_empty());
        assert!(users("`@bob` in code").is_empty());
        assert!(channels("issue#12 and a#b").is_empty());
    }

    #[test]
    fn finds_mentions_inside_markup() {
        assert_eq!(users("*@bob* and ~@carol~"), vec!["bob", "carol"]);
        // As in the reference parser, `_` is part of a name, so `_@dave_`
        // is not italic: it mentions `dave_`.
        assert_eq!(users("_@dave_"), vec!["dave_"]);
        assert_eq!(channels("> see #general"), vec!["general"]);
    }

    #[test]
    fn finds_channel_mentions() {
        assert_eq!(channels("see #general and #dev-team. #general"), vec!["general", "dev-team."]);
        assert_eq!(without_trailing_dots("dev-team."), Some("dev-team"));
        assert_eq!(without_trailing_dots("dev"), None);
        assert_eq!(without_trailing_dots("..."), None);
    }

    #[test]
    fn adjacent_mentions_are_all_found() {
        assert_eq!(users("@a @b @c"), vec!["a", "b", "c"]);
    }

    #[test]
    fn mentions_are_the_trees_mention_nodes() {
        let parsed = parse("hi @bob in #dev");
        let md = parsed.md.expect("a tree").to_value();
        assert_eq!(md[0]["value"][1]["type"], "MENTION_USER");
        assert_eq!(md[0]["value"][1]["value"]["value"], "bob");
        assert_eq!(md[0]["value"][3]["type"], "MENTION_CHANNEL");
        assert_eq!((parsed.users, parsed.channels), (vec!["bob".to_owned()], vec!["dev".to_owned()]));
    }

    #[test]
    fn empty_text_has_no_tree() {
        assert!(parse("").md.is_none());
    }

    #[test]
    fn bounded() {
        let text: String = (0..500).map(|i| format!("@u{i} ")).collect();
        assert_eq!(users(&text).len(), MAX_MENTIONS);
    }
}
