-- Roles an admin created (roles.create). The built-in roles are not stored;
-- users, subscriptions and the permission table name roles by id.
CREATE TABLE roles (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('Users', 'Subscriptions')),
    description  TEXT NOT NULL,
    mandatory2fa INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL    -- ms since the epoch
) STRICT;
-- Names are unique, exactly as given (Rocket.Chat's findOneByName).
CREATE UNIQUE INDEX roles_name ON roles(name);
