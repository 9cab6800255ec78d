"""/feeds: follow news feeds from Discord (preview before saving), see how they are doing, poll
now; and the announcements of the articles they bring in (an embed in a channel, or a post in
a forum channel, where members can ask about the article)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.articles import ArticleMeta, FetchError
from bot.discord import render, reply
from bot.discord.checks import admin_only, is_admin
from bot.feeds import DEFAULT_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES, FeedError, ParsedFeed
from bot.storage import Feed, StorageError

if TYPE_CHECKING:
    from bot.discord.app import DepecheBot

log = logging.getLogger(__name__)

MAX_INTERVAL_MINUTES = 24 * 60
AnnounceChannel = discord.TextChannel | discord.ForumChannel


def _when(value) -> str:
    return discord.utils.format_dt(value, "R") if value else "never"


def feed_status(feed: Feed) -> str:
    """One feed's state, for /feeds list."""
    where = f" → <#{feed.channel_id}>" if feed.channel_id else ""
    lines = [
        f"**{render.escape(render.shorten(feed.title, 80))}** (`{feed.id}`){where}",
        f"{render.escape(render.shorten(feed.url, 150))}",
        f"checked {_when(feed.last_checked)} · last new item {_when(feed.last_new_item)} · "
        f"{feed.articles} articles · every {feed.interval_minutes} min",
    ]
    if feed.error:
        lines.append(
            f"⚠ {render.escape(render.shorten(feed.error, 200))} ({feed.failures} in a row) · "
            f"next try {_when(feed.next_check)}"
        )
    return "\n".join(lines)


def preview_embed(
    url: str, parsed: ParsedFeed, interval: int, channel: AnnounceChannel | None
) -> discord.Embed:
    """What an admin checks before following a feed: its title, its items, where it announces."""
    lines = []
    for item in parsed.items[:5]:
        date = item.published.strftime("%Y-%m-%d") if item.published else "no date"
        lines.append(
            f"• `{date}` {render.escape(render.shorten(item.title or item.link or 'untitled', 120))}"
        )
    embed = discord.Embed(
        title=render.escape(render.shorten(parsed.title or "Untitled feed", 240)),
        description="\n".join(lines) or "The feed has no items yet.",
        colour=render.COLOUR_FOUND,
    )
    count = f"{len(parsed.items)}" + ("+" if parsed.truncated else "")
    embed.add_field(name="Items", value=count)
    embed.add_field(name="Checked every", value=f"{interval} min")
    embed.add_field(name="Announced in", value=channel.mention if channel else "nowhere")
    embed.add_field(name="Address", value=render.escape(render.shorten(url, 500)), inline=False)
    embed.set_footer(text="Its newest items are brought in at the first check; later ones are announced.")
    return embed


def announcement_embed(meta: ArticleMeta) -> discord.Embed:
    """A new article: title (linked), source, date, summary."""
    url = meta.url if meta.url and meta.url.startswith(("http://", "https://")) else None
    embed = discord.Embed(
        title=render.escape(render.shorten(meta.title, render.TITLE_LIMIT - 10)),
        url=url,
        description=render.escape(render.shorten(meta.summary or "", 600)) or None,
        colour=render.COLOUR_FOUND,
    )
    embed.add_field(name="Source", value=render.escape(render.shorten(meta.source, 200)) or "—")
    embed.add_field(name="Published", value=meta.published or "not stated")
    embed.set_footer(text="Ask about this article here: Dépêche answers with cited excerpts.")
    return embed


