"""What chat and commands share when a member asks: the question as read, refusals (too long,
too fast), answering off the event loop, recording the answer for votes, one log line."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import messages
from bot.search import Answer, answer_news
from bot.storage import StorageError

if TYPE_CHECKING:
    from bot.discord.app import DepecheBot

log = logging.getLogger(__name__)

# Discord markup that carries no words: mentions of users, roles and channels, custom emoji,
# timestamps, @everyone / @here. Their ids would be searched as numbers otherwise.
_DISCORD_MARKUP = re.compile(r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+|t:-?\d+(?::[tTdDfFR])?)>|@(?:everyone|here)\b")


def question_text(content: str) -> str:
    """The question in a message or command option: Discord markup removed, spaces collapsed."""
    return " ".join(_DISCORD_MARKUP.sub(" ", content).split())


@dataclass(frozen=True)
class Refusal:
    """A question turned away before answering, and what to tell the asker."""

    message: str
    rate_limited: bool = False


class Asking:
    """Answering for one cog (the rate limiter and the feedback store are the bot's, shared)."""

    def __init__(self, bot: DepecheBot) -> None:
        self.bot = bot
        self.settings = bot.settings

    async def answer(
        self, question: str, top: int, context: str | None = None, about: str | None = None
    ) -> tuple[Answer, float]:
        """Answer off the event loop; with the time it took (ms).

        `about` is the id of the article the question is asked under (its announcement): that
        article answers first, and the whole corpus when it does not; dates in the question
        are read against today (`bot.search.news`)."""
        engine = self.bot.service.engine  # one engine for the whole answer, even during a reload
        start = time.perf_counter()
        today = dt.datetime.now(dt.UTC).date()
        answer = await asyncio.to_thread(
            answer_news, engine, question, top, context, about=about, today=today
        )
        return answer, (time.perf_counter() - start) * 1000

    def log(self, via: str, user_id: int, guild_id: int | None, answer: Answer, ms: float) -> None:
        """One log line per answer (the question itself only if configured)."""
        content = f" question={answer.question!r}" if self.settings.log_message_content else ""
        log.info(
            "answered via=%s user=%s guild=%s found=%s excerpts=%d ms=%.1f corpus=%s%s",
            via,
            user_id,
            guild_id,
            answer.answered,
            len(answer.results),
            ms,
            answer.corpus_version,
            content,
        )

    async def remember(
        self, answer: Answer, guild_id: int | None, message: tuple[int, int] | None = None
    ) -> str | None:
        """Record the answer for votes (and the (channel id, message id) of the chat question it
        answers); None (answer sent without buttons) if the database fails."""
        answer_id = uuid.uuid4().hex[:12]
        try:
            await asyncio.to_thread(
                self.bot.feedback.record_answer,
                answer_id,
                answer.question,
                answer.answered,
                answer.corpus_version,
                guild_id,
                message,
            )
        except StorageError:
            log.warning("could not record an answer in the feedback database; sent without vote buttons")
            return None
        return answer_id

    def refusal(self, user_id: int, question: str) -> Refusal | None:
        """Why a question is refused before answering (too long, too fast), or None."""
        limit = self.settings.max_question_length
        language = messages.of_question(question)
        if len(question) > limit:
            return Refusal(messages.text("too_long", language, length=len(question), limit=limit))
        retry = self.bot.limiter.hit(user_id)
        if retry is not None:
            return Refusal(messages.text("too_fast", language, seconds=max(1, round(retry))), True)
        return None

    def unavailable(self, language: str) -> str | None:
        """None when a corpus is served; otherwise why not (still loading, or the load failed)."""
        service = self.bot.service
        if service.ready:
            return None
        return messages.text("unavailable" if service.load_error is not None else "loading", language)
