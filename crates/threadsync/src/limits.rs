//! Process limits the server sets for itself at start.

/// The open-files limit before and after [`raise_open_files`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    pub before: u64,
    pub after: u64,
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit.
///
/// Every websocket client holds a file descriptor for as long as it is
/// connected, and the soft limit most shells and service managers hand out
/// is 1,024: left there, a server with plenty of memory would refuse
/// connections (`accept` failing with EMFILE) at about a thousand clients.
/// The hard limit is what the administrator allows; raising the soft limit
/// up to it needs no privilege, so the server takes it, as nginx and
/// PostgreSQL do with their own settings. Raising the hard limit itself is
/// left to the administrator (`ulimit -Hn`, `LimitNOFILE=` in systemd).
#[cfg(unix)]
pub fn raise_open_files() -> OpenFiles {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    // `None` means unlimited.
    let value = |v: Option<u64>| v.unwrap_or(u64::MAX);
    let limit = getrlimit(Resource::Nofile);
    let before = value(limit.current);
    if value(limit.current) < value(limit.maximum) {
        // A failure leaves the limit where it was; the caller logs both
        // values, so an operator sees what the server runs with.
        let _ = setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum });
    }
    let after = getrlimit(Resource::Nofile);
    OpenFiles { before, after: value(after.current), hard: value(after.maximum) }
}

/// Other systems have no `RLIMIT_NOFILE` to raise.
#[cfg(not(unix))]
pub fn raise_open_files() -> OpenFiles {
    OpenFiles { before: u64::MAX, after: u64::MAX, hard: u64::MAX }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// After the call the soft limit equals the hard one, whatever it was.
    #[test]
    fn the_soft_limit_reaches_the_hard_limit() {
        let limits = raise_open_files();
        assert_eq!(limits.after, limits.hard, "{limits:?}");
        assert!(limits.after >= limits.before, "{limits:?}");
    }
}
