"""Who may run admin commands: the checks shared by the admin cogs (articles, channels, feedback)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from bot.config import Settings

if TYPE_CHECKING:
    from bot.discord.app import DepecheBot

log = logging.getLogger(__name__)


def is_admin(settings: Settings, interaction: discord.Interaction, *, corpus: bool = False) -> bool:
    """Admin user id, admin role, or Manage Server in this guild (re-checked on every call).

    The articles are shared by every server the bot is in: for changes to them (`corpus`),
    Manage Server counts only in the bot's home servers (`is_home_guild`). Elsewhere a server's
    admins manage their own server (its ask-channels, its feedback), not what everyone reads.
    """
    user = interaction.user
    if user.id in settings.admin_user_ids:
        return True
    if isinstance(user, discord.Member):
        if any(role.id in settings.admin_role_ids for role in user.roles):
            return True
        if interaction.guild_id is not None and interaction.permissions.manage_guild:
            return not corpus or is_home_guild(settings, interaction)
    return False


def is_home_guild(settings: Settings, interaction: discord.Interaction) -> bool:
    """The servers of `DEPECHE_GUILD_IDS`; without that list, the only server the bot is in."""
    if settings.guild_ids:
        return interaction.guild_id in settings.guild_ids
    return len(interaction.client.guilds) <= 1


def admin_only(*, corpus: bool = False):
    """App-command check: refuse non-admins with a clear, private message (`corpus`: the command
    changes the shared articles, see `is_admin`)."""

    async def predicate(interaction: discord.Interaction) -> bool:
        bot = cast("DepecheBot", interaction.client)
        if is_admin(bot.settings, interaction, corpus=corpus):
            return True
        log.warning(
            "refused admin command %s for user %s",
            getattr(interaction.command, "name", "?"),
            interaction.user.id,
        )
        if corpus and is_admin(bot.settings, interaction):
            raise app_commands.CheckFailure(
                "The articles are shared with the bot's other servers: only its own admins (an admin "
                "role or user set by its operator, or Manage Server in its home server) can change them."
            )
        raise app_commands.CheckFailure("Only the bot's admins can do this (Manage Server or an admin role).")

    return app_commands.check(predicate)
