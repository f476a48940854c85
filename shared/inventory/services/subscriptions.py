"""Subscriptions (SPEC §10): create, list, read, change, delete, rotate a webhook's secret.

Checks that span fields or need the network run here, after request validation, on what the
row will hold: the target for its channel (services/subscription_targets.py: syntax, https,
public addresses only unless ALLOW_PRIVATE_WEBHOOK_TARGETS) and digest mode exactly with
`digest_minutes`. A change is merged into the stored row under its lock, so two concurrent
changes never leave a combination neither asked for. Each refusal is a 422 naming its field.

A webhook's secret is made here, returned by the creation or rotation that made it and never
again; it is stored sealed to its row (services/subscription_secrets.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from pydantic import TypeAdapter

from inventory.callers import Caller
from inventory.config import get_settings
from inventory.data import notification_subscriptions as rows
from inventory.data.notification_subscriptions import Position
from inventory.errors import FieldProblem, InvalidRequestError, NotFoundError
from inventory.models.subscriptions import (
    SecretRotated,
    Subscription,
    SubscriptionChange,
    SubscriptionCreated,
    SubscriptionRequest,
)
from inventory.rules.subscription_types import SIGNED_CHANNELS, Channel, DeliveryMode
from inventory.services import cursors, subscription_secrets
from inventory.services.availability_cache import etag_of
from inventory.services.subscription_targets import check_target

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100

_ITEMS = TypeAdapter(list[Subscription])
# PATCH fields that cannot be null (they have no "unset" state to go back to).
_NOT_NULL = ("target", "min_priority", "mode", "send_resolved", "enabled")


def _refused(field: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(message, details=[FieldProblem("body", f"/{field}", message)])


def _not_found(subscription_id: UUID) -> NotFoundError:
    return NotFoundError(f"No subscription has the id {subscription_id}.")


def _checked_target(channel: Channel, target: str) -> str:
    return check_target(channel, target, allow_private=get_settings().allow_private_webhook_targets)


def _check_digest(mode: DeliveryMode, digest_minutes: int | None) -> None:
    if mode is DeliveryMode.DIGEST and digest_minutes is None:
        raise _refused("digest_minutes", "Mode digest needs digest_minutes.")
    if mode is DeliveryMode.IMMEDIATE and digest_minutes is not None:
        raise _refused("digest_minutes", "digest_minutes goes only with mode digest.")


def _plain(value: Any) -> Any:
    """Enums as their values, lists of them too, models as JSON objects: what SQL is sent."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, str):
        return str(value)
    return value


# --- the use cases ---------------------------------------------------------------------


def check_request(request: SubscriptionRequest) -> str:
    """The target as it will be stored; InvalidRequestError (422) naming what is refused.
    Resolves the host: call it before taking a connection."""
    target = _checked_target(request.channel, request.target)
    _check_digest(request.mode, request.digest_minutes)
    return target


def create(
    connection: psycopg.Connection[object],
    request: SubscriptionRequest,
    target: str,
    caller: Caller,
) -> SubscriptionCreated:
    """Store it (`target` from `check_request`); a webhook's new secret in the answer only."""
    subscription_id = uuid.uuid4()
    secret = subscription_secrets.new_secret() if request.channel in SIGNED_CHANNELS else None
    sealed = None if secret is None else subscription_secrets.encrypt(subscription_id, secret)
    values = {name: _plain(value) for name, value in request.model_dump().items()}
    values["target"] = target
    stored = rows.insert(connection, subscription_id, values, sealed, caller.label)
    return SubscriptionCreated(**stored.model_dump(), secret=secret)


@dataclass(frozen=True, slots=True)
class SubscriptionPage:
    representation: bytes  # the page's JSON list
    etag: str
    next_cursor: str | None  # None on the last page


def encode_cursor(position: Position) -> str:
    return cursors.encode(position[0].isoformat(), position[1])


def _position(created_at: object, subscription_id: UUID) -> Position:
    if not isinstance(created_at, str):
        raise TypeError(created_at)
    instant = datetime.fromisoformat(created_at)
    if instant.tzinfo is None or instant.utcoffset():
        raise ValueError(created_at)  # ours are in UTC
    return (instant, subscription_id)


