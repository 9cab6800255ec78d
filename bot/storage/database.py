"""The bot's SQLite file (`DEPECHE_DATABASE_PATH`), shared by the stores that keep state in it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# How long a write waits for another writer (another process on the same file) before failing;
# the callers log the failure and answer anyway, so a member never waits longer than this.
BUSY_TIMEOUT_SECONDS = 2.0


def connect(path: Path | str, schema: str) -> sqlite3.Connection:
    """Open the database (making its folder), usable from worker threads, with `schema`'s tables
    created if missing. Raises sqlite3.Error or OSError when it cannot be used.

    Write-ahead logging: a reader (an operator's `sqlite3` shell, a backup, `run_bot.py
    feedback`) never blocks the bot's writes, and the bot's writes never block readers."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_SECONDS)
    if str(path) != ":memory:":
        db.execute("PRAGMA journal_mode=WAL")
    with db:
        db.executescript(schema)
    return db
