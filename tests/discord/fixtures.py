"""Start the real discord.py bot against the API double, and stop both cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import discord
import yarl

from bot.config import Settings
from bot.discord.app import create_bot
from bot.service import QAService
from tests.discord.double import DiscordDouble, Recorded, point_discord_py_at

TOKEN = "MTEST.double-token.do-not-leak"
BALAD = "Combien de roquettes ont frappé la base de Balad ?"


@dataclass
class BotUnderTest:
    """The double, the running bot and its settings."""

    double: DiscordDouble
    bot: discord.Client
    settings: Settings
    corpus_dir: Path
    task: asyncio.Task

    def check_alive(self) -> None:
        """Raise the bot task's exception if it died (a silent death would time tests out)."""
        if self.task.done() and self.task.exception():
            raise self.task.exception()  # type: ignore[misc]


@contextlib.asynccontextmanager
async def running_bot(
    corpus_dir: Path,
    db_path: Path,
    client_options: dict | None = None,
    service: QAService | None = None,
    double: DiscordDouble | None = None,
    **overrides: object,
) -> AsyncIterator[BotUnderTest]:
    """A bot connected to a fresh double (or to `double`, already started, which it leaves
    running: a restart), ready (guild received, commands synced).

    `overrides` are settings; `client_options` go to discord.py's client; `service` replaces the
    default one (no cache, no embeddings).
    """
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    owned = double is None
    double = double or DiscordDouble()
    port = await double.start() if owned else double.port
    point_discord_py_at(port)
    values: dict[str, object] = {
        "discord_token": TOKEN,
        "guild_ids": [double.guild_id],
        "ask_channel_ids": [double.ask_channel_id, double.forum_id],
        "admin_role_ids": [double.admin_role_id],
        "corpus_dir": corpus_dir,
        "database_path": db_path,
        "rate_limit_count": 1000,
        "rate_limit_seconds": 60,
    }
    values.update(overrides)
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    service = service or QAService(corpus_dir)
    bot = create_bot(settings, service, **{"guild_ready_timeout": 0.05, **(client_options or {})})
    task = asyncio.create_task(bot.start(TOKEN))
    under_test = BotUnderTest(double, bot, settings, corpus_dir, task)
    try:
        for _ in range(1000):
            under_test.check_alive()
            if bot.is_ready() and getattr(bot, "synced", False):
                break
            await asyncio.sleep(0.01)
        else:
            raise TimeoutError("the bot did not become ready")
        yield under_test
    finally:
        await bot.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        if owned:
            await double.stop()
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(old_gateway))


def is_reply(rec: Recorded) -> bool:
    """A message the bot posted in a channel."""
    return rec.method == "POST" and rec.path.endswith("/messages")


def is_callback(rec: Recorded) -> bool:
    """The bot's answer to an interaction (command, button, autocomplete)."""
    return rec.method == "POST" and rec.path.endswith("/callback")


def description(rec: Recorded) -> str:
    body = rec.json.get("data", rec.json) if is_callback(rec) else rec.json
    return "\n".join(e.get("description") or "" for e in body.get("embeds") or []) + (
        body.get("content") or ""
    )


def plain(rec: Recorded) -> str:
    """The reply's text without our bold emphasis of matched words."""
    return description(rec).replace("**", "")


def assert_no_pings(rec: Recorded) -> None:
    body = rec.json.get("data", rec.json) if is_callback(rec) else rec.json
    allowed = body.get("allowed_mentions")
    assert allowed is not None and allowed["parse"] == []
    assert not allowed.get("users") and not allowed.get("roles") and not allowed.get("replied_user")


async def mention(d: DiscordDouble, user: dict, text: str, **kwargs) -> dict:
    return await d.send_message(user, f"<@{d.app_id}> {text}", mentions=[d.bot_user], **kwargs)


async def quiet_since(d: DiscordDouble, mark: int) -> list[Recorded]:
    """What the bot sent since `mark`, once it has handled everything sent before this call.

    Proves an absence without a fixed sleep: an empty mention (answered with a hint, no search)
    goes after the events under test, and its reply comes once the bot has read them
    (discord.py dispatches gateway events in order; their handlers run before any await of a
    later one)."""
    before = len(d.requests)
    marker = await d.send_message(d.user("marker"), f"<@{d.app_id}>", mentions=[d.bot_user])
    hint = await d.wait_for(
        lambda r: (
            is_reply(r)
            and str((r.json.get("message_reference") or {}).get("message_id")) == str(marker["id"])
        ),
        after=before,
    )
    return [r for r in d.sent(mark) if r is not hint]


async def eventually(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Wait until `condition()` holds (work the bot finishes in a thread after replying)."""
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the condition never held")
