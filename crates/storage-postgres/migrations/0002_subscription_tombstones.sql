-- What remains of a removed subscription (a member left or was removed,
-- or the room was deleted): the `remove` lists of subscriptions.get and
-- rooms.get. No foreign key to rooms: it outlives a deleted room.
CREATE TABLE subscription_tombstones (
    id           TEXT COLLATE "C" NOT NULL,
    rid          TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    deleted_at   BIGINT NOT NULL,
    room_deleted BOOLEAN NOT NULL DEFAULT FALSE,
    CONSTRAINT subscription_tombstones_pkey PRIMARY KEY (id)
);
-- A user's removals after a stamp.
CREATE INDEX subscription_tombstones_user ON subscription_tombstones (user_id, deleted_at);
-- Pruning by age.
CREATE INDEX subscription_tombstones_deleted ON subscription_tombstones (deleted_at);
