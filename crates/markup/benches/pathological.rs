//! Adversarial 5,000-character inputs, shared by the robustness test and the benchmark.

/// Inputs that make backtracking parsers explode: long runs and deep
/// alternations of every marker.
pub fn pathological() -> Vec<(&'static str, String)> {
    let n = 5000;
    let rep = |unit: &str| unit.repeat(n / unit.len().max(1)).chars().take(n).collect::<String>();
    vec![
        ("asterisks", rep("*")),
        ("underscores", rep("_")),
        ("tildes", rep("~")),
        ("backticks", rep("`")),
        ("brackets", rep("[")),
        ("bracket-paren", rep("](")),
        ("nested emphasis", rep("*_~")),
        ("open bold words", rep("*a ")),
        ("open italic words", rep("_a ")),
        ("alternating", rep("_*")),
        ("links unclosed", rep("[a](")),
        ("katex unclosed", rep("\\(")),
        ("at signs", rep("@")),
        ("hashes", rep("#")),
        ("colons", rep(":")),
        ("dots", rep("a.")),
        ("one long word", rep("a")),
        ("digits", rep("1")),
        ("url-ish", rep("a-")),
        ("emails", rep("a@")),
        ("less-than", rep("<")),
        ("plus digits", rep("+1")),
        ("quotes", rep("> ")),
        ("list markers", rep("- ")),
        ("newlines", rep("\n")),
        ("emoji", rep("😀")),
        ("mixed", rep("*_~`[](<>@#:$\\ a.b ")),
    ]
}
