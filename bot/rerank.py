"""Combine the ranking signals of each candidate sentence into one score, with learned weights.

A question's candidates are its best lexical sentences plus (when embeddings are ready) its
nearest sentences by meaning. Each gets a row of features; a linear model, trained on PIAF's tune
split by `benchmarks/train_ranker.py` (softmax over each question's candidates), turns the row
into a score. The weights live in `bot/data/ranker.json`, a reviewed data file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bot.answer_types import has_answer_of
from bot.embeddings import Similarities
from bot.index import Candidate, SearchIndex
from bot.second_look import SECOND_LOOK_FEATURES
from bot.text import analyzer

WEIGHTS_FILE = Path(__file__).resolve().parent / "data" / "ranker.json"

LEXICAL_FEATURES = (
    "bm25",  # sentence + context score, over the question's best
    "bm25_context",  # the neighbours-and-paragraph part alone, over the question's best
    "bm25_rank",  # 1 / (1 + position in the lexical ranking); 0 when not a lexical candidate
    "sentence_coverage",  # share of the question's idf weight found in the sentence itself
    "title",  # share of the question's terms found in the article's title
    "quantity",  # "combien"/"how many" question and the sentence holds a number
    "date",  # "quand"/"when" question and the sentence holds a date
    "name",  # "qui"/"où" question and the sentence holds a capitalised name
    "length",  # characters, capped at 400, over 400
)
DENSE_FEATURES = (
    "dense_sentence",  # sentence similarity, standardised over the candidates
    "dense_paragraph",  # paragraph similarity, standardised over the candidates
    "dense_gap",  # sentence similarity minus the candidates' best
    "dense_rank",  # 1 / (1 + position by sentence similarity among the candidates)
)
FEATURES = LEXICAL_FEATURES + DENSE_FEATURES
_ANSWER_KINDS = ("quantity", "date", "name")


@dataclass(frozen=True)
class QuestionSignals:
    """What the features need to know about the question."""

    known: dict[int, float]  # vocabulary id -> idf x question weight, for the terms in the index
    terms: frozenset[str]
    kind: str | None  # expected answer kind, if any


ABSTENTION_FEATURES = (
    "coverage",  # best share of the question's idf weight found around one of the top sentences
    "similarity",  # best sentence similarity to the question
    "paragraph_similarity",  # best paragraph similarity
    "known_words",  # share of the question's idf weight in words the corpus has (not guessed)
    "top_probability",  # the ranking's softmax probability of its first excerpt
    "names_in_article",  # share of the question's names found in the first excerpt's article
    "retrievers_agree",  # best sentence by BM25 and nearest by meaning in the same article
)


# Across languages word coverage means little: the question's words are not the article's.
# Names spelt alike in both ("Balad", "Kirby") and meaning still carry over.
CROSS_LINGUAL_FEATURES = ("similarity", "paragraph_similarity", "names_in_article")
_CROSS_LINGUAL_COLUMNS = [ABSTENTION_FEATURES.index(name) for name in CROSS_LINGUAL_FEATURES]


@dataclass(frozen=True)
class SecondLook:
    """The not-found decision for questions near it (same language only): a logistic model over
    `ABSTENTION_FEATURES` + `SECOND_LOOK_FEATURES` (see `bot.second_look`), taken when the
    first model's margin is within `band` of its decision; intercept at its own decision."""

    weights: np.ndarray
    intercept: float
    band: float

    def wanted(self, first_margin: float) -> bool:
        """Whether a question with this margin from the first model deserves the second look."""
        return abs(first_margin) < self.band

    def margin(self, values: Sequence[float], extra: Sequence[float]) -> float:
        """Log-odds past the decision of the values of both feature lists (answered when >= 0)."""
        return float(np.dot(self.weights, np.r_[values, extra])) + self.intercept


@dataclass(frozen=True)
class Abstention:
    """Whether the corpus answers, with embeddings: a logistic model over `ABSTENTION_FEATURES`
    whose intercept puts the decision at the threshold chosen on PIAF's tune split; across
    languages, a second one over `CROSS_LINGUAL_FEATURES` (fitted on our English questions
    about PIAF's tune articles)."""

    weights: np.ndarray
    intercept: float
    cross_lingual_weights: np.ndarray
    cross_lingual_intercept: float
    # Answers whose margin is below this are shown with a caveat ("may not answer"): in that band
    # most of PIAF tune's accepted questions were asked without their article (same language only).
    caution_margin: float = 0.0
    second_look: SecondLook | None = None

    def margin(self, values: Sequence[float], cross_lingual: bool) -> float:
        """How far past the not-found decision the values of `ABSTENTION_FEATURES` (in that order)
        are, in log-odds: answered when >= 0."""
        if cross_lingual:
            chosen = np.asarray(values, dtype=float)[_CROSS_LINGUAL_COLUMNS]
            return float(np.dot(self.cross_lingual_weights, chosen)) + self.cross_lingual_intercept
        return float(np.dot(self.weights, values)) + self.intercept

    def answerable(self, values: Sequence[float], cross_lingual: bool) -> bool:
        """Decide from the values of `ABSTENTION_FEATURES`, in that order (first model only)."""
        return self.margin(values, cross_lingual) >= 0.0

    def unsure(self, margin: float, cross_lingual: bool) -> bool:
        """Answered with this margin, but within the caution margin of "not found" (never across
        languages: that model is fitted on too few questions to calibrate a band)."""
        return not cross_lingual and 0.0 <= margin < self.caution_margin


