-- An admin's changes to the permission table (permissions.update): the
-- roles now holding a permission. Permissions never changed are not stored;
-- their roles are the built-in defaults.
CREATE TABLE permissions (
    id         TEXT PRIMARY KEY NOT NULL,
    roles      TEXT NOT NULL,      -- JSON array of role ids
    updated_at INTEGER NOT NULL    -- ms since the epoch
) STRICT;
