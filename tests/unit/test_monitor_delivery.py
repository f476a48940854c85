"""Claim, insert, release: the monitor's delivery over an in-memory store and inserter."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

import psycopg
import pytest

from inventory.data.cooldowns import Claim, Confirmation
from inventory.data.notification_rows import ClaimedDraft, InsertResult, Stored
from inventory.errors import DatabaseUnreachableError, DependencyUnavailableError
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
    """Stores drafts like the notifications table: at most once per claim token, and not while
    a row of the same key is inside its window; `batches` holds what each call stored anew.
    `failure` makes the next calls raise it, after storing when `commit_then_fail` (an answer
    lost after the commit)."""

    def __init__(self, window: timedelta = timedelta(hours=24)) -> None:
        self.window = window
        self.batches: list[list[NotificationDraft]] = []
        self.rows: dict[uuid.UUID, tuple[CooldownKey, datetime, uuid.UUID]] = {}
        self.failure: BaseException | None = None
        self.commit_then_fail = False

    def __call__(self, claimed: Sequence[ClaimedDraft], now: datetime) -> list[InsertResult]:
        if self.failure is not None and not self.commit_then_fail:
            raise self.failure
        results, stored = [], []
        for item in claimed:
            key = item.draft.cooldown_key
            held = [
                (since, row_id)
                for row_key, since, row_id in self.rows.values()
                if row_key == key and since > now - self.window
            ]
            if item.claim_token in self.rows:
                _, since, row_id = self.rows[item.claim_token]
                results.append(InsertResult(row_id, Stored.RETRIED, since))
            elif held:
                since, row_id = max(held)
                results.append(InsertResult(row_id, Stored.IN_WINDOW, since))
            else:
                row_id = uuid.uuid4()
                self.rows[item.claim_token] = (key, now, row_id)
                results.append(InsertResult(row_id, Stored.NEW, now))
                stored.append(item.draft)
        self.batches.append(stored)
        if self.failure is not None:
            raise self.failure
        return results

    @property
    def stored(self) -> list[NotificationDraft]:
        return [d for batch in self.batches for d in batch]


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


LEASE = timedelta(minutes=1)


class ForgetfulStore(InMemoryCooldownStore):
    """Confirms nothing: the run died after its commit, before confirming."""

    def confirm(self, confirmations: Sequence[Confirmation], now: datetime) -> None:
        return None


def test_a_run_that_dies_after_its_claims_is_sent_once_when_the_leases_end() -> None:
    store, insert = InMemoryCooldownStore(lease=LEASE), RecordingInserter()
    store.claim_many([draft("A").cooldown_key, draft("B").cooldown_key], NOW)  # then killed

    inside = deliver([alert("A"), alert("B")], store, NOW + LEASE / 2, insert=insert)
    after = deliver([alert("A"), alert("B")], store, NOW + LEASE, insert=insert)
    again = deliver([alert("A"), alert("B")], store, NOW + 2 * LEASE, insert=insert)

    assert [o.delivery for o in inside] == [Delivery.SUPPRESSED] * 2
    assert [o.delivery for o in after] == [Delivery.SENT] * 2
    assert [o.delivery for o in again] == [Delivery.SUPPRESSED] * 2
    assert insert.stored == [draft("A"), draft("B")]


def test_a_run_that_dies_after_its_commit_is_not_sent_again_when_its_lease_ends() -> None:
    store, insert = ForgetfulStore(lease=LEASE), RecordingInserter()
    [first] = deliver([alert("A")], store, NOW, insert=insert)
    assert first.delivery is Delivery.SENT

    later = NOW + 2 * LEASE
    [second] = deliver([alert("A")], InMemoryCooldownStore(lease=LEASE), later, insert=insert)
    assert second.delivery is Delivery.SUPPRESSED
    assert insert.stored == [draft("A")]


def test_the_window_of_a_row_found_by_a_later_run_counts_from_that_row() -> None:
    insert = RecordingInserter()
    deliver([alert("A")], ForgetfulStore(lease=LEASE), NOW, insert=insert)  # then killed
    store = InMemoryCooldownStore(lease=LEASE)

    deliver([alert("A")], store, NOW + 2 * LEASE, insert=insert)

    assert store.entries[draft("A").cooldown_key].expires_at == NOW + store.window


@pytest.mark.parametrize(
    "failure",
    [RuntimeError("a bug after the claims"), DatabaseUnreachableError("unreachable")],
    ids=["any-exception", "connect-failed"],
)
def test_any_insert_failure_that_sent_nothing_releases_the_claims(failure: Exception) -> None:
    store, insert = InMemoryCooldownStore(lease=LEASE), RecordingInserter()
    insert.failure = failure
    [failed] = deliver([alert("A")], store, NOW, insert=insert)
    assert failed.delivery is Delivery.FAILED
    assert (failed.error or "").endswith("; claims released")

    insert.failure = None
    [retry] = deliver([alert("A")], store, NOW, insert=insert)
    assert retry.delivery is Delivery.SENT


def test_a_draft_that_cannot_be_written_releases_the_claims() -> None:
    def broken() -> NotificationDraft:
        raise KeyError("figure")

    store, insert = InMemoryCooldownStore(lease=LEASE), RecordingInserter()
    [failed] = deliver([Alert(draft("A").cooldown_key, broken)], store, NOW, insert=insert)
    assert failed.delivery is Delivery.FAILED
    assert failed.draft is None
    assert store.entries == {}
    assert insert.batches == []


def test_an_interrupt_during_the_insert_releases_the_claims_and_propagates() -> None:
    store, insert = InMemoryCooldownStore(lease=LEASE), RecordingInserter()
    insert.failure = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        deliver([alert("A")], store, NOW, insert=insert)
    assert store.entries == {}


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "rolled-back"])
def test_an_insert_whose_answer_was_lost_releases_its_claims_and_sends_once(
    committed: bool,
) -> None:
    store, insert = InMemoryCooldownStore(lease=LEASE), RecordingInserter()
    lost = DependencyUnavailableError("The database did not answer.")
    lost.__cause__ = psycopg.OperationalError("server closed the connection unexpectedly")
    insert.failure, insert.commit_then_fail = lost, committed

    [failed] = deliver([alert("A")], store, NOW, insert=insert)
    assert failed.delivery is Delivery.FAILED
    assert (failed.error or "").endswith("; claims released")

    insert.failure = None
    [after] = deliver([alert("A")], store, NOW + timedelta(minutes=10), insert=insert)
    assert after.delivery is (Delivery.SUPPRESSED if committed else Delivery.SENT)
    assert insert.stored == [draft("A")]
