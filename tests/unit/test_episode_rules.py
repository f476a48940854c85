"""Episode rules (SPEC §9) on plain values: which conditions hold, what a resolution says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from inventory.rules.alert_types import CooldownKey, NotificationType, Priority, ReferenceType
from inventory.rules.alerts import ProductFigures, RuleSettings, evaluate
from inventory.rules.availability import PackageAvailability, PackageSpec
from inventory.rules.episodes import ResolvableEpisode, duration_text, resolution_draft
from tests.support.availability_reference import evaluate_package
from tests.support.catalog import component, package

NOW = datetime(2025, 10, 21, 18, 0, tzinfo=UTC)
SETTINGS = RuleSettings(
    package_low_stock_threshold=Decimal("0.2"),
    bottleneck_min_packages=2,
    stockout_prediction_days=Decimal(7),
    stockout_lookback_days=28,
)


def snapshot(*specs: PackageSpec) -> list[PackageAvailability]:
    return [evaluate_package(s, SETTINGS.package_low_stock_threshold) for s in specs]


def product(name: str, stock: int, usage: int, *, active: bool = True) -> ProductFigures:
    return ProductFigures(
        product_id=uuid.uuid5(uuid.NAMESPACE_OID, name),
        product_name=name,
        current_stock=Decimal(stock),
        usage=Decimal(usage),
        is_active=active,
    )


def test_every_alert_s_condition_holds() -> None:
    bucket = package("Bucket", [component("Corona", 5, 3)])
    tower = package("Tower", [component("Corona", 10, 3)])
    tonic = product("Tonic", 10, 280)  # 10 a day, 1 day left

    evaluation = evaluate(snapshot(bucket, tower), [tonic], SETTINGS, NOW)

    assert {alert.key for alert in evaluation.alerts} <= evaluation.holding


def test_an_unavailable_package_continues_a_low_stock_episode() -> None:
    out = package("Margarita", [component("Limes", 1, 0)], normal=20)
    low = package("Mojito", [component("Mint", 1, 3)], normal=20)

    holding = evaluate(snapshot(out, low), [], SETTINGS, NOW).holding

    assert CooldownKey(NotificationType.PACKAGE_LOW_STOCK, out.package_id) in holding
    assert CooldownKey(NotificationType.PACKAGE_UNAVAILABLE, out.package_id) in holding
    assert CooldownKey(NotificationType.PACKAGE_LOW_STOCK, low.package_id) in holding
    assert CooldownKey(NotificationType.PACKAGE_UNAVAILABLE, low.package_id) not in holding


def test_a_product_that_ran_out_continues_its_predicted_stockout() -> None:
    out = product("Limes", 0, 280)
    # Out for a month, so unsold for a month: the candidates bring it while its episode is open.
    long_out = product("Saffron", -1, 0)
    inactive = product("Old rum", 0, 280, active=False)

    evaluation = evaluate([], [out, long_out, inactive], SETTINGS, NOW)

    assert evaluation.alerts == ()  # no prediction at zero stock
    assert evaluation.holding == {
        CooldownKey(NotificationType.STOCKOUT_PREDICTED, out.product_id),
        CooldownKey(NotificationType.STOCKOUT_PREDICTED, long_out.product_id),
    }


def test_a_healthy_catalogue_holds_nothing() -> None:
    fine = package("Gin Tonic", [component("Gin", 50, 50_000)])

    assert evaluate(snapshot(fine), [product("Gin", 50_000, 28)], SETTINGS, NOW).holding == set()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "under a minute"),
        (59, "under a minute"),
        (60, "1 min"),
        (40 * 60, "40 min"),
        (3600, "1 h"),
        (2 * 3600 + 15 * 60, "2 h 15 min"),
        (86_400, "1 d"),
        (3 * 86_400 + 2 * 3600 + 59, "3 d 2 h"),
        (-5, "under a minute"),
    ],
)
def test_durations_read_as_a_person_would_say_them(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text


def episode(**changes: object) -> ResolvableEpisode:
    fields: dict[str, object] = {
        "episode_id": uuid.UUID(int=1),
        "type": NotificationType.PACKAGE_UNAVAILABLE,
        "reference_type": ReferenceType.PACKAGE,
        "reference_id": uuid.UUID(int=2),
        "opened_at": NOW,
        "clear_since": NOW + timedelta(hours=2, minutes=15),
        "first_notification_id": uuid.UUID(int=3),
        "first_title": "Margarita cannot be sold",
        "first_data": {"package_name": "Margarita"},
    }
    fields.update(changes)
    return ResolvableEpisode(**fields)  # type: ignore[arg-type]


def test_a_resolution_names_what_ended_when_and_for_how_long() -> None:
    draft = resolution_draft(episode())

    assert draft.type is NotificationType.ALERT_RESOLVED
    assert draft.priority is Priority.LOW
    assert (draft.reference_type, draft.reference_id) == (ReferenceType.PACKAGE, uuid.UUID(int=2))
    assert draft.title == "Margarita can be sold again"
    assert draft.message == (
        "Margarita can be sold again: the package unavailable alert of 2025-10-21 18:00 UTC "
        "(Margarita cannot be sold) is resolved. It lasted 2 h 15 min and has been clear "
        "since 2025-10-21 20:15 UTC."
    )
    assert draft.data == {
        "resolved_notification_id": str(uuid.UUID(int=3)),
        "resolved_type": "package_unavailable",
        "duration_seconds": 8100,
        "episode_id": str(uuid.UUID(int=1)),
        "started_at": "2025-10-21T18:00:00+00:00",
        "cleared_at": "2025-10-21T20:15:00+00:00",
        "name": "Margarita",
    }


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        (NotificationType.PACKAGE_LOW_STOCK, "Mint is no longer running low"),
        (NotificationType.PACKAGE_BOTTLENECK, "Mint no longer limits packages"),
        (NotificationType.STOCKOUT_PREDICTED, "Mint is no longer expected to run out"),
    ],
)
def test_each_condition_has_its_own_words_for_its_end(kind: NotificationType, title: str) -> None:
    draft = resolution_draft(episode(type=kind, first_data={"product_name": "Mint"}))

    assert draft.title == title


def test_a_resolution_without_its_first_alert_still_names_its_reference() -> None:
    # The first alert's row is gone (deleted by hand): the reference id names it.
    draft = resolution_draft(episode(first_title=None, first_data={}))

    assert draft.title == f"{uuid.UUID(int=2)} can be sold again"
    assert "()" not in draft.message
