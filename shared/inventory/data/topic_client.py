"""The SNS topic of all notifications (SPEC §10): `publish_batch`, ten entries a call, each with
the String message attributes `type`, `priority` and `reference_type` that subscriptions filter
on.

Each entry's result is mapped to an Attempt by its id (the delivery's id): Successful entries
are DELIVERED; a Failed entry is REFUSED when SNS says it is the sender's fault (the entry
itself is invalid: resending it cannot help) and RETRY otherwise; an entry SNS does not mention
is RETRY. A call that fails as a whole (throttling, a 5xx, a timeout, no endpoint) makes its
entries RETRY, and the entries after it are not tried (they would wait out the same fault):
RETRY with the same error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from inventory.failures import describe_failure
from inventory.rules.delivery_types import Attempt, AttemptResult

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef

BATCH_SIZE = 10  # SNS's limit per publish_batch
_CONNECT_TIMEOUT_SECONDS = 2
_READ_TIMEOUT_SECONDS = 5
_TOTAL_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class TopicMessage:
    """One notification as the topic carries it."""

    entry_id: str  # unique in a call; up to 80 letters, digits, '-' and '_' (a UUID fits)
    body: str  # the message (JSON) the topic's subscribers receive
    type: str
    priority: str
    reference_type: str


def publish_to_topic(
    topic_arn: str, messages: Sequence[TopicMessage], *, client: SNSClient | None = None
) -> dict[str, Attempt]:
    """Every message's Attempt, by entry id."""
    ids = [message.entry_id for message in messages]
    if len(set(ids)) != len(ids):
        raise ValueError("Topic messages need distinct entry ids.")
    from botocore.exceptions import BotoCoreError, ClientError

    sns = client or sns_client()
    attempts: dict[str, Attempt] = {}
    for start in range(0, len(messages), BATCH_SIZE):
        batch = messages[start : start + BATCH_SIZE]
        try:
            answer = sns.publish_batch(
                TopicArn=topic_arn, PublishBatchRequestEntries=[_entry(m) for m in batch]
            )
        # ValueError: boto3 rejects a malformed AWS_ENDPOINT_URL_SNS when the client is built.
        except (ClientError, BotoCoreError, ValueError) as error:
            failed = Attempt(AttemptResult.RETRY, f"SNS {describe_failure(error)}")
            return attempts | {message.entry_id: failed for message in messages[start:]}
        for success in answer.get("Successful", []):
            attempts[success["Id"]] = Attempt(
                AttemptResult.DELIVERED, extra={"message_id": success.get("MessageId")}
            )
        for failure in answer.get("Failed", []):
            result = AttemptResult.REFUSED if failure["SenderFault"] else AttemptResult.RETRY
            said = f"SNS {failure['Code']}: {failure.get('Message', '')}".strip()
            attempts[failure["Id"]] = Attempt(result, said)
        for message in batch:
            attempts.setdefault(
                message.entry_id, Attempt(AttemptResult.RETRY, "SNS did not report this entry.")
            )
    return attempts


def create_sns_client() -> SNSClient:
    """An SNS client that fails fast; boto3 reads AWS_ENDPOINT_URL_SNS (or AWS_ENDPOINT_URL)
    itself."""
    # Imported here: boto3 is a large part of a cold start and only the delivery needs it.
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        read_timeout=_READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": _TOTAL_ATTEMPTS, "mode": "standard"},
    )
    return boto3.client("sns", config=config)


@cache
def sns_client() -> SNSClient:
    """The container's client, made on first use (tests clear the cache)."""
    return create_sns_client()


def _entry(message: TopicMessage) -> PublishBatchRequestEntryTypeDef:
    return {
        "Id": message.entry_id,
        "Message": message.body,
        "MessageAttributes": {
            "type": {"DataType": "String", "StringValue": message.type},
            "priority": {"DataType": "String", "StringValue": message.priority},
            "reference_type": {"DataType": "String", "StringValue": message.reference_type},
        },
    }
