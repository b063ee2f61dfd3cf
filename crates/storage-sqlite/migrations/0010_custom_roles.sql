-- Roles an admin created (roles.create). The built-in roles are not stored;
-- users, subscriptions and the permission table name roles by id.
CREATE TABLE roles (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('Users', 'Subscriptions')),
    description  TEXT NOT NULL,
    mandatory2fa INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,   -- ms since the epoch
    -- Set when deleted: the row stays so that roles.sync can report the
    -- removal (a client that synced before must learn the role is gone).
    deleted_at   INTEGER
) STRICT;
-- Names are unique among live roles, exactly as given (Rocket.Chat's
-- findOneByName); a deleted role's name may be taken again.
CREATE UNIQUE INDEX roles_name ON roles(name) WHERE deleted_at IS NULL;
