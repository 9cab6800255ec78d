"""The bot's SQLite file (`DEPECHE_DATABASE_PATH`), shared by the stores that keep state in it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path | str, schema: str) -> sqlite3.Connection:
    """Open the database (making its folder), usable from worker threads, with `schema`'s tables
    created if missing. Raises sqlite3.Error or OSError when it cannot be used."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False)
    with db:
        db.executescript(schema)
    return db
