//! Full-text search of a room's messages (`chat.search`, docs/rest.md#chatsearch).
//!
//! The service turns the client's search text into a [`SearchQuery`]: the
//! words and phrases it must find ([`SearchTerm`], tokenized here by
//! [`terms`], so every backend receives the same words), the operators
//! (`from:`, `mention:`, `has:star`, `is:pinned`, dates) as a
//! [`Filter`] over the message document, an order and a page. Each backend
//! answers from a real full-text index (SQLite FTS5, PostgreSQL `tsvector`
//! with a GIN index), which folds case and diacritics on both the indexed
//! text and the query, so `Cafe` finds `café`.

use threadsync_domain::query::Filter;

/// A word or a phrase the text must (or must not) contain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerm {
    /// One word, or the words of a quoted phrase in order. Each word is a
    /// run of letters and digits (see [`terms`]).
    pub words: Vec<String>,
    /// The last word is a prefix (`depl*` finds `deploy`). Single words only.
    pub prefix: bool,
    /// Excluded (`-word`): no message containing it is found.
    pub negated: bool,
}

/// How results are ordered. Ties (equal stamps cannot happen within a
/// room, but equal ranks can) are broken by recency, then `_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchOrder {
    /// `ts` descending (Rocket.Chat's order).
    Newest,
    /// `ts` ascending (`order:asc`).
    Oldest,
    /// Best match first (SQLite's `bm25`, PostgreSQL's `ts_rank`), then
    /// newest. Without a word to rank by, the same as [`SearchOrder::Newest`].
    Relevance,
}

/// A search in one room, after validation and access checks.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchQuery {
    pub rid: String,
    /// All ANDed. With no positive term, only `filter` selects (the
    /// operators alone, e.g. `from:alice`); with only negated terms,
    /// nothing is found.
    pub terms: Vec<SearchTerm>,
    /// ANDed in (the operators of the search text).
    pub filter: Filter,
    pub order: SearchOrder,
    pub offset: u64,
    pub count: u64,
}

impl SearchQuery {
    /// Whether the query names a word to find (the index is used).
    pub fn has_text(&self) -> bool {
        self.terms.iter().any(|t| !t.negated)
    }
}

/// The words of `text` as the indexes see them: maximal runs of letters
/// and digits (Unicode), everything else separates. Matches SQLite's
/// `unicode61` tokenizer and, for ordinary words, PostgreSQL's parser.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// The shortest prefix accepted with `*`: a one-letter prefix would make
/// the index merge the lists of thousands of words.
pub const MIN_PREFIX_CHARS: usize = 2;

/// Splits free search text into terms: words, `"quoted phrases"`,
/// `-excluded` words or phrases, and `prefix*` words. Words are ANDed.
/// Nothing here can be index-query syntax: backends receive only words.
pub fn terms(text: &str) -> Vec<SearchTerm> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        let negated = rest.starts_with('-');
        if negated {
            rest = &rest[1..];
        }
        if let Some(body) = rest.strip_prefix('"') {
            // A phrase runs to the closing quote (or the end of the text).
            let end = body.find('"').unwrap_or(body.len());
            let ws = words(&body[..end]);
            rest = body.get(end + 1..).unwrap_or("");
            if !ws.is_empty() {
                out.push(SearchTerm { words: ws, prefix: false, negated });
            }
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        rest = &rest[end..];
        let ws = words(token);
        let prefix = token.ends_with('*')
            && ws.len() == 1
            && ws[0].chars().count() >= MIN_PREFIX_CHARS
            && token.trim_end_matches('*').chars().last().is_some_and(char::is_alphanumeric);
        match ws.len() {
            0 => {}
            // `e-mail` or `v1.2`: the index splits it the same way, so it
            // is searched as the phrase of its words.
            _ => out.push(SearchTerm { words: ws, prefix, negated }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &[&str], prefix: bool, negated: bool) -> SearchTerm {
        SearchTerm { words: words.iter().map(|w| (*w).to_owned()).collect(), prefix, negated }
    }

    #[test]
    fn splits_words_phrases_exclusions_and_prefixes() {
        assert_eq!(terms("  deploy  Café "), vec![t(&["deploy"], false, false), t(&["Café"], false, false)]);
        assert_eq!(
            terms(r#"-hotfix "roll back" depl* -"x y"#),
            vec![
                t(&["hotfix"], false, true),
                t(&["roll", "back"], false, false),
                t(&["depl"], true, false),
                t(&["x", "y"], false, true),
            ]
        );
        // Syntax of the index languages is only ever separators.
        assert_eq!(
            terms(r#"a:b OR (c) NEAR/2 ^d"#),
            vec![
                t(&["a", "b"], false, false),
                t(&["OR"], false, false),
                t(&["c"], false, false),
                t(&["NEAR", "2"], false, false),
                t(&["d"], false, false),
            ]
        );
        assert_eq!(terms("d* *** - \"\""), vec![t(&["d"], false, false)], "a one-letter prefix is a word");
        assert!(terms("").is_empty());
    }
}
