//! The only check between this tool and the network: the target must be a
//! plain `http://` URL on this machine's loopback (127.0.0.0/8, `::1`, or
//! `localhost`, which is pinned to 127.0.0.1 rather than resolved).

use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A checked target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `http://HOST:PORT`, no trailing slash: request paths are appended.
    pub base: String,
    /// The host as written in the URL (`127.0.0.1`, `[::1]`, `localhost`).
    pub host: String,
    pub port: u16,
    /// For `localhost`: the address to use instead of asking the resolver,
    /// so `/etc/hosts` or a DNS answer can never send traffic elsewhere.
    pub pin: Option<SocketAddr>,
}

/// Parses and checks `raw`. Refuses anything but `http://` to a loopback
/// host, with no credentials, path, query or fragment.
pub fn parse_target(raw: &str) -> Result<Target, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("invalid target URL {raw:?}: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!("target {raw:?}: only http:// is supported (no TLS on loopback)"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("target {raw:?}: credentials in the URL are not accepted"));
    }
    if !(url.path().is_empty() || url.path() == "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("target {raw:?}: give the server's base URL only (no path, query or fragment)"));
    }
    let host = url.host_str().ok_or_else(|| format!("target {raw:?} has no host"))?.to_owned();
    let port = url.port_or_known_default().ok_or_else(|| format!("target {raw:?} has no port"))?;
    // The URL parser has already normalised the host: IPv4 in dotted
    // decimal (so `127.1` or `0x7f.0.0.1` arrive as `127.0.0.1`), IPv6 in
    // brackets, domains lowercased.
    let pin = if host == "localhost" {
        Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
    } else if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ip: Ipv6Addr = inner.parse().map_err(|_| format!("target {raw:?}: bad IPv6 address"))?;
        if ip != Ipv6Addr::LOCALHOST {
            return Err(refusal(raw));
        }
        None
    } else if let Ok(ip) = host.parse::<Ipv4Addr>() {
        if !ip.is_loopback() {
            return Err(refusal(raw));
        }
        None
    } else {
        return Err(refusal(raw));
    };
    Ok(Target { base: format!("http://{host}:{port}"), host, port, pin })
}

fn refusal(raw: &str) -> String {
    format!(
        "refusing target {raw:?}: threadsync-load only sends traffic to loopback \
         (127.0.0.0/8, [::1] or localhost)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_are_accepted() {
        let t = parse_target("http://127.0.0.1:3000").expect("127.0.0.1");
        assert_eq!((t.base.as_str(), t.port, t.pin), ("http://127.0.0.1:3000", 3000, None));
        assert_eq!(parse_target("http://127.9.8.7:1/").expect("127/8").base, "http://127.9.8.7:1");
        assert_eq!(parse_target("http://[::1]:8080").expect("::1").base, "http://[::1]:8080");
        // Other spellings of 127.0.0.1 are normalised before the check.
        assert_eq!(parse_target("http://127.1:5").expect("127.1").base, "http://127.0.0.1:5");
        assert_eq!(parse_target("http://2130706433:5").expect("decimal").base, "http://127.0.0.1:5");
        let t = parse_target("http://LocalHost").expect("localhost");
        assert_eq!(t.base, "http://localhost:80");
        assert_eq!(t.pin, Some("127.0.0.1:80".parse().expect("addr")));
    }

    #[test]
    fn anything_else_is_refused() {
        for raw in [
            "http://10.0.0.1:3000",
            "http://192.168.1.10:3000",
            "http://172.16.0.1",
            "http://8.8.8.8",
            "http://0.0.0.0:3000",
            "http://[::]:3000",
            "http://[::ffff:127.0.0.1]:3000",
            "http://[fe80::1]:3000",
            "http://example.com",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "http://localhost.",
        ] {
            let err = parse_target(raw).expect_err(raw);
            assert!(err.contains("refusing") || err.contains("invalid"), "{raw}: {err}");
        }
        for raw in [
            "https://127.0.0.1:3000",
            "ftp://127.0.0.1",
            "http://user:pw@127.0.0.1:3000",
            "http://127.0.0.1:3000/api/v1",
            "http://127.0.0.1:3000/?x=1",
            "127.0.0.1:3000",
            "",
        ] {
            assert!(parse_target(raw).is_err(), "{raw} must be refused");
        }
    }
}
