"""The Discord bot: intents, cogs, command sync once per process, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import messages
from bot.config import Settings
from bot.discord import reply
from bot.discord.ratelimit import RateLimiter
from bot.discord.translation import CommandTranslator
from bot.feeds import FeedPoller
from bot.replica import CorpusReplica, keep_in_step
from bot.service import QAService
from bot.storage import (
    ArticleStore,
    AskChannelStore,
    Database,
    FeedbackStore,
    FeedStore,
    StorageError,
    open_database,
)

log = logging.getLogger(__name__)

STATUS = "Questions sur l'actualité : /ask ou @mention"
EXTENSIONS = (
    "bot.discord.chat",
    "bot.discord.qa",
    "bot.discord.admin",
    "bot.discord.channels",
    "bot.discord.feeds",
)
Stores = tuple[FeedbackStore | None, AskChannelStore | None]
RETENTION_CHECK_SECONDS = 24 * 3600


def make_intents(settings: Settings) -> discord.Intents:
    """Guilds, guild and DM messages; Message Content only when configured (privileged)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = settings.message_content_intent
    return intents


if TYPE_CHECKING:
    _BotBase = commands.Bot  # what the mixin is mixed into (`Bot` or `AutoShardedBot`)
else:
    _BotBase = object


class DepecheMixin(_BotBase):
    """What both bot flavours share: settings, the QA service, feedback store, limiter."""

    settings: Settings
    service: QAService
    feedback: FeedbackStore
    ask_channels: AskChannelStore
    feed_store: FeedStore
    database: Database | None
    poller: FeedPoller
    limiter: RateLimiter

    def _init_depeche(
        self,
        settings: Settings,
        service: QAService,
        feedback: FeedbackStore | None,
        ask_channels: AskChannelStore | None,
        database: Database | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        # One database (one pool, with PostgreSQL) for every store; the bot closes it.
        self.database = database
        self.feedback = feedback or FeedbackStore(self._database())
        self.ask_channels = ask_channels or AskChannelStore(self._database())
        self.feed_store = FeedStore(self._database())
        # With PostgreSQL the corpus is shared: the folder is this process's copy (bot/replica.py).
        self.replica: CorpusReplica | None = None
        if self._database().dialect.name == "postgresql":
            name = f"{socket.gethostname()}:{os.getpid()}"
            self.replica = CorpusReplica(ArticleStore(self._database()), service.corpus_dir, name=name)
            service.before_load = self.replica.exchange
        self._in_step: asyncio.Task | None = None
        self.feed_leadership = self._database().leadership("feeds")
        self.poller = FeedPoller(
            self.feed_store,
            service,
            settings.fetch_policy(),
            feed_max_bytes=settings.feed_max_bytes,
            retention_days=settings.feed_retention_days,
            leads=self.feed_leadership.held,
            audit=lambda action, target, detail: self.feedback.audit(None, action, target, detail),
        )
        self._stop_polling = asyncio.Event()
        self._polling: asyncio.Task | None = None
        self.limiter = RateLimiter(settings.rate_limit_count, settings.rate_limit_seconds)
        self.synced = False
        self._retention: asyncio.Task | None = None  # deletes old questions daily (see setup_hook)

    def _database(self) -> Database:
        if self.database is None:
            self.database = open_database(self.settings.database_address)
        return self.database

    async def setup_hook(self) -> None:
        """Load the corpus (off the loop), the cogs, and sync commands once for this process."""
        if not self.service.ready:
            report = await self.service.reload()
            if not report.ok:
                log.error("initial corpus load failed: %s", report.error)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        await self.tree.set_translator(CommandTranslator())
        await self.sync_commands()
        self._retention = asyncio.create_task(self._forget_old_answers(), name="depeche-retention")
        if self.settings.feeds:
            self._polling = asyncio.create_task(self.poller.run(self._stop_polling), name="depeche-feeds")
        if self.replica is not None:
            shards = ",".join(map(str, self.settings.shard_ids)) or "all"
            self._in_step = asyncio.create_task(
                keep_in_step(
                    self.service, self.replica, self.settings.database_address, shards, self._stop_polling
                ),
                name="depeche-corpus-in-step",
            )

    async def _forget_old_answers(self) -> None:
        """At start-up, then daily: delete the questions older than the retention period."""
        while True:
            days = self.settings.feedback_retention_days
            cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
            try:
                forgotten = await asyncio.to_thread(self.feedback.forget_before, cutoff)
            except StorageError:
                log.warning("could not delete old answers from the feedback database", exc_info=True)
            else:
                if forgotten:
                    log.info("deleted %d answers older than %d days", forgotten, days)
            await asyncio.sleep(RETENTION_CHECK_SECONDS)

    async def sync_commands(self) -> None:
        """Sync to the configured guilds (instant) or globally; only at start-up, not on reconnect."""
        tree = self.tree
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                tree.copy_global_to(guild=guild)
                synced = await tree.sync(guild=guild)
                log.info("synced %d commands to guild %s", len(synced), guild_id)
        else:
            synced = await tree.sync()
            log.info("synced %d global commands", len(synced))
        self.synced = True

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """One place that turns command errors into a short private message; details go to the log."""
        if isinstance(error, app_commands.CheckFailure):
            message = str(error) or "You are not allowed to use this command."
        else:
            log.error("command %s failed", getattr(interaction.command, "name", "?"), exc_info=error)
            message = messages.text("command_failed", messages.of_locale(interaction.locale))
        try:
            await reply.send(interaction, message)
        except discord.HTTPException:
            log.warning("could not report a command error to the user")

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions are handled by the QA cog's listener only."""

    async def close(self) -> None:
        """Stop polling, close Discord, then the database."""
        if self._retention is not None:
            self._retention.cancel()
        self._stop_polling.set()
        for task in (self._polling, self._in_step):
            if task is None:
                continue
            try:  # a poll or reload in progress finishes its current step; a few seconds at most
                await asyncio.wait_for(asyncio.shield(task), 5)
            except Exception:
                task.cancel()
        await super().close()
        self.feed_leadership.release()
        self.feedback.close()
        self.ask_channels.close()
        self.feed_store.close()
        if self.database is not None:
            self.database.close()


def client_options(settings: Settings) -> dict[str, Any]:
    """What both bot flavours pass to discord.py: no prefix commands, no pings, our intents."""
    return {
        "command_prefix": commands.when_mentioned,
        "intents": make_intents(settings),
        "allowed_mentions": discord.AllowedMentions.none(),
        "help_command": None,
        # Shown under the bot's name in the member list: how to ask, in the servers' first language.
        "activity": discord.CustomActivity(name=STATUS),
    }


class DepecheBot(DepecheMixin, commands.Bot):
    """Dépêche on one gateway connection."""

    def __init__(
        self,
        settings: Settings,
        service: QAService,
        stores: Stores = (None, None),
        database: Database | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**client_options(settings), **options)
        self._init_depeche(settings, service, *stores, database=database)


class ShardedDepecheBot(DepecheMixin, commands.AutoShardedBot):
    """Dépêche over several shards, for large deployments."""

    def __init__(
        self,
        settings: Settings,
        service: QAService,
        stores: Stores = (None, None),
        database: Database | None = None,
        **options: Any,
    ) -> None:
        if settings.shard_ids:  # this process's shards only (others run elsewhere)
            options["shard_ids"] = settings.shard_ids
        super().__init__(**client_options(settings), shard_count=settings.shard_count, **options)
        self._init_depeche(settings, service, *stores, database=database)


def create_bot(
    settings: Settings,
    service: QAService,
    stores: Stores = (None, None),
    database: Database | None = None,
    **options: Any,
) -> DepecheBot | ShardedDepecheBot:
    """A sharded bot when a shard count is configured, a plain one otherwise.

    `stores` are the opened feedback and ask-channel stores (None: opened here, from
    `DEPECHE_DATABASE_PATH`); `options` go to discord.py's client (tests shorten
    `guild_ready_timeout`, for instance).
    """
    if settings.shard_count:
        return ShardedDepecheBot(settings, service, stores, database, **options)
    return DepecheBot(settings, service, stores, database, **options)


def run_discord_bot(settings: Settings, service: QAService) -> int:
    """Run until SIGINT/SIGTERM, then close the connection and the database cleanly."""
    assert settings.discord_token is not None
    token = settings.discord_token.get_secret_value()
    try:
        database = open_database(settings.database_address)
        stores = (FeedbackStore(database), AskChannelStore(database))
    except (StorageError, OSError) as exc:  # not a SQLite file, a folder that cannot be made...
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = (
            "DEPECHE_DATABASE_URL"
            if settings.database_url
            else f"DEPECHE_DATABASE_PATH={settings.database_path}"
        )
        print(f"error: cannot open the feedback database {where}: {reason}", file=sys.stderr)
        return 2
    # Logging is set up once, by the command line (one handler on the root logger, which
    # discord.py's loggers use too); discord.utils.setup_logging would add a second one.

    async def main() -> int:
        bot = create_bot(settings, service, stores, database)  # the bot closes the database
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # not on every platform
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
        try:
            await bot.start(token)
        except discord.LoginFailure:
            log.error("Discord refused the token (DISCORD_TOKEN): check it in the developer portal")
            return 1
        except discord.PrivilegedIntentsRequired:
            log.error(
                "Discord refused the Message Content intent: enable it for the bot in the developer "
                "portal, or set DEPECHE_MESSAGE_CONTENT_INTENT=false (ask-channels then need a mention)"
            )
            return 1
        except (aiohttp.ClientError, OSError, discord.GatewayNotFound) as exc:
            log.error("cannot reach Discord (%s); check the network and try again", type(exc).__name__)
            return 1
        except ValueError:  # e.g. a token with a line break: refused by the HTTP client
            log.error("DISCORD_TOKEN is not a valid token (it holds a space or control character)")
            return 1
        finally:
            if not bot.is_closed():
                await bot.close()
        return 0

    return asyncio.run(main())
