"""The feeds the bot follows, what each poll found, the items already taken, and the
announcements posted for them — in the bot's SQLite database.

An item is recorded as seen only once its article is written (or it is refused for good), so a
process killed half-way through a poll takes the item up again at the next one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.storage.database import Database, Migration, database_of

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE IF NOT EXISTS feeds (
        id {d.serial},
        url TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        guild_id {d.id_type},
        channel_id {d.id_type},  -- where new articles are announced (a text or forum channel), if anywhere
        interval_minutes INTEGER NOT NULL,
        added_by TEXT,
        added_at TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_checked TEXT,
        last_success TEXT,  -- the last poll that read the feed (None: its first items are a backlog)
        last_new_item TEXT,
        articles INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_check TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS feed_items (
        feed_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        article_id TEXT,  -- None: seen but not brought in (the backlog of a new feed, a duplicate...)
        outcome TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (feed_id, key)
    );
    CREATE TABLE IF NOT EXISTS announcements (
        message_id {d.id_type} PRIMARY KEY,  -- the announcement message, or the forum post's thread
        channel_id {d.id_type} NOT NULL,
        article_id TEXT NOT NULL,
        posted_at TEXT NOT NULL
    )
    """
]


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Feed:
    """A followed feed and its polling state."""

    id: int
    url: str
    title: str
    guild_id: int | None
    channel_id: int | None
    interval_minutes: int
    added_by: str | None
    etag: str | None
    last_modified: str | None
    last_checked: dt.datetime | None
    last_success: dt.datetime | None
    last_new_item: dt.datetime | None
    articles: int
    error: str | None
    failures: int
    next_check: dt.datetime


_COLUMNS = (
    "id, url, title, guild_id, channel_id, interval_minutes, added_by, etag, last_modified, "
    "last_checked, last_success, last_new_item, articles, error, failures, next_check"
)


def _feed(row: tuple) -> Feed:
    values = list(row)
    for i in (9, 10, 11, 15):
        values[i] = _when(values[i])
    return Feed(*values)


