"""Ask-channels chosen from Discord by each server's admins, kept in the bot's SQLite database.

Every message in an ask-channel is a question (in a forum: every new post). These add to the
channels of `DEPECHE_ASK_CHANNEL_IDS`; they are read into memory once, so checking a message's
channel costs a set look-up, and written through on each change.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from bot.storage.database import Database, Migration, database_of

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE IF NOT EXISTS ask_channels (
        channel_id {d.id_type} PRIMARY KEY,
        guild_id {d.id_type} NOT NULL,
        added_by {d.id_type},
        added_at TEXT NOT NULL
        {d.order_column}
    )
    """
]


class AskChannelStore:
    """The ask-channels set from Discord, by channel id. Writes (in a worker thread) replace the
    in-memory map whole, so reads on the event loop need no lock."""

    def __init__(self, database: Database | Path | str) -> None:
        self._db = database_of(database)
        self._owned = not isinstance(database, Database)
        self._db.migrate("ask_channels", MIGRATIONS)
        self._lock = threading.Lock()
        rows = self._db.query("SELECT channel_id, guild_id FROM ask_channels")
        self._guild_of: dict[int, int] = {int(c): int(g) for c, g in rows}

    def __contains__(self, channel_id: object) -> bool:
        return channel_id in self._guild_of

    def of_guild(self, guild_id: int) -> list[int]:
        """The ask-channels of one server."""
        return [c for c, g in self._guild_of.items() if g == guild_id]

    def listing(self, guild_id: int) -> list[tuple[int, int | None, dt.datetime]]:
        """A server's ask-channels with who added them and when, oldest first (the record of
        these changes stays with the server: the corpus audit trail is shared by all)."""
        rows = self._db.query(
            "SELECT channel_id, added_by, added_at FROM ask_channels WHERE guild_id = ? "
            f"ORDER BY added_at, {self._db.dialect.order}",
            (guild_id,),
        )
        return [(channel, user, dt.datetime.fromisoformat(at)) for channel, user, at in rows]

    def add(self, guild_id: int, channel_id: int, user_id: int | None) -> bool:
        """Make a channel an ask-channel; False if it already was."""
        with self._lock:
            if channel_id in self._guild_of:
                return False
            with self._db.transaction() as tx:
                tx.execute(
                    "INSERT INTO ask_channels (channel_id, guild_id, added_by, added_at) VALUES (?, ?, ?, ?)",
                    (channel_id, guild_id, user_id, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
                )
            self._guild_of = {**self._guild_of, channel_id: guild_id}  # readers see one or the other
            return True

    def remove(self, channel_ids: list[int]) -> int:
        """Stop treating these channels as ask-channels (removed by an admin, or deleted);
        returns how many were."""
        with self._lock:
            known = [c for c in channel_ids if c in self._guild_of]
            if not known:
                return 0
            with self._db.transaction() as tx:
                tx.executemany("DELETE FROM ask_channels WHERE channel_id = ?", [(c,) for c in known])
            self._guild_of = {c: g for c, g in self._guild_of.items() if c not in known}
            return len(known)

    def close(self) -> None:
        """Close the database (when this store opened it)."""
        if self._owned:
            self._db.close()
