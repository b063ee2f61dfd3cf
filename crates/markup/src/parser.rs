//! A rule-by-rule port of the PEG grammar of `@rocket.chat/message-parser`
//! 0.31.32 (ordered choice, greedy repetition without backtracking into it,
//! and the grammar's `skip*` flags that keep bold/italic/strike/links from
//! nesting in themselves). Positions are UTF-16 code unit offsets, as in the
//! JavaScript original.
//!
//! Linear time: every scan the grammar repeats from many start positions
//! (runs of domain characters, URL bodies, punctuation runs, the tails of
//! dotted names) is precomputed once per input or memoised per position,
//! and the emphasis / link rules, whose results depend only on the position
//! and the four flags, are memoised on (rule, position, flags). The flags
//! also bound the recursion: a rule can only re-enter itself through one of
//! them, so the call depth is a small constant; `MAX_DEPTH` is a second,
//! independent guard.

use crate::node::{js_blank, reduce, U16s, N};
use crate::psl;
use crate::tables;
use crate::Options;

const MAX_DEPTH: u32 = 200;

type R<T> = Option<(T, usize)>;

const EOF: u16 = 0xFFFF;

fn in_ranges(table: &[(u16, u16)], c: u16) -> bool {
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn alpha(c: u16) -> bool {
    if c < 128 {
        return ascii_alpha(c);
    }
    in_ranges(tables::ALPHA, c)
}
fn decimal(c: u16) -> bool {
    if c < 128 {
        return digit(c);
    }
    in_ranges(tables::DECIMAL, c)
}
fn alnum(c: u16) -> bool {
    alpha(c) || decimal(c)
}
fn alnum_or_mark(c: u16) -> bool {
    if c < 128 {
        return ascii_alnum(c);
    }
    alpha(c) || in_ranges(tables::EMOJI_CHAR, c) || in_ranges(tables::MARK, c) || decimal(c)
}
/// The 128-bit membership mask of a set of ASCII bytes.
const fn mask(set: &[u8]) -> u128 {
    let mut m = 0u128;
    let mut i = 0;
    while i < set.len() {
        m |= 1u128 << set[i];
        i += 1;
    }
    m
}
/// Whether a code unit is one of a constant set of ASCII bytes (a mask
/// computed at compile time: this runs for most code units of the input).
macro_rules! ascii_in {
    ($c:expr, $set:expr) => {{
        const M: u128 = mask($set);
        let c: u16 = $c;
        c < 128 && (M >> c) & 1 == 1
    }};
}
fn digit(c: u16) -> bool {
    (48..=57).contains(&c)
}
fn ascii_alpha(c: u16) -> bool {
    (65..=90).contains(&c) || (97..=122).contains(&c)
}
fn ascii_alnum(c: u16) -> bool {
    ascii_alpha(c) || digit(c)
}
fn hex(c: u16) -> Option<u32> {
    char::from_u32(u32::from(c)).and_then(|ch| ch.to_digit(16))
}
/// AnyText = [\x20-\x27\x2B-\x40\x41-\x5A\x61-\x7A] / [\x80-\uFFFF]
fn any_text(c: u16) -> bool {
    (0x20..=0x27).contains(&c) || (0x2B..=0x5A).contains(&c) || (0x61..=0x7A).contains(&c) || c >= 0x80
}
fn space(c: u16) -> bool {
    c == 32 || c == 9
}
const EXTRA: &[u8] = b".,!%~*\"':;()=";
fn extra(c: u16) -> bool {
    ascii_in!(c, EXTRA)
}
/// DomainChar = !Extra ([_-] / !Safe) !EndOfLine !Space ![\\/|><%`] .
/// `[_-]` consumes, so after `_` or `-` the final `.` takes a second code
/// unit (of any kind). Returns the width matched.
fn domain_char(s: &[u16], p: usize) -> Option<usize> {
    let at = |i: usize| s.get(i).copied().unwrap_or(EOF);
    let c = at(p);
    if c == EOF || extra(c) {
        return None;
    }
    let (q, w) = if c == u16::from(b'_') || c == u16::from(b'-') {
        (p + 1, 2)
    } else if ascii_in!(c, b"$@&+#?") {
        return None;
    } else {
        (p, 1)
    };
    let d = at(q);
    if d == EOF || ascii_in!(d, b"\r\n \t\\/|><%`") {
        return None;
    }
    Some(w)
}
fn names_char(c: u16) -> bool {
    ascii_in!(c, b"-_.") || alnum(c)
}

/// The Special characters of an e-mail LocalPart.
const LOCAL_SPECIAL: &[u8] = b"!#$%&'*+/=?^_`{|}~-";

/// Appends a run of non-blank `Any` pieces to the items as `inline` merges
/// plain texts: onto a non-blank plain text just before it, else as a new one.
fn push_text(items: &mut Vec<N>, text: &[u16]) {
    if text.is_empty() {
        return;
    }
    match items.last_mut() {
        Some(N::Plain(last)) if !js_blank(last) => last.extend_from_slice(text),
        _ => items.push(N::Plain(text.to_vec())),
    }
}

/// An item of an emphasis content (`Parser::content_item`).
enum Item {
    Node(N),
    /// A single code unit of plain text.
    Unit(u16),
    /// Measured only, not built.
    Skip,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Rule {
    Bold,
    Italic,
    Strike,
    Refs,
}

pub(crate) struct Parser<'a> {
    s: Vec<u16>,
    opts: &'a Options,
    skip_bold: bool,
    skip_italic: bool,
    skip_strike: bool,
    skip_refs: bool,
    depth: u32,
    /// Memo of the emphasis / link rules: per (rule, flags) a table from
    /// position to an index in `results` (allocated on first use).
    memo: Vec<Vec<u32>>,
    results: Vec<R<N>>,
    /// Where a repetition (link title, emphasis content) that passes through
    /// a position stops, per (kind, flags) a table by position: the items
    /// from any position are the same, so each position is walked once.
    stops: Vec<Vec<u32>>,
    /// Positions walked by the `stop_of` walks in progress.
    visited: Vec<u32>,
    /// End of the run of URLScheme characters [A-Za-z0-9+-] at i.
    scheme_end: Vec<u32>,
    /// End of the run of DomainChar starting at i (i itself if none).
    dc_end: Vec<u32>,
    /// End of URLBody* from i.
    body_end: Vec<u32>,
    /// End of AutoLinkURLBody* from i.
    auto_end: Vec<u32>,
    /// End of the dotted tail ("." DomainChar+)* of a domain name at i.
    tail_end: Vec<u32>,
    /// End of the run of the same code unit starting at i.
    same_end: Vec<u32>,
    /// End of the run of ASCII digits / ASCII letters and digits at i.
    digit_end: Vec<u32>,
    alnum_end: Vec<u32>,
    /// End of LocalPart (e-mail) at i, i itself when none.
    local_end: Vec<u32>,
    /// Next position >= i where a KaTeX closing delimiter matches (inline,
    /// block); built the first time an opening delimiter matches.
    close_inline: Vec<u32>,
    close_block: Vec<u32>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &str, opts: &'a Options) -> Self {
        // Most messages are ASCII: widening bytes is a loop the compiler
        // vectorises, where UTF-16 encoding decodes every character.
        let s: Vec<u16> = if text.is_ascii() {
            text.bytes().map(u16::from).collect()
        } else {
            let mut s = Vec::with_capacity(text.len());
            s.extend(text.encode_utf16());
            s
        };
        let n = s.len();
        let nu = n as u32;
        // One backward pass for the run tables every text reaches (each
        // entry depends only on entries to its right).
        let mut dc_end = vec![nu; n + 1];
        let mut tail_end = vec![nu; n + 2];
        let mut scheme_end = vec![nu; n + 1];
        let mut same_end = vec![nu; n + 1];
        let mut digit_end = vec![nu; n + 1];
        let mut alnum_end = vec![nu; n + 1];
        let mut has_at = false; // an `@` that can end a LocalPart
                                // Whether DomainChar matches at i + 1 (from the previous iteration).
        let mut dc_next = false;
        for i in (0..n).rev() {
            let c = s[i];
            let iu = i as u32;
            // LocalPart ends with an AlnumMark or a Special code unit.
            has_at |= c == u16::from(b'@') && i > 0 && {
                let b = s[i - 1];
                ascii_in!(b, LOCAL_SPECIAL) || alnum_or_mark(b)
            };
            let dc = domain_char(&s, i);
            dc_end[i] = match dc {
                Some(w) => dc_end[(i + w).min(n)],
                None => iu,
            };
            // tail(i) = if s[i] == '.' && DomainChar(s[i+1]) { tail(dc_end[i+1]) } else { i }
            tail_end[i] = if c == 46 && dc_next { tail_end[dc_end[i + 1] as usize] } else { iu };
            dc_next = dc.is_some();
            scheme_end[i] = if ascii_alnum(c) || ascii_in!(c, b"+-") { scheme_end[i + 1] } else { iu };
            same_end[i] = if i + 1 < n && s[i + 1] == c { same_end[i + 1] } else { iu + 1 };
            digit_end[i] = if digit(c) { digit_end[i + 1] } else { iu };
            alnum_end[i] = if ascii_alnum(c) { alnum_end[i + 1] } else { iu };
        }
        // An e-mail address needs an `@` right after a LocalPart: without
        // one (a text with no `@`, or only mentions), no LocalPart is ever
        // looked up and its table stays empty.
        let local_end = if has_at { local_end_table(&s) } else { Vec::new() };
        Parser {
            same_end,
            digit_end,
            alnum_end,
            local_end,
            close_inline: Vec::new(),
            close_block: Vec::new(),
            s,
            opts,
            skip_bold: false,
            skip_italic: false,
            skip_strike: false,
            skip_refs: false,
            depth: 0,
            memo: Vec::new(),
            results: Vec::new(),
            stops: Vec::new(),
            visited: Vec::new(),
            scheme_end,
            dc_end,
            body_end: Vec::new(),
            auto_end: Vec::new(),
            tail_end,
        }
    }

    /// Builds `body_end` and `auto_end` the first time a URL host or
    /// authority matches (most texts never get there).
    fn bodies(&mut self) {
        if !self.body_end.is_empty() {
            return;
        }
        let s = &self.s;
        let n = s.len();
        let at = |i: usize| s.get(i).copied().unwrap_or(EOF);
        // A position ends a URL / auto-link body when a run of punctuation
        // (possibly empty for auto-links) is followed by whitespace or a line end.
        let stop_at = |e: usize| space(at(e)) || at(e) == 10 || at(e) == 13;
        let mut body_end = vec![0u32; n + 1];
        let mut auto_end = vec![0u32; n + 1];
        body_end[n] = n as u32;
        auto_end[n] = n as u32;
        let mut extra_end = n;
        for i in (0..n).rev() {
            let c = s[i];
            if !extra(c) {
                extra_end = i;
            }
            let e = extra_end;
            let blocked = (e > i && stop_at(e)) || space(c);
            let ok = !blocked && (any_text(c) || ascii_in!(c, b"*[/]^_`{}~("));
            body_end[i] = if ok { body_end[i + 1] } else { i as u32 };
            let auto_ok = !stop_at(e);
            auto_end[i] = if auto_ok { auto_end[i + 1] } else { i as u32 };
        }
        self.body_end = body_end;
        self.auto_end = auto_end;
    }

    fn at(&self, p: usize) -> u16 {
        self.s.get(p).copied().unwrap_or(EOF)
    }
    fn len(&self) -> usize {
        self.s.len()
    }
    fn lit(&self, p: usize, l: &str) -> Option<usize> {
        let b = l.as_bytes();
        if p + b.len() > self.s.len() {
            return None;
        }
        for (k, &x) in b.iter().enumerate() {
            if self.s[p + k] != u16::from(x) {
                return None;
            }
        }
        Some(p + b.len())
    }
    fn slice(&self, a: usize, b: usize) -> U16s {
        self.s[a..b].to_vec()
    }
    fn flags(&self) -> u8 {
        u8::from(self.skip_bold)
            | u8::from(self.skip_italic) << 1
            | u8::from(self.skip_strike) << 2
            | u8::from(self.skip_refs) << 3
    }

    // ---- Start / blocks -------------------------------------------------

    pub(crate) fn start(&mut self) -> Option<Vec<N>> {
        if let Some((es, e)) = self.big_emoji(0) {
            if e == self.len() {
                return Some(vec![N::BigEmoji(es)]);
            }
        }
        let mut out = Vec::new();
        let mut p = 0;
        loop {
            let r = self
                .blocks(p)
                .or_else(|| self.paragraph(p))
                .or_else(|| self.eol(p).map(|e| (N::Paragraph(vec![N::Plain(Vec::new())]), e)));
            match r {
                Some((n, e)) if e > p => {
                    out.push(n);
                    p = e;
                }
                _ => break,
            }
        }
        // The reference throws a syntax error when it cannot consume the
        // whole input (only the empty string in practice): no tree then.
        if out.is_empty() || p != self.len() {
            return None;
        }
        Some(out)
    }

    fn blocks(&mut self, p: usize) -> R<N> {
        self.blockquote(p)
            .or_else(|| self.code(p))
            .or_else(|| self.heading(p))
            .or_else(|| self.tasks(p))
            .or_else(|| self.ordered_list(p))
            .or_else(|| self.unordered_list(p))
            .or_else(|| self.katex(p))
            .or_else(|| self.line_break(p))
    }

    fn many<T>(&mut self, mut p: usize, f: impl Fn(&mut Self, usize) -> R<T>) -> (Vec<T>, usize) {
        let mut v = Vec::new();
        while let Some((x, e)) = f(self, p) {
            v.push(x);
            if e == p {
                break;
            }
            p = e;
        }
        (v, p)
    }

    /// Like `many`, for inline items: adjacent plain texts that both have
    /// non-blank content are merged as they come (what `reducePlainTexts`
    /// does later anyway; blank pieces are kept apart because emoji joining
    /// looks at them).
    fn many_inline(&mut self, mut p: usize, f: impl Fn(&mut Self, usize) -> R<N>) -> (Vec<N>, usize) {
        let mut v: Vec<N> = Vec::new();
        while let Some((x, e)) = f(self, p) {
            match (v.last_mut(), x) {
                (Some(N::Plain(last)), N::Plain(t))
                    if !crate::node::js_blank(last) && !crate::node::js_blank(&t) =>
                {
                    last.extend_from_slice(&t);
                }
                (_, x) => v.push(x),
            }
            if e == p {
                break;
            }
            p = e;
        }
        (v, p)
    }

    fn many1<T>(&mut self, p: usize, f: impl Fn(&mut Self, usize) -> R<T>) -> R<Vec<T>> {
        let (v, e) = self.many(p, f);
        if v.is_empty() {
            None
        } else {
            Some((v, e))
        }
    }

    fn spaces_tabs(&self, mut p: usize) -> usize {
        while space(self.at(p)) {
            p += 1;
        }
        p
    }
    fn spaces_tabs1(&self, p: usize) -> Option<usize> {
        let e = self.spaces_tabs(p);
        (e > p).then_some(e)
    }

    fn blockquote(&mut self, p: usize) -> R<N> {
        let (lines, e) = self.many1(p, |me, q| {
            let q = me.lit(q, ">")?;
            let q = me.spaces_tabs(q);
            me.paragraph(q)
        })?;
        Some((N::Quote(lines), e))
    }

    fn code(&mut self, p: usize) -> R<N> {
        let mut q = self.lit(p, "```")?;
        let mut lang = None;
        let ls = q;
        while ascii_alnum(self.at(q)) || ascii_in!(self.at(q), b" _-.") {
            q += 1;
        }
        if q > ls {
            lang = Some(self.slice(ls, q));
        }
        let q = self.eol(q)?;
        let (lines, q) = self.many1(q, |me, q| me.code_line(q))?;
        let q = self.eol(q)?;
        let q = self.lit(q, "```")?;
        Some((N::Code(lang, lines), q))
    }

    fn code_chunk(&self, p: usize) -> Option<usize> {
        let mut q = p;
        while q < self.len() && self.eol(q).is_none() && self.lit(q, "```").is_none() {
            q += 1;
        }
        (q > p).then_some(q)
    }

    fn code_line(&mut self, p: usize) -> R<U16s> {
        if let Some(e) = self.code_chunk(p) {
            return Some((self.slice(p, e), e));
        }
        let q = self.lit(p, "\n")?;
        if let Some(e) = self.code_chunk(q) {
            return Some((self.slice(q, e), e));
        }
        if self.lit(q, "```").is_none() {
            return Some((Vec::new(), q));
        }
        None
    }

    fn heading(&mut self, p: usize) -> R<N> {
        let mut q = p;
        while q - p < 4 && self.at(q) == u16::from(b'#') {
            q += 1;
        }
        if q == p {
            return None;
        }
        let level = q - p;
        let q = self.spaces_tabs1(q)?;
        let mut e = q;
        while e < self.len() && self.eol(e).is_none() {
            e += 1;
        }
        if e == q {
            return None;
        }
        Some((N::Heading(level, vec![N::Plain(self.slice(q, e))]), e))
    }

    fn tasks(&mut self, p: usize) -> R<N> {
        let (items, e) = self.many1(p, |me, q| {
            let q = me.lit(q, "- [")?;
            let (done, q) = match me.at(q) {
                120 => (true, q + 1),
                32 => (false, q + 1),
                _ => return None,
            };
            let q = me.lit(q, "]")?;
            let q = me.spaces_tabs1(q)?;
            let (v, q) = me.inline(q)?;
            Some(((done, v), q))
        })?;
        Some((N::Tasks(items), e))
    }

    fn digits(&self, p: usize) -> Option<usize> {
        let q = *self.digit_end.get(p)? as usize;
        (q > p).then_some(q)
    }

    fn ordered_list(&mut self, p: usize) -> R<N> {
        let (items, e) = self.many1(p, |me, q| {
            let d = me.digits(q)?;
            let number: f64 = String::from_utf16_lossy(&me.s[q..d]).parse().unwrap_or(0.0);
            let q = me.lit(d, ".")?;
            let q = me.spaces_tabs1(q)?;
            let (v, q) = me.inline(q)?;
            Some(((v, number), q))
        })?;
        Some((N::OrderedList(items), e))
    }

    fn unordered_list(&mut self, p: usize) -> R<N> {
        if let Some((items, e)) = self.many1(p, |me, q| {
            let q = me.lit(q, "-")?;
            let q = me.spaces_tabs1(q)?;
            me.inline(q)
        }) {
            return Some((N::UnorderedList(items), e));
        }
        let (items, e) = self.many1(p, |me, q| {
            let q = me.lit(q, "*")?;
            let q = me.spaces_tabs1(q)?;
            me.unordered_item_content(q)
        })?;
        Some((N::UnorderedList(items), e))
    }

    fn unordered_item_content(&mut self, p: usize) -> R<Vec<N>> {
        let (items, q) = self.many1(p, |me, q| {
            if let Some(r) = me.inline_item(q) {
                return Some(r);
            }
            if me.at(q) == u16::from(b'*') {
                return None;
            }
            me.any(q)
        })?;
        if self.at(q) == u16::from(b'*') {
            return None;
        }
        let q = self.eol(q).unwrap_or(q);
        Some((reduce(items), q))
    }

    fn katex_delim(&self, p: usize, paren: &str, dollar: &str) -> Option<usize> {
        let k = self.opts.katex.as_ref()?;
        if k.parenthesis_syntax {
            if let Some(e) = self.lit(p, paren) {
                return Some(e);
            }
        }
        if k.dollar_syntax {
            return self.lit(p, dollar);
        }
        None
    }

    /// For each position, the next one where `close` (paren or dollar form,
    /// as the options allow) matches.
    fn next_close(&self, close: (&str, &str)) -> Vec<u32> {
        let n = self.len();
        let mut v = vec![u32::MAX; n + 1];
        for i in (0..n).rev() {
            v[i] = if self.katex_delim(i, close.0, close.1).is_some() { i as u32 } else { v[i + 1] };
        }
        v
    }

    fn katex_generic(&mut self, p: usize, block: bool) -> Option<(U16s, usize)> {
        let (open, close) = if block { (("\\[", "$$"), ("\\]", "$$")) } else { (("\\(", "$"), ("\\)", "$")) };
        let q = self.katex_delim(p, open.0, open.1)?;
        if block && self.close_block.is_empty() {
            self.close_block = self.next_close(close);
        } else if !block && self.close_inline.is_empty() {
            self.close_inline = self.next_close(close);
        }
        let next = if block { &self.close_block } else { &self.close_inline };
        let e = *next.get(q)? as usize;
        if e > self.len() {
            return None;
        }
        let end = self.katex_delim(e, close.0, close.1)?;
        Some((self.slice(q, e), end))
    }

    fn katex(&mut self, p: usize) -> R<N> {
        let (v, e) = self.katex_generic(p, true)?;
        Some((N::Katex(v), e))
    }

    fn katex_inline(&mut self, p: usize) -> R<N> {
        let (v, e) = self.katex_generic(p, false)?;
        Some((N::InlineKatex(v), e))
    }

    fn line_break(&mut self, p: usize) -> R<N> {
        let q = self.spaces_tabs(p);
        let e = self.eol(q)?;
        Some((N::LineBreak, e))
    }

    fn eol(&self, p: usize) -> Option<usize> {
        match self.at(p) {
            13 if self.at(p + 1) == 10 => Some(p + 2),
            10 | 13 => Some(p + 1),
            _ => None,
        }
    }

    fn paragraph(&mut self, p: usize) -> R<N> {
        let (v, e) = self.inline(p)?;
        Some((N::Paragraph(v), e))
    }

    fn inline(&mut self, p: usize) -> R<Vec<N>> {
        // (InlineItem / Any)+, merging plain pieces as `many_inline` does;
        // `Any` (the common case: ordinary text) extends the last plain text
        // straight from the input, without building a node.
        let mut items: Vec<N> = Vec::new();
        let mut q = p;
        // Start of the pending run of non-blank `Any` pieces, contiguous in
        // the input: appended in one piece when the run ends.
        let mut run = p;
        loop {
            if let Some((x, e)) = self.inline_item(q) {
                push_text(&mut items, &self.s[run..q]);
                run = e;
                match (items.last_mut(), x) {
                    (Some(N::Plain(last)), N::Plain(t))
                        if !crate::node::js_blank(last) && !crate::node::js_blank(&t) =>
                    {
                        last.extend_from_slice(&t);
                    }
                    (_, x) => items.push(x),
                }
                if e == q {
                    break;
                }
                q = e;
                continue;
            }
            let Some(e) = self.any_end(q) else { break };
            let piece = &self.s[q..e];
            if js_blank(piece) {
                push_text(&mut items, &self.s[run..q]);
                items.push(N::Plain(piece.to_vec()));
                run = e;
            }
            q = e;
        }
        push_text(&mut items, &self.s[run..q]);
        if items.is_empty() {
            return None;
        }
        let q = self.eol(q).unwrap_or(q);
        Some((reduce(items), q))
    }

    fn inline_item(&mut self, p: usize) -> R<N> {
        if p >= self.len() {
            return None;
        }
        // The rules in grammar order, each tried only when the code units
        // at `p` pass the check it starts with (so skipping it changes
        // nothing): most positions are ordinary text that only the
        // auto-link, mention, emphasis and emoticon rules can start.
        let c = self.at(p);
        let next = self.at(p + 1);
        macro_rules! try_rule {
            ($guard:expr, $rule:expr) => {
                if $guard {
                    if let Some(r) = $rule {
                        return Some(r);
                    }
                }
            };
        }
        try_rule!(space(c), self.whitespace(p));
        try_rule!(c == u16::from(b'<'), self.timestamp(p));
        try_rule!(ascii_in!(c, b"[<"), self.maybe(Rule::Refs, p));
        try_rule!(c == u16::from(b'+'), self.autolinked_phone(p));
        // An e-mail address needs an `@` in the text (else no LocalPart table).
        try_rule!(!self.local_end.is_empty(), self.autolinked_email(p));
        try_rule!(self.url_may_start(p), self.autolinked_url(p));
        try_rule!(ascii_in!(c, b"*_~"), self.emphasis_with_whitespace(p));
        // From a letter or digit, only the italic `word_` alternative can match.
        try_rule!(
            ascii_in!(c, b"*_~")
                || (ascii_alnum(c) && self.at(self.alnum_end[p] as usize) == u16::from(b'_')),
            self.emphasis(p)
        );
        try_rule!(c == u16::from(b'@') || next == u16::from(b'@'), self.user_mention(p));
        try_rule!(c == u16::from(b'#') || next == u16::from(b'#'), self.channel_mention(p));
        try_rule!(c == u16::from(b':') || c >= 0x2300, self.emoji(p));
        try_rule!(c == u16::from(b'`'), self.inline_code(p));
        try_rule!(c == u16::from(b'!'), self.image(p));
        try_rule!(c < 128 && (EMOTICON_FIRST >> c) & 1 == 1, self.emoticon(p));
        try_rule!(c == u16::from(b'c'), self.color(p));
        try_rule!(ascii_in!(c, b"\\$"), self.katex_inline(p));
        try_rule!(c == u16::from(b'\\'), self.escaped(p));
        None
    }

    // ---- small inline rules ---------------------------------------------

    fn whitespace(&mut self, p: usize) -> R<N> {
        let e = self.spaces_tabs1(p)?;
        Some((N::Plain(self.slice(p, e)), e))
    }

    fn timestamp(&mut self, p: usize) -> R<N> {
        let q = self.lit(p, "<t:")?;
        for k in 0..10 {
            if !digit(self.at(q + k)) {
                return None;
            }
        }
        let d = q + 10;
        let ts = self.slice(q, d);
        if self.at(d) == u16::from(b':')
            && ascii_in!(self.at(d + 1), b"tTdDfFR")
            && self.at(d + 2) == u16::from(b'>')
        {
            return Some((N::Timestamp(ts, self.at(d + 1)), d + 3));
        }
        let e = self.lit(d, ">")?;
        Some((N::Timestamp(ts, u16::from(b't')), e))
    }

    fn escaped(&mut self, p: usize) -> R<N> {
        let q = self.lit(p, "\\")?;
        let c = self.at(q);
        if ascii_in!(c, b"*_~`#.") {
            return Some((N::Plain(vec![c]), q + 1));
        }
        None
    }

    /// Any = !EndOfLine . $AutolinkedPhone? $URL?
    fn any(&mut self, p: usize) -> R<N> {
        let e = self.any_end(p)?;
        Some((N::Plain(self.slice(p, e)), e))
    }

    fn any_end(&mut self, p: usize) -> Option<usize> {
        if p >= self.len() || self.eol(p).is_some() {
            return None;
        }
        let mut q = p + 1;
        if self.at(q) == u16::from(b'+') {
            if let Some((_, e)) = self.autolinked_phone(q) {
                q = e;
            }
        }
        if self.url_may_start(q) {
            if let Some(e) = self.url(q) {
                q = e;
            }
        }
        Some(q)
    }

    /// Whether a URL (or an auto-linked one) can start at `p`: both begin
    /// with a URLScheme character or a host (DomainChar, which includes the
    /// digits of an IPv4 address and the `l` of `localhost`). Read off the
    /// run tables, so the rules are not called from every code unit.
    fn url_may_start(&self, p: usize) -> bool {
        p < self.len() && (self.dc_end[p] as usize > p || self.scheme_end[p] as usize > p)
    }

    fn text_char(&self, p: usize) -> bool {
        p < self.len() && any_text(self.at(p))
    }

    fn user_mention(&mut self, p: usize) -> R<N> {
        if self.text_char(p) {
            let mut q = p + 1;
            if self.at(q) == u16::from(b'@') {
                q = self.same_end[q] as usize;
                if alnum(self.at(q)) {
                    let v = vec![self.at(p), u16::from(b'@'), self.at(q)];
                    return Some((N::Plain(v), q + 1));
                }
            }
        }
        if self.at(p) != u16::from(b'@') {
            return None;
        }
        let q = self.same_end[p] as usize;
        let start = q;
        let e = self.names(q)?;
        let mut end = e;
        if ascii_in!(self.at(e), b":@") {
            if let Some(e2) = self.names(e + 1) {
                end = e2;
            }
        }
        Some((N::MentionUser(self.slice(start, end)), end))
    }

    fn names(&self, p: usize) -> Option<usize> {
        let mut q = p;
        while names_char(self.at(q)) {
            q += 1;
        }
        (q > p).then_some(q)
    }

    fn channel_mention(&mut self, p: usize) -> R<N> {
        if self.text_char(p) && self.at(p + 1) == u16::from(b'#') && alnum(self.at(p + 2)) {
            let v = vec![self.at(p), u16::from(b'#'), self.at(p + 2)];
            return Some((N::Plain(v), p + 3));
        }
        let q = self.lit(p, "#")?;
        let e = self.names(q)?;
        Some((N::MentionChannel(self.slice(q, e)), e))
    }

    fn inline_code(&mut self, p: usize) -> R<N> {
        let q = self.lit(p, "`")?;
        let mut e = q;
        while e < self.len() && self.at(e) != u16::from(b'`') && self.at(e) != 10 {
            e += 1;
        }
        if e == q || self.at(e) != u16::from(b'`') {
            return None;
        }
        Some((N::InlineCode(self.slice(q, e)), e + 1))
    }

    fn color(&mut self, p: usize) -> R<N> {
        if !self.opts.colors {
            return None;
        }
        let q = self.lit(p, "color:#")?;
        let mut bytes = Vec::new();
        let mut e = q;
        while bytes.len() < 4 {
            match (hex(self.at(e)), hex(self.at(e + 1))) {
                (Some(a), Some(b)) => {
                    bytes.push(a * 16 + b);
                    e += 2;
                }
                _ => break,
            }
        }
        if bytes.len() < 3 {
            bytes.clear();
            e = q;
            while bytes.len() < 4 {
                match hex(self.at(e)) {
                    Some(a) => {
                        bytes.push(a * 17);
                        e += 1;
                    }
                    None => break,
                }
            }
            if bytes.len() < 3 {
                return None;
            }
        }
        if self.text_char(e) {
            return None;
        }
        let a = bytes.get(3).copied().unwrap_or(255);
        Some((N::Color([bytes[0], bytes[1], bytes[2], a]), e))
    }

    // ---- emoji ------------------------------------------------------------

    fn emoji(&mut self, p: usize) -> R<N> {
        if let Some(q) = self.lit(p, ":") {
            let mut e = q;
            while ascii_alnum(self.at(e)) || ascii_in!(self.at(e), b"-_+.") {
                e += 1;
            }
            if e > q && self.at(e) == u16::from(b':') {
                let sc = self.slice(q, e);
                return Some((N::Emoji { short: sc.clone(), value: sc }, e + 1));
            }
        }
        let e = self.unicode_emoji(p)?;
        Some((N::EmojiUnicode(self.slice(p, e)), e))
    }

    fn pair(&self, p: usize, hi: u16, lo: (u16, u16)) -> Option<usize> {
        (self.at(p) == hi && (lo.0..=lo.1).contains(&self.at(p + 1))).then_some(p + 2)
    }
    fn vs(&self, p: usize) -> usize {
        if (0xFE00..=0xFE0F).contains(&self.at(p)) {
            p + 1
        } else {
            p
        }
    }
    /// UnicodeEmojiMiscellaneousSymbolsAndPictographs
    fn misc_pict(&self, p: usize) -> Option<usize> {
        self.pair(p, 0xD83C, (0xDF00, 0xDFFF))
            .or_else(|| self.pair(p, 0xD83D, (0xDC00, 0xDDFF)))
            .map(|e| self.vs(e))
    }
    fn fitz(&self, p: usize) -> Option<usize> {
        self.pair(p, 0xD83C, (0xDFFB, 0xDFFF))
    }

    fn unicode_emoji(&self, p: usize) -> Option<usize> {
        if let Some(e) = self.pair(p, 0xD83D, (0xDE00, 0xDE4F)) {
            return Some(e);
        }
        if let Some(mut e) = self.pair(p, 0xD83E, (0xDD00, 0xDDFF)) {
            if let Some(mut m) = self.misc_pict(e) {
                while self.at(m) == 0x200D {
                    match self.misc_pict(m + 1) {
                        Some(m2) => m = m2,
                        None => break,
                    }
                }
                e = m;
            }
            return Some(e);
        }
        // ( Misc Fitz? ZWJ )* Misc Fitz?
        {
            let mut q = p;
            while let Some(m) = self.misc_pict(q) {
                let m = self.fitz(m).unwrap_or(m);
                if self.at(m) == 0x200D {
                    q = m + 1;
                } else {
                    break;
                }
            }
            if let Some(m) = self.misc_pict(q) {
                return Some(self.fitz(m).unwrap_or(m));
            }
        }
        if let Some(e) = self.pair(p, 0xD83D, (0xDE80, 0xDEFA)) {
            return Some(e);
        }
        let c = self.at(p);
        if (0x2300..=0x23FF).contains(&c) || (0x2600..=0x26FF).contains(&c) || (0x2700..=0x27BF).contains(&c)
        {
            return Some(self.vs(p + 1));
        }
        let f = self.pair(p, 0xD83C, (0xDD00, 0xDDFF))?;
        self.pair(f, 0xD83C, (0xDD00, 0xDDFF))
    }

    fn emoticon(&mut self, p: usize) -> R<N> {
        if !self.opts.emoticons {
            return None;
        }
        let (pattern, short) = self.emoticon_at(p)?;
        Some((N::Emoji { short: short.clone(), value: pattern.clone() }, p + pattern.len()))
    }

    /// Whether an emoticon (`*)`, `*-)`, `*\0/*`: the only inner rule that
    /// can start on an emphasis marker) matches at `p`, an emphasis marker.
    fn marker_emoticon(&self, p: usize) -> bool {
        self.at(p) == u16::from(b'*') && self.opts.emoticons && self.emoticon_at(p).is_some()
    }

    /// The emoticon pattern (and its shortcode) that matches at `p`, if any,
    /// whatever the options say.
    fn emoticon_at(&self, p: usize) -> Option<&'static (U16s, U16s)> {
        let first = self.at(p);
        if first >= 128 || (EMOTICON_FIRST >> first) & 1 == 0 {
            return None;
        }
        // Patterns with different first characters never both match, so
        // trying those that start with this one, in grammar order, gives
        // the grammar's answer.
        let group = &emoticons_by_first()[usize::from(first)];
        let rest = &self.s[p..];
        let second = rest.get(1).copied()?;
        // Every pattern is at least two code units long, and most texts
        // differ from all of a group's patterns at the second one: one
        // mask test instead of a walk over the group.
        if second < 128 && (group.seconds >> second) & 1 == 0 {
            return None;
        }
        group.patterns.iter().find(|(pattern, _)| {
            pattern[1] == second && rest.get(..pattern.len()) == Some(pattern.as_slice())
        })
    }

    fn big_emoji(&mut self, p: usize) -> R<Vec<N>> {
        let skip = |me: &Self, mut q: usize| loop {
            if let Some(e) = me.eol(q) {
                q = e;
            } else if space(me.at(q)) {
                q += 1;
            } else {
                return q;
            }
        };
        let mut q = skip(self, p);
        let mut es = Vec::new();
        while es.len() < 3 {
            let Some((n, e)) = self.emoji(q).or_else(|| self.emoticon(q)) else { break };
            es.push(n);
            q = skip(self, e);
        }
        if es.is_empty() {
            return None;
        }
        Some((es, q))
    }

    // ---- links ------------------------------------------------------------

    /// URLScheme = [A-Za-z0-9+-]|1..32| ":" (greedy: a longer run fails).
    fn url_scheme(&self, p: usize) -> Option<usize> {
        let q = *self.scheme_end.get(p)? as usize;
        if q == p || q - p > 32 || self.at(q) != u16::from(b':') {
            return None;
        }
        Some(q + 1)
    }

    /// Walks a repetition from `p` with `step` (the end of the item at a
    /// position, if any) and returns where it stops, remembering the stop
    /// for every position walked.
    fn stop_of(&mut self, kind: u8, p: usize, step: impl Fn(&mut Self, usize) -> Option<usize>) -> usize {
        let slot = usize::from(kind) * 16 + usize::from(self.flags());
        if self.stops.is_empty() {
            // Most texts never get here: the slots are made on first use.
            self.stops = vec![Vec::new(); 4 * 16];
        }
        if self.stops[slot].is_empty() {
            self.stops[slot] = vec![u32::MAX; self.len() + 1];
        }
        // The positions walked go on a stack shared with the nested walks
        // (`step` can start one), each walk popping its own off at the end.
        let base = self.visited.len();
        let mut q = p;
        let stop = loop {
            let known = self.stops[slot][q.min(self.len())];
            if known != u32::MAX {
                break known as usize;
            }
            self.visited.push(q as u32);
            match step(self, q) {
                Some(e) if e > q => q = e,
                _ => break q,
            }
        };
        for i in base..self.visited.len() {
            let v = self.visited[i] as usize;
            self.stops[slot][v] = stop as u32;
        }
        self.visited.truncate(base);
        stop
    }

    fn title_item(&mut self, q: usize) -> Option<(N, usize)> {
        if let Some(r) = self.whitespace(q).or_else(|| self.emphasis(q)) {
            return Some(r);
        }
        if q >= self.len() || (self.lit(q, "](").is_some() && q + 2 < self.len()) {
            return None;
        }
        Some((N::Plain(vec![self.at(q)]), q + 1))
    }

    /// Where `title_item` at `q` ends, without building its node (the walk
    /// that finds the title's end visits every code unit of it).
    fn title_end(&mut self, q: usize) -> Option<usize> {
        if let Some(e) = self.spaces_tabs1(q) {
            return Some(e);
        }
        if let Some((_, e)) = self.emphasis(q) {
            return Some(e);
        }
        if q >= self.len() || (self.lit(q, "](").is_some() && q + 2 < self.len()) {
            return None;
        }
        Some(q + 1)
    }

    fn user_run(&self, p: usize) -> Option<usize> {
        let mut q = p;
        while ascii_alnum(self.at(q)) || ascii_in!(self.at(q), b"$&+_#?-") {
            q += 1;
        }
        (q > p).then_some(q)
    }

    fn url_authority(&mut self, p: usize) -> Option<usize> {
        let q = self.lit(p, "//")?;
        let mut h = q;
        if let Some(u) = self.user_run(q) {
            let mut e = u;
            if self.at(u) == u16::from(b':') {
                if let Some(pw) = self.user_run(u + 1) {
                    e = pw;
                }
            }
            if self.at(e) == u16::from(b'@') {
                h = e + 1;
            }
        }
        self.url_authority_host(h)
    }

    fn domain_name(&mut self, p: usize) -> Option<usize> {
        if let Some(e) = self.lit(p, "localhost") {
            return Some(e);
        }
        // Label ("." DomainChar Label*)+, read off the run tables.
        let r = *self.dc_end.get(p)? as usize;
        if r == p {
            return None;
        }
        let e = self.tail_end[r] as usize;
        (e > r).then_some(e)
    }

    fn url_authority_host(&mut self, p: usize) -> Option<usize> {
        let mut e = match self.domain_name(p) {
            Some(e) => e,
            None => {
                // Digits |4, "."|
                let mut q = p;
                for k in 0..4 {
                    if k > 0 {
                        q = self.lit(q, ".")?;
                    }
                    q = self.digits(q)?;
                }
                q
            }
        };
        if self.at(e) == u16::from(b':') {
            if let Some(d) = self.digits(e + 1) {
                e = d;
            }
        }
        Some(e)
    }

    fn url(&mut self, p: usize) -> Option<usize> {
        if p >= self.len() {
            return None;
        }
        if let Some(q) = self.url_scheme(p) {
            if let Some(a) = self.url_authority(q) {
                self.bodies();
                return Some(self.body_end[a] as usize);
            }
        }
        let h = self.url_authority_host(p)?;
        self.bodies();
        Some(self.body_end[h] as usize)
    }

    fn link_ref(&mut self, p: usize) -> Option<(U16s, usize)> {
        if let Some(e) = self.url(p) {
            return Some((self.slice(p, e), e));
        }
        if let Some(q) = self.url_scheme(p) {
            self.bodies();
            let e = self.body_end[q] as usize;
            if e > q {
                return Some((self.slice(p, e), e));
            }
        }
        let (_, number, e) = self.phone(p)?;
        let mut v: U16s = "tel:".encode_utf16().collect();
        v.extend(number);
        Some((v, e))
    }

    fn references(&mut self, p: usize) -> R<N> {
        if let Some(start) = self.lit(p, "[") {
            let stop = self.stop_of(0, start, |me, q| me.title_end(q));
            if let Some(q) = self.lit(stop, "](") {
                if let Some((href, e)) = self.link_ref(q) {
                    if let Some(e) = self.lit(e, ")") {
                        let (title, _) =
                            self.many_inline(start, |me, q| if q < stop { me.title_item(q) } else { None });
                        let label = if title.is_empty() { None } else { Some(reduce(title)) };
                        return Some((N::Link(href, label), e));
                    }
                }
            }
        }
        let q = self.lit(p, "<")?;
        let (href, q) = self.link_ref(q)?;
        let q = self.lit(q, "|")?;
        let mut e = q;
        while e < self.len() {
            let c = self.at(e);
            let ok = (0x20..=0x3B).contains(&c)
                || c == 0x3D
                || (0x3F..=0x7B).contains(&c)
                || (0x7D..=0xFFFF).contains(&c);
            if !ok {
                break;
            }
            e += 1;
        }
        if e == q {
            return None;
        }
        let title = self.slice(q, e);
        let e = self.lit(e, ">")?;
        Some((N::Link(href, Some(vec![N::Plain(title)])), e))
    }

    fn image(&mut self, p: usize) -> R<N> {
        let q = self.lit(p, "![")?;
        let (title, q) = match self.line(q) {
            Some((t, e)) => (Some(t), e),
            None => (None, q),
        };
        let q = self.lit(q, "](")?;
        let (href, q) = self.link_ref(q)?;
        let q = self.lit(q, ")")?;
        Some((N::Image(href, title.map(|t| Box::new(N::Plain(t)))), q))
    }

    /// Line = Space* AnyText+ Space*
    fn line(&self, p: usize) -> Option<(U16s, usize)> {
        let c = self.line_end(p)?;
        Some((self.slice(p, c), c))
    }

    /// The end of a Line at `p`.
    fn line_end(&self, p: usize) -> Option<usize> {
        let a = self.spaces_tabs(p);
        let mut b = a;
        while self.text_char(b) {
            b += 1;
        }
        if b == a {
            return None;
        }
        Some(self.spaces_tabs(b))
    }

    fn phone(&self, p: usize) -> Option<(U16s, U16s, usize)> {
        let q = self.lit(p, "+")?;
        let prefix = |q: usize| -> Option<(U16s, U16s, usize)> {
            if let Some(d) = self.digits(q) {
                return Some((self.slice(q, d), self.slice(q, d), d));
            }
            let a = self.lit(q, "(")?;
            let d = self.digits(a)?;
            let e = self.lit(d, ")")?;
            Some((self.slice(q, e), self.slice(a, d), e))
        };
        let (text, number, e) = (|| {
            if let Some((pt, pn, e)) = prefix(q) {
                if let Some(d0) = self.lit(e, "-") {
                    if let Some(d) = self.digits(d0) {
                        let mut t = pt.clone();
                        t.push(u16::from(b'-'));
                        t.extend_from_slice(&self.s[d0..d]);
                        let mut n = pn.clone();
                        n.extend_from_slice(&self.s[d0..d]);
                        return Some((t, n, d));
                    }
                }
                if let Some(d1) = self.digits(e) {
                    if let Some(d2s) = self.lit(d1, "-") {
                        if let Some(d2) = self.digits(d2s) {
                            let mut t = pt.clone();
                            t.extend_from_slice(&self.s[e..d1]);
                            t.push(u16::from(b'-'));
                            t.extend_from_slice(&self.s[d2s..d2]);
                            let mut n = pn.clone();
                            n.extend_from_slice(&self.s[e..d1]);
                            n.extend_from_slice(&self.s[d2s..d2]);
                            return Some((t, n, d2));
                        }
                    }
                    let mut t = pt.clone();
                    t.extend_from_slice(&self.s[e..d1]);
                    let mut n = pn.clone();
                    n.extend_from_slice(&self.s[e..d1]);
                    return Some((t, n, d1));
                }
            }
            let d = self.digits(q)?;
            Some((self.slice(q, d), self.slice(q, d), d))
        })()?;
        let mut t = vec![u16::from(b'+')];
        t.extend(text);
        Some((t, number, e))
    }

    fn autolinked_phone(&mut self, p: usize) -> R<N> {
        let (text, number, e) = self.phone(p)?;
        if number.len() < 5 {
            return Some((N::Plain(text), e));
        }
        let mut href: U16s = "tel:".encode_utf16().collect();
        href.extend(number);
        Some((N::Link(href, Some(vec![N::Plain(text)])), e))
    }

    fn local_part(&self, p: usize) -> Option<usize> {
        let e = *self.local_end.get(p)? as usize;
        (e > p).then_some(e)
    }

    fn autolinked_email(&mut self, p: usize) -> R<N> {
        let start = self.lit(p, "mailto:").unwrap_or(p);
        let (e, start) = match self.email_at(start) {
            Some(e) => (e, start),
            None if start != p => (self.email_at(p)?, p),
            None => return None,
        };
        let src = self.slice(start, e);
        let mut href: U16s = "mailto:".encode_utf16().collect();
        href.extend_from_slice(&src);
        if psl::host_is_linkable(&href, &[]) {
            Some((N::Link(href, Some(vec![N::Plain(src)])), e))
        } else {
            Some((N::Plain(src), e))
        }
    }

    fn email_at(&mut self, p: usize) -> Option<usize> {
        let l = self.local_part(p)?;
        let q = self.lit(l, "@")?;
        self.domain_name(q)
    }

    fn autolinked_url(&mut self, p: usize) -> R<N> {
        let e = (|| {
            if let Some(q) = self.url_scheme(p) {
                if let Some(a) = self.url_authority(q) {
                    self.bodies();
                    return Some(self.auto_end[a] as usize);
                }
            }
            let h = self.url_authority_host(p)?;
            self.bodies();
            Some(self.auto_end[h] as usize)
        })()?;
        let src = self.slice(p, e);
        let mut hosts = vec!["localhost".to_owned()];
        hosts.extend(self.opts.custom_domains.iter().cloned());
        if !psl::host_is_linkable(&src, &hosts) {
            return Some((N::Plain(src), e));
        }
        let text = String::from_utf16_lossy(&src);
        let href = if psl::can_parse_url(&text) || text.starts_with("//") {
            src.clone()
        } else {
            let mut h: U16s = "//".encode_utf16().collect();
            h.extend_from_slice(&src);
            h
        };
        Some((N::Link(href, Some(vec![N::Plain(src)])), e))
    }

    // ---- emphasis -----------------------------------------------------------

    fn emphasis(&mut self, p: usize) -> R<N> {
        self.maybe(Rule::Bold, p)
            .or_else(|| self.maybe(Rule::Italic, p))
            .or_else(|| self.maybe(Rule::Strike, p))
    }

    /// MaybeBold / MaybeItalic / MaybeStrikethrough / MaybeReferences: fail
    /// when already inside the same construct, else try it with the flag set.
    fn maybe(&mut self, rule: Rule, p: usize) -> R<N> {
        let flag = match rule {
            Rule::Bold => self.skip_bold,
            Rule::Italic => self.skip_italic,
            Rule::Strike => self.skip_strike,
            Rule::Refs => self.skip_refs,
        };
        if flag || p >= self.len() {
            return None;
        }
        // Cheap first-character filters (each rule needs one of these).
        let c = self.at(p);
        let plausible = match rule {
            Rule::Bold => c == u16::from(b'*'),
            Rule::Italic => c == u16::from(b'_') || ascii_alnum(c),
            Rule::Strike => c == u16::from(b'~'),
            Rule::Refs => c == u16::from(b'[') || c == u16::from(b'<'),
        };
        if !plausible {
            return None;
        }
        // Inside a run of a marker (`***…`, `___…`, `~~~…`) every
        // alternative of the rule puts its content's first item on the
        // marker, which `content_stop` refuses: fail before the memo.
        if rule != Rule::Refs
            && ascii_in!(c, b"*_~")
            && self.at(p + 1) == c
            && self.at(p + 2) == c
            && !self.marker_emoticon(p + 1)
            && !self.marker_emoticon(p + 2)
        {
            return None;
        }
        if rule == Rule::Italic && c != u16::from(b'_') {
            // Only the `word_` alternative can match here, and it is a
            // constant-time check: no memo entry needed.
            let q = self.alnum_end[p] as usize;
            if self.at(q) != u16::from(b'_') {
                return None;
            }
            let e = if self.at(q + 1) == u16::from(b'_') { q + 2 } else { q + 1 };
            return Some((N::Plain(self.slice(p, e)), e));
        }
        let slot = rule as usize * 16 + usize::from(self.flags());
        if self.memo.is_empty() {
            self.memo = vec![Vec::new(); 4 * 16];
        }
        if self.memo[slot].is_empty() {
            self.memo[slot] = vec![u32::MAX; self.len() + 1];
        }
        let known = self.memo[slot][p];
        if known != u32::MAX {
            return self.results[known as usize].clone();
        }
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        self.set(rule, true);
        let r = match rule {
            Rule::Bold => self.bold(p),
            Rule::Italic => self.italic(p),
            Rule::Strike => self.strike(p),
            Rule::Refs => self.references(p),
        };
        self.set(rule, false);
        self.depth -= 1;
        let r = r.map(|(n, e)| (n.share(), e));
        self.memo[slot][p] = self.results.len() as u32;
        self.results.push(r.clone());
        r
    }

    fn set(&mut self, rule: Rule, v: bool) {
        match rule {
            Rule::Bold => self.skip_bold = v,
            Rule::Italic => self.skip_italic = v,
            Rule::Strike => self.skip_strike = v,
            Rule::Refs => self.skip_refs = v,
        }
    }

    /// One item of an emphasis content. Built (`BUILD`) for the content's
    /// nodes, or only measured for the walk that finds where the content
    /// stops: then the text pieces are not copied out (`Item::Skip`).
    fn content_item<const BUILD: bool>(&mut self, q: usize, kind: Rule) -> Option<(Item, usize)> {
        let marker = match kind {
            Rule::Bold => u16::from(b'*'),
            Rule::Italic => u16::from(b'_'),
            _ => u16::from(b'~'),
        };
        if q >= self.len() {
            return None;
        }
        if kind == Rule::Strike {
            if let Some((n, e)) = self.timestamp(q) {
                return Some((Item::Node(n), e));
            }
        }
        if let Some(e) = self.spaces_tabs1(q) {
            let item = if BUILD { Item::Node(N::Plain(self.slice(q, e))) } else { Item::Skip };
            return Some((item, e));
        }
        // The rules in grammar order, each tried only when the code units at
        // `q` pass the check it starts with (as in `inline_item`): this runs
        // for every code unit of every emphasis content, twice (measured,
        // then built).
        let c = self.at(q);
        let next = self.at(q + 1);
        macro_rules! try_rule {
            ($guard:expr, $rule:expr) => {
                if $guard {
                    if let Some((n, e)) = $rule {
                        return Some((Item::Node(n), e));
                    }
                }
            };
        }
        try_rule!(c == u16::from(b'`'), self.inline_code(q));
        try_rule!(ascii_in!(c, b"[<"), self.maybe(Rule::Refs, q));
        try_rule!(c == u16::from(b'@') || next == u16::from(b'@'), self.user_mention(q));
        try_rule!(c == u16::from(b'#') || next == u16::from(b'#'), self.channel_mention(q));
        // `maybe` filters on the first code unit itself.
        try_rule!(
            true,
            match kind {
                Rule::Bold => self.maybe(Rule::Italic, q).or_else(|| self.maybe(Rule::Strike, q)),
                Rule::Italic => self.maybe(Rule::Bold, q).or_else(|| self.maybe(Rule::Strike, q)),
                _ => self.maybe(Rule::Italic, q).or_else(|| self.maybe(Rule::Bold, q)),
            }
        );
        try_rule!(c == u16::from(b':') || c >= 0x2300, self.emoji(q));
        try_rule!(c < 128 && (EMOTICON_FIRST >> c) & 1 == 1, self.emoticon(q));
        if c != 10 && c != marker && c != 32 {
            return Some((Item::Unit(c), q + 1));
        }
        let e = self.line_end(q)?;
        let item = if BUILD { Item::Node(N::Plain(self.slice(q, e))) } else { Item::Skip };
        Some((item, e))
    }

    /// The end of an emphasis content from `p` (at least one item), without
    /// building it.
    fn content_stop(&mut self, p: usize, kind: Rule) -> Option<usize> {
        let (k, marker) = match kind {
            Rule::Bold => (1, b'*'),
            Rule::Italic => (2, b'_'),
            _ => (3, b'~'),
        };
        // A content cannot start on its own marker: inside a content of
        // that marker no inner rule starts with it but an emoticon (`*)`,
        // `*-)`, ...), and the marker is neither a space nor text for the
        // fallback. So runs of a marker (`*****`) fail here in constant
        // time rather than through a memoised walk (`content_item` gives
        // the same answer, slower).
        if self.at(p) == u16::from(marker) && !self.marker_emoticon(p) {
            return None;
        }
        let e = self.stop_of(k, p, |me, q| me.content_item::<false>(q, kind).map(|(_, e)| e));
        (e > p).then_some(e)
    }

    /// The items of a content already known to stop at `stop`.
    fn content_items(&mut self, p: usize, stop: usize, kind: Rule) -> Vec<N> {
        // As `many_inline`, with single code units appended in place.
        let mut v: Vec<N> = Vec::new();
        let mut q = p;
        while q < stop {
            let Some((x, e)) = self.content_item::<true>(q, kind) else { break };
            match (v.last_mut(), x) {
                (Some(N::Plain(last)), Item::Unit(c)) if !js_blank(last) && !js_blank(&[c]) => last.push(c),
                (_, Item::Unit(c)) => v.push(N::Plain(vec![c])),
                (Some(N::Plain(last)), Item::Node(N::Plain(t))) if !js_blank(last) && !js_blank(&t) => {
                    last.extend_from_slice(&t);
                }
                (_, Item::Node(x)) => v.push(x),
                (_, Item::Skip) => {}
            }
            if e == q {
                break;
            }
            q = e;
        }
        reduce(v)
    }

    fn delimited(&mut self, p: usize, kind: Rule, one: &str, two: &str) -> R<Vec<N>> {
        if let Some(q) = self.lit(p, two) {
            if let Some(stop) = self.content_stop(q, kind) {
                if let Some(e) = self.lit(stop, two) {
                    return Some((self.content_items(q, stop, kind), e));
                }
            }
        }
        let q = self.lit(p, one)?;
        let stop = self.content_stop(q, kind)?;
        let e = self.lit(stop, one)?;
        Some((self.content_items(q, stop, kind), e))
    }

    fn bold(&mut self, p: usize) -> R<N> {
        let (v, e) = self.delimited(p, Rule::Bold, "*", "**")?;
        Some((N::Bold(v), e))
    }

    fn strike(&mut self, p: usize) -> R<N> {
        let (v, e) = self.delimited(p, Rule::Strike, "~", "~~")?;
        Some((N::Strike(v), e))
    }

    fn italic(&mut self, p: usize) -> R<N> {
        // $([a-zA-Z0-9]+ "_" "_"?)
        {
            let mut q = self.alnum_end[p] as usize;
            if q > p && self.at(q) == u16::from(b'_') {
                q += 1;
                if self.at(q) == u16::from(b'_') {
                    q += 1;
                }
                return Some((N::Plain(self.slice(p, q)), q));
            }
        }
        let us = u16::from(b'_');
        // "__" Items "__" [a-zA-Z0-9]+
        if let Some(q) = self.lit(p, "__") {
            if let Some(stop) = self.content_stop(q, Rule::Italic) {
                if let Some(e) = self.lit(stop, "__") {
                    let mut t = e;
                    while ascii_alnum(self.at(t)) {
                        t += 1;
                    }
                    if t > e {
                        let i = self.content_items(q, stop, Rule::Italic);
                        let mut v = vec![N::Plain(vec![us, us])];
                        v.extend(i);
                        v.push(N::Plain(vec![us, us]));
                        v.push(N::Plain(self.slice(e, t)));
                        return Some((N::Seq(reduce(v)), t));
                    }
                }
            }
        }
        // "_" Items "_" [a-zA-Z]+
        if let Some(q) = self.lit(p, "_") {
            if let Some(stop) = self.content_stop(q, Rule::Italic) {
                if let Some(e) = self.lit(stop, "_") {
                    let mut t = e;
                    while ascii_alpha(self.at(t)) {
                        t += 1;
                    }
                    if t > e {
                        let i = self.content_items(q, stop, Rule::Italic);
                        let mut v = vec![N::Plain(vec![us])];
                        v.extend(i);
                        v.push(N::Plain(vec![us]));
                        v.push(N::Plain(self.slice(e, t)));
                        return Some((N::Seq(reduce(v)), t));
                    }
                }
            }
        }
        let (v, e) = self.delimited(p, Rule::Italic, "_", "__")?;
        Some((N::Italic(v), e))
    }

    fn emphasis_with_whitespace(&mut self, p: usize) -> R<N> {
        let c = self.at(p);
        if !ascii_in!(c, b"*_~") {
            return None;
        }
        let q = self.same_end[p] as usize;
        let w = self.spaces_tabs1(q)?;
        if self.at(w) != c {
            return None;
        }
        let e = self.same_end[w] as usize;
        Some((N::Plain(self.slice(p, e)), e))
    }
}

