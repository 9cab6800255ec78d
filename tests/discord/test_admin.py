"""Admin commands: reloads, the corpus state, feedback, and who may run them."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.service import QAService
from tests.conftest import write_article
from tests.discord.double import Recorded
from tests.discord.fixtures import (
    BALAD,
    description,
    is_callback,
    is_reply,
    mention,
    plain,
    running_bot,
)

# -- admin -----------------------------------------------------------------------------------


async def test_reload_is_refused_for_a_member(env):
    d = env.double
    write_article(
        env.corpus_dir, "nouveau.md", "Le port de Bassora a rouvert mardi.", title="Bassora", source="T"
    )
    mark = len(d.requests)
    await d.slash(d.user("uma"), "reload")
    rec = await d.wait_for(is_callback, after=mark)
    assert "Only the bot's admins" in rec.json["data"]["content"] and rec.json["data"]["flags"] & 64
    assert str(env.corpus_dir) not in rec.json["data"]["content"]
    assert len(env.bot.service.engine.index.articles) == 1


async def add_and_reload(env, name: str, body: str, *, title: str) -> Recorded:
    """Write an article file, have an admin run /reload, and return the reload's report."""
    d = env.double
    write_article(env.corpus_dir, name, body, title=title, source="Test")
    admin = d.member(d.user("vic"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "reload", member=admin)
    return await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)


async def test_reload_by_an_admin_serves_a_new_article(env):
    d = env.double
    text = "Le port de Bassora a rouvert mardi après trois jours de grève."
    followup = await add_and_reload(env, "bassora.md", text, title="Le port de Bassora rouvre")
    text = description(followup)
    assert "Corpus reloaded" in followup.json["embeds"][0]["title"]
    assert "Added: `bassora`" in text and "2" in text
    mark = len(d.requests)
    await mention(d, d.user("wes"), "Quand le port de Bassora a-t-il rouvert ?")
    reply = await d.wait_for(is_reply, after=mark)
    assert "rouvert mardi" in plain(reply)


async def test_manage_server_permission_also_allows_reload(env):
    d = env.double
    owner = d.member(d.user("xena"), admin=True)
    mark = len(d.requests)
    await d.slash(owner["user"], "reload", member=owner)
    followup = await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
    assert "nothing changed" in followup.json["embeds"][0]["title"]


async def test_manage_server_elsewhere_manages_that_server_but_not_the_shared_articles(corpus_dir, tmp_path):
    """The articles are shared by every server the bot is in: another server's owner may choose
    its ask-channels and read its feedback, not reload, add or remove articles."""
    home = 123456789012345678  # DEPECHE_GUILD_IDS names another server than the double's
    async with running_bot(corpus_dir, tmp_path / "db.sqlite3", guild_ids=[home]) as env:
        d = env.double
        owner = d.member(d.user("yara"), admin=True)
        said = {}
        for name, options, subcommand in (
            ("reload", {}, None),
            ("corpus", {"name": "sept-roquettes-balad"}, "remove"),
            ("feedback", {}, None),
            ("ask-channels", {"channel": d.channel(d.general_id)}, "add"),
        ):
            mark = len(d.requests)
            await d.slash(owner["user"], name, options, subcommand=subcommand, member=owner)
            rec = await d.wait_for(
                lambda r: is_callback(r) or (r.method == "POST" and "/webhooks/" in r.path), after=mark
            )
            said[subcommand or name] = description(rec) + str(rec.json)
        assert "shared with the bot's other servers" in said["reload"]
        assert "shared with the bot's other servers" in said["remove"]
        assert (corpus_dir / "sept-roquettes-balad.md").exists()
        assert "Feedback" in said["feedback"] and "is now an ask-channel" in said["add"]
        admin = d.member(d.user("zed"), roles=[d.admin_role_id])  # the operator's admin role
        mark = len(d.requests)
        await d.slash(admin["user"], "reload", member=admin)
        followup = await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
        assert "Corpus reloaded" in followup.json["embeds"][0]["title"]


