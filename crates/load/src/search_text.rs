//! What the `search` scenario asks (`chat.search`), shared with
//! `threadsync-search-ceiling` so both run the same searches: a room of the
//! seeded dataset and one or two words of its vocabulary, each drawn
//! uniformly among the `top` most frequent words (0: all of them).

use crate::rng::Rng;

/// Results asked per search (Rocket.Chat's search shows 20 at a time).
pub const SEARCH_COUNT: u64 = 20;

/// `(rid, searchText)` of the next search.
pub fn next_search<'a>(
    rng: &mut Rng,
    rooms: &'a [String],
    vocabulary: &[String],
    top: usize,
) -> (&'a str, String) {
    let rid = &rooms[rng.below(rooms.len())];
    let pool = if top == 0 { vocabulary.len() } else { top.min(vocabulary.len()) };
    let mut text = vocabulary[rng.below(pool)].clone();
    // One search in four has two words (both must be found).
    if rng.below(4) == 0 {
        text.push(' ');
        text.push_str(&vocabulary[rng.below(pool)]);
    }
    (rid, text)
}

/// `searchText` as a query parameter (percent-encoded UTF-8).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_reproducible_and_drawn_from_the_top_words() {
        let rooms = vec!["A".to_owned(), "B".to_owned()];
        let vocabulary: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let a: Vec<_> = (0..20).map(|_| next_search(&mut Rng::new(1, 3), &rooms, &vocabulary, 10)).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut rng = Rng::new(2, 0);
        for _ in 0..1000 {
            let (_, text) = next_search(&mut rng, &rooms, &vocabulary, 10);
            assert!(text.split(' ').all(|w| w[1..].parse::<usize>().is_ok_and(|n| n < 10)), "{text}");
        }
        assert_eq!(encode("café a"), "caf%C3%A9%20a");
    }
}
