"""Answering as a news reader expects: from the article a question is asked under, from the
articles published when the question says ("hier", "le 3 mars", "last week"), the newest first
when it asks for the latest — each narrowing tried first, the whole corpus when it finds nothing.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.search.answer import Answer, Engine
from bot.search.dates import Period, latest_words, period_in
from bot.text import fold


def published_in(engine: Engine, period: Period) -> list[str]:
    """The ids of the served articles published within `period`."""
    found = []
    for meta in engine.index.articles:
        if meta.published:
            try:
                day = dt.date.fromisoformat(meta.published[:10])
            except ValueError:
                continue
            if day in period:
                found.append(meta.id)
    return found


def _without(question: str, words: str) -> str:
    """`question` without the time words (given folded). The question is folded a character at
    a time, so the match maps back onto it."""
    folded, origin = [], []
    for position, char in enumerate(question.replace("’", "'")):
        for piece in fold(char):
            folded.append(piece)
            origin.append(position)
    found = re.search(r"\s+".join(re.escape(w) for w in words.split()), "".join(folded))
    if found is None:
        return question
    start, end = origin[found.start()], origin[found.end() - 1] + 1
    return " ".join((question[:start] + " " + question[end:]).split()) or question


def newest_first(answer: Answer) -> Answer:
    """`answer` with its excerpts ordered by their article's date, newest first (undated last)."""
    ordered = sorted(answer.results, key=lambda e: e.published or "", reverse=True)
    return answer if ordered == answer.results else answer.model_copy(update={"results": ordered})


def answer_news(
    engine: Engine,
    question: str,
    top: int = 3,
    context: str | None = None,
    *,
    about: str | None = None,
    today: dt.date | None = None,
) -> Answer:
    """The answer from the article `about` when it answers; else from the articles published in
    the period the question names (relative to `today`) when they answer; else from all."""
    if about is not None and engine.rows_of(about) is not None:
        answer = engine.answer(question, top, context, within=about)
        if answer.answered:
            return answer
    period = period_in(question, today) if today is not None else None
    if period is not None:
        then = published_in(engine, period)
        if then:
            # The period is now the articles searched: its words need not be found in them.
            asked = _without(question, period.words)
            answer = engine.answer(asked, top, context, within=then)
            if answer.answered:
                return answer.model_copy(update={"question": question})
    latest = latest_words(question)
    if latest is None:
        return engine.answer(question, top, context)
    # "Les dernières nouvelles sur X": X is what to search for, the newest first.
    answer = engine.answer(_without(question, latest), top, context)
    return newest_first(answer).model_copy(update={"question": question})