@dataclass(frozen=True)
class Ranker:
    """Two weight vectors over `FEATURES` (lexical-only ranking; with embeddings) and the
    not-found decision used with embeddings."""

    lexical: np.ndarray
    dense: np.ndarray
    abstention: Abstention

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Ranker:
        """Read the weights file (features missing from it weigh 0)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        abstain = data["abstention"]
        cross = abstain["cross_lingual"]
        return cls(
            _vector(data["weights"]["lexical"], FEATURES),
            _vector(data["weights"]["dense"], FEATURES),
            Abstention(
                _vector(abstain["weights"], ABSTENTION_FEATURES),
                float(abstain["intercept"]),
                _vector(cross["weights"], CROSS_LINGUAL_FEATURES),
                float(cross["intercept"]),
                float(abstain.get("caution_margin", 0.0)),
                _second_look(abstain.get("second_look")),
            ),
        )

    def scores(self, features: np.ndarray, with_dense: bool) -> np.ndarray:
        """One score per candidate row."""
        return features @ (self.dense if with_dense else self.lexical)


def _second_look(data: dict | None) -> SecondLook | None:
    if not data:
        return None
    names = ABSTENTION_FEATURES + SECOND_LOOK_FEATURES
    return SecondLook(_vector(data["weights"], names), float(data["intercept"]), float(data["band"]))


def _vector(weights: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    unknown = set(weights) - set(names)
    if unknown:
        raise ValueError(f"unknown features in the ranking weights file: {sorted(unknown)}")
    return np.array([float(weights.get(name, 0.0)) for name in names])


@cache
def default_ranker() -> Ranker:
    """The shipped weights, read once."""
    return Ranker.load()


def candidate_pool(lexical: list[Candidate], dense: Similarities | None, depth: int) -> list[int]:
    """Lexical candidates, then the `depth` nearest sentences by meaning not already among them."""
    pool = {c.sentence: None for c in lexical}
    if dense is not None and len(dense.rows):
        k = min(depth, len(dense.rows))
        nearest = dense.rows[np.argpartition(-dense.sentence, k - 1)[:k]]
        pool.update((int(s), None) for s in nearest)
    return list(pool)


def features(
    index: SearchIndex,
    pool: list[int],
    lexical: list[Candidate],
    signals: QuestionSignals,
    dense: Similarities | None,
    titles: TitleTerms,
) -> np.ndarray:
    """(len(pool), len(FEATURES)) feature rows; dense columns are 0 without `dense`."""
    by_sentence = {c.sentence: (rank, c) for rank, c in enumerate(lexical)}
    best = max((c.score for c in lexical), default=0.0) or 1.0
    best_context = max((c.context_score for c in lexical), default=0.0) or 1.0
    total_idf = sum(signals.known.values()) or 1.0
    known = list(signals.known)
    coverage = index.term_presence(pool, known, window=False) @ np.array(list(signals.known.values()))
    out = np.zeros((len(pool), len(FEATURES)))
    for row, sentence in enumerate(pool):
        rank, cand = by_sentence.get(sentence, (None, None))
        text = index.texts[sentence]
        article = int(index.sent_article[sentence])
        out[row, : len(LEXICAL_FEATURES)] = (
            cand.score / best if cand else 0.0,
            cand.context_score / best_context if cand else 0.0,
            1.0 / (1 + rank) if rank is not None else 0.0,
            coverage[row] / total_idf,
            len(signals.terms & titles(article)) / max(len(signals.terms), 1),
            *(float(signals.kind == kind and has_answer_of(kind, text)) for kind in _ANSWER_KINDS),
            min(len(text), 400) / 400,
        )
    if dense is not None and len(pool):
        out[:, len(LEXICAL_FEATURES) :] = _dense_columns(pool, dense)
    return out


def _dense_columns(pool: list[int], dense: Similarities) -> np.ndarray:
    if not len(dense.rows):
        return np.zeros((len(pool), len(DENSE_FEATURES)))
    pos = np.minimum(np.searchsorted(dense.rows, pool), len(dense.rows) - 1)
    covered = dense.rows[pos] == pool
    sentence = np.where(covered, dense.sentence[pos], 0.0)
    paragraph = np.where(covered, dense.paragraph[pos], 0.0)
    order = np.argsort(-sentence, kind="stable")
    rank = np.empty(len(pool))
    rank[order] = np.arange(len(pool))
    return np.column_stack(
        (_standardise(sentence), _standardise(paragraph), sentence - sentence.max(), 1.0 / (1 + rank))
    )


def _standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


class TitleTerms:
    """The analysed terms of each article's title, computed when first needed."""

    def __init__(self, index: SearchIndex) -> None:
        self._index = index
        self._terms: dict[int, frozenset[str]] = {}

    def __call__(self, article: int) -> frozenset[str]:
        if article not in self._terms:
            meta = self._index.articles[article]
            self._terms[article] = frozenset(analyzer(meta.language).terms(meta.title))
        return self._terms[article]
