"""Admin commands: /reload, /corpus, /feedback — hidden from members and checked on our side."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.articles import ArticleError, ArticleMeta, FetchError, library
from bot.discord import drafts, render, reply
from bot.discord.checks import admin_only, is_admin
from bot.discord.qa import served_article_choices
from bot.search import find_duplicate
from bot.service import QAService, ReloadReport
from bot.storage import StorageError

if TYPE_CHECKING:
    from bot.discord.app import DepecheBot

log = logging.getLogger(__name__)


def _embedding_state(service: QAService) -> str:
    """Whether sentence vectors are on, and how much of the corpus they cover yet."""
    if not service.embeddings_enabled:
        return "off"
    engine = service.engine
    covered = engine.dense.coverage if engine.dense is not None else 0
    state = "" if service.embedding_done.is_set() else " (embedding in the background)"
    return f"{covered:,} of {engine.index.size:,} sentences{state}"


def _reason(exc: Exception) -> str:
    """Why a file operation failed, for an admin: the system's words without any path."""
    if isinstance(exc, OSError):
        return render.escape(exc.strerror or type(exc).__name__)
    return render.escape(str(exc))


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
        title = "Reload failed — the previous index keeps serving" if report.version else "Reload failed"
        colour = discord.Colour.red()
        lines = [
            f"Error: {render.escape(report.error or 'unknown')}",
            f"Still serving version `{report.version}` ({report.articles} articles)."
            if report.version
            else "No corpus is served until a reload succeeds.",
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


def preview_embed(prepared: library.PreparedArticle) -> discord.Embed:
    """What an admin checks before confirming: title, date, first paragraph, size, language."""
    draft = prepared.draft
    embed = discord.Embed(
        title=render.escape(render.shorten(prepared.article.title, 240)),
        description=render.escape(render.shorten(prepared.first_paragraph, 1500)),
        colour=render.COLOUR_FOUND,
    )
    embed.add_field(name="Published", value=draft.published or "not stated")
    embed.add_field(name="Sentences", value=str(prepared.article.sentence_count))
    embed.add_field(name="Language", value=draft.language)
    embed.add_field(name="Source", value=render.escape(render.shorten(draft.source, 200)) or "—")
    if draft.url:
        embed.add_field(name="Link", value=render.escape(render.shorten(draft.url, 500)), inline=False)
    embed.set_footer(text="Confirm to add it to the corpus, or cancel.")
    return embed


class ConfirmAdd(discord.ui.View):
    """Confirm / Cancel under a preview; only the admin who asked can press them. Unanswered,
    the preview expires (within the 15 minutes an interaction may still be edited)."""

    expires_after = 600.0  # seconds

    def __init__(
        self, cog: Admin, prepared: library.PreparedArticle, admin_id: int, asked: discord.Interaction
    ) -> None:
        super().__init__(timeout=self.expires_after)
        self.cog = cog
        self.prepared = prepared
        self.admin_id = admin_id
        self.asked = asked

    async def on_timeout(self) -> None:
        try:
            text = "This preview expired: nothing was added. Run `/corpus add` again."
            await self.asked.edit_original_response(content=text, embed=None, view=None)
        except discord.HTTPException:
            log.info("could not mark an expired preview")

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.admin_id and is_admin(
            self.cog.bot.settings, interaction, corpus=True
        )

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.defer()
        result = await self.cog.commit_add(self.prepared, interaction.user.id)
        await interaction.edit_original_response(content=result, embed=None, view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Cancelled: nothing was added.", embed=None, view=None
        )


class Admin(commands.Cog):
    """Corpus management for the server's admins."""

    def __init__(self, bot: DepecheBot) -> None:
        self.bot = bot
        self._write_lock = asyncio.Lock()

    @app_commands.command(name="reload", description="Re-read the article folder and swap in the new index")
    @app_commands.default_permissions(manage_guild=True)
    @admin_only(corpus=True)
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.service.reload()
        await self._audit(
            interaction.user.id, "reload", report.version, "ok" if report.ok else f"failed: {report.error}"
        )
        await reply.send(interaction, embed=reload_embed(report))

    async def _audit(self, user_id: int, action: str, target: str, detail: str) -> None:
        """Record an admin action; a failing database is logged, never in the way of the action."""
        try:
            await asyncio.to_thread(self.bot.feedback.audit, user_id, action, target, detail)
        except StorageError:
            log.warning("could not record %s %s in the audit trail", action, target, exc_info=True)

    corpus = app_commands.Group(
        name="corpus",
        description="Manage the articles Dépêche answers from (admins)",
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @corpus.command(name="status", description="Articles, sentences, last reload and corpus version")
    @admin_only()
    async def corpus_status(self, interaction: discord.Interaction) -> None:
        service = self.bot.service
        if not service.ready:
            if service.load_error is None:
                await reply.send(interaction, "The corpus is still loading; try again shortly.")
                return
            await reply.send(
                interaction,
                f"No corpus is loaded: {render.escape(service.load_error)}. Fix the articles (or add one "
                "with `/corpus add`), then `/reload` shows what was rejected and why.",
            )
            return
        engine = service.engine
        loaded = service.loaded_at
        lines = [
            f"Version `{engine.version}`",
            f"**{len(engine.index.articles)}** articles, **{engine.index.size:,}** sentences",
            f"Last reload: {discord.utils.format_dt(loaded, 'R') if loaded else 'never'}",
            f"Search by meaning (embeddings): {_embedding_state(service)}",
        ]
        if service.load_error:
            lines.append(f"Last reload failed: {render.escape(service.load_error)}")
        if service.problems:
            lines.append(f"Rejected files: {len(service.problems)} (run `/reload` to see why)")
        replica = self.bot.replica
        if replica is not None:  # several processes share the corpus: what each one serves
            try:
                processes = await asyncio.to_thread(replica.store.processes)
            except StorageError:
                lines.append("Other processes: unknown (the database cannot be reached)")
            else:
                for process in processes:
                    state = "up to date" if process.corpus_version == engine.version else "catching up"
                    lines.append(
                        f"Process `{render.escape(process.name)}` (shards {render.escape(process.shards)}): "
                        f"version `{render.escape(process.corpus_version)}`, {state}"
                    )
        # The field holds 1,024 characters (a line takes at least 9): format enough titles, not all.
        shown = engine.index.articles[:120]
        titles = [f"• {render.escape(render.shorten(a.title, 90))} (`{a.id}`)" for a in shown]
        embed = discord.Embed(title="Corpus", colour=render.COLOUR_FOUND, description="\n".join(lines))
        embed.add_field(
            name="Articles", value=render.shorten_lines("\n".join(titles) or "—", render.FIELD_VALUE_LIMIT)
        )
        await reply.send(interaction, embed=embed)

    @corpus.command(name="add", description="Add an article from a news link or an uploaded file")
    @app_commands.describe(url="Link to a news article (http/https)", file="A .md, .txt or .html file")
    @admin_only(corpus=True)
    async def corpus_add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, 2000] | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        if (url is None) == (file is None):
            await reply.send(interaction, "Give either a link (`url`) or a file (`file`), not both.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            if url is not None:
                draft = await drafts.from_url(url, self.bot.settings.fetch_policy())
            else:
                assert file is not None
                draft = await drafts.from_attachment(file, self.bot.settings.max_article_bytes)
            prepared = await drafts.prepare(draft, added_by=f"discord:{interaction.user.id}")
        except (FetchError, ArticleError) as exc:
            await reply.send(interaction, f"Cannot add this article: {render.escape(str(exc))}.")
            return
        duplicate = await self._duplicate(prepared)
        if duplicate is not None:
            await reply.send(
                interaction,
                f"Already in the corpus as “{render.escape(duplicate.title)}” (`{duplicate.id}`).",
            )
            return
        view = ConfirmAdd(self, prepared, interaction.user.id, interaction)
        await reply.send(interaction, embed=preview_embed(prepared), view=view)

    async def _duplicate(self, prepared: library.PreparedArticle) -> ArticleMeta | None:
        """The served article with the same link or text (none while no corpus is served);
        looked up off the event loop."""
        service = self.bot.service
        if not service.ready:
            return None
        return await asyncio.to_thread(find_duplicate, service.engine.index, prepared)

    async def commit_add(self, prepared: library.PreparedArticle, user_id: int) -> str:
        """Write a confirmed article, reload, and say what happened."""
        async with self._write_lock:
            duplicate = await self._duplicate(prepared)
            if duplicate is not None:
                return f"Already in the corpus as “{render.escape(duplicate.title)}” (`{duplicate.id}`)."
            try:
                path = await asyncio.to_thread(library.write_article, self.bot.service.corpus_dir, prepared)
            except (ArticleError, OSError) as exc:
                log.warning("writing article %s failed: %s", prepared.draft.slug, exc)
                return f"Could not save the article ({_reason(exc)}); nothing was added."
            await self._audit(user_id, "add", path.stem, prepared.draft.url or "upload")
            report = await self.bot.service.reload()
        if not report.ok:
            return f"Saved as `{path.name}`, but the reload failed: {render.escape(report.error or '?')}."
        return (
            f"Added “{render.escape(prepared.article.title)}” as `{path.stem}` — members can ask about it "
            f"now ({report.articles} articles, {report.sentences:,} sentences)."
        )

    @corpus.command(name="remove", description="Remove an article (kept in corpus/.removed, recoverable)")
    @app_commands.describe(name="Article title (start typing to pick one)")
    @admin_only(corpus=True)
    async def corpus_remove(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 300]
    ) -> None:
        service = self.bot.service
        meta = service.engine.index.titles.find(name) if service.ready else None
        if meta is None:
            await reply.send(interaction, "No article by that name; pick one from the suggestions.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self._write_lock:
            try:
                moved = await asyncio.to_thread(library.remove_article, self.bot.service.corpus_dir, meta)
            except (ArticleError, OSError) as exc:
                log.warning("remove %s failed: %s", meta.id, exc)
                await reply.send(interaction, f"Could not remove `{meta.id}`: {_reason(exc)}")
                return
            await self._audit(interaction.user.id, "remove", meta.id, meta.path)
            report = await self.bot.service.reload()
        await reply.send(
            interaction,
            f"Removed “{render.escape(meta.title)}”. The file is kept as `.removed/{moved.name}`: "
            f"move it back and `/reload` to restore it. Now {report.articles} articles.",
        )

    @corpus_remove.autocomplete("name")
    async def corpus_remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await served_article_choices(self.bot, current)

    @corpus.command(name="audit", description="Who added or removed which article, and when")
    @admin_only()
    async def corpus_audit(self, interaction: discord.Interaction) -> None:
        rows = await asyncio.to_thread(self.bot.feedback.audit_log, 20)
        lines = [
            f"`{at[:16]}` <@{user}> **{action}** `{render.escape(target)}` "
            f"{render.escape(render.shorten(detail, 80))}"
            for at, user, action, target, detail in rows
        ]
        embed = discord.Embed(
            title="Corpus audit trail",
            colour=render.COLOUR_FOUND,
            description=render.shorten_lines("\n".join(lines) or "Nothing yet.", 4000),
        )
        await reply.send(interaction, embed=embed)

    @app_commands.command(name="feedback", description="How answers fare, and which questions go unanswered")
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def feedback(self, interaction: discord.Interaction) -> None:
        # A server's admins see their server's questions only; in a direct message, the bot's
        # operators (DEPECHE_ADMIN_USER_IDS) see every server's and the direct messages'.
        guild_id = interaction.guild_id
        summary = await asyncio.to_thread(self.bot.feedback.summary, 10, guild_id)
        embed = discord.Embed(
            title="Feedback" if guild_id is not None else "Feedback (all servers and direct messages)",
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
        await reply.send(interaction, embed=embed)


async def setup(bot: DepecheBot) -> None:
    """discord.py extension entry point."""
    await bot.add_cog(Admin(bot))
