"""The SNS topic of all notifications (SPEC §10): `publish_batch`, ten entries a call, each with
the String message attributes `type`, `priority` and `reference_type` that subscriptions filter
on.

Each entry's result is mapped to an Attempt by its id (the delivery's id): Successful entries
are DELIVERED; a Failed entry is REFUSED when SNS says it is the sender's fault (the entry
itself is invalid: resending it cannot help) and RETRY otherwise; an entry SNS does not mention
is RETRY. A message over SNS's 256 KB is REFUSED without a call; batches are cut to stay under
it. A call that fails as a whole (throttling, a 5xx, a timeout, no endpoint) makes its
entries RETRY, and the entries after it are not tried (they would wait out the same fault):
RETRY with the same error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from inventory.data.aws_clients import fail_fast_config
from inventory.failures import describe_failure
from inventory.rules.delivery_types import Attempt, AttemptResult

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef

BATCH_SIZE = 10  # SNS's limit per publish_batch
# SNS's limit on a whole batch, and so on one message, attributes included (with a margin).
MAX_BATCH_BYTES = 256 * 1024 - 4 * 1024
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
    # What e-mail subscribers of the topic see as the subject; sent only when SNS takes it
    # (ASCII, one line, under 100 characters), as a refused subject would refuse the message.
    subject: str | None = None

    @property
    def size(self) -> int:
        values = (self.body, self.type, self.priority, self.reference_type, self.subject or "")
        names = len("type") + len("priority") + len("reference_type") + 3 * len("String")
        return sum(len(value.encode()) for value in values) + names


def _batches(messages: Sequence[TopicMessage]) -> list[list[TopicMessage]]:
    """Ten to a call at most, and never more bytes than SNS takes in one."""
    batches: list[list[TopicMessage]] = []
    size = 0
    for message in messages:
        if not batches or len(batches[-1]) == BATCH_SIZE or size + message.size > MAX_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(message)
        size += message.size
    return batches


def publish_to_topic(
    topic_arn: str, messages: Sequence[TopicMessage], *, client: SNSClient | None = None
) -> dict[str, Attempt]:
    """Every message's Attempt, by entry id."""
    ids = [message.entry_id for message in messages]
    if len(set(ids)) != len(ids):
        raise ValueError("Topic messages need distinct entry ids.")
    from botocore.exceptions import BotoCoreError, ClientError

    sns = client or sns_client()
    too_large = Attempt(AttemptResult.REFUSED, "too large for SNS (256 KB a message)")
    attempts = {m.entry_id: too_large for m in messages if m.size > MAX_BATCH_BYTES}
    batches = _batches([m for m in messages if m.entry_id not in attempts])
    for index, batch in enumerate(batches):
        try:
            answer = sns.publish_batch(
                TopicArn=topic_arn, PublishBatchRequestEntries=[_entry(m) for m in batch]
            )
        # ValueError: boto3 rejects a malformed AWS_ENDPOINT_URL_SNS when the client is built.
        except (ClientError, BotoCoreError, ValueError) as error:
            failed = Attempt(AttemptResult.RETRY, f"SNS {describe_failure(error)}")
            left = [m for later in batches[index:] for m in later]
            return attempts | {message.entry_id: failed for message in left}
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

    config = fail_fast_config(
        connect_seconds=_CONNECT_TIMEOUT_SECONDS,
        read_seconds=_READ_TIMEOUT_SECONDS,
        attempts=_TOTAL_ATTEMPTS,
    )
    return boto3.client("sns", config=config)


@cache
def sns_client() -> SNSClient:
    """The container's client, made on first use (tests clear the cache)."""
    return create_sns_client()


def _sendable_subject(subject: str | None) -> str | None:
    if not subject or len(subject) >= 100 or not subject.isascii():
        return None
    if not subject.isprintable() or (not subject[0].isalnum() and subject[0] not in "!?.,:;'\""):
        return None
    return subject


def _entry(message: TopicMessage) -> PublishBatchRequestEntryTypeDef:
    entry: PublishBatchRequestEntryTypeDef = {
        "Id": message.entry_id,
        "Message": message.body,
        "MessageAttributes": {
            "type": {"DataType": "String", "StringValue": message.type},
            "priority": {"DataType": "String", "StringValue": message.priority},
            "reference_type": {"DataType": "String", "StringValue": message.reference_type},
        },
    }
    subject = _sendable_subject(message.subject)
    if subject is not None:
        entry["Subject"] = subject
    return entry