class ConfirmFollow(discord.ui.View):
    """Follow / Cancel under a feed preview; only the admin who asked can press them."""

    def __init__(
        self,
        cog: Feeds,
        url: str,
        parsed: ParsedFeed,
        interval: int,
        channel: AnnounceChannel | None,
        asked: discord.Interaction,
    ) -> None:
        super().__init__(timeout=600)
        self.cog, self.url, self.parsed = cog, url, parsed
        self.interval, self.channel, self.asked = interval, channel, asked
        self.admin_id = asked.user.id

    async def on_timeout(self) -> None:
        try:
            text = "This preview expired: the feed is not followed. Run `/feeds add` again."
            await self.asked.edit_original_response(content=text, embed=None, view=None)
        except discord.HTTPException:
            log.info("could not mark an expired feed preview")

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.admin_id and is_admin(
            self.cog.bot.settings, interaction, corpus=True
        )

    @discord.ui.button(label="Follow", style=discord.ButtonStyle.success)
    async def follow(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        text = await self.cog.commit_follow(self, interaction)
        await interaction.response.edit_message(content=text, embed=None, view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Cancelled: the feed is not followed.", embed=None, view=None
        )


class Feeds(commands.Cog):
    """Feeds for the server's admins; announcements for everyone."""

    def __init__(self, bot: DepecheBot) -> None:
        self.bot = bot
        bot.poller.announce = self.announce

    async def _audit(self, user_id: int | None, action: str, target: str, detail: str) -> None:
        try:
            await asyncio.to_thread(self.bot.feedback.audit, user_id, action, target, detail)
        except StorageError:
            log.warning("could not record %s %s in the audit trail", action, target, exc_info=True)

    feeds = app_commands.Group(
        name="feeds",
        description="News feeds Dépêche follows and brings into its articles (admins)",
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @feeds.command(name="add", description="Preview a feed (RSS or Atom), then follow it")
    @app_commands.describe(
        url="The feed's address (http/https)",
        channel="Where to announce its new articles (a text or forum channel)",
        interval="Minutes between checks (5 to 1440, default 15)",
    )
    @admin_only(corpus=True)
    async def feeds_add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, 2000],
        channel: AnnounceChannel | None = None,
        interval: app_commands.Range[
            int, MIN_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES
        ] = DEFAULT_INTERVAL_MINUTES,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            _, parsed = await self.bot.poller.preview(url)
        except (FetchError, FeedError) as exc:
            await reply.send(interaction, f"Cannot follow this feed: {render.escape(str(exc))}.")
            return
        view = ConfirmFollow(self, url.strip(), parsed, interval, channel, interaction)
        await reply.send(interaction, embed=preview_embed(url, parsed, interval, channel), view=view)

    async def commit_follow(self, view: ConfirmFollow, interaction: discord.Interaction) -> str:
        """Save a confirmed feed and poll it at once."""
        try:
            feed = await asyncio.to_thread(
                self.bot.feed_store.add,
                view.url,
                view.parsed.title or view.url,
                interval_minutes=view.interval,
                guild_id=interaction.guild_id,
                channel_id=view.channel.id if view.channel else None,
                added_by=f"discord:{interaction.user.id}",
            )
        except ValueError as exc:
            return f"Not followed: {render.escape(str(exc))}."
        except StorageError:
            log.warning("could not save a feed", exc_info=True)
            return "Not followed: the bot's database could not be written; try again later."
        await self._audit(interaction.user.id, "feed-follow", str(feed.id), feed.url)
        self.bot.poller.wake.set()
        return (
            f"Following “{render.escape(feed.title)}” (`{feed.id}`): its newest articles arrive within a "
            "minute; `/feeds list` shows how it is doing."
        )

    @feeds.command(name="remove", description="Stop following a feed (the articles it brought stay)")
    @app_commands.describe(feed="The feed (start typing to pick one)")
    @admin_only(corpus=True)
    async def feeds_remove(
        self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, 2000]
    ) -> None:
        found = await asyncio.to_thread(self.bot.feed_store.find, feed)
        if found is None:
            await reply.send(interaction, "No feed by that name; pick one from the suggestions.")
            return
        await asyncio.to_thread(self.bot.feed_store.remove, found.id)
        await self._audit(interaction.user.id, "feed-unfollow", str(found.id), found.url)
        await reply.send(
            interaction,
            f"No longer following “{render.escape(found.title)}”. Its {found.articles} articles stay; "
            "remove them with `/corpus remove`.",
        )

    @feeds_remove.autocomplete("feed")
    async def feeds_remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        feeds = await asyncio.to_thread(self.bot.feed_store.all)
        wanted = current.casefold()
        return [
            app_commands.Choice(name=render.shorten(f"{f.title} — {f.url}", 100), value=str(f.id))
            for f in feeds
            if wanted in f.title.casefold() or wanted in f.url.casefold()
        ][:25]

    @feeds.command(name="list", description="Each feed: last check, last new item, articles, errors")
    @admin_only()
    async def feeds_list(self, interaction: discord.Interaction) -> None:
        feeds = await asyncio.to_thread(self.bot.feed_store.all)
        text = (
            "\n\n".join(feed_status(f) for f in feeds) or "No feeds followed yet: add one with `/feeds add`."
        )
        embed = discord.Embed(
            title="Feeds",
            colour=render.COLOUR_FOUND,
            description=render.shorten_lines(text, render.DESCRIPTION_LIMIT),
        )
        await reply.send(interaction, embed=embed)

    @feeds.command(name="check", description="Check every feed now instead of at its next turn")
    @admin_only(corpus=True)
    async def feeds_check(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        feeds = await asyncio.to_thread(self.bot.feed_store.all)
        reports = await self.bot.poller.poll_many(feeds)
        lines = []
        for feed, report in zip(feeds, reports, strict=True):
            if report.error:
                state = f"⚠ {render.escape(render.shorten(report.error, 150))}"
            elif report.not_modified:
                state = "nothing new"
            else:
                state = f"{len(report.added)} new articles" + (
                    f", {report.skipped} skipped" if report.skipped else ""
                )
            lines.append(f"• {render.escape(render.shorten(feed.title, 80))}: {state}")
        await reply.send(interaction, "\n".join(lines) or "No feeds followed yet: add one with `/feeds add`.")

    # -- announcements -------------------------------------------------------------------------

    async def announce(self, feed: Feed, metas: list[ArticleMeta]) -> None:
        """Post each new article where the feed announces (a forum: one post per article)."""
        channel = self.bot.get_channel(feed.channel_id) if feed.channel_id else None
        if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
            log.warning("feed %s announces in channel %s, which the bot cannot see", feed.id, feed.channel_id)
            return
        for meta in metas:
            embed = announcement_embed(meta)
            try:
                if isinstance(channel, discord.ForumChannel):
                    post = await channel.create_thread(
                        name=render.shorten(meta.title, 100), embed=embed, allowed_mentions=render.NO_MENTIONS
                    )
                    posted_id = post.thread.id
                else:
                    message = await channel.send(embed=embed, allowed_mentions=render.NO_MENTIONS)
                    posted_id = message.id
            except discord.HTTPException as exc:
                log.warning(
                    "could not announce %s in channel %s: %s %s", meta.id, channel.id, exc.status, exc.text
                )
                continue
            try:
                await asyncio.to_thread(self.bot.feed_store.announced, posted_id, channel.id, meta.id)
            except StorageError:
                log.warning("could not record the announcement of %s", meta.id)


async def setup(bot: DepecheBot) -> None:
    """discord.py extension entry point."""
    await bot.add_cog(Feeds(bot))
