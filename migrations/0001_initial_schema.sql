-- Catalogue, sales and notifications (SPEC §2). Quantities and money are numeric, never float.

CREATE TABLE products (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CHECK (length(btrim(name)) > 0),
    sku           text UNIQUE,
    unit          text NOT NULL DEFAULT 'unit',
    current_stock numeric NOT NULL DEFAULT 0,
    par_level     numeric CHECK (par_level > 0),
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE packages (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text NOT NULL CHECK (length(btrim(name)) > 0),
    price               numeric CHECK (price >= 0),
    is_active           boolean NOT NULL DEFAULT true,
    normal_max_sellable integer CHECK (normal_max_sellable > 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE package_items (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    package_id uuid NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    product_id uuid NOT NULL REFERENCES products (id),
    quantity   numeric NOT NULL CHECK (quantity > 0),
    -- The seed's composite index doubles as the uniqueness constraint: one index, not two.
    CONSTRAINT idx_package_items_package_product UNIQUE (package_id, product_id)
);
CREATE INDEX idx_package_items_product_id ON package_items (product_id);

CREATE TABLE order_items (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id   uuid,
    product_id uuid REFERENCES products (id),
    package_id uuid REFERENCES packages (id),
    quantity   numeric NOT NULL CHECK (quantity > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT order_items_one_reference CHECK (num_nonnulls(product_id, package_id) = 1)
);
CREATE INDEX idx_order_items_created_at ON order_items (created_at);

CREATE TABLE notifications (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type           text NOT NULL CHECK (type IN (
                       'package_unavailable', 'package_low_stock',
                       'package_bottleneck', 'stockout_predicted')),
    priority       text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    title          text NOT NULL,
    message        text NOT NULL,
    reference_type text NOT NULL CHECK (reference_type IN ('package', 'product')),
    reference_id   uuid NOT NULL,
    data           jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    read_at        timestamptz
);
CREATE INDEX idx_notifications_created_at ON notifications (created_at DESC);
CREATE INDEX idx_notifications_reference ON notifications (reference_type, reference_id);
CREATE INDEX idx_notifications_unread ON notifications (created_at DESC) WHERE read_at IS NULL;

-- Keep updated_at honest whoever writes the row (a Lambda, the POS, a manual UPDATE).
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER products_touch_updated_at BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER packages_touch_updated_at BEFORE UPDATE ON packages
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
