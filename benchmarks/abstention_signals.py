"""Would another signal make the "not found" decision better? Measure candidates against the shipped seven.

For the tune and held-out questions of PIAF dev (asked of the whole corpus, then of the corpus
without their article, as in `train_ranker.py`), compute the shipped `ABSTENTION_FEATURES` plus
candidate signals, then for the shipped set and the shipped set + each candidate group print:

- `cv recall`: grouped 5-fold cross-validation on tune (folds by article, ten random
  assignments, mean ± sd): the recall of "not found" on the left-out folds at the threshold that
  gives 5 % false "not found" on them (the figure to choose by: it never looks at held-out);
- held-out recall and false "not found" at the threshold chosen on tune, as `eval` reports them;
- held-out recall at held-out's own 5 % point (for reference only: choosing there is tuning on
  held-out).

Every model is the same logistic regression on standardised signals (L2 1e-4; 0.1 on the 384
vector products). Nothing here is written to the weights file. The seven are the first model's;
the second look (`bot/search/abstention.py`) that decides questions near its decision is not part of
these figures (see the README's Quality section).

Usage: .venv/bin/python -m benchmarks.abstention_signals [FILE.json]   (about 2 minutes)
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.train_ranker import (
    PIAF,
    TARGET_FALSE_NOT_FOUND,
    abstention_data,
    fit_regularised_logistic,
)
from bot.search import abstention
from bot.search.abstention import ABSTENTION_FEATURES
from bot.search.answer import Engine
from bot.search.embeddings import EmbeddingCache, Encoder
from bot.search.evaluate import load_squad, split_questions
from bot.search.question_types import QUESTION_TYPES, question_type
from bot.service import build_engine
from bot.text import clean_text

ROOT = Path(__file__).resolve().parent.parent

SHIPPED = len(ABSTENTION_FEATURES)
SCALARS = ("matched_idf", "rarest_missing_idf", "article_rank", "article_margin")
TYPES = QUESTION_TYPES[:-1]  # "other" is the baseline
DIMENSIONS = 384
GROUPS: dict[str, list[str]] = {
    "idf of the words matched by the first excerpt": ["matched_idf"],
    "idf of the rarest word not found around it": ["rarest_missing_idf"],
    "its article's rank and margin by mean vector": ["article_rank", "article_margin"],
    "question type": [f"type_{t}" for t in TYPES],
    "all of the above": [*SCALARS, *(f"type_{t}" for t in TYPES)],
    "question x paragraph vector (384 products)": ["product"],
}


class Signals:
    """The shipped signals and the candidates, for one engine and question."""

    def __init__(self) -> None:
        self._centroids: dict[int, np.ndarray] = {}

    def centroids(self, engine: Engine) -> np.ndarray:
        """Each article's mean sentence vector (unit length), computed once per engine."""
        if id(engine) not in self._centroids:
            dense = engine.dense
            assert dense is not None
            total = np.zeros((len(engine.index.articles), DIMENSIONS), dtype=np.float32)
            np.add.at(total, engine.index.sent_article[dense.rows], dense.vectors.astype(np.float32))
            self._centroids = {id(engine): total / (np.linalg.norm(total, axis=1, keepdims=True) + 1e-9)}
        return self._centroids[id(engine)]

    def __call__(self, engine: Engine, question: str) -> np.ndarray:
        question = clean_text(question).strip()
        ranking = engine.rank(question)
        query, index = ranking.query, engine.index
        coverage = engine.coverage(query) if query.candidates else 0.0
        shipped = list(abstention.abstention_values(engine.index, question, ranking, coverage))
        kind = question_type(question)
        types = [float(kind == t) for t in TYPES]
        known = list(query.known_ids)
        if not ranking.order or not known or engine.dense is None or engine.encoder is None:
            return np.r_[shipped, np.zeros(len(SCALARS)), types, np.zeros(DIMENSIONS)]
        scale = math.log(1 + index.size)
        weight = dict.fromkeys(known, 0.0)
        for term, tid in query.resolved.items():
            if tid is not None:
                weight[tid] += query.idf[term]
        weights = np.array(list(weight.values()))
        first = ranking.order[0].sentence
        in_sentence = index.term_presence([first], known, window=False)[0]
        around = dict(zip(known, index.term_presence([first], known)[0], strict=True))
        missing = [w for t, w in query.idf.items() if not around.get(query.resolved[t], False)]
        vector = engine.encoder.query(question).astype(np.float32)
        vector /= np.linalg.norm(vector) + 1e-9
        by_article = self.centroids(engine) @ vector
        article = int(index.sent_article[first])
        others = np.delete(by_article, article)
        dense = engine.dense
        row = int(np.searchsorted(dense.rows, first))
        paragraph = np.zeros(DIMENSIONS, dtype=np.float32)
        if row < len(dense.rows) and dense.rows[row] == first:
            paragraph = dense.paragraphs[dense.row_paragraph[row]].astype(np.float32)
            paragraph /= np.linalg.norm(paragraph) + 1e-9
        scalars = [
            float(weights[in_sentence].sum() / scale),
            max(missing, default=0.0) / scale,
            float((by_article > by_article[article]).sum()),
            float(by_article[article] - (others.max() if len(others) else 0.0)),
        ]
        return np.r_[shipped, scalars, types, vector * paragraph]


