"""A claim whose answer is lost on the way back: the write landed, the client never heard.

Found when twelve monitor runs at once slowed moto's server past the client's read timeout:
botocore retries the conditional PutItem, and the retry meets the entry its own first attempt
wrote. That must count as our claim (the alert is sent), not as someone else's live entry
(the alert swallowed for a whole cooldown window). When no attempt is answered at all, the
claim fails and the entry it may have left is deleted again, so the next run sends the alert.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inventory.data.cooldowns import ClaimOutcome
from inventory.data.cooldowns.dynamodb import DynamoCooldownStore
from inventory.data.cooldowns.dynamodb_client import create_dynamodb_client
from inventory.data.notification_rows import ClaimedDraft, InsertResult, Stored
from inventory.rules.alert_types import (
    CooldownKey,
    NotificationDraft,
    NotificationType,
)
from inventory.services.delivery import Delivery, deliver
from tests.support import dynamo
from tests.support.drafts import alert
from tests.support.fault_proxy import AnswerDroppingProxy, answer_dropping_proxy

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
PUT_ITEM = b"DynamoDB_20120810.PutItem"


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[AnswerDroppingProxy]:
    with answer_dropping_proxy(moto_endpoint) as proxy:
        yield proxy


@pytest.fixture
def store(
    proxy: AnswerDroppingProxy, cooldown_table: str, monkeypatch: pytest.MonkeyPatch
) -> DynamoCooldownStore:
    # The production client (its timeouts and retries), reaching moto through the proxy.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
    return DynamoCooldownStore(cooldown_table, WINDOW, client=create_dynamodb_client())


def entries(moto_endpoint: str, table: str) -> list[dict[str, Any]]:
    scanned = dynamo.dynamodb_client(moto_endpoint).scan(TableName=table)["Items"]
    return [item for item in scanned if "type" in item]


def key() -> CooldownKey:
    return CooldownKey(NotificationType.PACKAGE_UNAVAILABLE, uuid.uuid4())


@pytest.mark.parametrize("keys", [1, 3], ids=["one key", "several keys"])
def test_a_retried_claim_meeting_its_own_entry_is_our_claim(
    store: DynamoCooldownStore,
    proxy: AnswerDroppingProxy,
    moto_endpoint: str,
    cooldown_table: str,
    keys: int,
) -> None:
    wanted = [key() for _ in range(keys)]
    proxy.drop_answers(PUT_ITEM)

    claims = store.claim_many(wanted, NOW)

    assert proxy.dropped == 1
    assert [claim.outcome for claim in claims] == [ClaimOutcome.CLAIMED] * keys
    tokens = {item["token"]["S"] for item in entries(moto_endpoint, cooldown_table)}
    assert tokens == {claim.token for claim in claims}


def test_an_unanswered_claim_fails_and_delivery_deletes_what_it_may_have_written(
    store: DynamoCooldownStore, proxy: AnswerDroppingProxy, moto_endpoint: str, cooldown_table: str
) -> None:
    one = alert("Lime bucket")
    stored: list[NotificationDraft] = []

    def insert(claimed: Sequence[ClaimedDraft], now: datetime) -> list[InsertResult]:
        stored.extend(c.draft for c in claimed)
        return [InsertResult(uuid.uuid4(), Stored.NEW, now) for _ in claimed]

    proxy.drop_answers(PUT_ITEM, times=10)  # every attempt lands and none is answered
    [outcome] = deliver([one], store, NOW, insert=insert)
    proxy.drop_answers(PUT_ITEM, times=0)

    assert proxy.dropped >= 2  # the first attempt and its retry
    assert outcome.delivery is Delivery.FAILED
    assert "cooldown claim failed" in (outcome.error or "")
    assert stored == []
    assert entries(moto_endpoint, cooldown_table) == []
    [again] = deliver([one], store, NOW, insert=insert)
    assert again.delivery is Delivery.SENT
    assert [draft.cooldown_key for draft in stored] == [one.key]
