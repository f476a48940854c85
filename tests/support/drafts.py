"""The rules' alerts written out, for tests that read the texts the monitor would store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import UUID

from inventory.rules.alert_types import NotificationDraft
from inventory.rules.alerts import (
    Evaluation,
    ProductFigures,
    RuleSettings,
    bottleneck_alerts,
    package_alerts,
    stockout_alerts,
)
from inventory.rules.availability import PackageAvailability


def package_drafts(
    snapshot: Iterable[PackageAvailability],
    products: Mapping[UUID, ProductFigures],
    settings: RuleSettings,
) -> list[NotificationDraft]:
    return [alert.draft() for alert in package_alerts(snapshot, products, settings)]


def bottleneck_drafts(
    snapshot: Iterable[PackageAvailability],
    products: Mapping[UUID, ProductFigures],
    settings: RuleSettings,
) -> list[NotificationDraft]:
    return [alert.draft() for alert in bottleneck_alerts(snapshot, products, settings)]


def stockout_drafts(
    products: Iterable[ProductFigures], settings: RuleSettings, now: datetime
) -> list[NotificationDraft]:
    return [alert.draft() for alert in stockout_alerts(products, settings, now)]


def drafts_of(evaluation: Evaluation) -> tuple[NotificationDraft, ...]:
    """Every alert of an evaluation written out (each call writes them again)."""
    return tuple(alert.draft() for alert in evaluation.alerts)
