//! Presence: what a user's `status` is, from their realtime connections and
//! the status they chose.
//!
//! Rocket.Chat keeps two inputs and derives the third:
//!
//! - each open realtime connection of the user has a status of its own:
//!   `online` when it logs in, `away` when the client reports the user idle
//!   (`UserPresence:away`), `online` again when active;
//! - the user's chosen status, `statusDefault` (`online`, `away`, `busy`, or
//!   `offline`, which means invisible), set from the client's status menu;
//! - `status` is derived: `offline` with no connection; with connections,
//!   the connections' status (`online` if any is, else `away`) when the
//!   chosen status is `online`, and the chosen status otherwise (a `busy`
//!   user stays busy while active; an invisible user shows `offline`).
//!
//! These functions are the rule, written once; each backend only reads the
//! live connections and stores the result in the transaction that changed
//! them.

/// The statuses a user may choose.
pub const STATUSES: &[&str] = &[ONLINE, AWAY, BUSY, OFFLINE];

pub const ONLINE: &str = "online";
pub const AWAY: &str = "away";
pub const BUSY: &str = "busy";
pub const OFFLINE: &str = "offline";

/// What a connection may report about itself (`UserPresence:online`,
/// `UserPresence:away`).
pub const CONNECTION_STATUSES: &[&str] = &[ONLINE, AWAY];

/// The status of a user's connections together (`statusConnection`):
/// `online` if any is online, else `away` if any is away, else `offline`
/// (no connection).
pub fn connection_status<'a>(connections: impl IntoIterator<Item = &'a str>) -> &'static str {
    let mut status = OFFLINE;
    for connection in connections {
        match connection {
            ONLINE => return ONLINE,
            AWAY => status = AWAY,
            _ => {}
        }
    }
    status
}

/// The status others see, from the connections' status and the user's
/// chosen one (an unknown chosen status counts as `online`).
pub fn status(connection_status: &str, status_default: &str) -> &'static str {
    if connection_status == OFFLINE {
        return OFFLINE;
    }
    match status_default {
        AWAY => AWAY,
        BUSY => BUSY,
        OFFLINE => OFFLINE,
        _ if connection_status == AWAY => AWAY,
        _ => ONLINE,
    }
}

/// The number realtime events carry for a status (Rocket.Chat's
/// `STATUS_MAP`: offline 0, online 1, away 2, busy 3).
pub fn status_code(status: &str) -> u8 {
    match status {
        ONLINE => 1,
        AWAY => 2,
        BUSY => 3,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_online_wins_then_away() {
        assert_eq!(connection_status([]), OFFLINE);
        assert_eq!(connection_status([AWAY]), AWAY);
        assert_eq!(connection_status([AWAY, ONLINE, AWAY]), ONLINE);
        assert_eq!(connection_status([AWAY, AWAY]), AWAY);
    }

    #[test]
    fn chosen_status_applies_only_while_connected() {
        // No connection: offline whatever was chosen.
        for chosen in STATUSES {
            assert_eq!(status(OFFLINE, chosen), OFFLINE, "{chosen}");
        }
        // Online chosen: the connections decide.
        assert_eq!(status(ONLINE, ONLINE), ONLINE);
        assert_eq!(status(AWAY, ONLINE), AWAY);
        // Anything else chosen wins over the connections.
        assert_eq!(status(ONLINE, BUSY), BUSY);
        assert_eq!(status(AWAY, BUSY), BUSY);
        assert_eq!(status(ONLINE, AWAY), AWAY);
        // Invisible: offline while connected.
        assert_eq!(status(ONLINE, OFFLINE), OFFLINE);
        // A chosen status never set (older accounts) counts as online.
        assert_eq!(status(AWAY, ""), AWAY);
    }

    #[test]
    fn codes_follow_rocket_chat() {
        assert_eq!(STATUSES.iter().map(|s| status_code(s)).collect::<Vec<_>>(), [1, 2, 3, 0]);
        assert_eq!(status_code("unknown"), 0);
    }
}
