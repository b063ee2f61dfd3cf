-- Presence derived from realtime connections (docs/realtime.md, "Presence").
--
-- `status` stays what others see; it is now derived from the user's chosen
-- status (`status_default`) and their open connections (`status_connection`,
-- the connections' status together), by the rule in the domain crate.
ALTER TABLE users ADD COLUMN status_default TEXT NOT NULL DEFAULT 'online';
ALTER TABLE users ADD COLUMN status_connection TEXT NOT NULL DEFAULT 'offline';
-- Until now `status` was only ever what users.setStatus set: the user's choice.
UPDATE users SET status_default = status WHERE status IN ('away', 'busy');

-- One row per open realtime connection of a logged-in user, as Rocket.Chat's
-- usersSessions. `id` names the instance, the connection and the login on it,
-- so it is unique across instances. A row is a lease: its instance renews
-- `expires_at` while it runs; a row whose lease ran out (its instance died
-- without closing its connections) is removed by any instance, and its user's
-- status recomputed.
CREATE TABLE user_connections (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    instance   TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('online', 'away')),
    expires_at INTEGER NOT NULL,   -- ms since the epoch
    PRIMARY KEY (user_id, id)
) STRICT;
CREATE INDEX user_connections_instance ON user_connections(instance);
CREATE INDEX user_connections_expiry ON user_connections(expires_at);