/// End of LocalPart (e-mail) at every position, i itself when none.
fn local_end_table(s: &[u16]) -> Vec<u32> {
    let n = s.len();
    // LocalPart = (AlnumMark+ Special*)+ ("." (AlnumMark+ Special*)+)*
    let am: Vec<bool> = s.iter().map(|&c| alnum_or_mark(c)).chain(std::iter::once(false)).collect();
    let special = |c: u16| ascii_in!(c, LOCAL_SPECIAL);
    let mut special_end = vec![n as u32; n + 1];
    for i in (0..n).rev() {
        special_end[i] = if special(s[i]) { special_end[i + 1] } else { i as u32 };
    }
    let mut chars_end = vec![n as u32; n + 1];
    for i in (0..n).rev() {
        chars_end[i] = if !am[i] {
            i as u32
        } else if am[i + 1] {
            chars_end[i + 1]
        } else {
            let r = special_end[i + 1] as usize;
            if am[r] {
                chars_end[r]
            } else {
                r as u32
            }
        };
    }
    let mut dot_tail = vec![n as u32; n + 2];
    for i in (0..n).rev() {
        dot_tail[i] = if s[i] == 46 && am[i + 1] { dot_tail[chars_end[i + 1] as usize] } else { i as u32 };
    }
    (0..=n).map(|i| if am[i] { dot_tail[chars_end[i] as usize] } else { i as u32 }).collect()
}

