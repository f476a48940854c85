-- stock.changed events (issue 18): the outbox of the events sales and stock movements owe the
-- stock event bus (EventBridge), written in the writer's own transaction, so a sale rolled
-- back owes nothing and a sale committed is never without its event, whatever dies when.
--
-- One row per event. Columns:
-- * `detail`: the event's Detail as published (rules/stock_events.detail_of: exact decimals,
--   kept by jsonb's numeric); its `event_id` is the row's id, so every copy of the event, a
--   republished one included, carries the same id (the CHECK below holds them together).
-- * `published_at`: when EventBridge took it; NULL: still owed. The writer publishes it right
--   after its commit; the monitor's sweep publishes what is still owed a minute later (a writer
--   that died after its commit, EventBridge down), so it may be published twice, never lost.
-- * `attempts`, `last_error`: the publishing attempts that got an answer (taken or refused),
--   and why the last refused one failed.
-- Applied once, and recorded, by yoyo (devtools/migrate.py).

CREATE TABLE stock_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    detail       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   text,
    CONSTRAINT stock_events_detail_names_its_row CHECK (detail ->> 'event_id' = id::text)
);

-- What the sweep reads: the events still owed, fewest attempts first, then the oldest (one an
-- endpoint keeps refusing never holds back those behind it). Published rows leave the index.
CREATE INDEX idx_stock_events_unpublished ON stock_events (attempts, created_at)
    WHERE published_at IS NULL;
