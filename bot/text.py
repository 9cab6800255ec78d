"""Language analysis: clean-up, sentence splitting and index terms, French first, English too.

Everything here is pure and deterministic: the same text always gives the same terms, so the
index and the questions agree. Accents and case are folded *before* stemming, so a question
typed without accents yields exactly the terms of its accented twin.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import pysbd
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH

SUPPORTED_LANGUAGES = ("fr", "en")
_STEMMER_NAMES = {"fr": "french", "en": "english"}

# Zero-width, bidi-control and other invisible format characters (Unicode category Cf) and
# control characters (Cc) other than newline and tab are removed before anything else.
_KEEP_CONTROLS = {"\n", "\t"}
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_SPACES = re.compile(r"[ \u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l"})

# Thousands written with a space ("2 500", "4 000") are one number, not two.
_THOUSANDS = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")
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


def clean_text(text: str) -> str:
    """Normalise Unicode (NFC), drop invisible/control characters, unify apostrophes and spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        ch for ch in text if ch in _KEEP_CONTROLS or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )
    text = text.translate(_APOSTROPHES)
    return _SPACES.sub(" ", text)


def fold(text: str) -> str:
    """Case-fold and strip accents: "Élysée" and "elysee" fold to the same string."""
    text = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _folded_stopwords() -> frozenset[str]:
    words = [*STOPWORDS_FRENCH, *STOPWORDS_EN, *_EXTRA_STOPWORDS]
    return frozenset(fold(w) for w in words)


STOPWORDS = _folded_stopwords()


def surface_terms(text: str) -> list[tuple[str, int, int]]:
    """Folded words of `text` with their character spans, before stopwords and stemming."""
    cleaned = clean_text(text)
    # The folded text must keep the same length for the spans to be valid, so fold per match.
    out: list[tuple[str, int, int]] = []
    for match in _TERM.finditer(cleaned):
        out.append((fold(match.group()), match.start(), match.end()))
    return out


class Analyzer:
    """Turns text into index terms for one language: folded, elisions cut, stopwords out, stemmed.

    Hyphenated words give their parts and the joined compound ("f-16" -> "f", "16", "f16"
    minus one-letter parts), so "F16", "F-16" and "F 16" all meet.
    """

    def __init__(self, language: str = "fr") -> None:
        if language not in SUPPORTED_LANGUAGES:
            raise ValueError(f"unsupported language {language!r}; use one of {SUPPORTED_LANGUAGES}")
        self.language = language
        self._stemmer = Stemmer.Stemmer(_STEMMER_NAMES[language])
        self._stem_cache: dict[str, str] = {}

    def terms(self, text: str) -> list[str]:
        """Index terms of `text`, in order, repeats kept (BM25 counts them)."""
        folded = fold(clean_text(text))
        folded = _THOUSANDS.sub("", folded)
        words: list[str] = []
        for match in _TERM.finditer(folded):
            words.extend(self._expand(match.group()))
        return [self._stem(w) for w in words]

    def _expand(self, word: str) -> Iterable[str]:
        if word[0].isdigit() and ("," in word or "." in word):
            yield word.replace(",", ".")
            return
        pieces = [p for p in re.split(r"'", word) if p]
        # French elision: drop "l'", "qu'", "jusqu'"... keep what follows.
        while len(pieces) > 1 and pieces[0] in _ELISIONS:
            pieces.pop(0)
        for piece in pieces:
            parts = [p for p in piece.split("-") if p]
            if len(parts) > 1:
                for part in parts:
                    if _keep(part):
                        yield part
                yield "".join(parts)
            elif parts and _keep(parts[0]):
                yield parts[0]

    def _stem(self, word: str) -> str:
        stem = self._stem_cache.get(word)
        if stem is None:
            if word.isdigit():
                stem = word
            else:
                stem = self._stemmer.stemWord(word)
                # Folding before stemming leaves some feminine/participle "e" endings unstripped
                # ("interceptee" vs "intercepte"): drop them so both forms meet.
                if len(stem) > 3:
                    stem = stem.rstrip("e") or stem
            if len(self._stem_cache) > 500_000:
                self._stem_cache.clear()
            self._stem_cache[word] = stem
        return stem


def _keep(word: str) -> bool:
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())


@lru_cache(maxsize=8)
def analyzer(language: str) -> Analyzer:
    """Shared analyzer for a language."""
    return Analyzer(language)


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language if language in SUPPORTED_LANGUAGES else "en", clean=False)


# pysbd may cut after a lone capital initial ("John F. Kirby"); such pieces are glued back.
_ENDS_WITH_INITIAL = re.compile(r"(?:^|[\s(])[A-Z]\.$")


def split_sentences(paragraph: str, language: str = "fr") -> list[str]:
    """Split one paragraph into sentences with pysbd, keeping initials and quotes intact."""
    paragraph = _SPACES.sub(" ", clean_text(paragraph).replace("\n", " ")).strip()
    if not paragraph:
        return []
    pieces = [p.strip() for p in _segmenter(language).segment(paragraph)]
    sentences: list[str] = []
    for piece in pieces:
        if not piece:
            continue
        if sentences and _ENDS_WITH_INITIAL.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


_FR_MARKERS = frozenset(
    fold(w) for w in "le la les des du une est et à au aux dans pour que qui sur par avec été".split()
)
_EN_MARKERS = frozenset("the of and to in is was for on that with by as at from has have been".split())


def guess_language(text: str) -> str:
    """ "fr" or "en", by counting very common words of each (French when unsure)."""
    words = [fold(w) for w in re.findall(r"[^\W\d_]+", text[:20_000])]
    fr = sum(w in _FR_MARKERS for w in words)
    en = sum(w in _EN_MARKERS for w in words)
    return "en" if en > fr else "fr"
