"""Where `make run` and the other local tools keep their state between runs.

`.local/` at the repository root (ignored by git): PostgreSQL's data, the cooldown table's
journal, the cron token, the local issuer's key, the function logs. INVENTORY_LOCAL_DIR names
another folder, so a test (or a second checkout's run) never touches a developer's `.local/`.
Read on every call, never at import, so a caller may set it first.
"""

from __future__ import annotations

import os
from pathlib import Path

from devtools.template import ROOT

LOCAL_DIR_VARIABLE = "INVENTORY_LOCAL_DIR"


def local_dir() -> Path:
    """The state folder: INVENTORY_LOCAL_DIR, or `.local/` in the checkout."""
    return Path(os.environ.get(LOCAL_DIR_VARIABLE) or ROOT / ".local")


def shown(path: Path) -> str:
    """`path` as printed for the developer: relative to the checkout when inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)
