"""Language analysis: clean-up, sentence splitting and index terms, French first, English too.

Everything here is pure and deterministic: the same text always gives the same terms, so the
index and the questions agree. Accents and case are folded *before* stemming, so a question
typed without accents yields exactly the terms of its accented twin.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import sentencex
import Stemmer

SUPPORTED_LANGUAGES = ("fr", "en")
_STEMMER_NAMES = {"fr": "french", "en": "english"}

# Zero-width, bidi-control and other invisible format characters (Unicode category Cf) and
# control characters (Cc) other than newline and tab are removed before anything else.
_KEEP_CONTROLS = {"\n", "\t"}
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
# Only what needs changing: runs of spaces, and non-ASCII spaces.
_SPACE_CHARS = "\u00a0\u2000-\u200a\u202f\u205f\u3000"
_SPACES = re.compile(f" [ {_SPACE_CHARS}]+|[{_SPACE_CHARS}][ {_SPACE_CHARS}]*")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l"})

# Thousands written with a space ("2 500", "4 000") are one number, not two.
_THOUSANDS = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")
_DIGIT_SPACE_DIGIT = re.compile(r"\d \d")  # (a cheaper search first: most texts have none)
# A term is a decimal number ("14,2") or a run of letters/digits joined by hyphens or
# apostrophes ("al-assad", "f-16", "l'armee", "aujourd'hui").
_TERM = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['-][^\W_]+)*")

# Question words and fillers that carry no topic; folded forms, added to the standard lists.
_EXTRA_STOPWORDS = """
combien quand quel quelle quels quelles pourquoi comment lequel laquelle lesquels lesquelles
quoi dont elles cette cet ceux celle celles celui ete etre avoir fait faire est-ce etait sont
aussi tres selon apres avant lors ainsi alors car donc comme
what who whom whose when where why how which many much did does do done was were has have had
is are be been being the of in on at to for from by with about into than that this these those
it its an and or not no yes can could would should will shall may might there their they them
""".split()

_ELISIONS = {"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"}
# French questions put the subject pronoun after the verb ("sont-elles", "a-t-il", "peut-on"): such
# a word is its verb alone, not a compound no article has ("nous"/"vous" kept: "rendez-vous").
_INVERTED_PRONOUNS = {"il", "elle", "ils", "elles", "on", "je", "tu", "ce"}


# Control (Cc, but newline and tab), format (Cf: zero-width, bidi controls, BOM...), surrogate
# and private-use characters: invisible at best, hostile at worst. And the combining marks that
# `fold` strips. Scanning the code points for them takes a tenth of a second, so the ranges are
# kept in `bot/data/unicode-ranges.json` for the Unicode version that made them (refreshed by
# `write_unicode_ranges()`, checked by a test) and scanned again under any other version.
_UNICODE_RANGES = Path(__file__).resolve().parent / "data" / "unicode-ranges.json"
Ranges = list[tuple[int, int]]


def _ranges(codepoints: Iterable[int]) -> Ranges:
    ranges: list[list[int]] = []
    for c in codepoints:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return [(a, b) for a, b in ranges]


def scan_unicode_ranges() -> dict[str, Ranges]:
    """The code point ranges of the classes below, from this Python's `unicodedata`."""
    return {
        "invisible_bmp": _ranges(
            c
            for c in range(0x10000)
            if chr(c) not in _KEEP_CONTROLS and unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Co")
        ),
        "invisible_astral": _ranges(
            c for c in range(0x10000, 0x30000) if unicodedata.category(chr(c)) == "Cf"
        ),
        "combining": _ranges(
            c for c in (*range(0x30000), *range(0xE0000, 0xE1000)) if unicodedata.combining(chr(c))
        ),
    }


