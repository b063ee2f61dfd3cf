//! A pause for tests, off unless its environment variable is set.
//!
//! `THREADSYNC_TEST_STALL_AFTER_ROOM_LOCK_MS=N`: a send whose text starts
//! with `stall-after-room-lock` waits N ms after its transaction took the
//! room's lock and read the room's clock, before it writes and commits.
//! crates/threadsync/tests/convergence.rs uses it to hold an instance at
//! the worst moment of a write (the room locked, its stamp decided, nothing
//! committed) and then either let it go on or `kill -9` it there. The
//! variable is read once; without it the check is one load of a static.

use std::sync::OnceLock;
use std::time::Duration;

const ENV: &str = "THREADSYNC_TEST_STALL_AFTER_ROOM_LOCK_MS";
const MARKER: &str = "stall-after-room-lock";

fn pause() -> Option<Duration> {
    static PAUSE: OnceLock<Option<Duration>> = OnceLock::new();
    *PAUSE.get_or_init(|| std::env::var(ENV).ok()?.parse().ok().map(Duration::from_millis))
}

/// Called by a send right after it took the room's lock.
pub(crate) async fn after_room_lock(msg: &str) {
    if let Some(pause) = pause() {
        if msg.starts_with(MARKER) {
            tracing::warn!(
                ms = pause.as_millis() as u64,
                "test hook: stalling a send that holds its room's lock"
            );
            tokio::time::sleep(pause).await;
            tracing::warn!("test hook: the stalled send goes on");
        }
    }
}
