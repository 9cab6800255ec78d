"""Two `run_bot.py` processes, shards 0 and 1 of 2, one PostgreSQL, against the Discord double
(which routes each guild to its shard): an article added through one is cited in the other's
guild; votes from both count in one /feedback; a killed process leaves the other answering and
catches up when restarted; PostgreSQL restarted mid-run loses no acknowledged vote."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

from bot import messages
from tests.conftest import BUNDLED_CORPUS, write_article
from tests.discord.double import DiscordDouble, Recorded
from tests.discord.fixtures import BALAD, description
from tests.discord.test_shutdown import launch

ZOO = "Combien de girafes ont rejoint le zoo de Bagdad ?"


def reply_to(message: dict):
    def matches(rec: Recorded) -> bool:
        return (
            rec.method == "POST"
            and rec.path.endswith("/messages")
            and str((rec.json.get("message_reference") or {}).get("message_id")) == str(message["id"])
        )

    return matches


ASKED: list[dict] = []


async def ask(double: DiscordDouble, channel_id: int, question: str, timeout: float = 10) -> Recorded:
    """A member's mention in `channel_id`; the bot's reply to it."""
    mark = len(double.requests)
    message = await double.send_message(
        double.user("mo"), f"<@{double.app_id}> {question}", channel_id=channel_id, mentions=[double.bot_user]
    )
    ASKED.append(message)
    return await double.wait_for(reply_to(message), after=mark, timeout=timeout)


async def vote(double: DiscordDouble, answer: Recorded, channel_id: int, user: dict) -> Recorded:
    """Press "Utile" under an answer; the bot's acknowledgement."""
    posted = next(m for m in double.messages.values() if m.get("components") and m["embeds"] and
                  m["embeds"][0].get("footer") == answer.json["embeds"][0].get("footer"))  # fmt: skip
    button = posted["components"][0]["components"][0]
    mark = len(double.requests)
    await double.interact(
        user,
        3,
        {"custom_id": button["custom_id"], "component_type": 2},
        message=posted,
        channel_id=channel_id,
    )
    return await double.wait_for(lambda r: r.method == "POST" and r.path.endswith("/callback"), after=mark)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 10)
    if process.returncode is None:
        process.kill()
        await process.wait()


async def test_two_processes_two_shards_one_postgresql(pg_cluster, tmp_path):
    double = DiscordDouble(second_guild=True)
    port = await double.start()
    url = pg_cluster.fresh_database()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for name in ("a", "b"):
        (tmp_path / name / "corpus").mkdir()
    for path in BUNDLED_CORPUS.iterdir():
        (tmp_path / "a" / "corpus" / path.name).write_bytes(path.read_bytes())
    operator = double.user("ops")  # the bot's operator (DEPECHE_ADMIN_USER_IDS)
    # Shard 0 and shard 1: which guild each one serves is the double's routing.
    shard_a = double.shard_of(double.guild_id, 2)
    channel_a, channel_b = double.general_id, double.other_general_id
    assert double.shard_of(double.other_guild_id, 2) == 1 - shard_a

    def start(name: str, shard: int) -> asyncio.Future:
        return launch(
            port,
            tmp_path / name,
            DEPECHE_DATABASE_URL=url,
            DEPECHE_SHARD_COUNT="2",
            DEPECHE_SHARD_IDS=str(shard),
            DEPECHE_GUILD_IDS=f"{double.guild_id},{double.other_guild_id}",
            DEPECHE_ADMIN_ROLE_IDS=str(double.admin_role_id),
            DEPECHE_ADMIN_USER_IDS=operator["id"],
            DEPECHE_CORPUS_DIR=str(tmp_path / name / "corpus"),
            DEPECHE_CACHE_DIR=str(tmp_path / name / "cache"),
        )

    a = await start("a", shard_a)  # first: imports its corpus into the database
    assert "Au moins sept" in description(await ask(double, channel_a, BALAD, timeout=60)).replace("**", "")
    b = await start("b", 1 - shard_a)  # an empty folder: its corpus comes from the database
    try:
        assert "Au moins sept" in description(await ask(double, channel_b, BALAD, timeout=60)).replace(
            "**", ""
        )

        # An article added through A (its folder, then /reload by an admin of A's guild)...
        write_article(
            tmp_path / "a" / "corpus",
            "zoo.md",
            "Le zoo de Bagdad a accueilli trois girafes venues du Kenya.",
            title="Trois girafes au zoo de Bagdad",
            source="Test",
        )
        admin = double.member(double.user("ed"), roles=[double.admin_role_id])
        mark = len(double.requests)
        await double.slash(admin["user"], "reload", member=admin, channel_id=channel_a)
        await double.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark, timeout=30)
        added = time.monotonic()
        # ... is cited in B's guild within 5 s.
        while True:
            answer = await ask(double, channel_b, ZOO)
            if "trois girafes" in description(answer).replace("**", ""):
                break
            assert time.monotonic() - added < 5, "B did not cite the new article within 5 s"
            await asyncio.sleep(0.2)

        # Votes through both processes count in one /feedback.
        answer_a = await ask(double, channel_a, ZOO)
        thanks = messages.text("voted_helpful", "fr")
        assert (await vote(double, answer_a, channel_a, double.user("v1"))).json["data"]["content"] == thanks
        assert (await vote(double, answer, channel_b, double.user("v2"))).json["data"]["content"] == thanks

        # PostgreSQL restarted mid-run: answers go on, acknowledged votes stay.
        pg_cluster.restart()
        after_restart = await ask(double, channel_b, BALAD)
        assert "Au moins sept" in description(after_restart).replace("**", "")

        # A killed: B keeps answering its guild.
        a.kill()
        await a.wait()
        assert "trois girafes" in description(await ask(double, channel_b, ZOO)).replace("**", "")
        # A change made through B meanwhile...
        write_article(
            tmp_path / "b" / "corpus",
            "pont.md",
            "Le vieux pont de Mossoul a rouvert lundi aux piétons.",
            title="Le vieux pont de Mossoul rouvre",
            source="Test",
        )
        mark = len(double.requests)
        await double.slash(admin["user"], "reload", member=admin, channel_id=channel_b)
        await double.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark, timeout=30)
        # ... reaches A when it comes back.
        a = await start("a", shard_a)
        reply = await ask(double, channel_a, "Quel pont a rouvert à Mossoul ?", timeout=60)
        assert "pont de Mossoul" in description(reply).replace("**", "")

        # The operator's /feedback (a direct message: shard 0) counts both servers' votes.
        mark = len(double.requests)
        await double.slash(operator, "feedback", guild=False)
        summary = await double.wait_for(
            lambda r: r.method == "POST" and r.path.endswith("/callback"), after=mark
        )
        assert "votes: 2 helpful, 0 not helpful" in summary.json["data"]["embeds"][0]["description"]
        # Each guild's events reached one process only: every question has exactly one reply.
        await asyncio.sleep(0.5)
        assert all(sum(reply_to(m)(r) for r in double.requests) == 1 for m in ASKED)
    finally:
        for process in (a, b):
            await stop(process)
        await double.stop()
    assert b.returncode == 0 and a.returncode == 0  # both stopped cleanly by SIGTERM
