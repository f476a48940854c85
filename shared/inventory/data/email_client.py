"""E-mail delivery (SPEC §10): one MIME message per delivery, sent raw through SES v2.

The message is multipart/alternative (a text part, then an HTML part, both UTF-8,
quoted-printable) with Subject,
From, To, Date, a Message-ID made from the delivery id, `X-Inventory-Delivery-Id` (SES may
replace the Message-ID with its own; this header survives) and `Auto-Submitted:
auto-generated` (RFC 3834: auto-responders do not answer it). `build_email` returns the bytes,
which the local runtime writes to `.eml` files instead of sending.

How an SES answer becomes an Attempt:

* RETRY: throttling and the sending quota (TooManyRequests, LimitExceeded), SES's 5xx,
  timeouts and connection failures, and the account's or the configuration's states that an
  operator fixes without the message changing: AccountSuspended, SendingPaused,
  MailFromDomainNotVerified, an identity not verified yet (MessageRejected "... not
  verified": the sender, or in the sandbox a recipient, verified after the deploy), a missing
  configuration set, a missing permission, and any code not named here. The 24 h retry window
  bounds their cost, and the deliveries list shows why.
* REFUSED: SES's verdict on this message itself, which resending the same bytes cannot change:
  any other MessageRejected (content SES will not send) and BadRequest (an address or message
  SES cannot take). The error says which, in SES's words.
"""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import cache
from typing import TYPE_CHECKING
from uuid import UUID

from inventory.data.aws_clients import fail_fast_config
from inventory.rules.delivery_types import Attempt, AttemptResult

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_sesv2.client import SESV2Client

DELIVERY_ID_HEADER = "X-Inventory-Delivery-Id"
# A send is one small request: a dead endpoint must fail within seconds, and a throttled call
# is retried once by botocore (standard mode backs off) before the delivery's own schedule.
_CONNECT_TIMEOUT_SECONDS = 2
_READ_TIMEOUT_SECONDS = 5
_TOTAL_ATTEMPTS = 2

_REFUSED_CODES = frozenset({"MessageRejected", "BadRequestException"})
# How SES says an identity is not verified ("Email address is not verified. The following
# identities failed the check…"), and how moto says it.
_UNVERIFIED_PHRASES = ("not verified", "did not have authority to send")
_SANDBOX_HINT = (
    " (in the SES sandbox the sender and every recipient must be verified identities;"
    " verify the address or request production access)"
)


def build_email(
    *,
    delivery_id: UUID,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    now: datetime,
) -> bytes:
    """The message as sent (CRLF line ends): `sender` may carry a display name
    (`Inventory <alerts@example.com>`); `now` is its Date."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = " ".join(subject.split())  # no line breaks: one header line's text
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{delivery_id}@{_domain_of(sender)}>"
    message[DELIVERY_ID_HEADER] = str(delivery_id)
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable: the message is 7-bit ASCII end to end, yet still readable as an .eml.
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message.as_bytes()


def send_email(
    raw: bytes, *, sender: str, recipient: str, client: SESV2Client | None = None
) -> Attempt:
    """Send a message `build_email` made, to `recipient` only (the envelope is not read from
    the headers)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = (client or sesv2_client()).send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": [recipient]},
            Content={"Raw": {"Data": raw}},
        )
    except ClientError as error:
        return _client_error_attempt(error)
    # Timeouts and refused connections; ValueError: boto3 rejects a malformed
    # AWS_ENDPOINT_URL_SESV2 when the client is built.
    except (BotoCoreError, ValueError) as error:
        return Attempt(AttemptResult.RETRY, f"SES unreachable: {error}")
    return Attempt(AttemptResult.DELIVERED, extra={"message_id": answer.get("MessageId")})


def create_sesv2_client() -> SESV2Client:
    """An SES v2 client that fails fast; boto3 reads AWS_ENDPOINT_URL_SESV2 (or
    AWS_ENDPOINT_URL) itself."""
    # Imported here: boto3 is a large part of a cold start and only senders need it.
    import boto3

    config = fail_fast_config(
        connect_seconds=_CONNECT_TIMEOUT_SECONDS,
        read_seconds=_READ_TIMEOUT_SECONDS,
        attempts=_TOTAL_ATTEMPTS,
    )
    return boto3.client("sesv2", config=config)


@cache
def sesv2_client() -> SESV2Client:
    """The container's client, made on first use (tests clear the cache)."""
    return create_sesv2_client()


def _client_error_attempt(error: ClientError) -> Attempt:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = str(details.get("Message", "")).strip()
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    said = f"SES {code}: {message}" if message else f"SES {code}"
    if code == "MessageRejected" and any(p in message.lower() for p in _UNVERIFIED_PHRASES):
        return Attempt(AttemptResult.RETRY, f"{said}{_SANDBOX_HINT}", status_code=status)
    if code in _REFUSED_CODES:
        return Attempt(AttemptResult.REFUSED, said, status_code=status)
    return Attempt(AttemptResult.RETRY, said, status_code=status)


def _domain_of(sender: str) -> str:
    """The domain of the From address (the Message-ID's right side)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    addresses: tuple[Address, ...] = message["From"].addresses
    domain = addresses[0].domain if addresses else ""
    return domain or "inventory-automation.invalid"
