-- Subscriptions (SPEC §10): who gets which notifications, by which channel, when.
--
-- One row per subscription. Columns:
-- * `channel`, `target`: `email` and an address, `webhook` and an https URL (Standard
--   Webhooks, signed with the subscription's secret), `slack` and a Slack incoming-webhook
--   URL. The API checks the target (syntax; an https URL whose host resolves to public
--   addresses only, unless ALLOW_PRIVATE_WEBHOOK_TARGETS); the channel never changes.
-- * Filters: `types` (NULL: every type), `min_priority` (the lowest priority sent),
--   `reference_ids` (NULL: every package and product).
-- * `mode`: `immediate`, or `digest` every `digest_minutes` (5 minutes to a day, set exactly
--   when the mode is digest).
-- * `quiet_hours`: NULL, or {start, end, time_zone, bypass_urgent} (HH:MM in an IANA zone;
--   checked by the API, stored as given).
-- * `send_resolved`: whether alert_resolved notices ("back in stock") are sent.
-- * Webhook secrets, never stored in plain text: `webhook_secret` holds the current secret
--   encrypted with AES-256-GCM (version byte, nonce, ciphertext and tag; the row's id is the
--   associated data, so a ciphertext copied to another row does not decrypt), under a key from
--   SUBSCRIPTION_SECRET_KEY or its Secrets Manager secret. A rotation moves it to
--   `webhook_secret_previous`, which keeps signing beside the new one until
--   `webhook_secret_previous_expires_at` (24 h later). Only webhooks have secrets.
-- * `disabled_at`, `disabled_reason`: a subscription switched off (by the API, or later by
--   delivery after repeated failures); NULL: active.
-- * `created_by`: the caller that created it (the token's client_id, else its subject).

CREATE TABLE notification_subscriptions (
    id                                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    channel                            text NOT NULL
                                           CHECK (channel IN ('email', 'webhook', 'slack')),
    target                             text NOT NULL CHECK (length(target) BETWEEN 3 AND 2048),
    types                              text[]
                                           CHECK (types IS NULL OR (cardinality(types) > 0
                                               AND types <@ ARRAY['package_unavailable',
                                                   'package_low_stock', 'package_bottleneck',
                                                   'stockout_predicted']::text[])),
    min_priority                       text NOT NULL DEFAULT 'low'
                                           CHECK (min_priority IN ('low', 'normal', 'high',
                                                                   'urgent')),
    reference_ids                      uuid[]
                                           CHECK (reference_ids IS NULL
                                                  OR cardinality(reference_ids) > 0),
    mode                               text NOT NULL DEFAULT 'immediate'
                                           CHECK (mode IN ('immediate', 'digest')),
    digest_minutes                     integer CHECK (digest_minutes BETWEEN 5 AND 1440),
    quiet_hours                        jsonb
                                           CHECK (quiet_hours IS NULL
                                                  OR jsonb_typeof(quiet_hours) = 'object'),
    send_resolved                      boolean NOT NULL DEFAULT true,
    webhook_secret                     bytea,
    webhook_secret_previous            bytea,
    webhook_secret_previous_expires_at timestamptz,
    disabled_at                        timestamptz,
    disabled_reason                    text,
    created_at                         timestamptz NOT NULL DEFAULT now(),
    updated_at                         timestamptz NOT NULL DEFAULT now(),
    created_by                         text,
    CONSTRAINT notification_subscriptions_digest_minutes
        CHECK ((mode = 'digest') = (digest_minutes IS NOT NULL)),
    CONSTRAINT notification_subscriptions_webhook_secret
        CHECK ((channel = 'webhook') = (webhook_secret IS NOT NULL)),
    CONSTRAINT notification_subscriptions_previous_secret
        CHECK ((webhook_secret_previous IS NULL)
               = (webhook_secret_previous_expires_at IS NULL)),
    CONSTRAINT notification_subscriptions_disabled
        CHECK (disabled_reason IS NULL OR disabled_at IS NOT NULL)
);

-- The list's keyset order (created_at, id), oldest first.
CREATE INDEX idx_notification_subscriptions_created_id
    ON notification_subscriptions (created_at, id);
