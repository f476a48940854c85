"""Migration 0007 on a database that already holds notifications: the last day's first alert
of each key opens an episode with that day's rows of its key; older rows are closed as history,
without a resolution notice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from yoyo import get_backend, read_migrations
from yoyo.migrations import MigrationList

from devtools.migrate import MIGRATIONS_DIR, yoyo_url
from tests.support.services import with_database

BEFORE_EPISODES = "0007_notification_episodes"


def migrate(url: str, *, up_to: str | None = None) -> None:
    backend = get_backend(yoyo_url(url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        if up_to is not None:
            pending = MigrationList([m for m in pending if m.id < up_to])
        backend.apply_migrations(pending)


@pytest.fixture
def before_episodes(database_url: str, worker_id: str) -> Iterator[psycopg.Connection[Any]]:
    name = f"inventory_migration_{worker_id}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(database_url, name)
    migrate(url, up_to=BEFORE_EPISODES)
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def insert(db: psycopg.Connection[Any], reference: uuid.UUID, age: str) -> uuid.UUID:
    row = db.execute(
        "INSERT INTO notifications (type, priority, title, message, reference_type,"
        " reference_id, created_at, cooldown_from)"
        " VALUES ('package_unavailable', 'urgent', 't', 'm', 'package', %s,"
        " now() - %s::interval, now() - %s::interval) RETURNING id",
        (reference, age, age),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def test_the_last_day_s_alerts_open_episodes_and_older_ones_are_closed(
    before_episodes: psycopg.Connection[Any],
) -> None:
    db = before_episodes
    recent, old_only = uuid.UUID(int=1), uuid.UUID(int=2)
    months_ago = insert(db, recent, "90 days")
    this_morning = insert(db, recent, "10 hours")
    an_hour_ago = insert(db, recent, "1 hour")
    long_gone = insert(db, old_only, "40 days")

    migrate(_url(db))

    episodes = db.execute(
        "SELECT reference_id, first_notification_id, resolved_at FROM notification_episodes"
    ).fetchall()
    assert episodes == [(recent, this_morning, None)]
    state = {
        row[0]: (row[1], row[2])
        for row in db.execute(
            "SELECT id, resolved_at IS NOT NULL, episode_id IS NOT NULL FROM notifications"
        ).fetchall()
    }
    assert state == {
        months_ago: (True, False),
        this_morning: (False, True),
        an_hour_ago: (False, True),
        long_gone: (True, False),
    }
    # alert_resolved is a type the table takes now.
    db.execute(
        "INSERT INTO notifications (type, priority, title, message, reference_type, reference_id)"
        " VALUES ('alert_resolved', 'low', 't', 'm', 'package', %s)",
        (recent,),
    )


def _url(db: psycopg.Connection[Any]) -> str:
    info = db.info
    return f"postgresql://{info.user}:{info.password}@{info.host}:{info.port}/{info.dbname}"