def page(connection: psycopg.Connection[object], after: str | None, limit: int) -> SubscriptionPage:
    """One page of subscriptions, oldest first, after the cursor `after`."""
    position = None if after is None else cursors.decode(after, _position)
    items, more = rows.fetch_page(connection, position, limit)
    following = None
    if more and items:
        following = encode_cursor((items[-1].created_at, items[-1].id))
    body = _ITEMS.dump_json(items)
    return SubscriptionPage(body, etag_of(body + b"\n" + (following or "").encode()), following)


def one(connection: psycopg.Connection[object], subscription_id: UUID) -> Subscription:
    found = rows.fetch_one(connection, subscription_id)
    if found is None:
        raise _not_found(subscription_id)
    return found


def check_change(stored: Subscription, change: SubscriptionChange) -> str | None:
    """The new target as it will be stored (None when the change keeps it); 422 naming a
    refused field. Resolves the host: call it outside any transaction."""
    given = change.model_fields_set
    for name in _NOT_NULL:
        if name in given and getattr(change, name) is None:
            raise _refused(name, f"{name} cannot be null.")
    if change.target is None:
        return None
    return _checked_target(stored.channel, change.target)


def apply_change(
    connection: psycopg.Connection[object],
    subscription_id: UUID,
    change: SubscriptionChange,
    target: str | None,
    caller: Caller,
) -> Subscription:
    """Merge `change` into the stored row under its lock (`target` from `check_change`)."""
    given = change.model_fields_set
    with connection.transaction():
        stored = rows.fetch_one(connection, subscription_id, for_update=True)
        if stored is None:
            raise _not_found(subscription_id)
        changes: dict[str, Any] = {
            name: _plain(getattr(change, name))
            for name in given
            if name in rows.CHANGEABLE and name != "target"
        }
        if target is not None:
            changes["target"] = target
        mode = change.mode if "mode" in given and change.mode else stored.mode
        if "digest_minutes" in given:
            digest_minutes = change.digest_minutes
        elif mode is DeliveryMode.IMMEDIATE:
            digest_minutes = None  # back to immediate: the period goes with the digest
            if stored.digest_minutes is not None:
                changes["digest_minutes"] = None
        else:
            digest_minutes = stored.digest_minutes
        _check_digest(mode, digest_minutes)
        if change.enabled is True:
            changes.update(disabled_at=None, disabled_reason=None)
        elif change.enabled is False and stored.disabled_at is None:
            changes.update(
                disabled_at=datetime.now(UTC), disabled_reason=f"disabled by {caller.label}"
            )
        if not changes:
            return stored
        updated = rows.update(connection, subscription_id, changes)
    assert updated is not None  # the row is locked
    return updated


def delete(connection: psycopg.Connection[object], subscription_id: UUID) -> None:
    if not rows.delete(connection, subscription_id):
        raise _not_found(subscription_id)


def rotate_secret(connection: psycopg.Connection[object], subscription_id: UUID) -> SecretRotated:
    """A new secret for a webhook; the old one signs beside it for 24 h more."""
    secret = subscription_secrets.new_secret()
    sealed = subscription_secrets.encrypt(subscription_id, secret)
    rotated = rows.rotate_secret(connection, subscription_id, sealed)
    if rotated is None:
        stored = one(connection, subscription_id)  # 404 when it is none
        raise InvalidRequestError(
            f"A {stored.channel.value} subscription has no secret to rotate; only webhooks do.",
            details=[FieldProblem("path", "subscriptionId", "not a webhook subscription")],
        )
    assert rotated.previous_secret_expires_at is not None
    return SecretRotated(
        id=rotated.id, secret=secret, previous_secret_expires_at=rotated.previous_secret_expires_at
    )


def signing_secrets(
    connection: psycopg.Connection[object], subscription_id: UUID
) -> tuple[str, ...]:
    """A webhook's secrets that sign now: the current one, then the previous while it lasts
    (delivery signs with each, as Standard Webhooks allows). Empty for other channels."""
    sealed = rows.fetch_sealed_secrets(connection, subscription_id)
    if sealed is None:
        return ()
    found = [subscription_secrets.decrypt(subscription_id, sealed.current)]
    if sealed.previous is not None:
        found.append(subscription_secrets.decrypt(subscription_id, sealed.previous))
    return tuple(found)
