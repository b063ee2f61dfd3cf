-- What remains of a removed subscription (a member left or was removed,
-- or the room was deleted): the `remove` lists of subscriptions.get and
-- rooms.get. No foreign key to rooms: it outlives a deleted room.
CREATE TABLE subscription_tombstones (
    id           TEXT PRIMARY KEY NOT NULL,
    rid          TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    deleted_at   INTEGER NOT NULL,
    room_deleted INTEGER NOT NULL DEFAULT 0
) STRICT;
-- A user's removals after a stamp.
CREATE INDEX subscription_tombstones_user ON subscription_tombstones(user_id, deleted_at);
-- Pruning by age.
CREATE INDEX subscription_tombstones_deleted ON subscription_tombstones(deleted_at);
