"""Connection strings and tokens: from the environment locally, from Secrets Manager in AWS.

Powertools Parameters caches each secret for a few minutes, so a rotated secret is picked up
without a redeploy and a warm invocation makes no Secrets Manager call.
"""

from __future__ import annotations

import json

from inventory.config import get_settings
from inventory.errors import ConfigurationError, DependencyUnavailableError

_SECRET_MAX_AGE_SECONDS = 300


def _secret_string(arn: str) -> str:
    # Imported here: boto3 costs cold-start time and only deployments with secrets need it.
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value = parameters.get_secret(arn, max_age=_SECRET_MAX_AGE_SECONDS)
    except GetParameterError as error:
        # Unreachable endpoint, throttling or a missing permission: a dependency fault (503),
        # reported without the ARN or the provider's message.
        raise DependencyUnavailableError("Secrets Manager did not return a secret.") from error
    return value if isinstance(value, str) else value.decode()


def database_url() -> str:
    """The PostgreSQL URL: DATABASE_URL, or the secret named by DATABASE_SECRET_ARN.

    The secret may hold the URL itself or the RDS JSON shape (host, port, username, ...).
    """
    settings = get_settings()
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    if settings.database_secret_arn:
        raw = _secret_string(settings.database_secret_arn)
        if raw.lstrip().startswith("{"):
            from psycopg.conninfo import make_conninfo

            try:
                fields = json.loads(raw)
                return make_conninfo(
                    host=fields["host"],
                    port=str(fields.get("port", 5432)),
                    user=fields["username"],
                    password=fields["password"],
                    dbname=fields.get("dbname", "postgres"),
                    sslmode=fields.get("sslmode", "require"),
                )
            except (ValueError, KeyError, TypeError) as error:
                raise ConfigurationError(
                    "The database secret is neither a URL nor RDS JSON with host, username"
                    " and password."
                ) from error
        return raw
    raise ConfigurationError("DATABASE_URL or DATABASE_SECRET_ARN must be set.")


def cron_secret() -> str | None:
    """The token the cron endpoint expects, or None when none is configured (fail closed)."""
    settings = get_settings()
    if settings.cron_secret is not None:
        return settings.cron_secret.get_secret_value() or None
    if settings.cron_secret_arn:
        return _secret_string(settings.cron_secret_arn) or None
    return None


def subscription_secret_key() -> str:
    """The text webhook secrets are encrypted under: SUBSCRIPTION_SECRET_KEY, or the secret
    SUBSCRIPTION_SECRET_KEY_ARN names. ConfigurationError when neither is set (a 500: a
    webhook secret is never stored unencrypted)."""
    settings = get_settings()
    if settings.subscription_secret_key is not None:
        key = settings.subscription_secret_key.get_secret_value()
    elif settings.subscription_secret_key_arn:
        key = _secret_string(settings.subscription_secret_key_arn)
    else:
        raise ConfigurationError(
            "SUBSCRIPTION_SECRET_KEY or SUBSCRIPTION_SECRET_KEY_ARN must be set."
        )
    if len(key) < 32:
        raise ConfigurationError("The subscription secret key must be at least 32 characters.")
    return key
