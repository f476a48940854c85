"""Standard Webhooks signatures (SPEC §10): what the `webhook-*` headers of a delivery say.

Pure. A signature is `v1,` and the base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed
with the bytes a `whsec_…` secret encodes. While a rotated-out secret is still valid both sign,
and the header lists both, space-separated: a receiver holding either one verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

PREFIX = "whsec_"  # then the base64 of the key
VERSION = "v1"


def secret_key(secret_whsec: str) -> bytes:
    """The key bytes of a `whsec_…` secret (the prefix is optional, as the standard's
    libraries accept)."""
    encoded = secret_whsec.removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is whsec_ and base64") from error
    if not key:
        raise ValueError("a webhook secret holds at least one byte")
    return key


def sign(secret_whsec: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64>` for one secret."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret_whsec), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret, in the order given."""
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def webhook_headers(
    secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every header a webhook delivery carries: the message id (the delivery's, the same on
    each retry), this attempt's unix timestamp, the signatures, the body's type."""
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }
