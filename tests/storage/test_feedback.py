"""The feedback store: answers, votes, the audit trail, and questions kept only for the
retention period — on both engines where the behaviour is the store's, on SQLite where it is
the file's."""

from __future__ import annotations

import datetime as dt
import sqlite3

from bot.storage import open_database
from bot.storage.feedback import FeedbackStore


def _age(url: str, answer_id: str, days: int) -> None:
    """Pretend an answer was recorded `days` ago."""
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat(timespec="seconds")
    database = open_database(url)
    database.query("UPDATE answers SET created_at = ? WHERE id = ?", (stamp, answer_id))
    database.close()


def test_old_answers_and_their_votes_are_forgotten_the_rest_stays(database_url):
    path = database_url
    store = FeedbackStore(path)
    store.record_answer("a" * 12, "question ancienne", False, "v1", None)
    store.record_answer("b" * 12, "question récente", False, "v1", None)
    store.vote("a" * 12, 1, False)
    store.vote("b" * 12, 1, True)
    store.audit(1, "add", "article")
    _age(path, "a" * 12, 100)
    _age(path, "b" * 12, 10)

    forgotten = store.forget_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=90))

    assert forgotten == 1
    summary = store.summary()
    assert (summary.answers, summary.helpful, summary.not_helpful) == (1, 1, 0)
    assert summary.recent_unanswered == ["question récente"]
    assert store.votes("a" * 12) == (0, 0)
    assert not store.vote("a" * 12, 2, True)  # "too old to vote on"
    assert len(store.audit_log()) == 1
    store.close()


def test_a_summary_of_one_guild_leaves_out_other_guilds_and_direct_messages(database_url):
    store = FeedbackStore(database_url)
    for answer_id, question, guild in (
        ("a" * 12, "ici", 1),
        ("b" * 12, "ailleurs", 2),
        ("c" * 12, "en privé", None),
    ):
        store.record_answer(answer_id, question, False, "v1", guild)
        store.vote(answer_id, 7, False)
    here = store.summary(guild_id=1)
    assert (here.answers, here.unanswered, here.not_helpful) == (1, 1, 1)
    assert here.recent_unanswered == here.recent_not_helpful == ["ici"]
    everywhere = store.summary()
    assert (everywhere.answers, everywhere.not_helpful) == (3, 3)
    store.close()


def test_a_database_from_before_answers_knew_their_message_is_upgraded_in_place(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as db:  # the answers table as the first releases made it
        db.execute(
            "CREATE TABLE answers (id TEXT PRIMARY KEY, question TEXT NOT NULL, answered INTEGER NOT NULL, "
            "corpus_version TEXT NOT NULL, guild_id INTEGER, created_at TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO answers VALUES ('old000000000', 'ancienne', 1, 'v1', 1, '2026-11-01T00:00:00+00:00')"
        )
    store = FeedbackStore(path)
    store.record_answer("new000000000", "nouvelle", True, "v2", 1, message=(10, 20))
    store.set_reply("new000000000", 30)
    assert store.summary().answers == 2
    assert store.forget_messages([20, 21]) == [(10, 30)]
    assert store.summary().answers == 1  # the old answer stays
    store.close()


def test_a_reader_in_another_process_does_not_block_recording_answers(tmp_path):
    path = tmp_path / "depeche.sqlite3"
    store = FeedbackStore(path)
    store.record_answer("a0", "Question ?", True, "v1", None)
    reader = sqlite3.connect(path, timeout=0)  # an operator's shell, a backup...
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM answers").fetchone() == (1,)  # holds its snapshot
        for n in range(1, 4):
            store.record_answer(f"a{n}", "Question ?", True, "v1", None)  # raised "database is locked"
        store.vote("a1", 7, True)
        assert reader.execute("SELECT count(*) FROM answers").fetchone() == (1,)
    finally:
        reader.close()
    assert store.summary().answers == 4
    store.close()


def test_recent_questions_come_newest_first_within_one_second(database_url):
    store = FeedbackStore(database_url)
    for n in range(5):
        store.record_answer(f"q{n:011d}", f"question {n}", False, "v1", 1)
        store.vote(f"q{n:011d}", 7, False)
    summary = store.summary(limit=3)
    assert (
        summary.recent_unanswered == summary.recent_not_helpful == ["question 4", "question 3", "question 2"]
    )
    store.close()


def test_two_processes_on_one_database_see_each_others_answers_and_votes(database_url):
    first, second = FeedbackStore(database_url), FeedbackStore(database_url)  # migrations run twice
    first.record_answer("a" * 12, "Question ?", True, "v1", 1)
    assert second.vote("a" * 12, 7, True) and first.vote("a" * 12, 8, False)
    assert first.votes("a" * 12) == second.votes("a" * 12) == (1, 1)
    first.audit(1, "add", "x")
    second.audit(2, "remove", "x")
    assert [row[2] for row in first.audit_log()] == ["remove", "add"]
    first.close()
    second.close()
