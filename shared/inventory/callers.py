"""Who made a request: the claims API Gateway's JWT authorizer validated and put in the event.

The functions never see or check a token (API Gateway did, before invoking them); they read
`requestContext.authorizer.jwt.claims`, which only a request that passed the authorizer has.
Only identifiers are kept (`sub`, `client_id`), never the token or the other claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Caller:
    sub: str | None
    client_id: str | None

    @property
    def label(self) -> str:
        """One name for answers and log lines: the app client, else the subject."""
        return self.client_id or self.sub or "unknown"

    def log_fields(self) -> dict[str, str]:
        """The caller as log fields (`caller_sub`, `caller_client_id`)."""
        fields = {"caller_sub": self.sub, "caller_client_id": self.client_id}
        return {name: value for name, value in fields.items() if value}


def caller_of(event: Mapping[str, Any]) -> Caller:
    """The caller the authorizer vouched for; both None on a route without an authorizer."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    if not isinstance(claims, Mapping):
        return Caller(sub=None, client_id=None)
    return Caller(
        sub=_identifier(claims.get("sub")), client_id=_identifier(claims.get("client_id"))
    )


def _identifier(value: Any) -> str | None:
    # NUL never reaches an answer as text: it marks exact numbers (models/numbers.py).
    return value.replace("\x00", "\ufffd") if isinstance(value, str) and value else None
