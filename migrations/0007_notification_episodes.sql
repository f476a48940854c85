-- Episodes (SPEC §9): an alert opens an episode of its condition; a monitor run that finds the
-- condition clear, and clear for NOTIFICATION_REARM_MINUTES, resolves it and re-arms its alert.
--
-- notification_episodes holds one row per episode. At most one is open per (type, reference)
-- (the partial unique index): an alert of a key with an open episode joins it (a repeat after
-- the cooldown window, or a condition that came back before it was resolved), which is what
-- keeps a flapping condition one episode. Columns:
-- * `opened_at`: the claiming run's time of the episode's first alert; `first_notification_id`
--   that alert (no foreign key: the two rows are written by one statement, each naming the
--   other, and neither is ever deleted by the service).
-- * `clear_since`: when a run first found the condition clear, since the last run that found it
--   holding (NULL while it holds). The episode resolves once it is older than the rearm window.
-- * `resolved_at`, `resolution_id`: when it resolved, and its `alert_resolved` notification.
-- * `cooldown_released_at`: when the cooldown entry in DynamoDB was deleted after the
--   resolution committed. NULL on a resolved episode means "still to release": a run that
--   died between the two is finished by the next one (the partial index finds them).
--
-- notifications gains `episode_id` and the `alert_resolved` type (priority `low`, allowed since
-- 0001). An alert_resolved row is stored with `resolved_at` set: it closes an episode, it is not
-- one, so the inbox's `state=open` never lists it.

CREATE TABLE notification_episodes (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type                  text NOT NULL CHECK (type IN (
                              'package_unavailable', 'package_low_stock',
                              'package_bottleneck', 'stockout_predicted')),
    reference_type        text NOT NULL CHECK (reference_type IN ('package', 'product')),
    reference_id          uuid NOT NULL,
    opened_at             timestamptz NOT NULL,
    first_notification_id uuid NOT NULL,
    clear_since           timestamptz,
    resolved_at           timestamptz,
    resolution_id         uuid,
    cooldown_released_at  timestamptz,
    CHECK (resolved_at IS NULL OR clear_since IS NOT NULL)
);

-- One open episode per key; also the sweep's scan of every open episode.
CREATE UNIQUE INDEX uq_notification_episodes_open
    ON notification_episodes (type, reference_id) WHERE resolved_at IS NULL;
-- Resolved episodes whose cooldown is still to be released: normally none.
CREATE INDEX idx_notification_episodes_unreleased
    ON notification_episodes (resolved_at) WHERE resolved_at IS NOT NULL
    AND cooldown_released_at IS NULL;

ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check CHECK (type IN (
    'package_unavailable', 'package_low_stock', 'package_bottleneck', 'stockout_predicted',
    'alert_resolved'));
ALTER TABLE notifications ADD COLUMN episode_id uuid REFERENCES notification_episodes (id);
-- A resolution marks the open rows of its episode.
CREATE INDEX idx_notifications_episode ON notifications (episode_id) WHERE resolved_at IS NULL;

-- Rows stored before episodes existed. Each key with an alert in the last day (the default
-- cooldown window: its condition may well still hold) gets an episode of that day's rows of its
-- key, opened by the first of them, and the monitor resolves or continues it like any other. Older rows are
-- history: they are closed here, without a resolution notice, rather than announced as
-- resolved months later.
WITH recent AS (
    -- Each key's first row of the day opens its episode (what the episode's end will name).
    SELECT DISTINCT ON (type, reference_id)
           id, type, reference_type, reference_id, coalesce(cooldown_from, created_at) AS opened
    FROM notifications
    WHERE resolved_at IS NULL AND created_at > now() - interval '1 day'
    ORDER BY type, reference_id, created_at, id
),
opened AS (
    INSERT INTO notification_episodes
        (type, reference_type, reference_id, opened_at, first_notification_id)
    SELECT type, reference_type, reference_id, opened, id FROM recent
    RETURNING id, type, reference_id
)
UPDATE notifications n SET episode_id = opened.id
FROM opened
WHERE n.type = opened.type AND n.reference_id = opened.reference_id
  AND n.resolved_at IS NULL AND n.created_at > now() - interval '1 day';

UPDATE notifications SET resolved_at = now() WHERE resolved_at IS NULL AND episode_id IS NULL;