/// The emoticons that start with one character, in grammar order.
#[derive(Clone, Default)]
struct EmoticonGroup {
    /// (pattern, shortcode), both as code units, built once.
    patterns: Vec<(U16s, U16s)>,
    /// The ASCII second code units of the patterns, as a 128-bit mask
    /// (a non-ASCII second code unit is never filtered out).
    seconds: u128,
}

/// [`EMOTICONS`] grouped by first character (all are ASCII), each group in
/// grammar order.
fn emoticons_by_first() -> &'static [EmoticonGroup] {
    static TABLE: std::sync::OnceLock<Vec<EmoticonGroup>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = vec![EmoticonGroup::default(); 128];
        for (texts, name) in EMOTICONS {
            for t in *texts {
                let units: U16s = t.encode_utf16().collect();
                assert!(units.len() >= 2 && units[0] < 128, "emoticon {t:?}");
                let group = &mut table[usize::from(units[0])];
                if units[1] < 128 {
                    group.seconds |= 1u128 << units[1];
                }
                group.patterns.push((units, name.encode_utf16().collect()));
            }
        }
        table
    })
}

/// The first characters of the emoticons (all ASCII), as a 128-bit mask.
const EMOTICON_FIRST: u128 = {
    let mut m = 0u128;
    let mut i = 0;
    while i < EMOTICONS.len() {
        let texts = EMOTICONS[i].0;
        let mut j = 0;
        while j < texts.len() {
            m |= 1u128 << texts[j].as_bytes()[0];
            j += 1;
        }
        i += 1;
    }
    m
};

