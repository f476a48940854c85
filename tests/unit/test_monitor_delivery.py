"""Claim, insert, release: the monitor's delivery over an in-memory store and inserter."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from inventory.data.cooldowns import Claim
from inventory.errors import DependencyUnavailableError
from inventory.rules.alert_types import (
    Alert,
    CooldownKey,
    NotificationDraft,
    NotificationType,
)
from inventory.services.delivery import Delivery, deliver
from tests.support.drafts import alert, draft
from tests.support.fakes import DeadlineAfter, InMemoryCooldownStore

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)


class RecordingInserter:
    """Stores drafts in a list; `failure` makes the next calls raise it."""

    def __init__(self) -> None:
        self.batches: list[list[NotificationDraft]] = []
        self.failure: Exception | None = None

    def __call__(self, drafts: Sequence[NotificationDraft]) -> list[uuid.UUID]:
        if self.failure is not None:
            raise self.failure
        self.batches.append(list(drafts))
        return [uuid.uuid4() for _ in drafts]


def test_claimed_drafts_are_inserted_in_one_batch_in_order() -> None:
    store, insert = InMemoryCooldownStore(), RecordingInserter()
    drafts = [draft("A"), draft("B"), draft("C")]
    outcomes = deliver([alert(name) for name in "ABC"], store, NOW, insert=insert)
    assert [o.delivery for o in outcomes] == [Delivery.SENT] * 3
    assert insert.batches == [drafts]
    assert all(o.notification_id is not None for o in outcomes)


def test_second_delivery_inside_the_window_is_suppressed_and_not_inserted() -> None:
    store, insert = InMemoryCooldownStore(timedelta(hours=24)), RecordingInserter()
    deliver([alert("A")], store, NOW, insert=insert)
    again = deliver([alert("A"), alert("B")], store, NOW + timedelta(hours=23), insert=insert)
    assert [o.delivery for o in again] == [Delivery.SUPPRESSED, Delivery.SENT]
    assert insert.batches[1] == [draft("B")]


def test_delivery_after_the_window_sends_again() -> None:
    store, insert = InMemoryCooldownStore(timedelta(hours=24)), RecordingInserter()
    deliver([alert("A")], store, NOW, insert=insert)
    later = deliver([alert("A")], store, NOW + timedelta(hours=24), insert=insert)
    assert [o.delivery for o in later] == [Delivery.SENT]


def test_same_reference_with_another_type_has_its_own_cooldown() -> None:
    store, insert = InMemoryCooldownStore(), RecordingInserter()
    deliver([alert("A")], store, NOW, insert=insert)
    other = deliver([alert("A", NotificationType.PACKAGE_LOW_STOCK)], store, NOW, insert=insert)
    assert [o.delivery for o in other] == [Delivery.SENT]


def test_failed_claims_send_nothing_and_report_the_reason() -> None:
    store, insert = InMemoryCooldownStore(), RecordingInserter()
    store.fail_with = "DynamoDB unreachable: connection refused"
    outcomes = deliver([alert("A"), alert("B")], store, NOW, insert=insert)
    assert [o.delivery for o in outcomes] == [Delivery.FAILED] * 2
    assert outcomes[0].error == "cooldown claim failed: DynamoDB unreachable: connection refused"
    assert insert.batches == []


def test_a_store_that_raises_fails_every_draft_without_inserting() -> None:
    class ExplodingStore(InMemoryCooldownStore):
        def claim_many(
            self, keys: Sequence[CooldownKey], now: datetime, *, deadline: object = None
        ) -> list[Claim]:
            raise DependencyUnavailableError("The cooldown table did not answer.")

    insert = RecordingInserter()
    outcomes = deliver([alert("A")], ExplodingStore(), NOW, insert=insert)
    assert outcomes[0].delivery is Delivery.FAILED
    assert "did not answer" in (outcomes[0].error or "")
    assert insert.batches == []


def test_failed_insert_releases_the_claims_so_the_next_delivery_sends() -> None:
    store, insert = InMemoryCooldownStore(), RecordingInserter()
    deliver([alert("B")], store, NOW, insert=insert)  # B is cooling down already
    insert.failure = DependencyUnavailableError("The database did not answer.")
    failed = deliver([alert("A"), alert("B")], store, NOW, insert=insert)
    assert [o.delivery for o in failed] == [Delivery.FAILED, Delivery.SUPPRESSED]
    assert failed[0].error == (
        "notification insert failed: The database did not answer.; claims released"
    )
    assert [c.key for c in store.released] == [draft("A").cooldown_key]  # not B's entry

    insert.failure = None
    retry = deliver([alert("A"), alert("B")], store, NOW, insert=insert)
    assert [o.delivery for o in retry] == [Delivery.SENT, Delivery.SUPPRESSED]


def test_nothing_to_deliver_touches_nothing() -> None:
    store, insert = InMemoryCooldownStore(), RecordingInserter()
    assert deliver([], store, NOW, insert=insert) == []
    assert store.entries == {}
    assert insert.batches == []


def test_a_suppressed_alert_is_never_written_out() -> None:
    store, insert = InMemoryCooldownStore(), RecordingInserter()
    deliver([alert("A")], store, NOW, insert=insert)
    written: list[str] = []

    def write(name: str) -> NotificationDraft:
        written.append(name)
        return draft(name)

    later = NOW + timedelta(hours=1)
    alerts = [Alert(draft(n).cooldown_key, partial(write, n)) for n in ("A", "B")]
    outcomes = deliver(alerts, store, later, insert=insert)

    assert [o.delivery for o in outcomes] == [Delivery.SUPPRESSED, Delivery.SENT]
    assert outcomes[0].draft is None
    assert written == ["B"]
    assert insert.batches[-1] == [draft("B")]


def test_alerts_not_claimed_by_the_deadline_are_deferred_and_sent_by_the_next_run() -> None:
    store, insert = InMemoryCooldownStore(), RecordingInserter()
    drafts = [draft("A"), draft("B"), draft("C")]
    alerts = [alert("A"), alert("B"), alert("C")]

    first = deliver(alerts, store, NOW, insert=insert, deadline=DeadlineAfter(2))
    assert [o.delivery for o in first] == [Delivery.SENT, Delivery.SENT, Delivery.DEFERRED]
    assert first[2].draft is None

    second = deliver(alerts, store, NOW + timedelta(minutes=10), insert=insert)
    assert [o.delivery for o in second] == [
        Delivery.SUPPRESSED,
        Delivery.SUPPRESSED,
        Delivery.SENT,
    ]
    # Every alert stored exactly once across the two runs.
    assert [d.reference_id for batch in insert.batches for d in batch] == [
        d.reference_id for d in drafts
    ]