class FeedStore:
    """Feeds and their items (one connection, serialised by a lock; call it from worker threads)."""

    def __init__(self, database: Database | Path | str) -> None:
        self._db = database_of(database)
        self._owned = not isinstance(database, Database)
        self._db.migrate("feeds", MIGRATIONS)
        # Read on the event loop for every message in a thread: kept in memory, written through.
        rows = self._db.query("SELECT message_id, article_id FROM announcements")
        self._announcements: dict[int, str] = {int(m): a for m, a in rows}

    def close(self) -> None:
        """Close the database (when this store opened it)."""
        if self._owned:
            self._db.close()

    def add(
        self,
        url: str,
        title: str,
        *,
        interval_minutes: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        added_by: str | None = None,
        now: dt.datetime | None = None,
    ) -> Feed:
        """Follow a feed (first poll due at once); raise `ValueError` if it is followed already."""
        now = now or dt.datetime.now(dt.UTC)
        with self._db.transaction() as tx:
            if tx.execute("SELECT 1 FROM feeds WHERE url = ?", (url,)):
                raise ValueError("this feed is followed already")
            ((feed_id,),) = tx.execute(
                "INSERT INTO feeds (url, title, guild_id, channel_id, interval_minutes, added_by, "
                "added_at, next_check) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (url, title, guild_id, channel_id, interval_minutes, added_by, _iso(now), _iso(now)),
            )
        found = self.get(int(feed_id))
        assert found is not None
        return found

    def remove(self, feed_id: int) -> bool:
        """Stop following a feed; False if it was not followed. Its articles stay in the corpus,
        and its items stay recorded (the retention still knows its articles)."""
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
            return bool(tx.rowcount)

    def get(self, feed_id: int) -> Feed | None:
        """One feed, or None when it is not (or no longer) followed."""
        rows = self._db.query(f"SELECT {_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
        return _feed(rows[0]) if rows else None

    def find(self, name: str) -> Feed | None:
        """A feed by id, URL or exact title."""
        name = name.strip()
        for feed in self.all():
            if name in (str(feed.id), feed.url, feed.title):
                return feed
        return None

    def all(self, guild_id: int | None = None) -> list[Feed]:
        """Every followed feed (or one server's), oldest first."""
        query = f"SELECT {_COLUMNS} FROM feeds"
        params: tuple = ()
        if guild_id is not None:
            query += " WHERE guild_id = ?"
            params = (guild_id,)
        return [_feed(r) for r in self._db.query(query + " ORDER BY id", params)]

    def due(self, now: dt.datetime) -> list[Feed]:
        """The feeds whose next check has come."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM feeds WHERE next_check <= ? ORDER BY next_check", (_iso(now),)
        )
        return [_feed(r) for r in rows]

    def next_due(self) -> dt.datetime | None:
        """When the earliest next check is (None without feeds)."""
        ((earliest,),) = self._db.query("SELECT MIN(next_check) FROM feeds")
        return _when(earliest)

    def checked(
        self,
        feed_id: int,
        *,
        now: dt.datetime,
        next_check: dt.datetime,
        etag: str | None,
        last_modified: str | None,
        title: str | None = None,
    ) -> None:
        """Record a successful poll (validators for the next conditional request; errors cleared)."""
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE feeds SET last_checked = ?, last_success = ?, next_check = ?, etag = ?, "
                "last_modified = ?, error = NULL, failures = 0, title = COALESCE(NULLIF(?, ''), title) "
                "WHERE id = ?",
                (_iso(now), _iso(now), _iso(next_check), etag, last_modified, title, feed_id),
            )

    def failed(self, feed_id: int, error: str, *, now: dt.datetime, next_check: dt.datetime) -> None:
        """Record a failed poll and when to retry."""
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE feeds SET last_checked = ?, next_check = ?, error = ?, failures = failures + 1 "
                "WHERE id = ?",
                (_iso(now), _iso(next_check), error[:500], feed_id),
            )

    def poll_now(self, feed_id: int, now: dt.datetime | None = None) -> None:
        """Make a feed due at once."""
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE feeds SET next_check = ? WHERE id = ?",
                (_iso(now or dt.datetime.now(dt.UTC)), feed_id),
            )

    def seen(self, feed_id: int, keys: list[str]) -> set[str]:
        """Which of `keys` this feed has already handled."""
        found: set[str] = set()
        with self._db.transaction() as tx:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = tx.execute(
                    f"SELECT key FROM feed_items WHERE feed_id = ? AND key IN ({marks})", (feed_id, *chunk)
                )
                found.update(r[0] for r in rows)
        return found

    def mark(
        self,
        feed_id: int,
        keys: list[str],
        outcome: str,
        *,
        article_id: str | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        """Record items as handled (`outcome`: "added", "duplicate", "backlog", "refused"...);
        an added article counts towards the feed's total and its last new item."""
        at = _iso(now or dt.datetime.now(dt.UTC))
        with self._db.transaction() as tx:
            if not tx.execute("SELECT 1 FROM feeds WHERE id = ?", (feed_id,)):
                return  # removed meanwhile: nothing to remember for it
            tx.executemany(
                "INSERT INTO feed_items (feed_id, key, article_id, outcome, seen_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (feed_id, key) DO NOTHING",
                [(feed_id, key, article_id, outcome, at) for key in keys],
            )
            if outcome == "added":
                tx.execute(
                    "UPDATE feeds SET articles = articles + 1, last_new_item = ? WHERE id = ?", (at, feed_id)
                )

    def brought_in(self) -> list[tuple[str, dt.datetime]]:
        """Every article feeds brought in and still served by them, with when it came."""
        rows = self._db.query(
            "SELECT article_id, MIN(seen_at) FROM feed_items WHERE outcome = 'added' GROUP BY article_id"
        )
        return [(article_id, dt.datetime.fromisoformat(at)) for article_id, at in rows]

    def expired(self, article_id: str) -> None:
        """Record that an article brought in by a feed left the corpus (retention)."""
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE feed_items SET outcome = 'expired' WHERE article_id = ? AND outcome = 'added'",
                (article_id,),
            )

    def article_ids(self, feed_id: int | None = None) -> list[str]:
        """The articles feeds brought in (one feed's, or all)."""
        query = "SELECT article_id FROM feed_items WHERE article_id IS NOT NULL"
        params: tuple = ()
        if feed_id is not None:
            query += " AND feed_id = ?"
            params = (feed_id,)
        return [r[0] for r in self._db.query(query, params)]

    def announced(self, message_id: int, channel_id: int, article_id: str) -> None:
        """Remember that `message_id` (a message, or a forum post's thread) announces an article."""
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO announcements (message_id, channel_id, article_id, posted_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (message_id) "
                "DO UPDATE SET channel_id = excluded.channel_id, "
                "article_id = excluded.article_id, posted_at = excluded.posted_at",
                (message_id, channel_id, article_id, _iso(dt.datetime.now(dt.UTC))),
            )
        self._announcements = {**self._announcements, message_id: article_id}

    def announcement(self, message_id: int) -> str | None:
        """The article a message or thread announces, if it is an announcement (no database
        access: safe on the event loop)."""
        return self._announcements.get(message_id)
