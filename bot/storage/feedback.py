"""Answers and Helpful / Not helpful votes in a local SQLite file, summarised for admins."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.storage.database import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    answered INTEGER NOT NULL,
    corpus_version TEXT NOT NULL,
    guild_id INTEGER,
    created_at TEXT NOT NULL,
    message_id INTEGER,  -- the member's chat message it answers, if any
    channel_id INTEGER,
    reply_id INTEGER  -- the bot's message that carries it
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL REFERENCES answers(id),
    user_id INTEGER NOT NULL,
    helpful INTEGER NOT NULL,
    voted_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id INTEGER,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT
);
"""


@dataclass(frozen=True)
class FeedbackSummary:
    """What admins see: how answers fare, and which questions go unanswered."""

    answers: int
    unanswered: int
    helpful: int
    not_helpful: int
    recent_unanswered: list[str]
    recent_not_helpful: list[str]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class FeedbackStore:
    """A small thread-safe SQLite store (one connection, serialised by a lock)."""

    def __init__(self, path: Path | str) -> None:
        self._db = connect(path, _SCHEMA)
        self._lock = threading.Lock()
        with self._db:  # a database made before answers knew their chat message gets the columns
            known = {row[1] for row in self._db.execute("PRAGMA table_info(answers)")}
            for column in ("message_id", "channel_id", "reply_id"):
                if column not in known:
                    self._db.execute(f"ALTER TABLE answers ADD COLUMN {column} INTEGER")
            self._db.execute("CREATE INDEX IF NOT EXISTS answers_by_message ON answers(message_id)")

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def record_answer(
        self,
        answer_id: str,
        question: str,
        answered: bool,
        version: str,
        guild_id: int | None,
        message: tuple[int, int] | None = None,
    ) -> None:
        """Remember an answer so votes and the unanswered list can refer to it; `message` is the
        (channel id, message id) of the chat question it answers, if any."""
        channel_id, message_id = message or (None, None)
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO answers (id, question, answered, corpus_version, guild_id, "
                "created_at, message_id, channel_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    question[:1000],
                    int(answered),
                    version,
                    guild_id,
                    _now(),
                    message_id,
                    channel_id,
                ),
            )

    def set_reply(self, answer_id: str, reply_id: int) -> None:
        """The id of the bot's message that carries this answer (to take it away with its question)."""
        with self._lock, self._db:
            self._db.execute("UPDATE answers SET reply_id = ? WHERE id = ?", (reply_id, answer_id))

    def forget_messages(self, message_ids: list[int]) -> list[tuple[int, int]]:
        """Delete the answers to these chat questions (deleted by their author or a moderator) and
        their votes; returns the (channel id, reply id) of the bot's messages that carried them."""
        marks = ",".join("?" * len(message_ids))
        with self._lock, self._db:
            rows = self._db.execute(
                f"SELECT id, channel_id, reply_id FROM answers WHERE message_id IN ({marks})", message_ids
            ).fetchall()
            if rows:
                ids = [row[0] for row in rows]
                answers = ",".join("?" * len(ids))
                self._db.execute(f"DELETE FROM votes WHERE answer_id IN ({answers})", ids)
                self._db.execute(f"DELETE FROM answers WHERE id IN ({answers})", ids)
        return sorted({(channel, reply) for _, channel, reply in rows if reply is not None})

    def vote(self, answer_id: str, user_id: int, helpful: bool) -> bool:
        """Record or change a member's vote; False if the answer is unknown."""
        with self._lock, self._db:
            known = self._db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if not known:
                return False
            self._db.execute(
                "INSERT INTO votes VALUES (?, ?, ?, ?) ON CONFLICT(answer_id, user_id) "
                "DO UPDATE SET helpful = excluded.helpful, voted_at = excluded.voted_at",
                (answer_id, user_id, int(helpful), _now()),
            )
            return True

    def votes(self, answer_id: str) -> tuple[int, int]:
        """(helpful, not helpful) counts of one answer."""
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) "
                "FROM votes WHERE answer_id = ?",
                (answer_id,),
            ).fetchone()
        return int(row[0]), int(row[1])

    def summary(self, limit: int = 10, guild_id: int | None = None) -> FeedbackSummary:
        """Totals and the latest unanswered / unhelpful questions of one guild (None: of every
        guild and direct messages, the bot operator's view)."""
        where, args = ("WHERE a.guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
        also = "AND a.guild_id = ?" if guild_id is not None else ""
        with self._lock:
            db = self._db
            answers, unanswered = db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(1 - answered), 0) FROM answers a {where}", args
            ).fetchone()
            helpful, not_helpful = db.execute(
                "SELECT COALESCE(SUM(v.helpful), 0), COALESCE(SUM(1 - v.helpful), 0) "
                f"FROM votes v JOIN answers a ON a.id = v.answer_id {where}",
                args,
            ).fetchone()
            recent_unanswered = [
                r[0]
                for r in db.execute(
                    f"SELECT question FROM answers a WHERE answered = 0 {also} "
                    "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                    (*args, limit),
                )
            ]
            recent_not_helpful = [
                r[0]
                for r in db.execute(
                    "SELECT a.question FROM votes v JOIN answers a ON a.id = v.answer_id "
                    f"WHERE v.helpful = 0 {also} ORDER BY v.voted_at DESC, v.rowid DESC LIMIT ?",
                    (*args, limit),
                )
            ]
        return FeedbackSummary(
            int(answers),
            int(unanswered),
            int(helpful),
            int(not_helpful),
            recent_unanswered,
            recent_not_helpful,
        )

    def forget_before(self, cutoff: dt.datetime) -> int:
        """Delete the answers recorded before `cutoff` (questions are members' words: they are not
        kept forever) and their votes; the audit trail stays. Returns how many answers went."""
        stamp = cutoff.astimezone(dt.UTC).isoformat(timespec="seconds")
        with self._lock, self._db:
            self._db.execute(
                "DELETE FROM votes WHERE answer_id IN (SELECT id FROM answers WHERE created_at < ?)", (stamp,)
            )
            return self._db.execute("DELETE FROM answers WHERE created_at < ?", (stamp,)).rowcount

    def audit(self, user_id: int | None, action: str, target: str, detail: str = "") -> None:
        """Append an admin action to the audit trail."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO audit (at, user_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                (_now(), user_id, action, target, detail),
            )

    def audit_log(self, limit: int = 20) -> list[tuple[str, int | None, str, str, str]]:
        """The latest admin actions, newest first."""
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT at, user_id, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
                )
            )