def _unicode_ranges() -> dict[str, Ranges]:
    try:
        saved = json.loads(_UNICODE_RANGES.read_text(encoding="utf-8"))
        if saved["unicode"] == unicodedata.unidata_version:
            return {name: [(a, b) for a, b in ranges] for name, ranges in saved["ranges"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return scan_unicode_ranges()


def write_unicode_ranges() -> None:
    """Refresh `bot/data/unicode-ranges.json` for this Python's Unicode version."""
    saved = {"unicode": unicodedata.unidata_version, "ranges": scan_unicode_ranges()}
    _UNICODE_RANGES.write_text(json.dumps(saved, separators=(",", ":")) + "\n", encoding="utf-8")


def _char_class(ranges: Ranges) -> str:
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges
    )


_RANGES = _unicode_ranges()
# BMP characters go in one class (compiled to a bitmap: fast); astral ones, rare, in another.
_INVISIBLE_BMP = re.compile("[" + _char_class(_RANGES["invisible_bmp"]) + "]+")
_INVISIBLE_ASTRAL = re.compile(
    "[" + _char_class(_RANGES["invisible_astral"]) + "\U000e0000-\U000e0fff\U000f0000-\U0010ffff]+"
)
_COMBINING = re.compile("[" + _char_class(_RANGES["combining"]) + "]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # (a search: faster than max() over the text)


def clean_text(text: str) -> str:
    """Normalise Unicode (NFC), drop invisible/control characters, unify apostrophes and spaces."""
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    # A printable text has no control, format, surrogate or private-use character of the BMP and
    # no space but the ASCII one: most texts skip two regular expressions (str's own C check).
    printable = text.isprintable()
    if not printable:
        text = _INVISIBLE_BMP.sub("", text)
    if not text.isascii() and _ASTRAL.search(text):
        text = _INVISIBLE_ASTRAL.sub("", text)
    if "`" in text or "’" in text or "‘" in text or "ʼ" in text or "´" in text:
        text = text.translate(_APOSTROPHES)
    return _SPACES.sub(" ", text) if not printable or "  " in text else text


def fold(text: str) -> str:
    """Case-fold and strip accents: "Élysée" and "elysee" fold to the same string."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES)))


_DATA = Path(__file__).resolve().parent / "data"


def _stopword_list(language: str) -> list[str]:
    """A stop-word list shipped in `bot/data/stopwords-<language>.txt` (one per line, # comments)."""
    lines = (_DATA / f"stopwords-{language}.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _aliases() -> tuple[dict[str, str], dict[str, str]]:
    """`bot/data/aliases.txt` as (forms matched as written, folded forms matched in any case)."""
    cased: dict[str, str] = {}
    folded: dict[str, str] = {}
    for line in (_DATA / "aliases.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, _, forms = line.partition(":")
        for form in (f.strip() for f in forms.split(",")):
            if form.isupper():
                cased[form] = term.strip()
            elif form:
                folded[fold(form)] = term.strip()
    return cased, folded


def _alias(word: str) -> str | None:
    """The shared term of a name of `bot/data/aliases.txt` ("l'OTAN", "NATO" -> "otan"), if any."""
    head, quote, tail = word.rpartition("'")
    if quote and fold(head) not in _ELISIONS:
        tail = word  # an apostrophe inside a name, not an elision
    return _CASED_ALIASES.get(tail) or _FOLDED_ALIASES.get(fold(tail))


# Prefixes under which an irregular form keeps its verb ("re" + "pris": reprendre).
_VERB_PREFIXES = ("re", "r", "com", "ap", "sur", "de", "pre", "pro", "sou", "ad", "ob", "con", "main")


def _irregular_forms() -> dict[str, str]:
    """`bot/data/irregular-fr.txt` as folded form -> infinitive."""
    forms: dict[str, str] = {}
    for line in (_DATA / "irregular-fr.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            verb, _, listed = line.partition(":")
            forms.update((form.strip(), verb.strip()) for form in listed.split(",") if form.strip())
    return forms


def infinitive(word: str) -> str | None:
    """The infinitive of a folded French irregular verb form ("repris" -> "reprendre"), if listed."""
    verb = _IRREGULAR.get(word)
    if verb is not None:
        return verb
    for prefix in _VERB_PREFIXES:
        rest = word[len(prefix) :]
        if word.startswith(prefix) and len(rest) >= 3 and not rest.endswith(("it", "ut")):
            verb = _IRREGULAR.get(rest)
            if verb is not None:
                return prefix + verb
    return None


def _folded_stopwords() -> frozenset[str]:
    words = [*_stopword_list("fr"), *_stopword_list("en"), *_EXTRA_STOPWORDS]
    return frozenset(fold(w) for w in words)


STOPWORDS = _folded_stopwords()
_CASED_ALIASES, _FOLDED_ALIASES = _aliases()
_IRREGULAR = _irregular_forms()


def words(text: str) -> list[str]:
    """The words of `text` as written (after `clean_text`), before folding, stopwords and stemming."""
    return _TERM.findall(clean_text(text))


def _prepared(text: str) -> str:
    """`text` cleaned, numbers written with a thousands space joined ("2 500" -> "2500")."""
    text = clean_text(text)
    return _THOUSANDS.sub("", text) if _DIGIT_SPACE_DIGIT.search(text) else text


class Analyzer:
    """Turns text into index terms for one language: folded, elisions cut, stopwords out, stemmed.

    Hyphenated words give their parts and the joined compound ("f-16" -> "f", "16", "f16"
    minus one-letter parts), so "F16", "F-16" and "F 16" all meet. Names news writes
    differently across languages share one term (`bot/data/aliases.txt`); French irregular verb
    forms meet their infinitive (`bot/data/irregular-fr.txt`: "repris", "reprendre").
    """

    def __init__(self, language: str = "fr") -> None:
        if language not in SUPPORTED_LANGUAGES:
            raise ValueError(f"unsupported language {language!r}; use one of {SUPPORTED_LANGUAGES}")
        self.language = language
        self._stemmer = Stemmer.Stemmer(_STEMMER_NAMES[language])
        self._word_cache: dict[str, tuple[str, ...]] = {}

    def terms(self, text: str) -> list[str]:
        """Index terms of `text`, in order, repeats kept (BM25 counts them)."""
        # Words are folded and stemmed once each, then looked up: most words repeat.
        cache = self._word_cache
        out: list[str] = []
        for word in self.words(text):
            terms = cache.get(word)
            out.extend(terms if terms is not None else self.word_terms(word))
        return out

    def words(self, text: str) -> list[str]:
        """The words of `text` that `terms` analyses one by one (with `word_terms`), in order."""
        return _TERM.findall(_prepared(text))

    @staticmethod
    def pieces(text: str) -> list[str]:
        """`text` cleaned and cut at white space. No word holds a space, so the `piece_words` of
        each piece, one after the other, are `words(text)`: a caller that has met a piece before
        (most repeat, punctuation and all) can look it up instead of searching it for words."""
        return _prepared(text).split()

    @staticmethod
    def piece_words(piece: str) -> list[str]:
        """The words of one of `pieces`' pieces."""
        return _TERM.findall(piece)

    def word_terms(self, word: str) -> tuple[str, ...]:
        """Index terms of one already-cleaned word (cached); a name of `bot/data/aliases.txt`
        gives its one shared term in both languages ("NATO", "OTAN" -> "otan")."""
        terms = self._word_cache.get(word)
        if terms is None:
            folded = fold(word)
            alias = _alias(word)
            terms = (alias,) if alias else tuple(self._stem(w) for w in self._expand(folded))
            if len(self._word_cache) > 500_000:
                self._word_cache.clear()
            self._word_cache[word] = terms
        return terms

    def _expand(self, word: str) -> Iterable[str]:
        if word[0].isdigit() and ("," in word or "." in word):
            yield word.replace(",", ".")
            return
        pieces = [p for p in word.split("'") if p]
        # French elision: drop "l'", "qu'", "jusqu'"... keep what follows.
        while len(pieces) > 1 and pieces[0] in _ELISIONS:
            pieces.pop(0)
        for piece in pieces:
            parts = [p for p in piece.split("-") if p]
            if self.language == "fr" and len(parts) > 1 and parts[-1] in _INVERTED_PRONOUNS:
                parts = [p for p in parts[:-1] if p != "t"][-1:]  # "a-t-il": "a"
            if len(parts) > 1:
                for part in parts:
                    if _keep(part):
                        yield part
                yield "".join(parts)
            elif parts and _keep(parts[0]):
                yield parts[0]

    def _stem(self, word: str) -> str:
        if word.isdigit():
            return word
        if self.language == "fr":
            word = infinitive(word) or word
        stem = self._stemmer.stemWord(word)
        # Folding before stemming leaves some feminine/participle "e" endings unstripped
        # ("interceptee" vs "intercepte"): drop them so both forms meet.
        if len(stem) > 3:
            stem = stem.rstrip("e") or stem
        return stem


def _keep(word: str) -> bool:
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())


@lru_cache(maxsize=8)
def analyzer(language: str) -> Analyzer:
    """Shared analyzer for a language."""
    return Analyzer(language)


# sentencex cuts after a lone capital initial ("John F. Kirby"), after French titles ("M. Dupont",
# "Mme Durand" written "Mme.") and after abbreviations followed by lower case ("av. J.-C. selon"):
# such pieces are glued back to the next one.
_ENDS_WITH_INITIAL_OR_TITLE = re.compile(r"(?:^|[\s(])(?:[A-Z]|MM?|Mmes?|Mlles?|Dr|Pr|Me|Mgr|St|Ste)\.$")

# A "sentence" longer than this (text without punctuation) is cut at spaces: an excerpt is read
# by people, and every sentence is scored for every question that matches it.
MAX_SENTENCE_CHARS = 1000


def split_sentences(paragraph: str, language: str = "fr") -> list[str]:
    """Split one paragraph into sentences with sentencex (Wikimedia's splitter, linear time),
    keeping initials, titles and quotes intact; no sentence over `MAX_SENTENCE_CHARS`."""
    paragraph = _SPACES.sub(" ", clean_text(paragraph).replace("\n", " ")).strip()
    if not paragraph:
        return []
    language = language if language in SUPPORTED_LANGUAGES else "en"
    sentences: list[str] = []  # the pieces as cut, spaces kept: glued back, they read as written
    for piece in sentencex.segment(language, paragraph):
        if sentences and (_ENDS_WITH_INITIAL_OR_TITLE.search(sentences[-1].rstrip()) or piece[:1].islower()):
            sentences[-1] += piece
        elif piece.strip():
            sentences.append(piece)
    return [short for sentence in sentences for short in _capped(sentence.strip())]


def _capped(sentence: str, limit: int = MAX_SENTENCE_CHARS) -> list[str]:
    """`sentence` as is, or cut at spaces into pieces of at most `limit` characters."""
    if len(sentence) <= limit:
        return [sentence]
    pieces: list[str] = []
    while len(sentence) > limit:
        cut = sentence.rfind(" ", limit // 2, limit)
        cut = cut if cut > 0 else limit
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [*pieces, sentence] if sentence else pieces


def visible(name: str) -> str:
    """`name` with every control, invisible or direction-changing character written as an escape
    (\\n, \\x1b, \\u202e): a file name printed or logged cannot forge lines or hide text."""
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)


# Very common words of each language, question words included (questions are short).
_FR_MARKERS = frozenset(
    fold(w)
    for w in (
        "le la les des du une est et à au aux dans pour que qui sur par avec été on ce cette ces"
        " il elle ils elles ont sont combien quand quel quelle quels quelles où pourquoi comment"
    ).split()
)
_EN_MARKERS = frozenset(
    (
        "the of and to in is was for that with by at from has have been how what who whom whose"
        " when where why which many much did does do are were there"
    ).split()
)


def guess_language(text: str) -> str:
    """ "fr" or "en", by counting very common words of each (French when unsure)."""
    words = [fold(w) for w in re.findall(r"[^\W\d_]+", text[:20_000])]
    fr = sum(w in _FR_MARKERS for w in words)
    en = sum(w in _EN_MARKERS for w in words)
    return "en" if en > fr else "fr"
