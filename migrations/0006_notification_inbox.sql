-- The inbox (SPEC §9): who read a notification, when its episode ended, and the indexes that
-- keep GET /api/notifications a short index range scan whatever the table holds.
--
-- Columns:
-- * `read_by`: the caller that first marked it read (the token's client_id, else its sub);
--   set with `read_at`, once: marking again keeps both (data/notification_inbox.py).
-- * `resolved_at`: set by the monitor when the notification's episode resolves (episodes
--   come later); NULL means open. Priority `low` (alert_resolved) is already allowed by the
--   priority CHECK of 0001; the `alert_resolved` type is added to the type CHECK together with
--   its NotificationType member, so the database never holds a type the API cannot show.
--
-- Indexes. The inbox lists newest first in (created_at DESC, id DESC) order and pages with a
-- keyset cursor: `(created_at, id) < (cursor)`, LIMIT n + 1. Each index below ends in
-- (created_at, id), so a page of a filter it serves is read backward from the cursor and stops
-- after n + 1 entries: no sort, no scan of what was already paged through, the same cost on
-- page 1 and page 1,000. A backward scan of an ascending index gives the DESC, DESC order, and
-- the row comparison is an index condition on it.
-- * idx_notifications_created_id: the unfiltered list, `since`, and whatever filter has no
--   index of its own (priority: four values, `urgent` and `high` are most rows, so a filter
--   on the scan costs little). It replaces idx_notifications_created_at (created_at DESC),
--   which it serves too (the demo's recent list).
-- * idx_notifications_unread_created_id: `unread=true`, the inbox's usual view, and
--   mark-many `before` (which only touches unread rows). Partial: read rows, the bulk of an
--   old table, are not in it. Replaces idx_notifications_unread, which lacked `id` for the
--   cursor's tie-break.
-- * idx_notifications_open_created_id: `state=open`. Once episodes resolve, open
--   notifications are a small, current fraction; a scan of the whole table filtering on
--   `resolved_at IS NULL` would read mostly resolved rows to find them.
-- * idx_notifications_reference_created_id: `reference_id` (one package's or product's
--   history), a few rows among many: by index, not by filtering the whole list.
-- * idx_notifications_type_created_id: `type`, where a rare type (bottlenecks) would otherwise
--   be searched for through every row of the frequent ones.
-- The monitor writes a handful of rows per run, so five small indexes cost nothing that
-- matters on the write side.

ALTER TABLE notifications
    ADD COLUMN read_by text,
    ADD COLUMN resolved_at timestamptz;

CREATE INDEX idx_notifications_created_id ON notifications (created_at, id);
CREATE INDEX idx_notifications_unread_created_id ON notifications (created_at, id)
    WHERE read_at IS NULL;
CREATE INDEX idx_notifications_open_created_id ON notifications (created_at, id)
    WHERE resolved_at IS NULL;
CREATE INDEX idx_notifications_reference_created_id
    ON notifications (reference_id, created_at, id);
CREATE INDEX idx_notifications_type_created_id ON notifications (type, created_at, id);

DROP INDEX idx_notifications_created_at;
DROP INDEX idx_notifications_unread;
