"""The rules' alerts written out, for tests that read the texts the monitor would store."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from inventory.rules.alert_types import (
    Alert,
    NotificationDraft,
    NotificationType,
    Priority,
    ReferenceType,
)
from inventory.rules.alerts import Evaluation, bottleneck_alerts, package_alerts, stockout_alerts


def _written(rule: Callable[..., Sequence[Alert]]) -> Callable[..., list[NotificationDraft]]:
    """The rule, with every alert it returns written out."""

    def drafts(*args: Any, **kwargs: Any) -> list[NotificationDraft]:
        return [alert.draft() for alert in rule(*args, **kwargs)]

    return drafts


package_drafts = _written(package_alerts)
bottleneck_drafts = _written(bottleneck_alerts)
stockout_drafts = _written(stockout_alerts)


def drafts_of(evaluation: Evaluation) -> tuple[NotificationDraft, ...]:
    """Every alert of an evaluation written out (each call writes them again)."""
    return tuple(alert.draft() for alert in evaluation.alerts)


def draft(
    name: str, type: NotificationType = NotificationType.PACKAGE_UNAVAILABLE
) -> NotificationDraft:
    return NotificationDraft(
        type=type,
        priority=Priority.URGENT,
        reference_type=ReferenceType.PACKAGE,
        reference_id=uuid.uuid5(uuid.NAMESPACE_OID, name),
        title=f"{name} cannot be sold",
        message=f"{name} cannot be sold.",
    )


def alert(name: str, type: NotificationType = NotificationType.PACKAGE_UNAVAILABLE) -> Alert:
    """An alert whose draft is already written."""
    written = draft(name, type)
    return Alert(written.cooldown_key, lambda: written)
