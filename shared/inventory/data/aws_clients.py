"""How every AWS client here is configured: short timeouts and bounded retries (standard mode),
so a dead endpoint fails a call within seconds, well inside any function's timeout. Each client
module names its own figures; boto3 reads its endpoint (AWS_ENDPOINT_URL_<SERVICE>) itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.config import Config


def fail_fast_config(
    *, connect_seconds: float, read_seconds: float, attempts: int, pool: int = 10
) -> Config:
    """`pool`: connections kept per client (botocore's default, 10, unless a caller runs more
    requests at once)."""
    # Imported here: boto3 is a large part of a cold start and only AWS callers need it.
    from botocore.config import Config

    return Config(
        connect_timeout=connect_seconds,
        read_timeout=read_seconds,
        retries={"total_max_attempts": attempts, "mode": "standard"},
        max_pool_connections=pool,
    )
