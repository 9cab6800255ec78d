"""Which chat questions the bot replied to, so an edit re-answers and a deletion takes the reply away."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class Replied:
    """The bot's reply to one chat question, and what that reply was made from."""

    channel_id: int
    reply_id: int
    question: str  # the question as read (markup removed): an edit that keeps it changes nothing
    followed: str | None  # the earlier question this one followed up on, if any
    edits: int = 0  # bumped on each edit, so only the latest edit's answer is shown
    context: str | None = None  # what a reply to the answer follows up on (None: not an answer)


class RepliedQuestions:
    """The latest `capacity` chat questions that got a reply, by question message id (in memory:
    after a restart, earlier questions are not re-answered when edited; their answers are found
    again in the feedback database when they are deleted)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._by_question: OrderedDict[int, Replied] = OrderedDict()
        self._by_reply: dict[int, Replied] = {}

    def add(self, question_id: int, replied: Replied) -> None:
        """Remember a reply (forgetting the oldest beyond capacity)."""
        self._by_question[question_id] = replied
        self._by_question.move_to_end(question_id)
        self._by_reply[replied.reply_id] = replied
        while len(self._by_question) > self.capacity:
            _, oldest = self._by_question.popitem(last=False)
            self._by_reply.pop(oldest.reply_id, None)

    def get(self, question_id: int) -> Replied | None:
        """The reply to this question message, if remembered."""
        return self._by_question.get(question_id)

    def of_reply(self, reply_id: int) -> Replied | None:
        """What the bot's message `reply_id` replied to, if remembered (for follow-ups)."""
        return self._by_reply.get(reply_id)

    def pop(self, question_id: int) -> Replied | None:
        """Forget a question (it was deleted); its reply, if it was remembered."""
        replied = self._by_question.pop(question_id, None)
        if replied is not None:
            self._by_reply.pop(replied.reply_id, None)
        return replied
