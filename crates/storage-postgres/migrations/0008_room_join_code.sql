-- The code joining a channel needs (channels.setJoinCode). Kept out of the
-- room's document on purpose: the document is what every answer and event
-- carries, and the code must never leave the server.
ALTER TABLE rooms ADD COLUMN join_code TEXT;
