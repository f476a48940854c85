-- Deliveries (SPEC §10): the messages notifications owe, written in the same transaction as
-- the notifications themselves (a transactional outbox).
--
-- One row per message to send, or per notification a digest carries:
-- * kind `notification`: one notification (`notification_id`) to one subscription, or to the
--   SNS topic of all notifications (channel `topic`, no subscription). When `digest_id` is
--   set, the notification goes out inside that digest and the row is not sent on its own.
-- * kind `digest`: one message for many notifications (the rows pointing at it). A storm
--   digest (more than the threshold owed to one subscriber by one statement) is sealed when
--   written; a digest-mode subscription's open digest collects notifications until it is due
--   (`digest_minutes` after it opened) and is sealed when its sending starts.
-- * `status`: pending (not attempted), sent, failed (an attempt failed; the next is due at
--   `due_at`), dead (given up). `due_at` 'epoch' (1970): due at once.
-- * `enqueued_at`: when a writer last put it on the delivery queue (a message lost after that
--   is put there again once this is old); `lease_until`: a sender holds it until then.
-- * `first_attempt_at`: its 24 h of retries count from here (a daily digest's first attempt
--   is a day after the row was written).
-- The id is the message's stable id: the webhook-id on every retry.

CREATE TABLE notification_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind            text NOT NULL CHECK (kind IN ('notification', 'digest')),
    notification_id uuid REFERENCES notifications (id) ON DELETE CASCADE,
    subscription_id uuid REFERENCES notification_subscriptions (id) ON DELETE CASCADE,
    channel         text NOT NULL CHECK (channel IN ('email', 'webhook', 'slack', 'topic')),
    digest_id       uuid REFERENCES notification_deliveries (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    due_at          timestamptz NOT NULL DEFAULT 'epoch',
    sealed_at       timestamptz,
    enqueued_at     timestamptz,
    lease_until     timestamptz,
    sent_at         timestamptz,
    first_attempt_at timestamptz,
    CONSTRAINT notification_deliveries_kind
        CHECK ((kind = 'notification') = (notification_id IS NOT NULL)),
    CONSTRAINT notification_deliveries_topic
        CHECK ((channel = 'topic') = (subscription_id IS NULL)),
    CONSTRAINT notification_deliveries_digest_item
        CHECK (digest_id IS NULL OR (kind = 'notification' AND channel <> 'topic'))
);

-- A notification is owed to each subscriber, and to the topic, at most once.
CREATE UNIQUE INDEX uq_notification_deliveries_once
    ON notification_deliveries (notification_id, subscription_id) NULLS NOT DISTINCT
    WHERE kind = 'notification';

-- What a dispatch looks for: sendable rows not settled, by due time.
CREATE INDEX idx_notification_deliveries_due ON notification_deliveries (due_at)
    WHERE status IN ('pending', 'failed') AND digest_id IS NULL;
-- A digest's notifications.
CREATE INDEX idx_notification_deliveries_digest ON notification_deliveries (digest_id)
    WHERE digest_id IS NOT NULL;
-- At most one open digest per subscription: concurrent writers join it.
CREATE UNIQUE INDEX uq_notification_deliveries_open_digest
    ON notification_deliveries (subscription_id)
    WHERE kind = 'digest' AND sealed_at IS NULL;

-- The deliveries a statement's new notifications owe, written by the same statement. Who is
-- owed one: every enabled subscription whose filters match (types, minimum priority,
-- references); for an alert_resolved notice, every one with send_resolved that was owed its
-- episode's first alert (told it broke, told it is fixed). The SNS topic gets every
-- notification unless the writer's session says `inventory.publish_to_topic = off`. A
-- subscriber owed more than `inventory.delivery_storm_threshold` (default 20) immediate
-- messages gets one sealed digest instead; a digest-mode subscription's go into its open
-- digest, which concurrent statements share (taken in subscription order). When a
-- subscription's open digest is sealed (its first attempt), the next notification opens
-- another.
CREATE FUNCTION owe_notification_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    storm integer := coalesce(
        nullif(current_setting('inventory.delivery_storm_threshold', true), '')::integer, 20);
    to_topic boolean := coalesce(
        nullif(current_setting('inventory.publish_to_topic', true), '')::boolean, true);
BEGIN
    -- Locked against a concurrent delete (which then waits for this statement): a row found
    -- here and deleted before the insert below would fail the whole statement on its foreign
    -- key. A row deleted first is skipped.
    WITH subscriptions AS MATERIALIZED (
        SELECT id, channel, mode, digest_minutes, types, min_priority, reference_ids,
               send_resolved
        FROM notification_subscriptions
        WHERE disabled_at IS NULL
        ORDER BY id
        FOR KEY SHARE
    ),
    owed AS (
        SELECT n.id AS notification_id, s.id AS subscription_id, s.channel, s.mode,
               s.digest_minutes
        FROM new_rows n
        CROSS JOIN subscriptions s
        LEFT JOIN notification_episodes e ON e.id = n.episode_id AND n.type = 'alert_resolved'
        WHERE CASE
            WHEN n.type = 'alert_resolved' THEN s.send_resolved AND EXISTS (
                SELECT 1 FROM notification_deliveries first
                WHERE first.notification_id = e.first_notification_id
                  AND first.subscription_id = s.id)
            ELSE (s.types IS NULL OR n.type = ANY (s.types))
                 AND array_position(ARRAY['low', 'normal', 'high', 'urgent'], n.priority)
                     >= array_position(ARRAY['low', 'normal', 'high', 'urgent'], s.min_priority)
                 AND (s.reference_ids IS NULL OR n.reference_id = ANY (s.reference_ids))
        END
    ),
    per_subscription AS (
        SELECT subscription_id, channel, mode, digest_minutes, count(*) AS owed
        FROM owed
        GROUP BY subscription_id, channel, mode, digest_minutes
    ),
    storms AS (
        INSERT INTO notification_deliveries (kind, subscription_id, channel, sealed_at)
        SELECT 'digest', subscription_id, channel, now()
        FROM per_subscription
        WHERE mode = 'immediate' AND owed > storm
        RETURNING id, subscription_id
    ),
    digests AS (
        INSERT INTO notification_deliveries AS d (kind, subscription_id, channel, due_at)
        SELECT 'digest', subscription_id, channel, now() + make_interval(mins => digest_minutes)
        FROM per_subscription
        WHERE mode = 'digest'
        ORDER BY subscription_id
        ON CONFLICT (subscription_id) WHERE kind = 'digest' AND sealed_at IS NULL
        DO UPDATE SET subscription_id = excluded.subscription_id
        RETURNING d.id, d.subscription_id
    )
    INSERT INTO notification_deliveries
        (kind, notification_id, subscription_id, channel, digest_id)
    SELECT 'notification', o.notification_id, o.subscription_id, o.channel,
           coalesce(storms.id, digests.id)
    FROM owed o
    LEFT JOIN storms USING (subscription_id)
    LEFT JOIN digests USING (subscription_id)
    UNION ALL
    SELECT 'notification', n.id, NULL, 'topic', NULL
    FROM new_rows n
    WHERE to_topic;
    RETURN NULL;
END;
$$;

CREATE TRIGGER notifications_owe_deliveries
    AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION owe_notification_deliveries();
