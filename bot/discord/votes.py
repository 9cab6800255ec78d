"""Helpful / Not helpful buttons under each answer, recorded in the feedback store."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any, cast

import discord

from bot import messages
from bot.discord import render
from bot.storage import StorageError

if TYPE_CHECKING:
    from bot.discord.app import DepecheBot

log = logging.getLogger(__name__)


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"depeche:vote:(?P<answer>[0-9a-f]{12}):(?P<helpful>[01])",
):
    """A Helpful / Not helpful button that keeps working across restarts (its id says it all)."""

    def __init__(self, answer_id: str, helpful: bool, language: str = "en") -> None:
        super().__init__(
            discord.ui.Button(
                label=messages.text("helpful" if helpful else "not_helpful", language),
                emoji="👍" if helpful else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"depeche:vote:{answer_id}:{int(helpful)}",
            )
        )
        self.answer_id = answer_id
        self.helpful = helpful

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> VoteButton:
        return cls(match["answer"], match["helpful"] == "1")

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("DepecheBot", interaction.client)
        try:
            recorded = await asyncio.to_thread(
                bot.feedback.vote, self.answer_id, interaction.user.id, self.helpful
            )
        except StorageError:
            log.warning("could not record a vote in the feedback database", exc_info=True)
            recorded = None
        language = messages.of_locale(interaction.locale)
        if recorded is None:
            text = messages.text("vote_failed", language)
        elif recorded:
            text = messages.text("voted_helpful" if self.helpful else "voted_not_helpful", language)
        else:
            text = messages.text("vote_too_old", language)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=render.NO_MENTIONS)


def feedback_view(answer_id: str | None, language: str = "en") -> discord.ui.View:
    """The two vote buttons under an answer, labelled in its language (none when the answer
    could not be recorded)."""
    view = discord.ui.View(timeout=None)
    if answer_id is not None:
        view.add_item(VoteButton(answer_id, True, language))
        view.add_item(VoteButton(answer_id, False, language))
    return view