async def test_reload_with_a_broken_article_keeps_serving_and_reports_the_file(env):
    d = env.double
    (env.corpus_dir / "casse.md").write_text("---\ntitle: [oops\n---\n\nTexte.\n", encoding="utf-8")
    (env.corpus_dir / "sept-roquettes-balad.md").unlink()  # the only good article is gone too
    admin = d.member(d.user("yan"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "reload", member=admin)
    followup = await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
    assert "previous index keeps serving" in followup.json["embeds"][0]["title"]
    assert "casse.md" in description(followup) and "invalid front matter" in description(followup)
    mark = len(d.requests)
    await mention(d, d.user("zoe"), BALAD)
    assert "Au moins sept" in description(await d.wait_for(is_reply, after=mark))


async def test_corpus_command_shows_the_state(env):
    d = env.double
    admin = d.member(d.user("abe"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "corpus", member=admin, subcommand="status")
    rec = await d.wait_for(is_callback, after=mark)
    text = description(rec)
    assert "1** articles" in text and env.bot.service.engine.version in text
    assert "Search by meaning (embeddings): off" in text


async def test_corpus_status_shows_how_far_the_embeddings_have_come(corpus_dir, tmp_path):
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache", embeddings=True)
    async with running_bot(corpus_dir, tmp_path / "db.sqlite3", service=service) as env:
        d = env.double
        assert await asyncio.to_thread(service.embedding_done.wait, 120)
        admin = d.member(d.user("abe"), roles=[d.admin_role_id])
        mark = len(d.requests)
        await d.slash(admin["user"], "corpus", member=admin, subcommand="status")
        text = description(await d.wait_for(is_callback, after=mark))
        size = service.engine.index.size
        assert f"Search by meaning (embeddings): {size} of {size} sentences" in text


async def test_twenty_questions_in_flight_during_a_reload_are_all_answered(env):
    d = env.double
    for n in range(30):
        write_article(
            env.corpus_dir,
            f"depeche-{n}.md",
            f"Le convoi numéro {n} est arrivé à Mossoul. Il transportait des vivres.",
            title=f"Convoi {n}",
            source="Test",
        )
    admin = d.member(d.user("ben"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "reload", member=admin)
    users = [d.user(f"u{n}") for n in range(20)]
    questions = await asyncio.gather(*(mention(d, u, BALAD) for u in users))
    await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark, timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(d.sent(mark)) < 20:
        await asyncio.sleep(0.05)
    replies = d.sent(mark)
    assert len(replies) == 20
    assert {str(r.json["message_reference"]["message_id"]) for r in replies} == {q["id"] for q in questions}
    assert all("Au moins sept" in description(r) for r in replies)


@pytest.mark.slow  # loads the embedding model
async def test_an_article_added_moments_ago_is_answered_before_its_vectors_exist(corpus_dir, tmp_path):
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache", embeddings=True)
    assert service.load().ok and service.embedding_done.wait(120)
    release = threading.Event()
    encoder = service.engine.encoder
    assert encoder is not None
    passages = encoder.passages

    def held_back(texts, *, for_question=False):  # the background embedding of new articles waits
        if not for_question:
            release.wait(60)
        return passages(texts, for_question=for_question)

    encoder.passages = held_back  # type: ignore[method-assign]
    try:
        async with running_bot(corpus_dir, tmp_path / "db.sqlite3", service=service) as env:
            d = env.double
            text = (
                "Le phare de Kerbrat, allumé en 1894, compte 312 marches. "
                "Il guide les chalutiers vers le port depuis plus d'un siècle."
            )
            await add_and_reload(env, "phare-kerbrat.md", text, title="Le phare de Kerbrat")
            assert service.engine.dense is not None and not service.embedding_done.is_set()
            mark = len(d.requests)
            await mention(d, d.user("wes"), "Combien de marches compte le phare de Kerbrat ?")
            reply = await d.wait_for(is_reply, after=mark)
            assert "312 marches" in plain(reply)
    finally:
        release.set()
