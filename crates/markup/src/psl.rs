//! The host checks behind auto-links and e-mail links: a port of the parts of
//! `tldts` (5.x, the copy bundled into the pinned parser) that the parser's
//! `autoLink` / `autoEmail` helpers use, with the same public suffix data
//! (`tables.rs`), plus the WHATWG "can this be parsed as an absolute URL"
//! check the helper uses to decide whether to prefix `//`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::tables::{PSL_EXCEPTIONS, PSL_RULES};

#[derive(Default)]
struct Node {
    kind: u8,
    succ: HashMap<&'static str, Node>,
}

/// Builds a trie from `tables.rs`'s rules: one a line, `kind:labels`.
fn build(rules: &'static str) -> Node {
    let mut root = Node::default();
    for rule in rules.lines() {
        // The generator writes every line as `kind:path`; a line that is
        // not would be a broken table, caught by this module's tests.
        let Some((kind, path)) = rule.split_once(':') else { continue };
        let mut node = &mut root;
        if !path.is_empty() {
            for label in path.split('.') {
                node = node.succ.entry(label).or_default();
            }
        }
        node.kind = kind.parse().unwrap_or(0);
    }
    root
}

fn tries() -> &'static (Node, Node) {
    static TRIES: OnceLock<(Node, Node)> = OnceLock::new();
    TRIES.get_or_init(|| (build(PSL_EXCEPTIONS), build(PSL_RULES)))
}

/// tldts `lookupInTrie`: the deepest rule on the path (exact label first,
/// `*` only when there is no exact child). Returns (index, kind).
fn lookup(parts: &[&str], trie: &Node) -> Option<(usize, u8)> {
    let mut result = None;
    let mut node = Some(trie);
    let mut index = parts.len() as isize - 1;
    while let Some(n) = node {
        if n.kind & 3 != 0 {
            result = Some(((index + 1) as usize, n.kind));
        }
        if index == -1 {
            break;
        }
        let part = parts[index as usize];
        node = n.succ.get(part).or_else(|| n.succ.get("*"));
        index -= 1;
    }
    result
}

/// (isIcann, isPrivate) of a hostname, with private domains allowed.
fn suffix_flags(hostname: &str) -> (bool, bool) {
    let parts: Vec<&str> = hostname.split('.').collect();
    let (exceptions, rules) = tries();
    if let Some((_, kind)) = lookup(&parts, exceptions) {
        return (kind == 1, kind == 2);
    }
    if let Some((_, kind)) = lookup(&parts, rules) {
        return (kind == 1, kind == 2);
    }
    (false, false)
}

fn valid_ascii(c: u16) -> bool {
    (97..=122).contains(&c) || (48..=57).contains(&c) || c > 127
}

/// tldts `isValidHostname` (on UTF-16 code units, as in JavaScript).
fn is_valid_hostname(h: &[u16]) -> bool {
    if h.len() > 255 || h.is_empty() || !valid_ascii(h[0]) {
        return false;
    }
    let mut last_dot: isize = -1;
    let mut last: i32 = -1;
    for (i, &c) in h.iter().enumerate() {
        if c == 46 {
            if i as isize - last_dot > 64 || last == 46 || last == 45 || last == 95 {
                return false;
            }
            last_dot = i as isize;
        } else if !(valid_ascii(c) || c == 45 || c == 95) {
            return false;
        }
        last = i32::from(c);
    }
    (h.len() as isize - last_dot - 1) <= 63 && last != 45
}

fn find(h: &[u16], pat: &[u16], from: usize) -> Option<usize> {
    if pat.len() > h.len() {
        return None;
    }
    (from..=h.len() - pat.len()).find(|&i| &h[i..i + pat.len()] == pat)
}

fn lower(h: &[u16]) -> Vec<u16> {
    // JavaScript toLowerCase; only reached with an ASCII upper-case letter
    // present, and the host must then pass the ASCII-only validity check,
    // so non-ASCII folding never changes the outcome.
    String::from_utf16_lossy(h).to_lowercase().encode_utf16().collect()
}

