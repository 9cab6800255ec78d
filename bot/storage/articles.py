"""Article files kept in the database, so that every process on every machine serves the same
corpus without a shared disk (PostgreSQL); and the processes that serve it, with their version.

Each change bumps the corpus revision in the same transaction and, on PostgreSQL, notifies the
`depeche_corpus` channel: listeners reload at once, and a process that missed a notification
sees the revision moved at its next check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.storage.database import POSTGRESQL, Database, Migration, Transaction, database_of

log = logging.getLogger(__name__)

CHANNEL = "depeche_corpus"
RECONNECT_SECONDS = 2.0

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE IF NOT EXISTS articles (
        name TEXT PRIMARY KEY,  -- the file name in corpus/
        content TEXT NOT NULL,  -- the Markdown file, front matter included
        checksum TEXT NOT NULL,  -- SHA-256 of its UTF-8 bytes
        state TEXT NOT NULL,  -- served or removed
        changed_by TEXT,
        changed_at TEXT NOT NULL,
        revision INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS corpus_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS processes (
        name TEXT PRIMARY KEY,  -- host:pid
        shards TEXT NOT NULL,
        corpus_version TEXT NOT NULL,
        revision INTEGER NOT NULL,
        seen_at TEXT NOT NULL
    )
    """,
    "INSERT INTO corpus_revision (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
]


def checksum_of(content: str) -> str:
    """The SHA-256 of an article file's text, as the corpus loader computes it from its bytes."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ServingProcess:
    """A process serving the corpus, as it last said."""

    name: str
    shards: str
    corpus_version: str
    revision: int
    seen_at: dt.datetime


class ArticleStore:
    """The corpus in the database: put and remove files, read what is served, and its revision."""

    def __init__(self, database: Database | Path | str) -> None:
        self._db = database_of(database)
        self._owned = not isinstance(database, Database)
        self._db.migrate("articles", MIGRATIONS)

    def close(self) -> None:
        """Close the database (when this store opened it)."""
        if self._owned:
            self._db.close()

    def _bump(self, tx: Transaction) -> int:
        ((revision,),) = tx.execute(
            "UPDATE corpus_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision"
        )
        if self._db.dialect is POSTGRESQL:  # delivered to the listeners when the transaction commits
            tx.execute("SELECT pg_notify(?, ?)", (CHANNEL, str(revision)))
        return int(revision)

    def apply(self, put: dict[str, str], removed: list[str], by: str | None) -> int:
        """Store these files (name -> text) and mark these names removed, in one transaction;
        the new revision (unchanged when there was nothing to do)."""
        if not put and not removed:
            return self.revision()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._db.transaction() as tx:
            revision = self._bump(tx)
            for name, content in put.items():
                tx.execute(
                    "INSERT INTO articles (name, content, checksum, state, changed_by, changed_at, revision) "
                    "VALUES (?, ?, ?, 'served', ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                    "content = excluded.content, checksum = excluded.checksum, state = 'served', "
                    "changed_by = excluded.changed_by, changed_at = excluded.changed_at, "
                    "revision = excluded.revision",
                    (name, content, checksum_of(content), by, now, revision),
                )
            for name in removed:
                tx.execute(
                    "UPDATE articles SET state = 'removed', changed_by = ?, changed_at = ?, revision = ? "
                    "WHERE name = ? AND state = 'served'",
                    (by, now, revision, name),
                )
        return revision

    def revision(self) -> int:
        """The corpus revision: it moves with every change."""
        ((revision,),) = self._db.query("SELECT revision FROM corpus_revision WHERE id = 1")
        return int(revision)

    def served(self) -> tuple[int, dict[str, str]]:
        """The revision and the served files (name -> checksum), read together."""
        with self._db.transaction() as tx:
            ((revision,),) = tx.execute("SELECT revision FROM corpus_revision WHERE id = 1")
            rows = tx.execute("SELECT name, checksum FROM articles WHERE state = 'served'")
        return int(revision), dict(rows)

    def contents(self, names: list[str]) -> dict[str, str]:
        """The text of these served files."""
        found: dict[str, str] = {}
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                self._db.query(
                    f"SELECT name, content FROM articles WHERE state = 'served' AND name IN ({marks})", chunk
                )
            )
        return found

    def is_empty(self) -> bool:
        """True before any article was ever stored (the first start imports corpus/)."""
        return not self._db.query("SELECT 1 FROM articles LIMIT 1")

    def report(self, name: str, shards: str, corpus_version: str, revision: int) -> None:
        """Say which corpus this process serves (for `/corpus status`)."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO processes (name, shards, corpus_version, revision, seen_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET shards = excluded.shards, "
                "corpus_version = excluded.corpus_version, revision = excluded.revision, "
                "seen_at = excluded.seen_at",
                (name, shards, corpus_version, revision, now),
            )

    def processes(self, seen_within: dt.timedelta = dt.timedelta(minutes=3)) -> list[ServingProcess]:
        """The processes that reported lately, by name."""
        since = (dt.datetime.now(dt.UTC) - seen_within).isoformat(timespec="seconds")
        rows = self._db.query(
            "SELECT name, shards, corpus_version, revision, seen_at FROM processes "
            "WHERE seen_at >= ? ORDER BY name",
            (since,),
        )
        return [ServingProcess(n, s, v, int(r), dt.datetime.fromisoformat(at)) for n, s, v, r, at in rows]


def listen_for_changes(url: str, on_change: Callable[[], None], stop: threading.Event) -> None:
    """Call `on_change` whenever a process commits a corpus change (blocking: run it in a
    thread), and once after every reconnection (changes may have been missed meanwhile)."""
    import psycopg

    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                on_change()  # caught up with whatever happened while not listening
                while not stop.is_set():
                    for _ in connection.notifies(timeout=1.0, stop_after=1):
                        on_change()
        except psycopg.Error as exc:
            if stop.is_set():  # shutting down: the connection went with the server or the process
                return
            log.warning("corpus notifications lost (%s); reconnecting", type(exc).__name__)
            stop.wait(RECONNECT_SECONDS)
        except Exception:
            log.exception("corpus listener failed; restarting it")
            time.sleep(RECONNECT_SECONDS)
