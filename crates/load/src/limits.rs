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

/// The machine's CPU time so far, from the first line of `/proc/stat`, in
/// clock ticks: (busy, idle, stolen by the hypervisor, total).
pub fn machine_cpu() -> Option<[u64; 4]> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_cpu(stat.lines().next()?)
}

fn parse_machine_cpu(line: &str) -> Option<[u64; 4]> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields.map(|f| f.parse().unwrap_or(0)).collect();
    // user nice system idle iowait irq softirq steal (guest time is
    // already counted in user).
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    let idle = at(3) + at(4);
    let steal = at(7);
    let busy = at(0) + at(1) + at(2) + at(5) + at(6);
    Some([busy, idle, steal, busy + idle + steal])
}

/// Shares of the machine's CPU time between two [`machine_cpu`] readings:
/// (busy, idle, stolen), each 0 to 1.
pub fn cpu_shares(start: [u64; 4], end: [u64; 4]) -> (f64, f64, f64) {
    let d = |i: usize| end[i].saturating_sub(start[i]) as f64;
    let total = d(3).max(1.0);
    (d(0) / total, d(1) / total, d(2) / total)
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
    fn machine_cpu_counts_steal_apart() {
        let line = "cpu  100 0 50 800 50 0 0 200 0 0";
        assert_eq!(parse_machine_cpu(line), Some([150, 850, 200, 1200]));
        let (busy, idle, steal) = cpu_shares([0, 0, 0, 0], [150, 850, 200, 1200]);
        assert!((busy - 0.125).abs() < 1e-9 && (idle - 0.708).abs() < 1e-3 && (steal - 0.1667).abs() < 1e-3);
        assert!(machine_cpu().is_some());
    }

    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let limit = raise_nofile();
        assert_eq!(limit.soft, limit.hard);
        assert!(limit.soft >= limit.before);
    }
}
