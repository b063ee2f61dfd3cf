//! No input makes the parser panic, and the JSON written straight from the
//! typed tree is always the `Value`'s. Adversarial inputs stay cheap: the
//! parser does a bounded amount of work per code unit, so pathological
//! 5,000-character messages (every family of `benches/pathological.rs`)
//! parse like ordinary ones; their time is measured by the benchmark, not
//! asserted here.

use proptest::prelude::*;
use threadsync_markup::{parse_tree, Katex, Options};

/// Parses `s` and checks the two output forms agree (key order included);
/// whether there was a tree.
fn parse_checked(s: &str, o: &Options) -> Result<bool, TestCaseError> {
    let Some(tree) = parse_tree(s, o) else { return Ok(false) };
    let value = tree.to_value();
    prop_assert_eq!(tree.to_json_string(), serde_json::to_string(&value).expect("serialisable"));
    prop_assert_eq!(tree.mentions(), threadsync_markup::mentions(&value));
    Ok(true)
}

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
            // Only the empty text has no tree.
            prop_assert_eq!(parse_checked(&s, &o)?, !s.is_empty());
        }
    }

    #[test]
    fn marker_soup_never_panics(s in marker_soup()) {
        for o in all_options() {
            prop_assert_eq!(parse_checked(&s, &o)?, !s.is_empty());
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
            let checked = parse_checked(&input, &o);
            assert!(matches!(checked, Ok(true)), "{name}: {checked:?}");
        }
    }
}
