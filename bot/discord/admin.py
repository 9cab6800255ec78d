"""Admin commands: /reload, /corpus, /feedback — hidden from members and checked on our side."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.discord import render
from bot.service import ReloadReport

if TYPE_CHECKING:
    from bot.discord.app import DepecheBot

log = logging.getLogger(__name__)


def is_admin(settings: Settings, interaction: discord.Interaction) -> bool:
    """Admin user id, admin role, or Manage Server in this guild (re-checked on every call)."""
    user = interaction.user
    if user.id in settings.admin_user_ids:
        return True
    if isinstance(user, discord.Member):
        if any(role.id in settings.admin_role_ids for role in user.roles):
            return True
        if interaction.guild_id is not None and interaction.permissions.manage_guild:
            return True
    return False


def admin_only():
    """App-command check: refuse non-admins with a clear, private message."""

    async def predicate(interaction: discord.Interaction) -> bool:
        bot: DepecheBot = interaction.client  # type: ignore[assignment]
        if is_admin(bot.settings, interaction):
            return True
        log.warning(
            "refused admin command %s for user %s",
            getattr(interaction.command, "name", "?"),
            interaction.user.id,
        )
        raise app_commands.CheckFailure("Only the bot's admins can do this (Manage Server or an admin role).")

    return app_commands.check(predicate)


def _names(items: list[str], limit: int = 15) -> str:
    shown = ", ".join(f"`{render.escape(i)}`" for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def reload_embed(report: ReloadReport) -> discord.Embed:
    """What a reload changed, what it rejected, or why the old index still serves."""
    if report.ok:
        title = "Corpus reloaded" if not report.unchanged else "Corpus reloaded — nothing changed"
        colour = render.COLOUR_FOUND
        lines = [
            f"Serving **{report.articles}** articles, **{report.sentences:,}** sentences "
            f"(version `{report.version}`, {report.seconds:.1f} s)."
        ]
    else:
        title = "Reload failed — the previous index keeps serving"
        colour = discord.Colour.red()
        lines = [
            f"Error: {render.escape(report.error or 'unknown')}",
            f"Still serving version `{report.version}` ({report.articles} articles).",
        ]
    for label, items in (("Added", report.added), ("Removed", report.removed), ("Changed", report.changed)):
        if items:
            lines.append(f"{label}: {_names(items)}")
    if report.problems:
        lines.append(f"\n**Rejected files ({len(report.problems)}):**")
        for problem in report.problems[:20]:
            lines.append(
                f"• `{render.escape(problem.path)}`: {render.escape(render.shorten(problem.reason, 200))}"
            )
    embed = discord.Embed(
        title=title,
        colour=colour,
        description=render.shorten_lines("\n".join(lines), render.DESCRIPTION_LIMIT),
    )
    return embed


class Admin(commands.Cog):
    """Corpus management for the server's admins."""

    def __init__(self, bot: DepecheBot) -> None:
        self.bot = bot

    @app_commands.command(name="reload", description="Re-read the article folder and swap in the new index")
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.service.reload()
        await asyncio.to_thread(
            self.bot.feedback.audit,
            interaction.user.id,
            "reload",
            report.version,
            "ok" if report.ok else f"failed: {report.error}",
        )
        await interaction.followup.send(
            embed=reload_embed(report), ephemeral=True, allowed_mentions=render.NO_MENTIONS
        )

    @app_commands.command(name="corpus", description="Articles, sentences, last reload and corpus version")
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def corpus(self, interaction: discord.Interaction) -> None:
        service = self.bot.service
        engine = service.engine
        loaded = service.loaded_at
        lines = [
            f"Version `{engine.version}`",
            f"**{len(engine.index.articles)}** articles, **{engine.index.size:,}** sentences",
            f"Last reload: {discord.utils.format_dt(loaded, 'R') if loaded else 'never'}",
        ]
        if service.problems:
            lines.append(f"Rejected files: {len(service.problems)} (run `/reload` to see why)")
        titles = [f"• {render.escape(render.shorten(a.title, 90))} (`{a.id}`)" for a in engine.index.articles]
        embed = discord.Embed(title="Corpus", colour=render.COLOUR_FOUND, description="\n".join(lines))
        embed.add_field(
            name="Articles", value=render.shorten_lines("\n".join(titles) or "—", render.FIELD_VALUE_LIMIT)
        )
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=render.NO_MENTIONS
        )

    @app_commands.command(name="feedback", description="How answers fare, and which questions go unanswered")
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def feedback(self, interaction: discord.Interaction) -> None:
        summary = await asyncio.to_thread(self.bot.feedback.summary)
        embed = discord.Embed(
            title="Feedback",
            colour=render.COLOUR_FOUND,
            description=(
                f"{summary.answers} answers, {summary.unanswered} not found; "
                f"votes: {summary.helpful} helpful, {summary.not_helpful} not helpful."
            ),
        )
        for name, questions in (
            ("Recent unanswered questions", summary.recent_unanswered),
            ("Recent answers voted not helpful", summary.recent_not_helpful),
        ):
            value = "\n".join(f"• {render.escape(render.shorten(q, 150))}" for q in questions) or "—"
            embed.add_field(
                name=name, value=render.shorten_lines(value, render.FIELD_VALUE_LIMIT), inline=False
            )
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=render.NO_MENTIONS
        )


async def setup(bot: DepecheBot) -> None:
    """discord.py extension entry point."""
    await bot.add_cog(Admin(bot))
