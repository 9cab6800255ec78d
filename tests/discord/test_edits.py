"""Edited and deleted questions: the reply follows its question."""

from __future__ import annotations

import asyncio
import sqlite3

from tests.discord.double import DiscordDouble, Recorded
from tests.discord.fixtures import (
    BALAD,
    assert_no_pings,
    eventually,
    is_reply,
    mention,
    plain,
    quiet_since,
    running_bot,
)

# -- edited and deleted questions --------------------------------------------------------------


def is_edit_of(reply_id: str):
    return lambda rec: rec.method == "PATCH" and rec.path.endswith(f"/messages/{reply_id}")


def is_delete(rec: Recorded) -> bool:
    return rec.method == "DELETE" and "/messages/" in rec.path


async def asked_and_replied(d: DiscordDouble, user: dict, text: str) -> tuple[dict, dict]:
    """A mention and the reply as the double stored it."""
    mark = len(d.requests)
    question = await mention(d, user, text)
    await d.wait_for(is_reply, after=mark)
    return question, d.messages[max(d.messages)]


async def test_an_edited_question_is_answered_again_in_the_same_reply(env):
    d = env.double
    question, reply = await asked_and_replied(d, d.user("uma"), "Quelle est la capitale de l'Australie ?")
    assert "Je n'ai pas trouvé" in reply["embeds"][0]["description"]
    mark = len(d.requests)
    await d.edit_message(question, f"<@{d.app_id}> {BALAD}")
    edit = await d.wait_for(is_edit_of(reply["id"]), after=mark)
    assert_no_pings(edit)
    assert "Au moins sept" in d.messages[int(reply["id"])]["embeds"][0]["description"].replace("**", "")
    assert d.messages[int(reply["id"])]["components"]  # new vote buttons
    assert not d.sent(mark)  # no second reply
    assert env.bot.feedback.summary().answers == 2  # both versions were answered


async def test_an_edit_that_keeps_the_words_changes_nothing(env):
    d = env.double
    question, _ = await asked_and_replied(d, d.user("vic"), BALAD)
    mark = len(d.requests)
    await d.edit_message(question, question["content"])  # as when Discord adds a link preview
    await d.edit_message(question, f"Rien à voir {question['content']}".replace(f"<@{d.app_id}>", ""))
    await quiet_since(d, mark)  # the second edit dropped the mention: no longer asked of the bot
    assert not [r for r in d.requests[mark:] if r.method == "PATCH"]


async def test_a_question_shortened_under_the_limit_by_an_edit_gets_its_answer(env):
    d = env.double
    question, reply = await asked_and_replied(d, d.user("xia"), "roquettes " * 600)
    assert "la limite est de 500" in reply["content"]
    mark = len(d.requests)
    await d.edit_message(question, f"<@{d.app_id}> {BALAD}")
    edit = await d.wait_for(is_edit_of(reply["id"]), after=mark)
    assert edit.json["content"] is None and "Au moins sept" in plain(edit)  # the refusal text is gone


async def test_a_deleted_question_takes_its_reply_and_its_record_away(env):
    d = env.double
    question, reply = await asked_and_replied(d, d.user("yan"), BALAD)
    assert env.bot.feedback.summary().answers == 1
    mark = len(d.requests)
    await d.delete_messages(question)
    deleted = await d.wait_for(is_delete, after=mark)
    assert deleted.path == f"/api/v10/channels/{d.general_id}/messages/{reply['id']}"
    assert int(reply["id"]) not in d.messages
    for _ in range(100):
        if env.bot.feedback.summary().answers == 0:
            break
        await asyncio.sleep(0.01)
    assert env.bot.feedback.summary().answers == 0


async def test_a_purge_of_question_and_reply_deletes_nothing_twice(env):
    d = env.double
    question, reply = await asked_and_replied(d, d.user("zoe"), BALAD)
    mark = len(d.requests)
    await d.delete_messages(question, reply)
    await eventually(lambda: env.bot.feedback.summary().answers == 0)  # the purged question is forgotten
    await quiet_since(d, mark)
    assert not [r for r in d.requests[mark:] if is_delete(r)]


async def test_a_question_deleted_after_a_restart_still_takes_its_reply_and_record(corpus_dir, tmp_path):
    double = DiscordDouble()
    await double.start()
    try:
        async with running_bot(corpus_dir, tmp_path / "db.sqlite3", double=double) as env:
            question, reply = await asked_and_replied(double, double.user("gil"), BALAD)
            for _ in range(100):  # the reply's id is recorded just after it is sent
                if _reply_recorded(tmp_path, reply):
                    break
                await asyncio.sleep(0.01)
        async with running_bot(corpus_dir, tmp_path / "db.sqlite3", double=double) as env:
            assert env.bot.feedback.summary().answers == 1
            mark = len(double.requests)
            await double.delete_messages(question)
            deleted = await double.wait_for(is_delete, after=mark)
            assert deleted.path == f"/api/v10/channels/{double.general_id}/messages/{reply['id']}"
            assert env.bot.feedback.summary().answers == 0
    finally:
        await double.stop()


def _reply_recorded(tmp_path, reply: dict) -> bool:
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        return (
            db.execute("SELECT 1 FROM answers WHERE reply_id = ?", (int(reply["id"]),)).fetchone() is not None
        )


async def test_editing_a_question_whose_reply_a_moderator_deleted_is_harmless(env, caplog):
    caplog.set_level("WARNING")
    d = env.double
    question, reply = await asked_and_replied(d, d.user("bea"), BALAD)
    await d.delete_messages(reply)
    mark = len(d.requests)
    await d.edit_message(question, f"<@{d.app_id}> Qui est Jens Stoltenberg ?")
    failed = await d.wait_for(is_edit_of(reply["id"]), after=mark)
    assert failed.path.endswith(reply["id"])
    mark = len(d.requests)
    await d.edit_message(question, f"<@{d.app_id}> Combien de blessés à Erbil ?")  # forgotten now
    await quiet_since(d, mark)
    assert not [r for r in d.requests[mark:] if r.method == "PATCH"]
    assert "could not update the reply" in caplog.text
    env.check_alive()
