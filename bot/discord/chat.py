"""Questions in chat: a mention, an ask-channel or forum post, a direct message, a reply to an
answer (a follow-up); edited questions are answered again, deleted ones take their reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot import messages
from bot.discord import render
from bot.discord.answered import Replied, RepliedQuestions
from bot.discord.asking import Asking, question_text
from bot.discord.permissions import missing_to_answer
from bot.discord.votes import feedback_view
from bot.search import Answer
from bot.storage import StorageError

if TYPE_CHECKING:
    from bot.discord.app import DepecheBot

log = logging.getLogger(__name__)

REMEMBERED_REPLIES = 5000  # chat replies whose question is kept for follow-ups and edits
CHATTER_MAX_WORDS = 4
_UNESCAPE = re.compile(r"\\(.)")


def is_chatter(text: str) -> bool:
    """A short message that does not ask anything ("merci !", "ok", "bonjour") — in an ask-channel,
    members also talk to each other. Four words at most and no question mark."""
    return "?" not in text and len(text.split()) <= CHATTER_MAX_WORDS


@dataclass(frozen=True)
class ChatResponse:
    """A reply to a chat question, as `Message.reply` / `edit` keywords (content, embed and
    buttons all given, so an edit replaces the previous version whole)."""

    send: dict[str, Any]
    answer_id: str | None = None  # its feedback record, when it is an answer with vote buttons
    context: str | None = None  # what a follow-up to it continues, when it is an answer

    @classmethod
    def text(cls, content: str) -> ChatResponse:
        """A plain message (a refusal, a hint, an error)."""
        return cls({"content": content, "embed": None, "view": None})

    def done(self) -> None:
        """Sent: the buttons are dispatched as dynamic items, so keep no view per message."""
        view = self.send.get("view")
        if view is not None:
            view.stop()


class Chat(commands.Cog):
    """Answers questions wherever members ask them in chat."""

    def __init__(self, bot: DepecheBot) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.asking = Asking(bot)
        self.replied = RepliedQuestions(REMEMBERED_REPLIES)  # member's message id -> bot reply
        self._mute_channels_logged: set[int] = set()
        self._warned_until: dict[int, float] = {}

    def _followed_question(self, message: discord.Message) -> str | None:
        """The question of the bot answer this message replies to, if it replies to one."""
        ref = message.reference
        if ref is None or ref.message_id is None or self.bot.feed_store.announcement(ref.message_id):
            return None  # (a reply to an announcement asks about its article, see `_announced_article`)
        replied = self.replied.of_reply(ref.message_id)
        if replied is not None:
            return replied.context
        resolved = ref.resolved
        if isinstance(resolved, discord.Message) and resolved.author == self.bot.user and resolved.embeds:
            title = resolved.embeds[0].title or ""
            return _UNESCAPE.sub(r"\1", title).replace("\u200b", "") or None
        return None

    def _announced_article(self, message: discord.Message) -> str | None:
        """The article a message is asked under: in the thread of its announcement (a forum
        post), or in reply to its announcement."""
        announcements = self.bot.feed_store
        if isinstance(message.channel, discord.Thread):
            article = announcements.announcement(message.channel.id)
            if article is not None:
                return article
        ref = message.reference
        return announcements.announcement(ref.message_id) if ref and ref.message_id else None

    def _trigger(self, message: discord.Message, followed: str | None) -> str | None:
        channel = message.channel
        if message.guild is None:
            return "dm"
        if followed is not None:
            return "followup"
        if self.bot.user is not None and self.bot.user in message.mentions:
            return "mention"
        if self._announced_article(message) is not None:
            return "announcement"
        if isinstance(channel, discord.Thread) and self._is_ask_channel(channel.parent_id):
            if message.id == channel.id:  # the opening post of a forum thread
                return "forum"
            return None
        if self._is_ask_channel(channel.id):
            return "channel"
        return None

    def _is_ask_channel(self, channel_id: int | None) -> bool:
        """Set in the bot's settings, or by the server's admins with /ask-channels."""
        return channel_id in self.settings.ask_channel_ids or channel_id in self.bot.ask_channels

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        followed = self._followed_question(message)
        via = self._trigger(message, followed)
        if via is None:
            return
        if not self._can_answer_in(message.channel, message.guild):
            return
        question = question_text(message.content)
        response = await self._chat_response(message, question, followed, via, edited=False)
        if response is None:
            return
        sent = await self._reply(message, **response.send)
        response.done()
        if sent is None:
            return
        replied = Replied(message.channel.id, sent.id, question, followed)
        self.replied.add(message.id, replied)
        await self._after_reply(replied, response)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """A member reworded a question the bot replied to: the same reply now answers the new
        wording (a fixed typo, a question shortened under the limit, words added to a bare mention)."""
        replied = self.replied.get(payload.message_id)
        if replied is None or "content" not in payload.data:
            return
        message = payload.message
        question = question_text(message.content)
        if question == replied.question:
            return  # a link preview, a pin, or the same words
        via = self._trigger(message, replied.followed)
        if via is None:
            return  # no longer asked of the bot (mention removed): the reply stays as it was
        replied.question = question
        replied.edits += 1
        edits = replied.edits
        response = await self._chat_response(message, question, replied.followed, via, edited=True)
        if response is None:
            return
        if self.replied.get(payload.message_id) is not replied or replied.edits != edits:
            response.done()  # deleted or edited again meanwhile: that later event decides
            return
        try:
            await self._message(replied.channel_id, replied.reply_id).edit(
                allowed_mentions=render.NO_MENTIONS, **response.send
            )
        except discord.HTTPException as exc:  # e.g. the reply was deleted by a moderator
            log.warning(
                "could not update the reply in channel %s: %s %s", replied.channel_id, exc.status, exc.text
            )
            self.replied.pop(payload.message_id)
            return
        finally:
            response.done()
        await self._after_reply(replied, response)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._withdraw_replies({payload.message_id})

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self._withdraw_replies(payload.message_ids)

    async def _withdraw_replies(self, deleted: set[int]) -> None:
        """Questions deleted by their author or a moderator take the bot's replies with them, and
        the records of their answers (their words are not kept once the member removed them).
        Answers are found in the feedback database too, so this holds across restarts."""
        replies: set[tuple[int, int]] = set()
        for message_id in deleted:
            replied = self.replied.pop(message_id)
            if replied is not None:
                replies.add((replied.channel_id, replied.reply_id))
        try:
            replies.update(await asyncio.to_thread(self.bot.feedback.forget_messages, list(deleted)))
        except StorageError:
            log.warning("could not delete a deleted question's answers from the feedback database")
        for channel_id, reply_id in sorted(replies):
            if reply_id in deleted:  # a purge may have taken both
                continue
            try:
                await self._message(channel_id, reply_id).delete()
            except discord.NotFound:
                pass
            except discord.HTTPException as exc:
                log.warning(
                    "could not delete the reply in channel %s: %s %s", channel_id, exc.status, exc.text
                )

    def _message(self, channel_id: int, message_id: int) -> discord.PartialMessage:
        return self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)

    async def _after_reply(self, replied: Replied, response: ChatResponse) -> None:
        """Remember what a sent or updated reply was made from (votes, follow-ups, deletion)."""
        replied.context = response.context
        if response.answer_id is not None:
            try:
                await asyncio.to_thread(self.bot.feedback.set_reply, response.answer_id, replied.reply_id)
            except StorageError:
                log.warning("could not record which message carries an answer")

    async def _chat_response(
        self, message: discord.Message, question: str, followed: str | None, via: str, edited: bool
    ) -> ChatResponse | None:
        """What to reply to a chat question: its answer, or why there is none. None when nothing
        should be said (no words outside a mention or DM, or "slow down" already said)."""
        if not question:
            if via not in ("mention", "dm") and not edited:
                return None
            # no words to tell the language by: the server's, French in DMs
            language = messages.of_locale(message.guild.preferred_locale) if message.guild else "fr"
            return ChatResponse.text(messages.text("ask_me", language))
        early: tuple[Answer, float] | None = None
        about = self._announced_article(message)
        if via in ("channel", "forum", "announcement") and not edited and is_chatter(question):
            # Talk between members in an ask-channel ("merci !", "ok"): answered only when the
            # articles do answer it; otherwise no reply, and it does not count towards the limit.
            if not self.bot.service.ready:
                return None
            try:
                early = await self.asking.answer(question, self.settings.excerpts, followed, about)
            except Exception:
                log.exception("answering message %s failed", message.id)
                return None
            if not early[0].answered:
                return None
        refusal = self.asking.refusal(message.author.id, question)
        if refusal is not None:
            if refusal.rate_limited and not edited and not self._first_warning(message.author.id):
                return None
            return ChatResponse.text(refusal.message)
        unavailable = self.asking.unavailable(messages.of_question(question))
        if unavailable is not None:
            return ChatResponse.text(unavailable)
        if early is None:
            # One typing signal (Discord shows it ~10 s, far longer than an answer takes); a
            # channel that refuses it must not stop the answer.
            with contextlib.suppress(discord.HTTPException):
                await message.channel.typing()
        try:
            answer, ms = early or await self.asking.answer(question, self.settings.excerpts, followed, about)
            guild_id = message.guild.id if message.guild else None
            answer_id = await self.asking.remember(answer, guild_id, (message.channel.id, message.id))
            self.asking.log(via, message.author.id, guild_id, answer, ms)
        except Exception:  # the asker hears about it; the details go to the log only
            log.exception("answering message %s failed", message.id)
            return ChatResponse.text(messages.text("answer_failed", messages.of_question(question)))
        view = feedback_view(answer_id, messages.of_question(answer.question))
        send: dict[str, Any]
        if self._embeds_allowed(message):
            send = {"content": None, "embed": render.answer_embed(answer, answer_id), "view": view}
        else:
            send = {"content": render.answer_text(answer, answer_id), "embed": None, "view": view}
        context = f"{followed} {question}" if followed else question
        return ChatResponse(send, answer_id, context[-1000:])

    def _first_warning(self, user_id: int) -> bool:
        """Whether to say "slow down" now: once per rate-limit window, not once per message."""
        now = time.monotonic()
        if self._warned_until.get(user_id, 0) > now:
            return False
        if len(self._warned_until) > 10_000:
            self._warned_until = {u: t for u, t in self._warned_until.items() if t > now}
        self._warned_until[user_id] = now + self.settings.rate_limit_seconds
        return True

    def _can_answer_in(self, channel: object, guild: discord.Guild | None) -> bool:
        """False where the bot may not reply (no answer computed or recorded for nobody to see);
        the missing permission is logged once per channel."""
        me = guild.me if guild is not None else None
        missing = missing_to_answer(channel, me) if me is not None else []
        if not missing:
            return True
        channel_id = getattr(channel, "id", 0)
        if channel_id not in self._mute_channels_logged:
            self._mute_channels_logged.add(channel_id)
            log.warning(
                "asked in channel %s but cannot answer there: missing %s", channel_id, ", ".join(missing)
            )
        return False

    def _embeds_allowed(self, message: discord.Message) -> bool:
        if message.guild is None:
            return True
        try:
            me = message.guild.me
            return me is None or message.channel.permissions_for(me).embed_links
        except Exception:  # incomplete cache: assume the common case
            return True

    async def _reply(self, message: discord.Message, **kwargs) -> discord.Message | None:
        try:
            return await message.reply(mention_author=False, allowed_mentions=render.NO_MENTIONS, **kwargs)
        except discord.HTTPException as exc:
            log.warning("could not reply in channel %s: %s %s", message.channel.id, exc.status, exc.text)
            return None


async def setup(bot: DepecheBot) -> None:
    """discord.py extension entry point."""
    await bot.add_cog(Chat(bot))
