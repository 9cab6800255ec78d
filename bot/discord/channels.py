"""/ask-channels: a server's admins choose, from Discord, the channels where every message is a
question (in a forum: every new post), without editing settings or restarting the bot."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord import reply
from bot.discord.checks import admin_only
from bot.discord.permissions import missing_to_answer
from bot.storage import StorageError

if TYPE_CHECKING:
    from bot.discord.app import DepecheBot

log = logging.getLogger(__name__)

AskChannel = discord.TextChannel | discord.ForumChannel
_NOT_SAVED = "Could not save the change (the bot's database failed; the admins can find why in its log)."


class AskChannels(commands.Cog):
    """Ask-channels set from Discord, on top of `DEPECHE_ASK_CHANNEL_IDS`."""

    def __init__(self, bot: DepecheBot) -> None:
        self.bot = bot

    group = app_commands.Group(
        name="ask-channels",
        description="Channels where every message is a question (admins)",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    def _from_settings(self, channel_id: int) -> bool:
        return channel_id in self.bot.settings.ask_channel_ids

    @group.command(name="add", description="Answer every message of a channel (in a forum, every new post)")
    @app_commands.describe(channel="A text channel or a forum")
    @admin_only()
    async def add(self, interaction: discord.Interaction, channel: AskChannel) -> None:
        mention = channel.mention
        if self._from_settings(channel.id) or channel.id in self.bot.ask_channels:
            await reply.send(interaction, f"{mention} is already an ask-channel.")
            return
        try:
            await asyncio.to_thread(
                self.bot.ask_channels.add, channel.guild.id, channel.id, interaction.user.id
            )
        except StorageError:
            log.warning("could not save ask-channel %s", channel.id, exc_info=True)
            await reply.send(interaction, _NOT_SAVED)
            return
        log.info("ask-channel %s added by user %s", channel.id, interaction.user.id)
        what = "new post" if isinstance(channel, discord.ForumChannel) else "message"
        lines = [f"{mention} is now an ask-channel: every {what} there is a question."]
        me = channel.guild.me
        missing = missing_to_answer(channel, me) if me is not None else []
        if missing:
            lines.append(f"⚠️ I cannot answer there yet: give me {', '.join(missing)} in that channel.")
        if not self.bot.settings.message_content_intent:
            lines.append(
                "⚠️ The Message Content intent is off (`DEPECHE_MESSAGE_CONTENT_INTENT=false`): I cannot read "
                "messages there, so members still need to mention me or use `/ask`."
            )
        await reply.send(interaction, "\n".join(lines))

    @group.command(name="remove", description="Stop answering every message of a channel")
    @app_commands.describe(channel="One of the ask-channels")
    @admin_only()
    async def remove(self, interaction: discord.Interaction, channel: AskChannel) -> None:
        mention = channel.mention
        if self._from_settings(channel.id):
            await reply.send(
                interaction,
                f"{mention} is an ask-channel by the bot's settings (`DEPECHE_ASK_CHANNEL_IDS`); "
                "remove it there and restart the bot.",
            )
            return
        try:
            removed = await asyncio.to_thread(self.bot.ask_channels.remove, [channel.id])
        except StorageError:
            log.warning("could not remove ask-channel %s", channel.id, exc_info=True)
            await reply.send(interaction, _NOT_SAVED)
            return
        if not removed:
            await reply.send(interaction, f"{mention} is not an ask-channel.")
            return
        log.info("ask-channel %s removed by user %s", channel.id, interaction.user.id)
        await reply.send(
            interaction, f"{mention} is no longer an ask-channel: members can still mention me there."
        )

    @group.command(name="list", description="The channels where every message is a question")
    @admin_only()
    async def list_channels(self, interaction: discord.Interaction) -> None:
        guild = interaction.guild
        assert guild is not None  # guild_only
        configured = [c for c in self.bot.settings.ask_channel_ids if guild.get_channel(c) is not None]
        chosen = await asyncio.to_thread(self.bot.ask_channels.listing, guild.id)
        lines = [f"• <#{c}> (bot settings)" for c in configured] + [
            f"• <#{channel_id}> — added by <@{user_id}> {discord.utils.format_dt(added_at, 'R')}"
            for channel_id, user_id, added_at in chosen
        ]
        if not lines:
            lines = ["None: members ask by mentioning me, in direct messages or with `/ask`."]
        await reply.send(interaction, "\n".join(lines))

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self._forget([channel.id])

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot left or was removed from a server: its ask-channels go too."""
        await self._forget(self.bot.ask_channels.of_guild(guild.id))

    async def _forget(self, channel_ids: list[int]) -> None:
        try:
            await asyncio.to_thread(self.bot.ask_channels.remove, channel_ids)
        except StorageError:
            log.warning("could not forget deleted ask-channels %s", channel_ids, exc_info=True)


async def setup(bot: DepecheBot) -> None:
    """discord.py extension entry point."""
    await bot.add_cog(AskChannels(bot))
