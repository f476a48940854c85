"""What Lambda's SQS event source does, for the local runtime and the tests: receive a batch,
invoke the function with the real SQS event, delete what it handled.

As in AWS: a batch is up to five messages (the template's BatchSize); the messages the function
names in `batchItemFailures` stay on the queue and come back after the visibility timeout, and
an invocation that raises returns the whole batch. Nothing here decides what a delivery is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]

BATCH_SIZE = 5


@dataclass(frozen=True, slots=True)
class Polled:
    received: int
    failed: int
    error: str | None = None  # the invocation raised


def queue_arn(client: Any, queue_url: str) -> str:
    answer = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(answer["Attributes"]["QueueArn"])


def sqs_event(messages: Sequence[Mapping[str, Any]], arn: str, region: str) -> dict[str, Any]:
    """The event Lambda passes for these received messages."""
    records = []
    for message in messages:
        body = str(message["Body"])
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": body,
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": dict(message.get("MessageAttributes") or {}),
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 (SQS's checksum)
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def poll_once(
    client: Any,
    queue_url: str,
    handler: Handler,
    context: Any,
    *,
    wait_seconds: int = 0,
    batch_size: int = BATCH_SIZE,
) -> Polled:
    """One receive and, when it brought messages, one invocation."""
    answer = client.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=batch_size,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages = answer.get("Messages") or []
    if not messages:
        return Polled(0, 0)
    region = client.meta.region_name
    event = sqs_event(messages, queue_arn(client, queue_url), region)
    try:
        result = handler(event, context) or {}
    except Exception as error:  # noqa: BLE001 (Lambda returns the batch; so do we)
        return Polled(len(messages), len(messages), f"{type(error).__name__}: {error}")
    failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        client.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]}
                for index, m in enumerate(done)
            ],
        )
    return Polled(len(messages), len(failed))


def drain(
    client: Any, queue_url: str, handler: Handler, context: Any, *, max_batches: int = 1000
) -> list[Polled]:
    """Poll until a receive brings nothing (messages still delayed or invisible stay)."""
    polls = []
    for _ in range(max_batches):
        polled = poll_once(client, queue_url, handler, context)
        if not polled.received:
            break
        polls.append(polled)
    return polls
