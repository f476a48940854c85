"""The values a subscription (SPEC §10) is made of: its channel and its delivery mode."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"  # an address; sent through SES
    WEBHOOK = "webhook"  # an https URL; Standard Webhooks, signed with the subscription's secret
    SLACK = "slack"  # a Slack incoming-webhook URL (https://hooks.slack.com/services/…)


class DeliveryMode(StrEnum):
    IMMEDIATE = "immediate"  # each notification as it is stored
    DIGEST = "digest"  # one message every `digest_minutes` with what came in between


# Webhooks sign with a secret; the other channels have none.
SIGNED_CHANNELS = frozenset({Channel.WEBHOOK})
