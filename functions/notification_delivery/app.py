"""The delivery function: sends what the delivery queue's messages name (SPEC §10).

SQS invokes it with up to five messages; Powertools' batch processor reports the ones that
failed (`batchItemFailures`), so only those come back, after the queue's visibility timeout,
and a message that keeps failing goes to the dead-letter queue, which alarms. A delivery's own
retries are not these: they are scheduled in PostgreSQL (services/notification_sending.py).
"""

from datetime import UTC, datetime
from typing import Any

import psycopg
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory.data.delivery_queue import parse_body
from inventory.errors import InventoryError
from inventory.failures import describe_failure
from inventory.observability import logger, metrics
from inventory.services.notification_sending import send_deliveries

# A batch that failed whole is reported as such, not raised: SQS retries the same messages
# either way, and an invocation error would only add a stack trace to the log.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# A message is not started with less left than its worst case (the claim, the seal and the
# digest read, the record: 12 s each at most, DB_DEADLINE_SECONDS; a webhook's 15 s): it fails
# and comes back, instead of being cut off between a receiver's answer and the record.
MIN_REMAINING_MS = 65_000


class OutOfTimeError(Exception):
    """Too little of the invocation is left to start this message."""


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    # Powertools passes the invocation's context to a parameter of this name.
    remaining = lambda_context.get_remaining_time_in_millis() if lambda_context else None
    if remaining is not None and remaining < MIN_REMAINING_MS:
        raise OutOfTimeError("too little time left in this invocation")
    try:
        report = send_deliveries(parse_body(record.body), datetime.now(UTC))
    except Exception as error:
        # Retried by SQS after the visibility timeout, then dead-lettered; the rows stay due.
        extra = {"message_id": record.message_id, "reason": describe_failure(error)}
        if isinstance(error, InventoryError | psycopg.Error | ValueError):
            logger.warning("Delivery message not handled", extra=extra)
        else:  # not a fault we know: its stack trace is what will explain it
            logger.exception("Delivery message not handled", extra=extra)
        raise
    logger.info(
        "Delivery message handled",
        extra={
            "message_id": record.message_id,
            "sent": report.sent,
            "failed": report.failed,
            "dead": report.dead,
            "postponed": report.postponed,
            "skipped": report.skipped,
        },
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