/// tldts `extractHostname(url, urlIsValidHostname)`.
fn extract_hostname(url: &[u16]) -> Option<Vec<u16>> {
    if is_valid_hostname(url) {
        return Some(trim_dots(url, 0, url.len()).to_vec());
    }
    let at = |i: usize| url.get(i).copied().unwrap_or(0xFFFF_u16);
    let data: Vec<u16> = "data:".encode_utf16().collect();
    if url.starts_with(&data) {
        return None;
    }
    let mut start = 0;
    let mut end = url.len();
    let mut has_upper = false;
    while start < url.len() && url[start] <= 32 {
        start += 1;
    }
    while end > start + 1 && url[end - 1] <= 32 {
        end -= 1;
    }
    if at(start) == 47 && at(start + 1) == 47 {
        start += 2;
    } else if let Some(proto) = find(url, &[58, 47], start) {
        let size = proto - start;
        let c: Vec<u16> = (0..5).map(|k| at(start + k)).collect();
        let known = (size == 5 && c[..5] == [104, 116, 116, 112, 115])
            || (size == 4 && c[..4] == [104, 116, 116, 112])
            || (size == 3 && c[..3] == [119, 115, 115])
            || (size == 2 && c[..2] == [119, 115]);
        if !known {
            for &ch in &url[start..proto] {
                let l = ch | 32;
                if !((97..=122).contains(&l) || (48..=57).contains(&l) || l == 46 || l == 45 || l == 43) {
                    return None;
                }
            }
        }
        start = proto + 2;
        while at(start) == 47 {
            start += 1;
        }
    }
    let mut ident: Option<usize> = None;
    let mut bracket: Option<usize> = None;
    let mut port: Option<usize> = None;
    for (i, &code) in url.iter().enumerate().take(end).skip(start) {
        if code == 35 || code == 47 || code == 63 {
            end = i;
            break;
        } else if code == 64 {
            ident = Some(i);
        } else if code == 93 {
            bracket = Some(i);
        } else if code == 58 {
            port = Some(i);
        } else if (65..=90).contains(&code) {
            has_upper = true;
        }
    }
    if let Some(i) = ident {
        if i > start && i < end {
            start = i + 1;
        }
    }
    if at(start) == 91 {
        return match bracket {
            Some(b) if b > start => Some(lower(&url[start + 1..b])),
            Some(_) => Some(Vec::new()),
            None => None,
        };
    } else if let Some(p) = port {
        if p > start && p < end {
            end = p;
        }
    }
    let host = trim_dots(url, start, end);
    Some(if has_upper { lower(host) } else { host.to_vec() })
}

fn trim_dots(url: &[u16], start: usize, mut end: usize) -> &[u16] {
    while end > start + 1 && url[end - 1] == 46 {
        end -= 1;
    }
    if start > end {
        return &[];
    }
    &url[start..end]
}

fn ends_with_host(host: &str, vhost: &str) -> bool {
    host.ends_with(vhost)
        && (host.len() == vhost.len() || host.as_bytes()[host.len() - vhost.len() - 1] == b'.')
}

/// `tldts.parse(src, {detectIp: false, allowPrivateDomains: true, validHosts})`
/// then `isIcann || isIp || isPrivate || validHosts.includes(domain)`.
pub(crate) fn host_is_linkable(src: &[u16], valid_hosts: &[String]) -> bool {
    let Some(host) = extract_hostname(src) else {
        return false;
    };
    if !is_valid_hostname(&host) {
        return false;
    }
    let host = String::from_utf16_lossy(&host);
    let (icann, private) = suffix_flags(&host);
    if icann || private {
        return true;
    }
    valid_hosts.iter().any(|v| ends_with_host(&host, v))
}

const SPECIAL: [&str; 6] = ["http", "https", "ws", "wss", "ftp", "file"];

fn forbidden_host(c: char) -> bool {
    matches!(
        c,
        '\0' | '\t'
            | '\n'
            | '\r'
            | ' '
            | '#'
            | '/'
            | ':'
            | '<'
            | '>'
            | '?'
            | '@'
            | '['
            | '\\'
            | ']'
            | '^'
            | '|'
    )
}

