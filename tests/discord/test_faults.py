"""Faults from Discord and load, injected in the API double: nothing crashes, nothing is lost."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import sqlite3

from tests.conftest import write_article
from tests.discord.double import Fault
from tests.discord.fixtures import (
    BALAD,
    description,
    is_callback,
    is_reply,
    mention,
    quiet_since,
    running_bot,
)


async def test_gateway_closed_mid_session_resumes_and_keeps_answering(env):
    d = env.double
    await d.drop_gateway(code=4000)
    for _ in range(500):
        if d.resumes or d.identifies > 1:
            break
        await asyncio.sleep(0.01)
    assert d.resumes + d.identifies >= 2
    mark = len(d.requests)
    await mention(d, d.user("ana"), BALAD)
    reply = await d.wait_for(is_reply, after=mark)
    assert "Au moins sept" in description(reply).replace("**", "")
    env.check_alive()


async def test_rate_limited_send_is_retried_after_the_delay_and_delivered(env):
    d = env.double
    d.faults.append(
        Fault("POST", f"/api/v10/channels/{d.general_id}/messages", 429, times=1, retry_after=0.2)
    )
    mark = len(d.requests)
    await mention(d, d.user("bo"), BALAD)
    first = await d.wait_for(is_reply, after=mark)
    reply = await d.wait_for(lambda r: is_reply(r) and r is not first, after=mark, timeout=10)
    attempts = [r for r in d.requests[mark:] if is_reply(r)]
    assert len(attempts) == 2  # the 429, then the delivered retry
    assert reply.at - first.at >= 0.19 and reply.json["embeds"] == first.json["embeds"]


async def test_server_error_on_send_is_logged_and_the_next_question_is_answered(env, caplog):
    d = env.double
    caplog.set_level(logging.WARNING)
    d.faults.append(Fault("POST", f"/api/v10/channels/{d.general_id}/messages", 503, times=1))
    mark = len(d.requests)
    await mention(d, d.user("cy"), BALAD)
    await d.wait_for(is_reply, after=mark)
    for _ in range(200):
        if "could not reply" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert "could not reply" in caplog.text and "503" in caplog.text
    mark = len(d.requests)
    await mention(d, d.user("cy"), "Qui est le porte-parole du Pentagone ?")
    reply = await d.wait_for(is_reply, after=mark)
    assert "Kirby" in description(reply)
    env.check_alive()


async def test_slow_interaction_is_deferred_then_followed_up(env):
    d = env.double
    env.bot.get_cog("QA").defer_after = 0.0  # answers that are not instant get deferred
    mark = len(d.requests)
    await d.slash(d.user("dee"), "ask", {"question": BALAD})
    callback = await d.wait_for(is_callback, after=mark)
    assert callback.json["type"] == 5  # deferred "thinking"
    followup = await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
    assert "Au moins sept" in description(followup).replace("**", "")


async def test_reload_error_does_not_reveal_file_system_paths(env):
    d = env.double
    shutil.rmtree(env.corpus_dir)
    admin = d.member(d.user("eve"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "reload", member=admin)
    followup = await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
    text = followup.json["embeds"][0]["description"]
    assert "corpus folder is missing" in text
    assert str(env.corpus_dir) not in text and "/tmp" not in text
    mark = len(d.requests)
    await mention(d, d.user("fin"), BALAD)
    assert "Au moins sept" in description(await d.wait_for(is_reply, after=mark)).replace("**", "")


async def test_load_200_questions_50_users_with_a_reload_in_the_middle(corpus_dir, tmp_path):
    async with running_bot(
        corpus_dir, tmp_path / "db.sqlite3", {"max_messages": 100}, rate_limit_count=3, rate_limit_seconds=60
    ) as env:
        d = env.double
        users = [d.user(f"user{n}") for n in range(50)]
        admin = d.member(d.user("boss"), roles=[d.admin_role_id])
        old_version = env.bot.service.engine.version
        write_article(
            corpus_dir,
            "renfort.md",
            "Mille soldats supplémentaires arriveront à Erbil en mai.",
            title="Renforts à Erbil",
            source="Test",
        )

        async def wave(round_no: int) -> list[dict]:
            return list(await asyncio.gather(*(mention(d, u, BALAD) for u in users)))

        mark = len(d.requests)
        sent: list[dict] = []
        for round_no in range(4):
            if round_no == 2:
                await d.slash(admin["user"], "reload", member=admin)
            sent += await wave(round_no)
            await asyncio.sleep(0.05)
        for _ in range(600):
            if len(d.sent(mark)) >= len(sent):
                break
            await asyncio.sleep(0.02)
        replies = await quiet_since(d, mark)
        by_question: dict[str, int] = {}
        for r in replies:
            key = str(r.json["message_reference"]["message_id"])
            by_question[key] = by_question.get(key, 0) + 1
        assert len(sent) == 200
        assert set(by_question) == {m["id"] for m in sent} and set(by_question.values()) == {1}
        notices = [r for r in replies if "réessayez dans" in (r.json.get("content") or "")]
        assert len(notices) == 50  # each user's 4th question, once per user
        new_version = env.bot.service.engine.version
        assert new_version != old_version
        for r in replies:
            if r.json.get("embeds"):
                footer = r.json["embeds"][0]["footer"]["text"]
                versions = set(re.findall(r"corpus ([0-9a-f]{12})", footer))
                assert len(versions) == 1 and versions <= {old_version, new_version}
        env.check_alive()


async def test_a_broken_feedback_database_still_lets_answers_through(env, caplog):
    d = env.double
    caplog.set_level(logging.WARNING)
    env.bot.database.close()  # the database is gone from under the bot
    mark = len(d.requests)
    await mention(d, d.user("gil"), BALAD)
    reply = await d.wait_for(is_reply, after=mark)
    assert "Au moins sept" in description(reply).replace("**", "")
    assert not reply.json.get("components")  # no vote buttons without a place to record votes
    assert "could not record an answer" in caplog.text
    env.check_alive()


async def test_a_vote_when_the_feedback_database_fails_gets_a_private_notice(env, caplog):
    d = env.double
    caplog.set_level(logging.WARNING)
    user = d.user("hal")
    mark = len(d.requests)
    await mention(d, user, BALAD)
    reply = await d.wait_for(is_reply, after=mark)
    helpful = reply.json["components"][0]["components"][0]["custom_id"]
    env.bot.database.close()  # the database goes away between the answer and the vote
    mark = len(d.requests)
    await d.interact(
        user, 3, {"custom_id": helpful, "component_type": 2}, message=d.messages[max(d.messages)]
    )
    rec = await d.wait_for(lambda r: r.method == "POST" and r.path.endswith("/callback"), after=mark)
    assert "pas pu enregistrer votre vote" in rec.json["data"]["content"] and rec.json["data"]["flags"] & 64
    assert "could not record a vote" in caplog.text
    env.check_alive()


async def test_questions_older_than_the_retention_period_are_deleted_at_start_up(corpus_dir, tmp_path):
    from bot.storage.feedback import FeedbackStore

    path = tmp_path / "old.sqlite3"
    store = FeedbackStore(path)
    store.record_answer("0" * 12, "question d'il y a longtemps", False, "v0", None)
    store.record_answer("1" * 12, "question récente", False, "v0", None)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE answers SET created_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", ("0" * 12,))
    async with running_bot(corpus_dir, path, feedback_retention_days=30) as env:
        for _ in range(200):
            if env.bot.feedback.summary().answers == 1:
                break
            await asyncio.sleep(0.01)
        assert env.bot.feedback.summary().recent_unanswered == ["question récente"]
