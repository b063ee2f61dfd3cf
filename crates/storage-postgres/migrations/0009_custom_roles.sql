-- Roles an admin created (roles.create). The built-in roles are not stored;
-- users, subscriptions and the permission table name roles by id.
CREATE TABLE roles (
    id           TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('Users', 'Subscriptions')),
    description  TEXT NOT NULL,
    mandatory2fa BOOLEAN NOT NULL,
    updated_at   BIGINT NOT NULL,    -- ms since the epoch
    CONSTRAINT roles_pkey PRIMARY KEY (id),
    -- Names are unique, exactly as given (Rocket.Chat's findOneByName).
    CONSTRAINT roles_name_key UNIQUE (name)
);
