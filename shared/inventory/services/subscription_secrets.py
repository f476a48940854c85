"""Webhook signing secrets (SPEC §10): made here, shown once, stored only encrypted.

A webhook is signed with HMAC-SHA256 under its secret (Standard Webhooks), so the secret must
be recoverable: it is encrypted, not hashed. AES-256-GCM (`cryptography`), with a key derived
by HKDF-SHA256 from SUBSCRIPTION_SECRET_KEY (or its Secrets Manager secret, in AWS) and the
subscription's id as associated data: a ciphertext copied to another row does not decrypt, and
one changed by a byte fails its tag. Stored as one `bytea`: a version byte, the 12-byte random
nonce, the ciphertext and its 16-byte tag. The version byte leaves room for a key rotation
(a second key, tried by version). Nothing here logs a secret or puts one in an exception.
"""

from __future__ import annotations

import base64
import os
import secrets
from functools import cache
from typing import TYPE_CHECKING
from uuid import UUID

from inventory import secrets as configured
from inventory.errors import ConfigurationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "whsec_"  # Standard Webhooks: the base64 of the key bytes after this prefix
SECRET_BYTES = 32
_VERSION = b"\x01"
_NONCE_BYTES = 12
_INFO = b"inventory-automation subscription webhook secrets v1"


def new_secret() -> str:
    """A fresh signing secret, `whsec_` and the base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@cache
def _cipher(key_text: str) -> AESGCM:
    # Imported here: only the functions that seal or open secrets pay for `cryptography`.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        key_text.encode()
    )
    return AESGCM(key)


def encrypt(subscription_id: UUID, secret: str) -> bytes:
    """What is stored for `secret` in the row of `subscription_id`."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(configured.subscription_secret_key()).encrypt(
        nonce, secret.encode(), subscription_id.bytes
    )
    return _VERSION + nonce + sealed


def decrypt(subscription_id: UUID, stored: bytes) -> str:
    """The secret `encrypt` sealed for this row; ConfigurationError when it does not open
    (another key, another row's ciphertext, a damaged value), without saying more."""
    if stored[:1] != _VERSION:
        raise ConfigurationError("A stored webhook secret has an unknown format.")
    from cryptography.exceptions import InvalidTag

    nonce, sealed = stored[1 : 1 + _NONCE_BYTES], stored[1 + _NONCE_BYTES :]
    try:
        plain = _cipher(configured.subscription_secret_key()).decrypt(
            nonce, sealed, subscription_id.bytes
        )
    except InvalidTag:
        raise ConfigurationError(
            "A stored webhook secret does not decrypt under SUBSCRIPTION_SECRET_KEY."
        ) from None
    return plain.decode()
