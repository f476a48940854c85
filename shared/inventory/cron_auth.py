"""Who may trigger the monitor over HTTP: the holder of CRON_SECRET, and nobody otherwise.

The token comes as `Authorization: Bearer <token>` or `?token=<token>`; both are compared
in constant time. Without a configured secret every request is refused (fail closed). The
token is never logged, not even when it is wrong.
"""

from __future__ import annotations

import hmac

from inventory.errors import DependencyUnavailableError, InventoryError, UnauthorizedError
from inventory.observability import logger
from inventory.secrets import cron_secret

_REFUSED = "A valid cron token is required (Authorization: Bearer <token> or ?token=)."


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def token_matches(presented: str | None, secret: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII str, and a header may carry any text. Compared
    # even when nothing was presented, so every request costs the same comparison.
    same = hmac.compare_digest((presented or "").encode("utf-8"), secret.encode("utf-8"))
    return same and bool(presented)


def authorize(authorization: str | None, query_token: str | None) -> None:
    """Raise UnauthorizedError unless the header or the query carries the cron secret."""
    try:
        secret = cron_secret()
    except InventoryError:
        raise
    except Exception as error:
        logger.warning("Cron secret unavailable", extra={"reason": type(error).__name__})
        raise DependencyUnavailableError("The cron secret could not be read.") from error
    if not secret:
        logger.error("Cron endpoint refused: no CRON_SECRET or CRON_SECRET_ARN is configured")
        raise UnauthorizedError(_REFUSED)
    # Both candidates are always compared, so timing does not tell which one was sent.
    by_header = token_matches(bearer_token(authorization), secret)
    by_query = token_matches(query_token, secret)
    if not (by_header or by_query):
        logger.warning(
            "Cron endpoint refused: missing or wrong token",
            extra={"had_header": authorization is not None, "had_query": query_token is not None},
        )
        raise UnauthorizedError(_REFUSED)
