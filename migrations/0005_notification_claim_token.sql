-- What a notification's cooldown needs to survive a crash (services/delivery.py).
--
-- A cooldown claim in DynamoDB is only a short lease until its notification is committed. A
-- run that dies after committing but before confirming its claim leaves a lease that ends (and
-- that DynamoDB's TTL may delete): the committed row is what says the alert was sent. So the
-- batch insert stores a draft only when no row of the same (type, reference) holds its cooldown
-- still: `cooldown_from` (the moment the window counts from, the claiming run's time) inside
-- the window, and not `cooldown_cleared_at` (an operator cleared the cooldown to be alerted
-- again). `claim_token` (unique) makes a retried insert, after a connection broke under the
-- first attempt, store nothing twice. Rows written before this migration hold no cooldown
-- here (their DynamoDB entries still do).
ALTER TABLE notifications
    ADD COLUMN claim_token uuid UNIQUE,
    ADD COLUMN cooldown_from timestamptz,
    ADD COLUMN cooldown_cleared_at timestamptz;

-- The insert's check, one probe per draft: only rows still able to hold a cooldown.
CREATE INDEX idx_notifications_cooldown
    ON notifications (reference_id, type, cooldown_from DESC)
    WHERE cooldown_cleared_at IS NULL;
