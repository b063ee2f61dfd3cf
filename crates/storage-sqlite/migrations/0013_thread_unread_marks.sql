-- What the writer last did to each thread's unread state, so that a reply
-- need not look at every follower.
--
-- A reply puts its thread in the `tunread` of every follower but its
-- sender (messages.rs, `mark_thread_unread`). In a busy thread almost all
-- of them have it already, yet finding that out visited each follower (an
-- insert and a delete per follower in a temporary b-tree): a quarter of the
-- writer thread's time in the profile of `s4` (BENCHMARKS.md).
--
-- A row here records that after a reply by `sender`, every follower of
-- thread `tmid` who was a member of its room, except `sender`, had the
-- thread in `tunread`, when the thread's follower list had the digest
-- `followers`. The next reply then only needs to mark that sender (unless
-- it is the same user), as long as the row still holds. The triggers below
-- forget the row whenever that can stop being true, whatever statement
-- causes it:
--   * a subscription loses the thread from `tunread` (a thread read, an
--     unfollow, a member leaving, a room deleted): its row of
--     `subscription_tunread` is deleted;
--   * someone becomes a member of the room (a new subscription starts with
--     its own `tunread`, which may lack the thread);
--   * the thread's parent is deleted (its id may be reused).
-- A change of the follower list changes the digest, checked by the writer.
CREATE TABLE thread_unread_marks (
    tmid      TEXT PRIMARY KEY NOT NULL,
    rid       TEXT NOT NULL,
    sender    TEXT NOT NULL,
    followers INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX thread_unread_marks_room ON thread_unread_marks(rid);

-- `subscription_tunread` followed a subscription's update by deleting all
-- of its rows and inserting them again, which would forget every mark of
-- every thread the member has unread on any change of the subscription
-- (its `ls`, its counters). Now an update deletes only the rows of the
-- threads that left `tunread` (all of them when the subscription moved to
-- another room or user) and inserts the new ones.
DROP TRIGGER subscription_tunread_update;
CREATE TRIGGER subscription_tunread_update AFTER UPDATE OF doc, rid, user_id ON subscriptions BEGIN
    DELETE FROM subscription_tunread
     WHERE rid = OLD.rid AND user_id = OLD.user_id
       AND (OLD.rid IS NOT NEW.rid OR OLD.user_id IS NOT NEW.user_id
            OR tmid NOT IN (SELECT value FROM json_each(NEW.doc, '$.tunread')));
    INSERT OR IGNORE INTO subscription_tunread (rid, user_id, tmid)
        SELECT NEW.rid, NEW.user_id, value FROM json_each(NEW.doc, '$.tunread');
END;

CREATE TRIGGER thread_unread_marks_on_read AFTER DELETE ON subscription_tunread BEGIN
    DELETE FROM thread_unread_marks WHERE tmid = OLD.tmid;
END;

CREATE TRIGGER thread_unread_marks_on_join AFTER INSERT ON subscriptions BEGIN
    DELETE FROM thread_unread_marks WHERE rid = NEW.rid;
END;

CREATE TRIGGER thread_unread_marks_on_move AFTER UPDATE OF rid, user_id ON subscriptions
    WHEN OLD.rid IS NOT NEW.rid OR OLD.user_id IS NOT NEW.user_id
BEGIN
    DELETE FROM thread_unread_marks WHERE rid = NEW.rid;
END;

CREATE TRIGGER thread_unread_marks_on_delete AFTER DELETE ON messages BEGIN
    DELETE FROM thread_unread_marks WHERE tmid = OLD.id;
END;
