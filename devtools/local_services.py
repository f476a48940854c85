"""The services a local run needs: embedded PostgreSQL, moto's DynamoDB server, their tables.

`make run` starts them and writes a state file; `make invoke` attaches to a running `make run`
through that file, or starts its own for one invocation and stops them again. DATABASE_URL and
AWS_ENDPOINT_URL_DYNAMODB in the caller's environment point both at real services instead.

Both keep their state in the local folder (`devtools.local_state`: `.local/`, or
INVENTORY_LOCAL_DIR): PostgreSQL in `pgdata/`, moto's tables in `dynamodb/` (a journal,
`devtools.dynamodb_journal`), so the cooldowns outlive a restart as the notifications do, and
the write routes' idempotency records as the sales do.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devtools.local_state import local_dir, shown
from devtools.template import Template, local_resource_values


def pgdata_dir() -> Path:
    return local_dir() / "pgdata"


def dynamodb_dir() -> Path:
    """moto's tables between runs (the journal of devtools.dynamodb_journal)."""
    return local_dir() / "dynamodb"


def state_file() -> Path:
    return local_dir() / "runtime.json"


def cron_token_file() -> Path:
    return local_dir() / "cron_token"


def postgres_users_dir() -> Path:
    """One empty file per process using the server."""
    return local_dir() / "pgdata.users"


# Variables the caller's environment may set to override what the local runtime provides.
CONNECTION_VARIABLES = (
    "DATABASE_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "COOLDOWN_TABLE_NAME",
    "IDEMPOTENCY_TABLE_NAME",
    "CRON_SECRET",
)
# moto accepts any credentials; boto3 only needs some to sign with.
_MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
LOCAL_REARM_MINUTES = "0"


def subscription_key_file() -> Path:
    return local_dir() / "subscription_secret_key"


def subscription_secret_key() -> str:
    """The local key text that seals webhook secrets: generated on first use, kept in .local/
    (losing it makes the stored webhook secrets unreadable, as in AWS)."""
    path = subscription_key_file()
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def cron_token() -> str:
    """The local cron secret: generated on first use, kept in .local/ between runs."""
    path = cron_token_file()
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class LocalServices:
    """Where the functions find their dependencies, and what to stop at the end."""

    database_url: str
    dynamodb_endpoint: str
    cron_secret: str
    resources: dict[str, str]  # template logical id -> local value (a table's name)
    local_postgres: Any = None  # the .local/pgdata server we use (started or reused)
    started_moto: Any = None  # the JournaledMotoServer we started
    # moto serves SQS, SNS and SES too (ours, or the `make run` this attached to).
    local_aws: bool = False
    notes: list[str] = field(default_factory=list)
    demo_loaded: bool = False  # the demo bar went into an empty database on this start

    def environment(self, template: Template) -> dict[str, str]:
        """Variables every function gets locally, on top of its template environment."""
        variables = {
            "DATABASE_URL": self.database_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "CRON_SECRET": self.cron_secret,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        }
        if self.started_moto is not None or not os.environ.get("AWS_ACCESS_KEY_ID"):
            variables.update(_MOTO_CREDENTIALS)
        # Locally an episode resolves on the first run that finds it clear, so that the demo
        # shows one end (AWS: 30 minutes); NOTIFICATION_REARM_MINUTES=30 make run as in AWS.
        variables["NOTIFICATION_REARM_MINUTES"] = os.environ.get(
            "NOTIFICATION_REARM_MINUTES", LOCAL_REARM_MINUTES
        )
        # Webhook secrets sealed under a local key; the local receiver is on 127.0.0.1, so
        # private targets are allowed (SPEC §10). Either may be set by the caller instead.
        variables["SUBSCRIPTION_SECRET_KEY"] = (
            os.environ.get("SUBSCRIPTION_SECRET_KEY") or subscription_secret_key()
        )
        variables["ALLOW_PRIVATE_WEBHOOK_TARGETS"] = os.environ.get(
            "ALLOW_PRIVATE_WEBHOOK_TARGETS", "true"
        )
        if self.local_aws:
            from devtools.local_delivery import sender

            # Delivery's queue, topic and SES are moto's too, and so is the stock event bus
            # (boto3 names EventBridge's variable after its service id); links point at the
            # local API.
            for service in ("SQS", "SNS", "SESV2", "EVENTBRIDGE"):
                variables[f"AWS_ENDPOINT_URL_{service}"] = self.dynamodb_endpoint
            variables["NOTIFICATION_SENDER_EMAIL"] = sender()
            variables["PUBLIC_API_URL"] = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"
        # The caller's own settings win, as env.json does for `sam local invoke`.
        variables.update({k: os.environ[k] for k in CONNECTION_VARIABLES if os.environ.get(k)})
        return variables

    def write_state(self) -> None:
        local_dir().mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "database_url": self.database_url,
            "dynamodb_endpoint": self.dynamodb_endpoint,
            "resources": self.resources,
            "local_aws": self.local_aws,
        }
        state_file().write_text(json.dumps(state, indent=2) + "\n")

    def stop(self) -> None:
        """Stop what we started (never a service the caller pointed us at); PostgreSQL even
        when something before it fails."""
        try:
            if state_file().exists() and _state_pid() == os.getpid():
                state_file().unlink()
            if self.started_moto is not None:
                moto, self.started_moto = self.started_moto, None
                moto.stop()
        finally:
            if self.local_postgres is not None:
                postgres, self.local_postgres = self.local_postgres, None
                # `make run`, `make invoke` and other tools share .local/pgdata: the last one
                # out stops the server, so none stops it under another.
                if not _release_postgres():
                    postgres.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _claim_postgres() -> None:
    """Record that this process uses the .local/pgdata server."""
    postgres_users_dir().mkdir(parents=True, exist_ok=True)
    (postgres_users_dir() / str(os.getpid())).touch()


