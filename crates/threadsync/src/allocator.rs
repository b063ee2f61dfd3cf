//! How many heaps (arenas) glibc's allocator may keep.
//!
//! glibc gives each thread that meets a locked arena a new one, up to eight
//! per core, and an arena keeps the memory freed into it: free chunks
//! between live ones stay resident, and only the top of each heap is ever
//! returned. The server's memory is made of long-lived pieces (SQLite's
//! page caches, filled on the reader threads) mixed with short-lived pages
//! of 1,000 messages read on one thread and serialised and freed on
//! another. With one arena per thread (16 in a resync of the 100,000-reply
//! thread on 2 cores: the reader, worker, writer and password-hashing
//! threads), `malloc_info` at the end of that run showed 27 of 56 MiB of
//! heap free but held, each reader's arena about half empty (BENCHMARKS.md,
//! "S2 memory: one allocator arena per core"). One arena per core lets the
//! freed pages of one thread serve the next allocation of another: that run
//! peaks about 12 MiB lower, and the hot sync path measured no slower. The
//! price is lock contention where threads share an arena: the single
//! writer's send rate (`s4`) measured about 9% lower on 2 cores. One arena
//! for everything was slower on the hot path too (every allocation then
//! takes the same lock).
//!
//! An operator's own choice wins: with `MALLOC_ARENA_MAX` or a
//! `glibc.malloc.arena_max` tunable in the environment, nothing is changed.

/// The arena limit to set: one per core, at least two (with one, every
/// allocation of every thread waits for the same lock, which measured
/// slower on the hot sync path) and at most eight; `None` when the
/// environment already chose.
pub fn arena_limit(
    cores: usize,
    malloc_arena_max: Option<&str>,
    glibc_tunables: Option<&str>,
) -> Option<i32> {
    let chosen =
        malloc_arena_max.is_some() || glibc_tunables.is_some_and(|t| t.contains("glibc.malloc.arena_max"));
    if chosen {
        return None;
    }
    Some(i32::try_from(cores.clamp(2, 8)).unwrap_or(2))
}

/// Applies [`arena_limit`] to this process. Called first thing in `main`,
/// before any thread exists: arenas are created as threads first allocate,
/// and the limit only governs arenas created after it.
pub fn limit_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let arena_max = std::env::var("MALLOC_ARENA_MAX").ok();
    let tunables = std::env::var("GLIBC_TUNABLES").ok();
    if let Some(limit) = arena_limit(cores, arena_max.as_deref(), tunables.as_deref()) {
        set_arena_max(limit);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_arena_max(limit: i32) {
    // SAFETY: `mallopt` takes two integers and touches only the allocator's
    // own parameters, under its own lock; `M_ARENA_MAX` with a positive
    // value is a documented use. It returns 0 on failure, in which case
    // glibc's default simply stays: nothing to undo.
    let applied = unsafe { libc::mallopt(libc::M_ARENA_MAX, limit) };
    debug_assert!(applied != 0, "mallopt(M_ARENA_MAX, {limit}) was refused");
}

/// Other allocators (musl, macOS) keep no per-thread arenas of this kind.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_limit: i32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_arena_per_core_within_two_and_eight() {
        assert_eq!(arena_limit(1, None, None), Some(2));
        assert_eq!(arena_limit(2, None, None), Some(2));
        assert_eq!(arena_limit(6, None, None), Some(6));
        assert_eq!(arena_limit(64, None, None), Some(8));
    }

    #[test]
    fn the_environment_choice_wins() {
        assert_eq!(arena_limit(2, Some("16"), None), None);
        assert_eq!(arena_limit(2, None, Some("glibc.malloc.arena_max=1")), None);
        assert_eq!(arena_limit(2, None, Some("glibc.malloc.tcache_count=0:glibc.malloc.arena_max=4")), None);
        // Other tunables leave the choice to us.
        assert_eq!(arena_limit(4, None, Some("glibc.malloc.tcache_count=0")), Some(4));
    }
}
