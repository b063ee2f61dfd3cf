//! No input makes the parser panic, and adversarial inputs stay cheap: the
//! parser does a bounded amount of work per code unit, so pathological
//! 5,000-character messages parse like ordinary ones.

use proptest::prelude::*;
use threadsync_markup::{parse, Katex, Options};

fn all_options() -> Vec<Options> {
    vec![
        Options::default(),
        Options {
            colors: false,
            emoticons: false,
            katex: Some(Katex { dollar_syntax: true, parenthesis_syntax: true }),
            custom_domains: vec!["intranet".into()],
        },
    ]
}

const MARKERS: &[&str] = &[
    "*", "_", "~", "`", "```", "#", "> ", "- ", "1. ", "[", "]", "(", ")", "](", ":", "@", "$", "$$", "\\",
    "\\(", "\\)", "\\[", "\\]", "|", "<", ">", "<t:", "!", ".", "-", "+", " ", "\t", "\n", "\r\n", "a", "é",
    "😀", "👍🏽", "\u{200d}", "x.com", "https://", "a@b.co", "color:#",
];

fn marker_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(MARKERS), 0..80).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        for o in all_options() {
            let tree = parse(&s, &o);
            // Only the empty text has no tree.
            prop_assert_eq!(tree.is_none(), s.is_empty());
        }
    }

    #[test]
    fn marker_soup_never_panics(s in marker_soup()) {
        for o in all_options() {
            let tree = parse(&s, &o);
            prop_assert_eq!(tree.is_none(), s.is_empty());
        }
    }
}

#[path = "../benches/pathological.rs"]
mod pathological;
use pathological::pathological;

#[test]
fn pathological_inputs_parse() {
    for o in all_options() {
        for (name, input) in pathological() {
            let tree = parse(&input, &o);
            assert!(tree.is_some(), "{name}: no tree");
        }
    }
}