def _release_postgres() -> bool:
    """Drop our record; whether another live process still uses the server."""
    (postgres_users_dir() / str(os.getpid())).unlink(missing_ok=True)
    others = False
    for entry in postgres_users_dir().glob("*"):
        if entry.name.isdigit() and _alive(int(entry.name)):
            others = True
        else:
            entry.unlink(missing_ok=True)  # a process that died without cleaning up
    return others


def _state_pid() -> int | None:
    try:
        return int(json.loads(state_file().read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_state() -> dict[str, Any] | None:
    """The state of a `make run` that is up (its process alive, its services answering)."""
    pid = _state_pid()
    if pid is None:
        return None
    if not _alive(pid):
        return None
    state: dict[str, Any] = json.loads(state_file().read_text())
    if _reachable(state["database_url"]) and _reachable(state["dynamodb_endpoint"]):
        return state
    return None


def create_tables(template: Template, endpoint: str) -> list[str]:
    """Create every DynamoDB table of the template (key schema and TTL from its properties)."""
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
    )
    existing = set(client.list_tables().get("TableNames", []))
    created = []
    for table in template.tables.values():
        if table.local_name in existing:
            continue
        client.create_table(TableName=table.local_name, **dict(table.create_arguments))
        if table.ttl_attribute:
            client.update_time_to_live(
                TableName=table.local_name,
                TimeToLiveSpecification={"AttributeName": table.ttl_attribute, "Enabled": True},
            )
        created.append(table.local_name)
    return created


def prepare_database(database_url: str) -> tuple[list[str], bool]:
    """Apply pending migrations, load the demo bar when the catalogue is empty."""
    import psycopg

    from devtools.demo_data import load_demo
    from devtools.migrate import apply_migrations

    applied = apply_migrations(database_url)
    with psycopg.connect(database_url, autocommit=True) as connection:
        loaded = load_demo(connection)
    return applied, loaded


def start_services(
    template: Template, *, attach: bool = True, provision_external: bool = True
) -> LocalServices:
    """Reuse a running `make run`, or start PostgreSQL and moto; then tables, schema, data.

    Services we start are always provisioned (tables, migrations, the demo bar when empty).
    Services named by the caller's environment only when `provision_external` (`make run`
    does, as documented; `make invoke`, like `sam local invoke`, leaves them as they are).
    """
    state = running_state() if attach else None
    env: Mapping[str, str] = os.environ
    if state is not None and not env.get("DATABASE_URL"):
        return LocalServices(
            database_url=state["database_url"],
            dynamodb_endpoint=state["dynamodb_endpoint"],
            cron_secret=env.get("CRON_SECRET") or cron_token(),
            resources=dict(state["resources"]),
            local_aws=bool(state.get("local_aws")),
            notes=[f"attached to the local runtime of process {state['pid']}"],
        )
    services = LocalServices(
        database_url=env.get("DATABASE_URL", ""),
        dynamodb_endpoint=env.get("AWS_ENDPOINT_URL_DYNAMODB", ""),
        cron_secret=env.get("CRON_SECRET") or cron_token(),
        resources=local_resource_values(template),
    )
    try:
        if not services.database_url:
            from devtools.local_postgres import LocalPostgres

            postgres = LocalPostgres(pgdata_dir())
            _claim_postgres()
            services.local_postgres = postgres
            services.database_url = postgres.start()
            services.notes.append(f"PostgreSQL (embedded) at {services.database_url}")
        else:
            services.notes.append("PostgreSQL from DATABASE_URL")
        if not services.dynamodb_endpoint:
            from devtools.dynamodb_journal import JournaledMotoServer

            # moto's werkzeug server logs every request; the functions' own logs matter more.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            moto = JournaledMotoServer(dynamodb_dir())
            restored = moto.start()
            services.started_moto = moto
            host, port = moto.get_host_and_port()
            services.dynamodb_endpoint = f"http://{host}:{port}"
            services.notes.append(f"DynamoDB (moto) at {services.dynamodb_endpoint}")
            services.notes.append(restored.note(shown(moto.journal.path)))
        else:
            services.notes.append(f"DynamoDB at {services.dynamodb_endpoint}")
        if services.started_moto is not None or provision_external:
            with applied_environment(services.environment(template)):
                created = create_tables(template, services.dynamodb_endpoint)
            if created:
                services.notes.append(f"created table(s) {', '.join(created)} from template.yaml")
        if services.started_moto is not None:
            from devtools.local_delivery import create_queues_and_topics
            from devtools.local_events import create_event_buses

            made = create_queues_and_topics(template, services.dynamodb_endpoint)
            made.update(create_event_buses(template, services.dynamodb_endpoint))
            services.resources.update(made)
            services.local_aws = True
            if made:
                services.notes.append(f"queues, topics and buses {', '.join(made)} in moto")
        if not env.get("DATABASE_URL") or provision_external:
            applied, loaded = prepare_database(services.database_url)
            if applied:
                services.notes.append(f"applied {len(applied)} migration(s)")
            if loaded:
                services.notes.append("loaded the demo bar into the empty database")
                services.demo_loaded = True
    except BaseException:
        services.stop()
        raise
    return services


@contextmanager
def applied_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set variables for the duration of a block, then put the old values back."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