/// EmoticonPattern, in the grammar's order (first match wins).
const EMOTICONS: &[(&[&str], &str)] = &[
    (&["<3"], "heart"),
    (&["</3"], "broken_heart"),
    (&[":D", ":-D", "=D"], "smiley"),
    (&[">:)", ">;)", ">:-)", ">=)"], "laughing"),
    (&["':)", "':-)", "'=)", "':D", "':-D", "'=D"], "sweat_smile"),
    (&[":')", ":'-)"], "joy"),
    (
        &["O:-)", "0:-3", "0:3", "0:-)", "0:)", "0;^)", "O:)", "O;-)", "O=)", "0;-)", "O:-3", "O:3"],
        "innocent",
    ),
    (&[":)", ":-)", "=]", "=)", ":]"], "slight_smile"),
    (&[";)", ";-)", "*-)", "*)", ";-]", ";]", ";D", ";^)"], "wink"),
    (&[":*", ":-*", "=*", ":^*"], "kissing_heart"),
    (&[":P", ":-P", "=P", ":-\u{de}", ":\u{de}", ":-b", ":b"], "stuck_out_tongue"),
    (&[">:P", "X-P"], "stuck_out_tongue_winking_eye"),
    (&["B-)", "B)", "8)", "8-)", "B-D", "8-D"], "sunglasses"),
    (&[">:[", ":-(", ":(", ":-[", ":[", "=("], "disappointed"),
    (&[">:\\", ">:/", ":-/", ":-.", ":/", ":\\", "=/", "=\\", ":L", "=L"], "confused"),
    (&[">.<"], "persevere"),
    (&[":'(", ":'-(", ";(", ";-("], "cry"),
    (&[">:(", ">:-(", ":@"], "angry"),
    (&[":$", "=$"], "flushed"),
    (&["D:"], "fearful"),
    (&["':(", "':-(", "'=("], "sweat"),
    (&[":-X", ":X", ":-#", ":#", "=X", "=#"], "no_mouth"),
    (&["-_-", "-__-", "-___-"], "expressionless"),
    (&[":-O", ":O", "O_O", ">:O"], "open_mouth"),
    (&["#-)", "#)", "%-)", "%)", "X)", "X-)"], "dizzy_face"),
    (&["(y)"], "thumbsup"),
    (&["*\\0/*", "\\0/", "*\\O/*", "\\O/"], "person_gesturing_ok"),
];
