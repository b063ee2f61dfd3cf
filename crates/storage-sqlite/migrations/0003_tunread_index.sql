-- A derived index of the threads in each subscription's `tunread`.
--
-- Every reply adds its thread to the `tunread` of each follower's
-- subscription that does not list it yet. Finding those subscriptions by
-- decoding each follower's document (JSON) was the largest cost of a reply
-- into a thread with many followers; with this table, keyed by thread, the
-- followers who already have it are one range of the primary key. The
-- document stays the source of truth:
-- the triggers below derive these rows from it on every insert, update and
-- delete of a subscription, whatever statement writes it.
CREATE TABLE subscription_tunread (
    rid     TEXT NOT NULL,
    user_id TEXT NOT NULL,
    tmid    TEXT NOT NULL,
    PRIMARY KEY (rid, tmid, user_id)
) STRICT, WITHOUT ROWID;
-- The triggers replace one subscription's rows.
CREATE INDEX subscription_tunread_user ON subscription_tunread(rid, user_id);

INSERT OR IGNORE INTO subscription_tunread (rid, user_id, tmid)
    SELECT s.rid, s.user_id, j.value FROM subscriptions s, json_each(s.doc, '$.tunread') j;

CREATE TRIGGER subscription_tunread_insert AFTER INSERT ON subscriptions BEGIN
    INSERT OR IGNORE INTO subscription_tunread (rid, user_id, tmid)
        SELECT NEW.rid, NEW.user_id, value FROM json_each(NEW.doc, '$.tunread');
END;

CREATE TRIGGER subscription_tunread_update AFTER UPDATE OF doc, rid, user_id ON subscriptions BEGIN
    DELETE FROM subscription_tunread WHERE rid = OLD.rid AND user_id = OLD.user_id;
    INSERT OR IGNORE INTO subscription_tunread (rid, user_id, tmid)
        SELECT NEW.rid, NEW.user_id, value FROM json_each(NEW.doc, '$.tunread');
END;

CREATE TRIGGER subscription_tunread_delete AFTER DELETE ON subscriptions BEGIN
    DELETE FROM subscription_tunread WHERE rid = OLD.rid AND user_id = OLD.user_id;
END;
