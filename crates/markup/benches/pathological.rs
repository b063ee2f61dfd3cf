//! Adversarial 5,000-character inputs, shared by the robustness test and the
//! benchmark, grouped in the families of marker that make backtracking
//! parsers explode: long runs, deep alternations and unclosed openers.

/// The input length of every case.
pub const LEN: usize = 5000;

/// `unit` repeated to exactly [`LEN`] characters.
fn rep(unit: &str) -> String {
    unit.repeat(LEN / unit.chars().count().max(1) + 1).chars().take(LEN).collect()
}

/// The family of each input (the benchmark reports them by family) and a
/// name, with the input.
pub fn families() -> Vec<(&'static str, &'static str, String)> {
    vec![
        // Emphasis markers: runs, nesting, alternation, unclosed words.
        ("emphasis", "asterisks", rep("*")),
        ("emphasis", "underscores", rep("_")),
        ("emphasis", "tildes", rep("~")),
        ("emphasis", "nested emphasis", rep("*_~")),
        ("emphasis", "nested doubled", rep("**__~~")),
        ("emphasis", "alternating", rep("_*")),
        ("emphasis", "open bold words", rep("*a ")),
        ("emphasis", "open italic words", rep("_a ")),
        ("emphasis", "open strike words", rep("~a ")),
        ("emphasis", "closed bold words", rep("*a* ")),
        // Code.
        ("code", "backticks", rep("`")),
        ("code", "open inline code", rep("`a ")),
        ("code", "fences", rep("```\n")),
        // Link and image openers.
        ("links", "brackets", rep("[")),
        ("links", "bracket-paren", rep("](")),
        ("links", "links unclosed", rep("[a](")),
        ("links", "parens", rep("(")),
        ("links", "images unclosed", rep("![a](")),
        ("links", "angle links unclosed", rep("<a|")),
        ("links", "less-than", rep("<")),
        ("links", "url-ish", rep("a-")),
        ("links", "dots", rep("a.")),
        ("links", "one long word", rep("a")),
        ("links", "emails", rep("a@")),
        ("links", "plus digits", rep("+1")),
        ("links", "digits", rep("1")),
        // Emoji openers.
        ("emoji", "colons", rep(":")),
        ("emoji", "open shortcodes", rep(":a")),
        ("emoji", "shortcodes", rep(":a:")),
        ("emoji", "emoticons", rep(":) ")),
        ("emoji", "emoji", rep("😀")),
        // Mentions.
        ("mentions", "at signs", rep("@")),
        ("mentions", "hashes", rep("#")),
        ("mentions", "user mentions", rep("@a ")),
        ("mentions", "channel mentions", rep("#a ")),
        // KaTeX (the benchmark turns both syntaxes on).
        ("katex", "katex unclosed", rep("\\(")),
        ("katex", "dollars", rep("$")),
        ("katex", "open dollar", rep("$a ")),
        ("katex", "double dollars", rep("$$a")),
        ("katex", "block katex unclosed", rep("\\[")),
        // Blocks: quotes, lists, headings, line breaks.
        ("blocks", "quotes", rep("> ")),
        ("blocks", "quote lines", rep("> a\n")),
        ("blocks", "list markers", rep("- ")),
        ("blocks", "list items", rep("- a\n")),
        ("blocks", "ordered items", rep("1. a\n")),
        ("blocks", "tasks", rep("- [ ] a\n")),
        ("blocks", "headings", rep("# ")),
        ("blocks", "newlines", rep("\n")),
        // Everything at once.
        ("mixed", "mixed", rep("*_~`[](<>@#:$\\ a.b ")),
        ("mixed", "mixed lines", rep("> *a _b [c](d `e\n- ~f :g @h #i $j\n")),
    ]
}

/// Every input with its name.
#[allow(dead_code)] // the robustness test uses it, the benchmark `families`
pub fn pathological() -> Vec<(&'static str, String)> {
    families().into_iter().map(|(_, name, input)| (name, input)).collect()
}
