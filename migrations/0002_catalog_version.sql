-- A change counter for everything the availability answers depend on (SPEC §6 caching).
--
-- Containers cache availability and, on each request, read `catalog_version.version` (one
-- primary-key lookup) to learn whether the cache is still good. So the counter must move in
-- the same commit as the change, whoever writes it (a Lambda, the POS's own SQL, psql).
--
-- Why a transactional counter, bumped at commit:
-- * A sequence (nextval) never blocks, but it moves before the writer commits: a reader can
--   see the new number, read the old rows, and cache old rows under the new number until the
--   TTL ends. Only a value that becomes visible atomically with the change is safe.
-- * A counter row updated by an ordinary trigger is transactional, but a writer would hold its
--   lock from its first stock UPDATE to its commit. Two POS transactions that each update a
--   product and then the other's product would deadlock on the counter (they would merely
--   have waited for each other without it).
-- * So the triggers are DEFERRED constraint triggers: the counter row is locked only inside
--   COMMIT, after every statement of the transaction has run. A writer waiting for it waits
--   for a transaction that is already committing and needs nothing else, so no new deadlock
--   is possible, and writers serialise only for the length of a commit.
-- * Constraint triggers are row-level; a transaction-local flag makes only the first event
--   of a transaction update the counter, so a bulk UPDATE costs one cheap function call per
--   row at commit and one counter update per transaction. UPDATE triggers fire only when a
--   column that availability shows actually changed (the WHEN clauses).
-- * TRUNCATE fires no row triggers; a statement trigger covers it (TRUNCATE takes an
--   exclusive lock anyway, so holding the counter until commit costs nothing more).

CREATE TABLE catalog_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    bigint NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 10);  -- room for HOT updates of the one row
INSERT INTO catalog_version DEFAULT VALUES;

CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: every committed change is covered by the bump of its commit.
    IF current_setting('inventory.catalog_version_bumped', true) IS DISTINCT FROM 'on' THEN
        UPDATE catalog_version SET version = version + 1, changed_at = now();
        PERFORM set_config('inventory.catalog_version_bumped', 'on', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER products_catalog_version_insert_delete
    AFTER INSERT OR DELETE ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION bump_catalog_version();
CREATE CONSTRAINT TRIGGER products_catalog_version_update
    AFTER UPDATE OF id, name, current_stock, par_level, is_active ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.id IS DISTINCT FROM NEW.id
          OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.current_stock IS DISTINCT FROM NEW.current_stock
          OR OLD.par_level IS DISTINCT FROM NEW.par_level
          OR OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION bump_catalog_version();

CREATE CONSTRAINT TRIGGER packages_catalog_version_insert_delete
    AFTER INSERT OR DELETE ON packages
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION bump_catalog_version();
CREATE CONSTRAINT TRIGGER packages_catalog_version_update
    AFTER UPDATE OF id, name, is_active, normal_max_sellable ON packages
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.id IS DISTINCT FROM NEW.id
          OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.is_active IS DISTINCT FROM NEW.is_active
          OR OLD.normal_max_sellable IS DISTINCT FROM NEW.normal_max_sellable)
    EXECUTE FUNCTION bump_catalog_version();

CREATE CONSTRAINT TRIGGER package_items_catalog_version
    AFTER INSERT OR UPDATE OR DELETE ON package_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION bump_catalog_version();

CREATE TRIGGER products_catalog_version_truncate AFTER TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER packages_catalog_version_truncate AFTER TRUNCATE ON packages
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER package_items_catalog_version_truncate AFTER TRUNCATE ON package_items
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
