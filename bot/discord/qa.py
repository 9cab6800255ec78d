"""Questions by command: /ask, /search, /article, /help and the Find sources message menu."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import messages
from bot.discord import render, reply
from bot.discord.asking import Asking, question_text
from bot.discord.votes import VoteButton, feedback_view

if TYPE_CHECKING:
    from bot.discord.app import DepecheBot

log = logging.getLogger(__name__)

# Slash answers that are not ready within this time are deferred (Discord allows 3 s).
DEFER_AFTER_SECONDS = 2.0


class QA(commands.Cog):
    """Slash commands and the message menu for members."""

    def __init__(self, bot: DepecheBot) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.asking = Asking(bot)
        self.defer_after = DEFER_AFTER_SECONDS
        self.find_sources_menu = app_commands.ContextMenu(name="Find sources", callback=self.find_sources)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(VoteButton)
        self.bot.tree.add_command(self.find_sources_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.find_sources_menu.name, type=self.find_sources_menu.type)

    async def _respond_with_answer(
        self, interaction: discord.Interaction, question: str, top: int, ephemeral: bool, via: str
    ) -> None:
        refusal = self.asking.refusal(interaction.user.id, question)
        if refusal is not None:
            await reply.send(interaction, refusal.message)
            return
        if await self._say_if_unavailable(interaction):
            return
        # Asked in an announcement's forum post: that article first, as in chat.
        about = self.bot.feed_store.announcement(interaction.channel_id) if interaction.channel_id else None
        task = asyncio.ensure_future(self.asking.answer(question, top, about=about))
        try:
            answer, ms = await asyncio.wait_for(asyncio.shield(task), self.defer_after)
        except TimeoutError:  # too slow for Discord's 3 s: defer, the answer goes as a follow-up
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            answer, ms = await task
        answer_id = await self.asking.remember(answer, interaction.guild_id)
        self.asking.log(via, interaction.user.id, interaction.guild_id, answer, ms)
        embed = render.answer_embed(answer, answer_id)
        view = feedback_view(answer_id, messages.of_question(answer.question))
        await reply.send(interaction, embed=embed, view=view, ephemeral=ephemeral)
        view.stop()

    async def _say_if_unavailable(self, interaction: discord.Interaction) -> bool:
        """Tell the user when no corpus is served, in their Discord language."""
        unavailable = self.asking.unavailable(messages.of_locale(interaction.locale))
        if unavailable is not None:
            await reply.send(interaction, unavailable)
        return unavailable is not None

    @app_commands.command(name="ask", description="Ask a question about the articles; get cited excerpts")
    @app_commands.describe(
        question="Your question, in French or English",
        count="How many excerpts to show (1-10)",
        public="Show the answer to everyone in the channel (default: only you)",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 4000],
        count: app_commands.Range[int, 1, 10] | None = None,
        public: bool = False,
    ) -> None:
        await self._respond_with_answer(
            interaction, question_text(question), count or self.settings.excerpts, not public, "ask"
        )

    @app_commands.command(
        name="search", description="List the sentences that best match some words, with scores"
    )
    @app_commands.describe(query="Words to look for")
    async def search(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 4000]) -> None:
        query = question_text(query)
        refusal = self.asking.refusal(interaction.user.id, query)
        if refusal is not None:
            await reply.send(interaction, refusal.message)
            return
        if await self._say_if_unavailable(interaction):
            return
        engine = self.bot.service.engine
        excerpts = await asyncio.to_thread(engine.search, query, 10)
        language = messages.of_locale(interaction.locale)
        await reply.send(interaction, embed=render.search_embed(query, excerpts, engine.version, language))

    @app_commands.command(
        name="article", description="Show an article of the corpus: source, date, summary, link"
    )
    @app_commands.describe(name="Article title (start typing to pick one)")
    async def article(self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 300]) -> None:
        if await self._say_if_unavailable(interaction):
            return
        engine = self.bot.service.engine
        meta = engine.index.titles.find(name)
        language = messages.of_locale(interaction.locale)
        if meta is None:
            shown = render.escape(render.shorten(name, 100))
            await reply.send(interaction, messages.text("no_such_article", language, name=shown))
            return
        await reply.send(interaction, embed=render.article_embed(meta, engine.version, language))

    @article.autocomplete("name")
    async def article_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await served_article_choices(self.bot, current)

    @app_commands.command(name="help", description="How to ask Dépêche about the news")
    async def help(self, interaction: discord.Interaction) -> None:
        language = messages.of_locale(interaction.locale)
        embed = discord.Embed(
            title=messages.text("help_title", language),
            colour=render.COLOUR_FOUND,
            description=messages.text("help", language),
        )
        guild = interaction.guild
        if guild is not None:  # where every message is a question, in this server
            here = [c for c in self.settings.ask_channel_ids if guild.get_channel_or_thread(c) is not None]
            here += self.bot.ask_channels.of_guild(guild.id)
            if here:
                channels = " ".join(f"<#{c}>" for c in here[:20])
                embed.add_field(
                    name=messages.text("ask_channels_here", language), value=channels, inline=False
                )
        service = self.bot.service
        if service.ready:
            engine = service.engine
            footer = messages.text(
                "help_footer",
                language,
                version=engine.version,
                articles=len(engine.index.articles),
                sentences=engine.index.size,
            )
        else:
            footer = messages.text("no_corpus", language)
        embed.set_footer(text=footer)
        await reply.send(interaction, embed=embed)

    async def find_sources(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Context menu: look the selected message's text up in the corpus."""
        text = question_text(message.content)
        if not text:
            await reply.send(interaction, messages.text("no_text", messages.of_locale(interaction.locale)))
            return
        await self._respond_with_answer(
            interaction,
            text[: self.settings.max_question_length],
            self.settings.excerpts,
            True,
            "find-sources",
        )


async def served_article_choices(bot: DepecheBot, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: titles of the served articles matching what was typed, best first (25 at
    most, 100 characters each; none while no corpus is loaded). Matched off the event loop,
    since fuzzy matching grows with the number of articles."""
    if not bot.service.ready:
        return []
    found = await asyncio.to_thread(bot.service.engine.index.titles.match, current, 25)
    return [app_commands.Choice(name=render.shorten(meta.title, 100), value=meta.id) for meta in found]


async def setup(bot: DepecheBot) -> None:
    """discord.py extension entry point."""
    await bot.add_cog(QA(bot))
