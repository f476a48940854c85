"""Settings read from the environment once per container and validated up front."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import cache

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inventory.errors import ConfigurationError


class Settings(BaseSettings):
    """Every tunable of the service. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    package_low_stock_threshold: Decimal = Field(default=Decimal("0.2"), gt=0, le=1)
    stockout_prediction_days: Decimal = Field(default=Decimal("7"), gt=0)
    stockout_lookback_days: int = Field(default=28, ge=1, le=365)
    bottleneck_min_packages: int = Field(default=2, ge=1)
    notification_cooldown_hours: Decimal = Field(default=Decimal("24"), ge=0)
    availability_cache_ttl_seconds: int = Field(default=300, ge=0)
    # How long an episode's condition stays clear before the episode resolves (SPEC §9).
    notification_rearm_minutes: int = Field(default=30, ge=0, le=10_080)
    # How long a cooldown claim holds before its notification is committed: longer than any
    # run lives (the monitor's 28 s timeout) plus a statement the server may still finish
    # after its client died (DB_STATEMENT_TIMEOUT_MS), so a lease never ends under a live run.
    monitor_claim_lease_seconds: int = Field(default=60, ge=1, le=3600)

    database_url: SecretStr | None = None
    database_secret_arn: str | None = None
    db_connect_timeout_seconds: int = Field(default=5, ge=1, le=60)
    db_statement_timeout_ms: int = Field(default=10_000, ge=100)
    # The longest any database use may wait, connect and a retry included, set below the
    # function's timeout so that a database that stops answering is a 503, not a timeout.
    db_deadline_seconds: float = Field(default=12, ge=1, le=900)
    # RDS Proxy pins sessions that use prepared statements; it is set to true behind a proxy.
    db_disable_prepared_statements: bool = False

    cooldown_table_name: str = "inventory-notification-cooldowns"
    # Sales and stock movements (SPEC §11): Powertools' idempotency records, and whether a
    # sale the stock cannot cover is recorded anyway (a request's allow_oversell decides first).
    idempotency_table_name: str = "inventory-idempotency"
    allow_oversell: bool = False
    cron_secret: SecretStr | None = None
    cron_secret_arn: str | None = None
    # The key that encrypts webhook secrets at rest (SPEC §10): a random text of at least 32
    # characters, or the Secrets Manager secret holding it (services/subscription_secrets.py).
    subscription_secret_key: SecretStr | None = None
    subscription_secret_key_arn: str | None = None
    # Subscription targets resolving to private, loopback or link-local addresses are refused
    # unless this is true (`make run` sets it for its local receiver).
    allow_private_webhook_targets: bool = False

    # Delivery (SPEC §10). The queue between the writers and the delivery function (none: the
    # deliveries wait in PostgreSQL), the SNS topic of all notifications (none: not published),
    # the e-mail sender (none: e-mail deliveries fail, saying so), the API's base URL for links.
    delivery_queue_url: str | None = None
    notification_topic_arn: str | None = None
    notification_sender_email: str | None = None
    public_api_url: str | None = None
    # More immediate messages than this owed to one subscriber by one statement: one digest.
    delivery_storm_threshold: int = Field(default=20, ge=1, le=100_000)
    webhook_timeout_seconds: float = Field(default=15, gt=0, le=60)

    # stock.changed events (issue 18): the EventBridge bus they are published to. None: nothing
    # is published and the events stay owed in `stock_events` (tools, tests); a bus set later
    # gets them from the monitor's sweep.
    stock_event_bus_name: str | None = None

    @property
    def cooldown_window(self) -> timedelta | None:
        """NOTIFICATION_COOLDOWN_HOURS as a duration; None when 0 turns the cooldown off."""
        hours = self.notification_cooldown_hours
        return timedelta(seconds=float(hours * 3600)) if hours else None

    @property
    def rearm_window(self) -> timedelta:
        """NOTIFICATION_REARM_MINUTES as a duration."""
        return timedelta(minutes=self.notification_rearm_minutes)

    @model_validator(mode="after")
    def _statements_end_before_the_deadline(self) -> Settings:
        # A slow but live server then cancels its statement cleanly (the connection is kept)
        # before the deadline cuts the connection.
        if self.db_statement_timeout_ms >= self.db_deadline_seconds * 1000:
            raise ValueError(
                f"DB_STATEMENT_TIMEOUT_MS ({self.db_statement_timeout_ms}) must be below "
                f"DB_DEADLINE_SECONDS ({self.db_deadline_seconds:g} s)"
            )
        return self


_SECRET_FIELDS = frozenset({"database_url", "cron_secret", "subscription_secret_key"})


def _invalid_settings(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(loc) for loc in item["loc"])
        if not field:
            # A rule across fields names them itself; its input is every setting, secrets too.
            parts.append(item["msg"].removeprefix("Value error, "))
            continue
        # Never echo a secret's value back, even a malformed one.
        shown = "" if field in _SECRET_FIELDS else f" (got {item.get('input')!r})"
        parts.append(f"{field.upper()}: {item['msg']}{shown}")
    return "; ".join(parts)


@cache
def get_settings() -> Settings:
    """The validated settings; a bad value raises ConfigurationError naming the variable."""
    try:
        return Settings()
    except ValidationError as error:
        # Not chained: the validation error quotes its inputs, and a rule across fields gets
        # every setting as its input, secrets included.
        raise ConfigurationError(f"Invalid configuration: {_invalid_settings(error)}") from None
