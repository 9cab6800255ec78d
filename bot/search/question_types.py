"""What kind of answer a question expects (a quantity, a date, a name) and whether a sentence has one.

French question words first (combien, quand, qui, où...), English ones too. The detectors are
plain patterns: digits and number words for quantities, years, months and centuries for dates,
capitalised words inside the sentence for people, organisations and places.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.search.dates import ENGLISH_MONTHS, FRENCH_MONTHS
from bot.text import fold

QUESTION_TYPES = ("combien", "quand", "qui", "où", "quel", "pourquoi", "comment", "other")

_TYPE_PATTERNS = [
    ("pourquoi", r"\bpourquoi\b|\bwhy\b"),
    ("comment", r"\bcomment\b|^how\b(?! (many|much|long|far|old))"),
    ("combien", r"\bcombien\b|\bhow (many|much|long|far|old)\b"),
    (
        "quand",
        r"\bquand\b|\ben quelle annee\b|\ba quelle (date|epoque|periode)\b|\bdepuis quand\b|\bwhen\b"
        r"|\bwhat year\b",
    ),
    ("qui", r"\b(qui|a qui|de qui|par qui)\b|\bwho(m|se)?\b"),
    ("où", r"(^|\s)ou\s|(^|\s)d'ou\b|\bou se\b|\bou (est|sont|a|ont|se trouve)|\bwhere\b"),
    ("quel", r"\b(quel|quelle|quels|quelles|lequel|laquelle|lesquels|lesquelles|what|which)\b"),
]

# A quantity: digits, or a number word other than "un"/"une" (articles far more often than numbers),
# or a word that is an amount by itself ("moitie", "dizaines", "aucun": zero).
_QUANTITY = re.compile(
    r"\d[\d.,]*|\b(deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize"
    r"|vingts?|trente|quarante|cinquante|soixante|cents?|mille|millions?|milliards?|dizaines?|douzaines?"
    r"|vingtaines?|centaines?|milliers?|moitie|tiers|quart|aucune?|nul|two|three|four|five|six|seven|eight"
    r"|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|millions?|billions?|half|none)\b",
    re.IGNORECASE,
)
# English "may" is left out of the date words (a modal far more often than a month); after a
# day's number it is a date (`_DATE_NUMBER`).
_MONTH_WORDS = "|".join(FRENCH_MONTHS + [m for m in ENGLISH_MONTHS if m != "may"])
_DATE = re.compile(
    rf"\b(1[0-9]{{3}}|20[0-9]{{2}})\b|\b({_MONTH_WORDS}|siecles?|lundi|mardi|mercredi|jeudi|vendredi"
    r"|samedi|dimanche|hier|veille|lendemain|matin|soir|nuit|heures?|monday|tuesday|wednesday|thursday"
    r"|friday|saturday|sunday|yesterday|century)\b",
    re.IGNORECASE,
)
# A capitalised word that does not start the sentence: a name of a person, body or place.
_NAME = re.compile(r"(?<=[\s'(,])[A-ZÀ-Þ][a-zà-ÿ]+")

# A question asking whether something happened ("Y a-t-il eu des morts ?", "Des soldats
# étaient-ils sur place ?", "Was anyone hurt?"): no question word, and either an inverted subject,
# "est-ce que", or (English) an auxiliary first.
_YES_NO = re.compile(
    r"^(y a-t-il|est-ce qu|n'y a-t-il)|-(t-)?(il|elle|ils|elles|on)\b"
    r"|^(is|are|was|were|did|does|do|has|have|had|can|could|will|would)\b",
    re.IGNORECASE,
)
# Words that say something did not happen or nobody was concerned.
_NEGATION = re.compile(
    r"\b(aucune?|pas|jamais|ni|rien|nul|nulle|sans|personne n|no|not|none|never|nobody|nothing"
    r"|without)\b|n't\b",
    re.IGNORECASE,
)

_EXPECTS = {"combien": "quantity", "quand": "date", "qui": "name", "où": "name"}


def question_type(question: str) -> str:
    """The question's wh-word family, e.g. "combien" for "Combien de roquettes... ?"."""
    lowered = question.lower()
    if "où" in lowered:
        return "où"
    folded = fold(lowered)
    for name, pattern in _TYPE_PATTERNS:
        if re.search(pattern, folded):
            return name
    return "other"


def expected_answer(question: str) -> str | None:
    """ "quantity", "date", "name", or None when the question type says nothing useful."""
    return _EXPECTS.get(question_type(question))


# Numbers that are dates, not amounts: a day before a month ("le 15 février"), a year.
_DATE_NUMBER = re.compile(
    rf"\b\d{{1,2}}(er)? ({'|'.join(FRENCH_MONTHS + ENGLISH_MONTHS)})\b|\b(1[5-9]|20)\d\d\b"
)


def answers_of(kind: str, text: str) -> set[str]:
    """The things of the expected kind in `text` (folded numbers, date words, names)."""
    if kind == "quantity":
        amounts = _DATE_NUMBER.sub(" ", fold(text))
        return {m.group(0).lower().rstrip(".,") for m in _QUANTITY.finditer(amounts)}
    if kind == "date":
        return {m.group(0).lower() for m in _DATE.finditer(fold(text))}
    if kind == "name":
        return {fold(m.group(0)) for m in _NAME.finditer(text)}
    return set()


def has_answer_of(kind: str, sentence: str) -> bool:
    """Whether `sentence` contains something of the expected kind."""
    return bool(answers_of(kind, sentence))


def has_new_answer_of(kind: str, sentence: str, question: str) -> bool:
    """Whether `sentence` holds something of the expected kind that the question does not already
    say: a number, date or name the reader is asking for, not the one they asked about."""
    found = answers_of(kind, sentence)
    return bool(found) and bool(found - _asked(kind, question))


@lru_cache(maxsize=64)
def _asked(kind: str, question: str) -> frozenset[str]:
    """What the question already says of `kind` (all its words, for names); read once a question."""
    words = {fold(w) for w in re.findall(r"\w+", question)} if kind == "name" else set()
    return frozenset(answers_of(kind, question) | words)


def is_yes_no(question: str) -> bool:
    """Whether `question` asks if something happened (no question word, subject inverted...)."""
    folded = fold(question.strip())
    return (
        question_type(question) in ("other", "quel")
        and bool(_YES_NO.search(folded))
        and not re.search(r"\b(quel|quelle|quels|quelles|what|which)\b", folded)
    )


def says_no(sentence: str) -> bool:
    """Whether `sentence` says something did not happen ("aucun mort", "n'étaient pas présents")."""
    return bool(_NEGATION.search(fold(sentence)))
