-- Sales and stock movements (SPEC §11): the sale record, the stock ledger, and the database's
-- half of idempotency.
--
-- The ledger (`stock_movements`) holds one row for every change of products.current_stock,
-- whoever wrote it: statement-level triggers compare each statement's old and new rows
-- (transition tables), so a bulk UPDATE costs one INSERT ... SELECT, not a call per row.
-- What the API knows of a change (its kind, reason, caller and sale or request) reaches the
-- trigger through transaction-local settings that the API's statement sets for itself
-- (`inventory.stock_kind`, `_reason`, `_actor`, `_reference`); the trigger clears them, so
-- they describe one statement only. A writer that sets none (the POS's own SQL, psql) is
-- recorded as `external`, with its database user as the actor.
--
-- `seq` is a product's version: writers of one product wait for each other on its row lock,
-- so its rows' `seq` grows in commit order (a consumer of stock.changed keeps the highest).
-- Products existing before this migration get an opening `external` row, so for every
-- product current_stock = sum(quantity_delta), exactly.

CREATE TABLE sales (
    id         uuid PRIMARY KEY,
    order_id   uuid,
    sold_at    timestamptz NOT NULL,
    actor      text,
    -- The sale took more than the usable stock (allowed by the request or ALLOW_OVERSELL).
    oversold   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_sales_order_id ON sales (order_id) WHERE order_id IS NOT NULL;

ALTER TABLE order_items ADD COLUMN sale_id uuid REFERENCES sales (id);

CREATE TABLE stock_movements (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    product_id     uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN (
                       'sale', 'receipt', 'waste', 'correction', 'count', 'external')),
    quantity_delta numeric NOT NULL,
    stock_after    numeric NOT NULL,
    reason         text,
    actor          text,
    reference_id   uuid,
    created_at     timestamptz NOT NULL DEFAULT now()
);
-- The product's history, newest first (the keyset pages), and the sale's rows.
CREATE INDEX idx_stock_movements_product_seq ON stock_movements (product_id, seq DESC);
CREATE INDEX idx_stock_movements_reference ON stock_movements (reference_id)
    WHERE reference_id IS NOT NULL;

-- The database's half of idempotency: a retried write whose first attempt committed, but
-- whose answer never reached DynamoDB (the function died, DynamoDB did not answer), finds
-- its row here and answers what the first attempt answered. `id` is derived from the
-- operation, the caller and the Idempotency-Key; `request_hash` is the canonical body's.
CREATE TABLE write_requests (
    id           uuid PRIMARY KEY,
    operation    text NOT NULL,
    request_hash text NOT NULL,
    answer       jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_write_requests_created_at ON write_requests (created_at);

CREATE FUNCTION record_stock_movements() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    described_kind text := nullif(current_setting('inventory.stock_kind', true), '');
    movement_kind  text := coalesce(described_kind, 'external');
    movement_actor text := coalesce(
        nullif(current_setting('inventory.stock_actor', true), ''),
        CASE WHEN described_kind IS NULL THEN 'db:' || session_user END);
    movement_reason text := nullif(current_setting('inventory.stock_reason', true), '');
    movement_reference uuid := nullif(current_setting('inventory.stock_reference', true), '')::uuid;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO stock_movements (product_id, kind, quantity_delta, stock_after,
                                     reason, actor, reference_id)
        SELECT n.id, movement_kind, n.current_stock, n.current_stock,
               movement_reason, movement_actor, movement_reference
        FROM new_rows n
        WHERE n.current_stock <> 0
        ORDER BY n.id;
    ELSE
        -- A count is recorded even when it finds the level on record (a delta of 0).
        INSERT INTO stock_movements (product_id, kind, quantity_delta, stock_after,
                                     reason, actor, reference_id)
        SELECT n.id, movement_kind, n.current_stock - o.current_stock, n.current_stock,
               movement_reason, movement_actor, movement_reference
        FROM new_rows n
        JOIN old_rows o ON o.id = n.id
        WHERE n.current_stock <> o.current_stock OR movement_kind = 'count'
        ORDER BY n.id;
    END IF;
    PERFORM set_config('inventory.stock_kind', '', true),
            set_config('inventory.stock_actor', '', true),
            set_config('inventory.stock_reason', '', true),
            set_config('inventory.stock_reference', '', true);
    RETURN NULL;
END
$$;

CREATE TRIGGER products_stock_movements_insert AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_stock_movements();
CREATE TRIGGER products_stock_movements_update AFTER UPDATE ON products
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_stock_movements();

INSERT INTO stock_movements (product_id, kind, quantity_delta, stock_after, reason, actor)
SELECT id, 'external', current_stock, current_stock, 'opening balance (migration 0010)',
       'db:' || session_user
FROM products
WHERE current_stock <> 0
ORDER BY id;
