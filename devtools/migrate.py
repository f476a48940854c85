"""Apply the SQL migrations in migrations/ with yoyo, which records each one in the database.

Usage: python -m devtools.migrate [DATABASE_URL]   (defaults to $DATABASE_URL)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def yoyo_url(database_url: str) -> str:
    """yoyo picks its driver from the scheme: postgresql+psycopg selects psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def apply_migrations(database_url: str) -> list[str]:
    """Apply what is pending and return the ids applied (empty when up to date)."""
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    # The lock makes concurrent runs (parallel deploys, test workers) safe.
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [migration.id for migration in pending]


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else os.environ.get("DATABASE_URL", "")
    if not url:
        print("DATABASE_URL is not set; pass it or export it.", file=sys.stderr)
        return 2
    applied = apply_migrations(url)
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none, up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
