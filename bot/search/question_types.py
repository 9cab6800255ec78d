"""What kind of answer a question expects (a quantity, a date, a name) and whether a sentence has one.

French question words first (combien, quand, qui, où...), English ones too. The detectors are
plain patterns: digits and number words for quantities, years, months and centuries for dates,
capitalised words inside the sentence for people, organisations and places.
"""

from __future__ import annotations

import re

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

_QUANTITY = re.compile(
    r"\d|\b(un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante"
    r"|cinquante|soixante|cent|cents|mille|millions?|milliards?|dizaines?|centaines?|milliers?|moitie)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(1[0-9]{3}|20[0-9]{2})\b|\b(janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre"
    r"|novembre|decembre|siecles?|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b",
    re.IGNORECASE,
)
# A capitalised word that does not start the sentence: a name of a person, body or place.
_NAME = re.compile(r"(?<=[\s'(,])[A-ZÀ-Þ][a-zà-ÿ]+")

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


def has_answer_of(kind: str, sentence: str) -> bool:
    """Whether `sentence` contains something of the expected kind."""
    if kind == "quantity":
        return bool(_QUANTITY.search(fold(sentence)))
    if kind == "date":
        return bool(_DATE.search(fold(sentence)))
    if kind == "name":
        return bool(_NAME.search(sentence))
    return False
