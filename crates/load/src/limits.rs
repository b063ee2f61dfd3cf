//! Process limits and counters from the kernel: the open-files limit (each
//! websocket is a file descriptor) and CPU time from `/proc/<pid>/stat`.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The open-files limit before and after [`raise_nofile`].
#[derive(Clone, Copy, Debug)]
pub struct Nofile {
    pub before: u64,
    pub soft: u64,
    pub hard: u64,
}

impl std::fmt::Display for Nofile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.before == self.soft {
            write!(f, "{} (hard limit {})", self.soft, self.hard)
        } else {
            write!(f, "raised from {} to {} (hard limit {})", self.before, self.soft, self.hard)
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (raising the hard
/// limit itself needs privileges a load tool should not ask for).
pub fn raise_nofile() -> Nofile {
    let limit = getrlimit(Resource::Nofile);
    let value = |v: Option<u64>| v.unwrap_or(u64::MAX);
    let before = value(limit.current);
    if limit.current < limit.maximum || (limit.current.is_some() && limit.maximum.is_none()) {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum });
    }
    let after = getrlimit(Resource::Nofile);
    Nofile { before, soft: value(after.current), hard: value(after.maximum) }
}

/// User + system CPU time of a process so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat).map(|ticks| ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line. The
/// command name (field 2) may hold spaces and parentheses, so fields are
/// counted from the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_past_the_command_name() {
        let stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
        assert_eq!(parse_cpu_ticks("1 (x) S 1"), None);
        assert!(cpu_seconds(std::process::id()).is_some());
    }

    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let limit = raise_nofile();
        assert_eq!(limit.soft, limit.hard);
        assert!(limit.soft >= limit.before);
    }
}