/// Whether `new URL(src)` succeeds (no base), for the inputs an auto-link can
/// be: the scheme must be valid; special schemes need a valid host and port.
pub(crate) fn can_parse_url(src: &str) -> bool {
    let trimmed = src.trim_matches(|c: char| c <= ' ');
    let Some(colon) = trimmed.find(':') else {
        return false;
    };
    let scheme = &trimmed[..colon];
    let mut chars = scheme.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.') {
        return false;
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest: String =
        trimmed[colon + 1..].chars().filter(|&c| c != '\t' && c != '\n' && c != '\r').collect();
    if !SPECIAL.contains(&scheme.as_str()) {
        if let Some(auth) = rest.strip_prefix("//") {
            let end = auth.find(['/', '?', '#']).unwrap_or(auth.len());
            let authority = &auth[..end];
            let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let host = match hostport.rfind(':') {
                Some(i) if !hostport.starts_with('[') || hostport[..i].ends_with(']') => {
                    let port = &hostport[i + 1..];
                    if !port.chars().all(|c| c.is_ascii_digit())
                        || port.parse::<u32>().map_or(!port.is_empty(), |p| p > 65535)
                    {
                        return false;
                    }
                    &hostport[..i]
                }
                _ => hostport,
            };
            if host.starts_with('[') {
                return host.ends_with(']');
            }
            return !host.chars().any(|c| forbidden_host(c) && c != ':' || c == '%');
        }
        return true;
    }
    if scheme == "file" {
        return true;
    }
    let auth = rest.trim_start_matches(['/', '\\']);
    let end = auth.find(['/', '\\', '?', '#']).unwrap_or(auth.len());
    let authority = &auth[..end];
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(i) => (&hostport[..=i], hostport[i + 1..].strip_prefix(':')),
            None => return false,
        }
    } else {
        match hostport.find(':') {
            Some(i) => (&hostport[..i], Some(&hostport[i + 1..])),
            None => (hostport, None),
        }
    };
    if let Some(port) = port {
        if !port.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
        if !port.is_empty() && port.parse::<u32>().map_or(true, |p| p > 65535) {
            return false;
        }
    }
    if host.is_empty() {
        return false;
    }
    if host.starts_with('[') {
        return host.len() > 2;
    }
    !host.chars().any(|c| forbidden_host(c) || c == '%' || c.is_control() || c == '\u{7f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of both tables is `kind:labels`, with a known kind: a
    /// line `build` skipped would silently drop a rule.
    #[test]
    fn every_rule_line_is_well_formed() {
        for table in [crate::tables::PSL_EXCEPTIONS, crate::tables::PSL_RULES] {
            for line in table.lines() {
                let (kind, path) = line.split_once(':').unwrap_or_else(|| panic!("no ':' in {line:?}"));
                assert!(["0", "1", "2"].contains(&kind), "kind of {line:?}");
                assert!(!path.contains(char::is_whitespace), "{line:?}");
            }
        }
        assert_eq!(crate::tables::PSL_EXCEPTIONS.lines().count(), 9);
        assert!(crate::tables::PSL_RULES.lines().count() > 9_000);
    }

    /// The tries give tldts's answers: ICANN and private suffixes, a
    /// wildcard rule, an exception to it, a Unicode label and no rule.
    #[test]
    fn suffixes_are_classified_as_tldts_does() {
        assert_eq!(suffix_flags("example.com"), (true, false));
        assert_eq!(suffix_flags("someone.github.io"), (false, true));
        assert_eq!(suffix_flags("shop.example.co.uk"), (true, false));
        // `*.ck` is ICANN; `www.ck` is an exception to it.
        assert_eq!(suffix_flags("a.b.ck"), (true, false));
        assert_eq!(suffix_flags("www.ck"), (true, false));
        assert_eq!(suffix_flags("example.公司.cn"), (true, false));
        assert_eq!(suffix_flags("host.invalid-tld-name"), (false, false));
    }
}
