"""BM25 as sparse-matrix arithmetic: one precomputed term x document score matrix per field.

Scoring variant: **Lucene BM25** (bm25s ``method="lucene"``):

    score(q, d) = sum_t idf(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

It is Robertson/Okapi BM25 with an idf that never goes negative. Sentences are short documents,
and a word present in more than half of them (common in a one-article corpus) would get a
*negative* Okapi idf and push the sentences that contain it down; rank_bm25's BM25Okapi patches
that with an epsilon floor, Lucene's idf avoids it by construction. Against ``rank_bm25.BM25Okapi``
with this idf (same k1 and b) the scores agree to float precision once rank_bm25's constant
(k1 + 1) factor, which Lucene drops and which changes no ranking, is applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankingParams:
    """Constants of the lexical ranking, chosen on the whole PIAF dev set, never per question."""

    k1: float = 0.9
    b: float = 0.4
    neighbour_weight: float = 0.2
    paragraph_weight: float = 1.0
    fuzzy_min_length: int = 4


def repeat_index(lengths: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """For runs of the given lengths: the run number of each position (or, with `offsets`,
    offsets[run] + position within the run). Like `np.repeat(np.arange(n), lengths)`, but built
    from bincount and cumsum, which do not hold the GIL for long: a rebuild in a thread must not
    stall the bot's event loop."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    run = np.cumsum(np.bincount(ends[:-1], minlength=total + 1)[:total])
    if offsets is None:
        return run
    run_start = ends - lengths
    return offsets[run] + (np.arange(total) - run_start[run])


@dataclass
class Bm25Matrix:
    """bm25s' precomputed term x document score matrix (CSC), queried term by term."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    num_docs: int

    @classmethod
    def build(
        cls, tokens: np.ndarray, lengths: np.ndarray, vocab_size: int, params: RankingParams
    ) -> Bm25Matrix:
        """The Lucene BM25 matrix of documents given as one flat array of term ids and their lengths.

        Vectorised (no Python loop over documents): the same scores bm25s computes with
        ``method="lucene"``, in a fraction of its time and memory (`benchmarks/scale.py`).
        """
        num_docs = len(lengths)
        if num_docs == 0 or len(tokens) == 0:  # an empty corpus: nothing matches, nothing fails
            return cls(
                np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(vocab_size + 1, np.int64), num_docs
            )
        lengths = lengths.astype(np.int64)
        docs = repeat_index(lengths)
        # Sort by (term, doc): equal pairs become runs, whose length is the term frequency.
        pair = tokens.astype(np.int64) * num_docs + docs
        pair.sort(kind="stable")
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        tf = np.diff(np.r_[starts, len(pair)]).astype(np.float32)
        unique = pair[starts]
        del pair
        term = (unique // num_docs).astype(np.int64)
        doc = (unique % num_docs).astype(np.int32)
        df = np.bincount(term, minlength=vocab_size)
        idf = np.log1p((num_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = params.k1 * (1 - params.b + params.b * lengths / max(lengths.mean(), 1e-9))
        data = (idf[term] * tf / (tf + norm[doc].astype(np.float32))).astype(np.float32)
        indptr = np.zeros(vocab_size + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        return cls(data, doc, indptr, num_docs)

    def postings(
        self, term_ids: Sequence[int], weights: Sequence[float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(document ids, weighted scores) of every posting of `term_ids` (a doc may repeat)."""
        if not term_ids:
            return np.zeros(0, np.int64), np.zeros(0)
        slices = [slice(self.indptr[t], self.indptr[t + 1]) for t in term_ids]
        idx = np.concatenate([self.indices[s] for s in slices])
        if weights is None:
            val = np.concatenate([self.data[s] for s in slices])
        else:
            val = np.concatenate([self.data[s] * w for s, w in zip(slices, weights, strict=True)])
        return idx, val

    def scores(self, term_ids: Sequence[int], weights: Sequence[float] | None = None) -> np.ndarray:
        """Weighted sum of the rows of `term_ids`, as a dense vector over documents (float64)."""
        idx, val = self.postings(term_ids, weights)
        return np.bincount(idx, weights=val, minlength=self.num_docs)

    def scores_at(
        self, term_ids: Sequence[int], weights: Sequence[float] | None, docs: np.ndarray
    ) -> np.ndarray:
        """Weighted scores of `docs` (sorted or not) for `term_ids`, by look-up in each column."""
        out = np.zeros(len(docs))
        for i, term_id in enumerate(term_ids):
            start = self.indptr[term_id]
            column = self.indices[start : self.indptr[term_id + 1]]
            if not len(column):
                continue
            pos = np.minimum(np.searchsorted(column, docs), len(column) - 1)
            hit = column[pos] == docs
            out[hit] += self.data[start + pos[hit]] * (1.0 if weights is None else weights[i])
        return out

    def contains(self, term_id: int, docs: np.ndarray) -> np.ndarray:
        """Which of `docs` contain `term_id` (bool per doc)."""
        column = self.indices[self.indptr[term_id] : self.indptr[term_id + 1]]
        pos = np.searchsorted(column, docs)
        pos = np.minimum(pos, max(len(column) - 1, 0))
        return (column[pos] == docs) if len(column) else np.zeros(len(docs), dtype=bool)

    def document_frequency(self, term_id: int) -> int:
        """Number of documents holding `term_id`."""
        return int(self.indptr[term_id + 1] - self.indptr[term_id])
