"""The delivery queue (SQS): messages that say which deliveries to send now.

A message is `{"delivery_ids": [...]}`: one delivery for an e-mail, a webhook or a Slack post
(a slow receiver then holds up no other), up to TOPIC_IDS_PER_MESSAGE for the SNS topic (one
PublishBatch). The message only says "now": what to send and whether it was sent is in
PostgreSQL, so a message lost, doubled or late costs a delay at most, never a delivery.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

from inventory.data.aws_clients import fail_fast_config
from inventory.deadline import Deadline
from inventory.failures import describe_failure

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

TOPIC_IDS_PER_MESSAGE = 10
_ENTRIES_PER_CALL = 10  # SendMessageBatch's limit
MAX_DELAY_SECONDS = 900  # SQS's longest message delay

_CONNECT_TIMEOUT_SECONDS = 2
_READ_TIMEOUT_SECONDS = 5
_TOTAL_ATTEMPTS = 3


@cache
def _client() -> SQSClient:
    # Imported here: boto3 is a large part of a cold start. boto3 reads AWS_ENDPOINT_URL_SQS.
    import boto3

    config = fail_fast_config(
        connect_seconds=_CONNECT_TIMEOUT_SECONDS,
        read_seconds=_READ_TIMEOUT_SECONDS,
        attempts=_TOTAL_ATTEMPTS,
    )
    return boto3.client("sqs", config=config)


def reset_client() -> None:
    _client.cache_clear()


def message_body(ids: Sequence[UUID]) -> str:
    return json.dumps({"delivery_ids": [str(i) for i in ids]}, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Sent:
    taken: list[int]  # the indexes of the messages SQS took
    error: str | None  # why the others were not (the first failed call stops the rest)


def send(
    queue_url: str,
    messages: Sequence[Sequence[UUID]],
    *,
    delay_seconds: int = 0,
    deadline: Deadline | None = None,
) -> Sent:
    """Put each message (a list of delivery ids) on the queue, ten per call, until a call
    fails or `deadline` passes. Never raises for a queue fault."""
    taken: list[int] = []
    delay = max(0, min(MAX_DELAY_SECONDS, delay_seconds))
    for start in range(0, len(messages), _ENTRIES_PER_CALL):
        if deadline is not None and deadline.expired():
            return Sent(taken, "the run reached its time limit")
        chunk = messages[start : start + _ENTRIES_PER_CALL]
        entries: list[Any] = [
            {"Id": str(start + offset), "MessageBody": message_body(ids), "DelaySeconds": delay}
            for offset, ids in enumerate(chunk)
        ]
        try:
            answer = _client().send_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as error:  # noqa: BLE001 (the rows stay due; the next dispatch sends them)
            return Sent(taken, f"SQS {describe_failure(error)}")
        taken.extend(int(entry["Id"]) for entry in answer.get("Successful", []))
    return Sent(taken, None)


def parse_body(body: str) -> list[UUID]:
    """The delivery ids of a message; ValueError when it is not one of ours."""
    value = json.loads(body)
    ids = value.get("delivery_ids") if isinstance(value, dict) else None
    if not isinstance(ids, list) or not ids:
        raise ValueError("not a delivery message: no delivery_ids")
    return [UUID(str(item)) for item in ids]
