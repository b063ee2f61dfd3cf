//! Rooms: being written.

use crate::Services;
use threadsync_domain::{Error, Result, Room, User};

impl Services {
    /// The direct-message room between `caller` and `username`, created if
    /// needed (`im.create`, `chat.postMessage` with `@username`).
    pub async fn open_direct_message(&self, caller: &User, username: &str) -> Result<Room> {
        let _ = (caller, username);
        Err(Error::internal("not yet implemented"))
    }
}
