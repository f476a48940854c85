-- The usage base: every product's usage over one past span [lo, hi), built by the monitor,
-- so that a run reads the span's totals and aggregates only the order items outside it
-- (inventory.data.usage_base). Without it each run summed every order item of the lookback
-- window: make bench, 1M order items at 100k packages, about 0.8 s of every 10-minute run.
--
-- A base is exact only while nothing it summed has changed. What can change it:
-- * an order item inserted, updated or deleted with `created_at` older than
--   usage_base_late_after() at the moment of the write (a backdated sale, an edit, a refund);
-- * any change to package_items (usage counts package sales with the current composition);
-- * TRUNCATE of either table.
-- Each of those bumps usage_base_state.changes in the same commit, and a base counts only
-- while the counter still holds the value it was built at; otherwise runs read the window
-- whole, as before, until the next build. Sales dated "now" (the POS's ordinary writes) fall
-- after the span and never bump it. How a build makes sure nothing in flight slips past
-- both the base and the counter is told in usage_base.py (the fence).
--
-- The counter is bumped like catalog_version (0002): by deferred constraint triggers, once
-- per transaction, inside COMMIT, so a late writer holds the row only while committing and
-- no new deadlock is possible. The WHEN clauses are evaluated at the write itself, so the
-- POS's sale path pays one timestamp comparison per row and no function call.

CREATE FUNCTION usage_base_late_after() RETURNS interval LANGUAGE sql IMMUTABLE AS $$
    SELECT interval '1 hour'
$$;

CREATE TABLE usage_base_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    changes   bigint NOT NULL DEFAULT 0
) WITH (fillfactor = 10);
INSERT INTO usage_base_state DEFAULT VALUES;

-- The current base's span and the counter it was built at (no row: no base yet).
CREATE TABLE usage_base (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    lo        timestamptz NOT NULL,
    hi        timestamptz NOT NULL CHECK (hi >= lo),
    changes   bigint NOT NULL,
    built_at  timestamptz NOT NULL
);

-- Usage over [lo, hi): own sales plus package sales x the product's quantity in the package.
-- No foreign key: a deleted product's row is simply never joined.
CREATE TABLE usage_base_products (
    product_id uuid PRIMARY KEY,
    usage      numeric NOT NULL
);

CREATE FUNCTION bump_usage_base_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('inventory.usage_base_bumped', true) IS DISTINCT FROM 'on' THEN
        UPDATE usage_base_state SET changes = changes + 1;
        PERFORM set_config('inventory.usage_base_bumped', 'on', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER order_items_usage_base_insert
    AFTER INSERT ON order_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.created_at < clock_timestamp() - usage_base_late_after())
    EXECUTE FUNCTION bump_usage_base_changes();
CREATE CONSTRAINT TRIGGER order_items_usage_base_update
    AFTER UPDATE ON order_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.created_at < clock_timestamp() - usage_base_late_after()
          OR NEW.created_at < clock_timestamp() - usage_base_late_after())
    EXECUTE FUNCTION bump_usage_base_changes();
CREATE CONSTRAINT TRIGGER order_items_usage_base_delete
    AFTER DELETE ON order_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.created_at < clock_timestamp() - usage_base_late_after())
    EXECUTE FUNCTION bump_usage_base_changes();
CREATE CONSTRAINT TRIGGER package_items_usage_base
    AFTER INSERT OR UPDATE OR DELETE ON package_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION bump_usage_base_changes();

CREATE TRIGGER order_items_usage_base_truncate AFTER TRUNCATE ON order_items
    FOR EACH STATEMENT EXECUTE FUNCTION bump_usage_base_changes();
CREATE TRIGGER package_items_usage_base_truncate AFTER TRUNCATE ON package_items
    FOR EACH STATEMENT EXECUTE FUNCTION bump_usage_base_changes();
