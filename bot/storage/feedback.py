"""Answers and Helpful / Not helpful votes in a local SQLite file, summarised for admins."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.storage.database import Database, Dialect, Migration, Transaction, database_of


def _message_columns(tx: Transaction, dialect: Dialect) -> None:
    """A SQLite file made before answers knew their chat message gets the columns."""
    if dialect.name != "sqlite":
        return
    known = {row[1] for row in tx.execute("PRAGMA table_info(answers)")}
    for column in ("message_id", "channel_id", "reply_id"):
        if column not in known:
            tx.execute(f"ALTER TABLE answers ADD COLUMN {column} INTEGER")


MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE IF NOT EXISTS answers (
        id TEXT PRIMARY KEY,
        question TEXT NOT NULL,
        answered INTEGER NOT NULL,
        corpus_version TEXT NOT NULL,
        guild_id {d.id_type},
        created_at TEXT NOT NULL,
        message_id {d.id_type},  -- the member's chat message it answers, if any
        channel_id {d.id_type},
        reply_id {d.id_type}  -- the bot's message that carries it
        {d.order_column}
    );
    CREATE TABLE IF NOT EXISTS votes (
        answer_id TEXT NOT NULL REFERENCES answers(id),
        user_id {d.id_type} NOT NULL,
        helpful INTEGER NOT NULL,
        voted_at TEXT NOT NULL
        {d.order_column},
        PRIMARY KEY (answer_id, user_id)
    );
    CREATE TABLE IF NOT EXISTS audit (
        id {d.serial},
        at TEXT NOT NULL,
        user_id {d.id_type},
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT
    )
    """,
    _message_columns,
    "CREATE INDEX IF NOT EXISTS answers_by_message ON answers(message_id)",
]


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
    """Answers, votes and the audit trail (thread-safe: call it from worker threads)."""

    def __init__(self, database: Database | Path | str) -> None:
        self._db = database_of(database)
        self._owned = not isinstance(database, Database)
        self._db.migrate("feedback", MIGRATIONS)

    def close(self) -> None:
        """Close the database (when this store opened it)."""
        if self._owned:
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
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO answers (id, question, answered, corpus_version, guild_id, "
                "created_at, message_id, channel_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
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
        with self._db.transaction() as tx:
            tx.execute("UPDATE answers SET reply_id = ? WHERE id = ?", (reply_id, answer_id))

    def forget_messages(self, message_ids: list[int]) -> list[tuple[int, int]]:
        """Delete the answers to these chat questions (deleted by their author or a moderator) and
        their votes; returns the (channel id, reply id) of the bot's messages that carried them."""
        if not message_ids:
            return []
        marks = ",".join("?" * len(message_ids))
        with self._db.transaction() as tx:
            rows = tx.execute(
                f"SELECT id, channel_id, reply_id FROM answers WHERE message_id IN ({marks})", message_ids
            )
            if rows:
                ids = [row[0] for row in rows]
                answers = ",".join("?" * len(ids))
                tx.execute(f"DELETE FROM votes WHERE answer_id IN ({answers})", ids)
                tx.execute(f"DELETE FROM answers WHERE id IN ({answers})", ids)
        return sorted({(channel, reply) for _, channel, reply in rows if reply is not None})

    def vote(self, answer_id: str, user_id: int, helpful: bool) -> bool:
        """Record or change a member's vote; False if the answer is unknown."""
        with self._db.transaction() as tx:
            if not tx.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)):
                return False
            tx.execute(
                "INSERT INTO votes (answer_id, user_id, helpful, voted_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (answer_id, user_id) "
                "DO UPDATE SET helpful = excluded.helpful, voted_at = excluded.voted_at",
                (answer_id, user_id, int(helpful), _now()),
            )
            return True

    def votes(self, answer_id: str) -> tuple[int, int]:
        """(helpful, not helpful) counts of one answer."""
        (row,) = self._db.query(
            "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) FROM votes WHERE answer_id = ?",
            (answer_id,),
        )
        return int(row[0]), int(row[1])

    def summary(self, limit: int = 10, guild_id: int | None = None) -> FeedbackSummary:
        """Totals and the latest unanswered / unhelpful questions of one guild (None: of every
        guild and direct messages, the bot operator's view)."""
        where, args = ("WHERE a.guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
        also = "AND a.guild_id = ?" if guild_id is not None else ""
        order = self._db.dialect.order
        with self._db.transaction() as tx:
            ((answers, unanswered),) = tx.execute(
                f"SELECT COUNT(*), COALESCE(SUM(1 - answered), 0) FROM answers a {where}", args
            )
            ((helpful, not_helpful),) = tx.execute(
                "SELECT COALESCE(SUM(v.helpful), 0), COALESCE(SUM(1 - v.helpful), 0) "
                f"FROM votes v JOIN answers a ON a.id = v.answer_id {where}",
                args,
            )
            recent_unanswered = [
                r[0]
                for r in tx.execute(
                    f"SELECT question FROM answers a WHERE answered = 0 {also} "
                    f"ORDER BY created_at DESC, a.{order} DESC LIMIT ?",
                    (*args, limit),
                )
            ]
            recent_not_helpful = [
                r[0]
                for r in tx.execute(
                    "SELECT a.question FROM votes v JOIN answers a ON a.id = v.answer_id "
                    f"WHERE v.helpful = 0 {also} ORDER BY v.voted_at DESC, v.{order} DESC LIMIT ?",
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
        with self._db.transaction() as tx:
            tx.execute(
                "DELETE FROM votes WHERE answer_id IN (SELECT id FROM answers WHERE created_at < ?)", (stamp,)
            )
            tx.execute("DELETE FROM answers WHERE created_at < ?", (stamp,))
            return tx.rowcount

    def audit(self, user_id: int | None, action: str, target: str, detail: str = "") -> None:
        """Append an admin action to the audit trail."""
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO audit (at, user_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                (_now(), user_id, action, target, detail),
            )

    def audit_log(self, limit: int = 20) -> list[tuple[str, int | None, str, str, str]]:
        """The latest admin actions, newest first."""
        rows = self._db.query(
            "SELECT at, user_id, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
