-- An admin's changes to the permission table (permissions.update): the
-- roles now holding a permission. Permissions never changed are not stored;
-- their roles are the built-in defaults.
CREATE TABLE permissions (
    id         TEXT COLLATE "C" NOT NULL,
    roles      JSONB NOT NULL,     -- array of role ids
    updated_at BIGINT NOT NULL,    -- ms since the epoch
    CONSTRAINT permissions_pkey PRIMARY KEY (id)
);
