-- When the user last logged in (ms since the epoch; NULL: never), a
-- user's status message (users.setStatus, users.update) and preferences
-- (users.setPreferences): a JSON object of the keys the user has set;
-- keys never set keep their defaults, which are not stored.
ALTER TABLE users ADD COLUMN last_login BIGINT;
ALTER TABLE users ADD COLUMN status_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN preferences JSONB NOT NULL DEFAULT '{}'::jsonb;
