"""Time in a question: "hier", "la semaine dernière", "le 3 mars", "en 2021", "today", "last
week"... read as a period of publication dates, relative to today; and "les dernières
nouvelles" / "latest" as a wish for the newest articles.

(dateparser was measured for this and left out: it returns instants, not periods — "en 2021"
is 2 December 2021 —, misses "la semaine dernière", and reads the planet in "Mars a-t-il des
lunes ?" as a date. The expressions a news question uses are few; they are all here.)
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from bot.text import fold

# Month names, folded (no accents), January first: also what `question_types` counts as dates.
FRENCH_MONTHS = ["janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre"]
FRENCH_MONTHS += ["octobre", "novembre", "decembre"]
ENGLISH_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september"]
ENGLISH_MONTHS += ["october", "november", "december"]
_MONTHS = {
    **{m: n for n, m in enumerate(FRENCH_MONTHS, 1)},
    **{m: n for n, m in enumerate(ENGLISH_MONTHS, 1)},
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + ")"
_YEAR = r"((?:19|20)\d\d)"


@dataclass(frozen=True)
class Period:
    """Publication dates from `start` to `end` (both included), and the words that said so."""

    start: dt.date
    end: dt.date
    words: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


def _days_ago(today: dt.date, days: int) -> tuple[dt.date, dt.date]:
    day = today - dt.timedelta(days=days)
    return day, day


def _week(today: dt.date, weeks_back: int) -> tuple[dt.date, dt.date]:
    monday = today - dt.timedelta(days=today.weekday() + 7 * weeks_back)
    return monday, (today if weeks_back == 0 else monday + dt.timedelta(days=6))


def _month(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _previous_month(today: dt.date) -> tuple[dt.date, dt.date]:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return _month(last.year, last.month)


def _past_year(today: dt.date, month: int, day: int = 1) -> int:
    """The year of a date given without one: this year, unless that is still to come."""
    return today.year if (month, day) <= (today.month, today.day) else today.year - 1


# (pattern on the folded question, its period from today and the match)
_RELATIVE = [
    (r"\bavant[- ]hier\b|\bthe day before yesterday\b", lambda t, m: _days_ago(t, 2)),
    (r"\bhier\b|\byesterday\b", lambda t, m: _days_ago(t, 1)),
    (
        r"\baujourd'hui\b|\bce (?:matin|soir)\b|\btoday\b|\bthis (?:morning|evening)\b|\btonight\b",
        lambda t, m: _days_ago(t, 0),
    ),
    (r"\b(?:la )?semaine (?:derniere|passee)\b|\blast week\b", lambda t, m: _week(t, 1)),
    (r"\bcette semaine\b|\bthis week\b", lambda t, m: _week(t, 0)),
    (r"\b(?:le )?mois (?:dernier|passe)\b|\blast month\b", lambda t, m: _previous_month(t)),
    (r"\bce mois(?:-ci)?\b|\bthis month\b", lambda t, m: (t.replace(day=1), t)),
    (
        r"\bl'(?:an|annee) (?:derniere?|passee?)\b|\blast year\b",
        lambda t, m: (dt.date(t.year - 1, 1, 1), dt.date(t.year - 1, 12, 31)),
    ),
    (r"\bcette annee\b|\bthis year\b", lambda t, m: (dt.date(t.year, 1, 1), t)),
]


def _day(t: dt.date, day: str, month: str, year: str | None) -> tuple[dt.date, dt.date] | None:
    number, month_number = int(day), _MONTHS[month]
    chosen = int(year) if year else _past_year(t, month_number, min(number, 28))
    try:
        date = dt.date(chosen, month_number, number)
    except ValueError:
        return None
    return date, date


_ABSOLUTE = [
    # "le 3 mars 2021", "3 march", "1er mai"
    (rf"\b(\d{{1,2}})(?:er)? {_MONTH}(?: {_YEAR})?\b", lambda t, m: _day(t, m[1], m[2], m[3])),
    # "March 3, 2021", "on march 3"
    (rf"\b{_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?(?:,? {_YEAR})?\b", lambda t, m: _day(t, m[2], m[1], m[3])),
    # "en mars 2021", "in march"
    (
        rf"\b(?:en|in) {_MONTH}(?: {_YEAR})?\b",
        lambda t, m: _month(int(m[2]) if m[2] else _past_year(t, _MONTHS[m[1]]), _MONTHS[m[1]]),
    ),
    # "en 2021", "in 2021"
    (rf"\b(?:en|in) {_YEAR}\b", lambda t, m: (dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31))),
]
_RELATIVE_RE = [(re.compile(p), f) for p, f in _RELATIVE]
_ABSOLUTE_RE = [(re.compile(p), f) for p, f in _ABSOLUTE]
_LATEST = re.compile(
    r"\b(?:dernieres? (?:nouvelles?|infos?|informations?|actualites?)|quoi de neuf|les plus recent(?:e?s)?"
    r"|latest|most recent|recent news|newest)\b"
)


def period_in(question: str, today: dt.date) -> Period | None:
    """The publication period a question asks about, if it names one."""
    folded = fold(question).replace("’", "'")
    for patterns in (_RELATIVE_RE, _ABSOLUTE_RE):
        for pattern, make in patterns:
            found = pattern.search(folded)
            if found is None:
                continue
            span = make(today, found)
            if span is not None and span[0] <= span[1]:
                return Period(span[0], span[1], found.group(0))
    return None


def latest_words(question: str) -> str | None:
    """The words (folded) by which a question asks for the newest news ("les dernières
    nouvelles sur …", "latest on …"), if it does."""
    found = _LATEST.search(fold(question).replace("’", "'"))
    return found.group(0) if found else None
