"""Combine the ranking signals of each candidate sentence into one score, with learned weights.

A question's candidates are its best lexical sentences plus (when embeddings are ready) its
nearest sentences by meaning. Each gets a row of features; a linear model, trained on PIAF's tune
split and our news questions' tune split by `benchmarks/train_ranker.py` (softmax over each
question's candidates), turns the row into a score. The weights live in `bot/data/ranker.json`,
a reviewed data file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bot.search.embeddings import Similarities
from bot.search.index import Candidate, SearchIndex
from bot.search.question_types import has_new_answer_of, says_no
from bot.text import analyzer

WEIGHTS_FILE = Path(__file__).resolve().parent.parent / "data" / "ranker.json"

LEXICAL_FEATURES = (
    "bm25",  # sentence + context score, over the question's best
    "bm25_context",  # the neighbours-and-paragraph part alone, over the question's best
    "bm25_rank",  # 1 / (1 + position in the lexical ranking); 0 when not a lexical candidate
    "sentence_coverage",  # share of the question's idf weight found in the sentence itself
    "title",  # share of the question's terms found in the article's title
    "quantity",  # "combien"/"how many" question; the sentence holds a number the question does not
    "date",  # "quand"/"when" question; the sentence holds a date the question does not
    "name",  # "qui"/"où" question; the sentence holds a capitalised name the question does not
    "length",  # characters, capped at 400, over 400
    "first_in_paragraph",  # 1 for a paragraph's opening sentence (news: often the topic, not the fact)
    "previous_coverage",  # share of the question's idf weight in the previous sentence, not in this one
    "story_coverage",  # share of the question's idf weight in the article's title or lede, not here
    "says_no",  # yes/no question ("Y a-t-il eu des morts ?") and the sentence holds a negation
)
DENSE_FEATURES = (
    "dense_sentence",  # sentence similarity, standardised over the candidates
    "dense_paragraph",  # paragraph similarity, standardised over the candidates
    "dense_gap",  # sentence similarity minus the candidates' best
    "dense_rank",  # 1 / (1 + position by sentence similarity among the candidates)
)
FEATURES = LEXICAL_FEATURES + DENSE_FEATURES
_ANSWER_KINDS = ("quantity", "date", "name")
_NEW_FEATURES_AT = LEXICAL_FEATURES.index("first_in_paragraph")


@dataclass(frozen=True)
class Query:
    """An analysed question: its terms, their vocabulary ids and weights, and the ranked sentences."""

    terms: list[str]
    context_terms: list[str]
    resolved: dict[str, int | None]
    idf: dict[str, float]  # idf x weight of each term (an unknown term counts as the rarest)
    candidates: list[Candidate]

    @property
    def known_ids(self) -> dict[int, None]:
        """Vocabulary ids of the terms found in the index, in question order."""
        return {tid: None for tid in self.resolved.values() if tid is not None}


@dataclass(frozen=True)
class Ranking:
    """The lexical query, the final order of its candidates, and the embedding signal used."""

    query: Query
    order: list[Candidate]  # every candidate, best first by the learned score
    dense: Similarities | None

    @property
    def similarity(self) -> float | None:
        """Best sentence similarity to the question (None without embeddings)."""
        if self.dense is None:
            return None
        return float(self.dense.sentence.max()) if len(self.dense.sentence) else 0.0

    @property
    def paragraph_similarity(self) -> float:
        """Best paragraph similarity to the question (0 without embeddings)."""
        if self.dense is None or not len(self.dense.paragraph):
            return 0.0
        return float(self.dense.paragraph.max())


@dataclass(frozen=True)
class QuestionSignals:
    """What the features need to know about the question."""

    known: dict[int, float]  # vocabulary id -> idf x question weight, for the terms in the index
    terms: frozenset[str]
    kind: str | None  # expected answer kind, if any
    question: str = ""  # the cleaned question (what an answer must add to it)
    yes_no: bool = False  # asks whether something happened


@dataclass(frozen=True)
class RankingWeights:
    """Two weight vectors over `FEATURES`: for the lexical-only ranking and with embeddings."""

    lexical: np.ndarray
    dense: np.ndarray

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> RankingWeights:
        """Read the weights file (features missing from it weigh 0)."""
        data = read_weights_file(path)
        return cls(
            feature_vector(data["weights"]["lexical"], FEATURES),
            feature_vector(data["weights"]["dense"], FEATURES),
        )

    def scores(self, features: np.ndarray, with_dense: bool) -> np.ndarray:
        """One score per candidate row."""
        return features @ (self.dense if with_dense else self.lexical)


def read_weights_file(path: Path = WEIGHTS_FILE) -> dict:
    """The learned weights file (ranking and "not found"), as written by `benchmarks.train_ranker`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def feature_vector(weights: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    """The weights of `names`, in that order (0 when missing); an unknown name is refused."""
    unknown = set(weights) - set(names)
    if unknown:
        raise ValueError(f"unknown features in the ranking weights file: {sorted(unknown)}")
    return np.array([float(weights.get(name, 0.0)) for name in names])


@cache
def default_weights() -> RankingWeights:
    """The shipped ranking weights, read once."""
    return RankingWeights.load()


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
    weights = np.array(list(signals.known.values()))
    rows = np.asarray(pool, dtype=np.int64)
    present = index.term_presence(rows, known, window=False)
    previous = index.previous_in_paragraph(rows) if len(rows) else rows
    in_previous = index.term_presence(np.maximum(previous, 0), known, window=False) & (previous >= 0)[:, None]
    in_story = story_presence(index, rows, known)
    coverage = present @ weights / total_idf
    previous_coverage = (in_previous & ~present) @ weights / total_idf
    story_coverage = (in_story & ~present) @ weights / total_idf
    out = np.zeros((len(pool), len(FEATURES)))
    for row, sentence in enumerate(pool):
        rank, cand = by_sentence.get(sentence, (None, None))
        text = index.texts[sentence]
        article = int(index.sent_article[sentence])
        out[row, :_NEW_FEATURES_AT] = (
            cand.score / best if cand else 0.0,
            cand.context_score / best_context if cand else 0.0,
            1.0 / (1 + rank) if rank is not None else 0.0,
            coverage[row],
            len(signals.terms & titles(article)) / max(len(signals.terms), 1),
            *(
                float(signals.kind == kind and has_new_answer_of(kind, text, signals.question))
                for kind in _ANSWER_KINDS
            ),
            min(len(text), 400) / 400,
        )
        out[row, _NEW_FEATURES_AT : len(LEXICAL_FEATURES)] = (
            float(previous[row] < 0),
            previous_coverage[row],
            story_coverage[row],
            float(signals.yes_no and says_no(text)),
        )
    if dense is not None and len(pool):
        out[:, len(LEXICAL_FEATURES) :] = _dense_columns(pool, dense)
    return out


def story_presence(index: SearchIndex, sentences: np.ndarray, term_ids: list[int]) -> np.ndarray:
    """(len(sentences), len(term_ids)) booleans: the term is in the title or the lede (first
    paragraph) of the sentence's article: what a news question names to say which story it means.
    (A paragraph's BM25 document holds its article's title: the lede's document has both.)"""
    out = np.zeros((len(sentences), len(term_ids)), dtype=bool)
    if not len(sentences) or not term_ids:
        return out
    articles = index.sent_article[np.asarray(sentences, dtype=np.int64)]
    unique, inverse = np.unique(articles, return_inverse=True)
    ledes = np.array([index.lede_paragraph(int(a)) for a in unique], dtype=index.paragraphs.indices.dtype)
    per_article = np.zeros((len(unique), len(term_ids)), dtype=bool)
    for j, term_id in enumerate(term_ids):
        per_article[:, j] = index.paragraphs.contains(term_id, ledes)
    return per_article[inverse.reshape(-1)]


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


def log_total(candidates: list[Candidate]) -> float:
    """log of the sum of exp(score) over the candidates (the softmax's normaliser)."""
    scores = np.array([c.score for c in candidates])
    return float(scores.max() + math.log(np.exp(scores - scores.max()).sum()))