def columns(group: list[str]) -> list[int]:
    """Column numbers of a candidate group in the signal rows."""
    names = [*SCALARS, *(f"type_{t}" for t in TYPES)]
    out: list[int] = []
    for name in group:
        if name == "product":
            start = SHIPPED + len(names)
            out += list(range(start, start + DIMENSIONS))
        else:
            out.append(SHIPPED + names.index(name))
    return out


def fit(x: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The scoring function of `train_ranker.fit_regularised_logistic` on these rows."""
    weights, intercept = fit_regularised_logistic(x, y, penalty)
    return lambda rows: rows @ weights + intercept


def study(data: dict, used: list[int], folds: int = 5, rounds: int = 10) -> tuple[float, ...]:
    """cv recall on tune (mean over `rounds` random assignments of articles to folds); held-out
    recall and false not-found at the tune threshold; held-out recall at its own 5 % point."""
    penalty = np.where(np.array(used) >= SHIPPED + len(SCALARS) + len(TYPES), 0.1, 1e-4)

    def model(pos: np.ndarray, neg: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        x = np.r_[pos[:, used], neg[:, used]]
        return fit(x, np.r_[np.ones(len(pos)), np.zeros(len(neg))], penalty)

    pos, neg, articles = data["tune_pos"], data["tune_neg"], data["tune_articles"]
    recalls = []
    for seed in range(rounds):
        order = np.unique(articles)
        np.random.default_rng(seed).shuffle(order)
        position = {article: i for i, article in enumerate(order)}
        fold = np.array([position[article] % folds for article in articles])
        out_pos, out_neg = np.zeros(len(pos)), np.zeros(len(neg))
        for k in range(folds):
            train, test = fold != k, fold == k
            score = model(pos[train], neg[train])
            out_pos[test], out_neg[test] = score(pos[test][:, used]), score(neg[test][:, used])
        recalls.append(float(np.mean(out_neg < np.quantile(out_pos, TARGET_FALSE_NOT_FOUND))))
    score = model(pos, neg)
    threshold = np.quantile(score(pos[:, used]), TARGET_FALSE_NOT_FOUND)
    held_pos, held_neg = score(data["held_pos"][:, used]), score(data["held_neg"][:, used])
    own = np.quantile(held_pos, TARGET_FALSE_NOT_FOUND)
    return (
        float(np.mean(recalls)),
        float(np.std(recalls)),
        float(np.mean(held_neg < threshold)),
        float(np.mean(held_pos < threshold)),
        float(np.mean(held_neg < own)),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path, nargs="?", default=PIAF)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "embeddings")
    args = parser.parse_args()
    evalset = load_squad(args.file)
    vectors, encoder = EmbeddingCache(args.cache), Encoder()
    full = build_engine(evalset.corpus, vectors, encoder)
    signals = Signals()

    def build(corpus):
        return build_engine(corpus, vectors, encoder)

    data: dict[str, np.ndarray] = {}
    for split in ("tune", "heldout"):
        questions = split_questions(evalset, split)
        pos, neg = abstention_data(full, evalset.corpus, questions, build, signals)
        key = "tune" if split == "tune" else "held"
        data[f"{key}_pos"], data[f"{key}_neg"] = pos, neg
        data[f"{key}_articles"] = np.array([q.article_id for q in questions])

    shipped = list(range(SHIPPED))
    print("| signals | cv recall (tune) ± sd | held-out recall | held-out false not-found | at own 5 % |")
    print("|---|---|---|---|---|")
    rows = {"the seven shipped": shipped} | {f"+ {k}": shipped + columns(v) for k, v in GROUPS.items()}
    for name, used in rows.items():
        cv, spread, recall, false_nf, own = study(data, used)
        print(f"| {name} | {cv:.3f} ± {spread:.3f} | {recall:.3f} | {100 * false_nf:.1f} % | {own:.3f} |")


if __name__ == "__main__":
    main()
