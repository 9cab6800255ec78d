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

from bot.search import kernel


@dataclass(frozen=True)
class RankingParams:
    """Constants of the lexical ranking, chosen on the whole PIAF dev set, never per question."""

    k1: float = 0.9
    b: float = 0.4
    neighbour_weight: float = 0.2
    paragraph_weight: float = 1.0
    fuzzy_min_length: int = 4


# Postings (or tokens) per block of the build's arithmetic: temporaries of a few MB.
_BLOCK = 1 << 20


def _compact(tf: np.ndarray) -> np.ndarray:
    """Term frequencies in the smallest unsigned type that holds them (uint16 in practice)."""
    return tf.astype(np.uint16 if tf.max(initial=0) <= np.iinfo(np.uint16).max else np.uint32)


def padded(indptr: np.ndarray, vocab_size: int) -> np.ndarray:
    """`indptr` extended to `vocab_size` terms (terms it did not know have empty columns)."""
    if len(indptr) - 1 >= vocab_size:
        return indptr
    return np.concatenate((indptr, np.full(vocab_size + 1 - len(indptr), indptr[-1], dtype=indptr.dtype)))


def repeat_index(lengths: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """For runs of the given lengths: the run number of each position (or, with `offsets`,
    offsets[run] + position within the run). Like `np.repeat(np.arange(n), lengths)`, but built
    from bincount and cumsum, which do not hold the GIL for long: a rebuild in a thread must not
    stall the bot's event loop."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    run = np.bincount(ends[:-1], minlength=total + 1)[:total]
    np.cumsum(run, out=run)  # (in place: one array of the output's size, not two)
    if offsets is None:
        return run
    run_start = ends - lengths
    return offsets[run] + (np.arange(total) - run_start[run])


def blocks(n: int, size: int) -> list[slice]:
    """0 .. n - 1 in slices of `size` (the last one shorter)."""
    return [slice(begin, min(begin + size, n)) for begin in range(0, n, size)]


def term_of(indptr: np.ndarray, begin: int, end: int) -> np.ndarray:
    """The term (column) of postings `begin` .. `end` - 1 of a CSC matrix (the columns' lengths
    within the range, repeated: a fifth of a search per posting's time)."""
    if end <= begin:
        return np.zeros(0, np.int64)
    first = int(np.searchsorted(indptr, begin, side="right")) - 1
    last = int(np.searchsorted(indptr, end - 1, side="right")) - 1
    return first + repeat_index(np.diff(np.clip(indptr[first : last + 2], begin, end)))


def length_norms(lengths: np.ndarray, params: RankingParams) -> np.ndarray:
    """Each document's part of the BM25 denominator, k1 * (1 - b + b * |d| / avgdl), in float32."""
    mean = lengths.astype(np.int64).mean() if len(lengths) else 0.0
    norm = params.k1 * (1 - params.b + params.b * lengths.astype(np.int64) / max(mean, 1e-9))
    return norm.astype(np.float32)


def sorted_pair_postings(
    pair: np.ndarray, num_docs: int, first_term: int, num_terms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From sorted keys `term * num_docs + doc` (one per token; terms `first_term` ..
    `first_term + num_terms - 1`): each posting's document (int32) and term frequency (uint32),
    and each term's document frequency. Block by block: no temporary of the postings' size but
    the runs' starts."""
    if not len(pair):
        return np.zeros(0, np.int32), np.zeros(0, np.uint32), np.zeros(num_terms, np.int64)
    is_first = np.empty(len(pair), dtype=bool)
    is_first[0] = True
    np.not_equal(pair[1:], pair[:-1], out=is_first[1:])
    starts = np.flatnonzero(is_first)
    del is_first
    doc = np.empty(len(starts), dtype=np.int32)
    tf = np.empty(len(starts), dtype=np.uint32)
    df = np.zeros(num_terms, dtype=np.int64)
    for block in blocks(len(starts), _BLOCK):
        first = pair[starts[block]]
        doc[block] = first % num_docs
        first //= num_docs  # (now the term of each posting)
        first -= first_term
        df += np.bincount(first, minlength=num_terms)
        following = starts[block.start + 1 : block.stop + 1]  # (where the next run begins)
        if block.stop == len(starts):
            following = np.append(following, len(pair))
        tf[block] = following - starts[block]
    return doc, tf, df


def _add_run_numbers(values: np.ndarray, lengths: np.ndarray) -> None:
    """Add to each position of `values` its run number, for runs of the given lengths (in
    blocks of runs: no temporary the size of `values`)."""
    ends = np.cumsum(lengths, dtype=np.int64)
    mean_length = int(ends[-1]) // len(lengths) if len(lengths) else 0
    runs = max(1, _BLOCK // max(1, mean_length))  # (runs per block: about `_BLOCK` positions)
    for first in range(0, len(lengths), runs):
        last = min(first + runs, len(lengths))
        begin, end = int(ends[first] - lengths[first]), int(ends[last - 1])
        values[begin:end] += repeat_index(lengths[first:last]) + first


def column_bounds(indptr: np.ndarray, term_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) of each of the columns `term_ids` of a CSC matrix, as Python ints."""
    if len(term_ids) <= 16:  # (a question's few terms: cheaper one by one than by numpy's indexing)
        return [(int(indptr[t]), int(indptr[t + 1])) for t in term_ids]
    terms = np.asarray(term_ids, dtype=np.int64)
    return list(zip(indptr[terms].tolist(), indptr[terms + 1].tolist(), strict=True))


def unit_as_none(weights: Sequence[float] | None) -> Sequence[float] | None:
    """None for weights that are all 1 (the usual case: columns then copied, not multiplied;
    multiplying by 1 changes no bit)."""
    return None if weights is None or all(weight == 1.0 for weight in weights) else weights


def column_postings(
    data: np.ndarray,
    indices: np.ndarray,
    bounds: Sequence[tuple[int, int]],
    weights: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(row ids, weighted values) of the columns at `bounds` (`column_bounds`) of a CSC matrix,
    one after the other.

    Written straight into the types `np.bincount` works in (intp, float64): given int32 and
    float32, it would copy both first (at 1M sentences, a heavy question's sum takes half the
    time this way). The values are the same as `data[column] * weight` cast to float64."""
    if not bounds:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    weights = unit_as_none(weights)
    idx = np.concatenate([indices[start:end] for start, end in bounds], dtype=np.intp)
    if weights is None:
        return idx, np.concatenate([data[start:end] for start, end in bounds], dtype=np.float64)
    val = np.empty(len(idx), dtype=np.float64)
    at = 0
    for (start, end), weight in zip(bounds, weights, strict=True):
        stop = at + end - start
        np.multiply(data[start:end], weight, out=val[at:stop])
        at = stop
    return idx, val


@dataclass
class Bm25Matrix:
    """bm25s' precomputed term x document score matrix (CSC), queried term by term.

    It keeps what the scores are made from — each posting's term frequency and each document's
    length — so documents can be added (`merged`) and dropped (`without`) without analysing or
    sorting anything again: the columns are spliced, and the scores recomputed from the new
    collection statistics, exactly as a full build computes them.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    num_docs: int
    tf: np.ndarray | None = None  # each posting's term frequency (None: a matrix that cannot change)
    lengths: np.ndarray | None = None  # each document's length in terms

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
                np.zeros(0, np.float32),
                np.zeros(0, np.int32),
                np.zeros(vocab_size + 1, np.int64),
                num_docs,
                np.zeros(0, np.uint16),
                np.asarray(lengths, dtype=np.int32),
            )
        lengths = lengths.astype(np.int64)
        # Sort by (term, doc): equal pairs become runs, whose length is the term frequency.
        # (Built in place: at 1M sentences an int64 array of this size is ~130 MB.)
        pair = tokens.astype(np.int64)
        pair *= num_docs
        _add_run_numbers(pair, lengths)
        pair.sort()  # (equal keys are equal values: no need for a stable sort, nor its buffer)
        doc, tf, df = sorted_pair_postings(pair, num_docs, 0, vocab_size)
        del pair
        indptr = np.zeros(vocab_size + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        return cls.scored(doc, indptr, _compact(tf), lengths.astype(np.int32), params)

    @classmethod
    def scored(
        cls,
        indices: np.ndarray,
        indptr: np.ndarray,
        tf: np.ndarray,
        lengths: np.ndarray,
        params: RankingParams,
        term: np.ndarray | None = None,
        norms: np.ndarray | None = None,
    ) -> Bm25Matrix:
        """The matrix of these postings, scored with the statistics they make up (N, df, avgdl);
        `term` is each posting's term when the caller has it (else derived from `indptr`),
        `norms` the documents' `length_norms` when the caller scores many ranges of terms."""
        num_docs = len(lengths)
        df = np.diff(indptr)
        idf = np.log1p((num_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm32 = length_norms(lengths, params) if norms is None else norms
        data = np.empty(len(indices), dtype=np.float32)
        # idf * tf / (tf + norm), in float32, block by block (the temporaries stay small; the
        # same operations in the same order: the same scores to the bit).
        for block in blocks(len(indices), _BLOCK):
            tf32 = tf[block].astype(np.float32)
            denominator = norm32[indices[block]]
            denominator += tf32
            scores = idf[term[block] if term is not None else term_of(indptr, block.start, block.stop)]
            scores *= tf32
            scores /= denominator
            data[block] = scores
        return cls(data, indices, indptr, num_docs, tf, lengths)

    def merged(self, extra: Bm25Matrix, params: RankingParams) -> Bm25Matrix:
        """This matrix with `extra`'s documents after its own (their ids shifted), rescored.

        Each term's column is this column followed by `extra`'s: ids stay sorted, so the
        columns are spliced by position, in one pass, without sorting."""
        assert self.tf is not None and self.lengths is not None and extra.tf is not None
        assert extra.lengths is not None
        vocab_size = max(len(self.indptr), len(extra.indptr)) - 1
        mine = np.diff(padded(self.indptr, vocab_size))
        theirs = np.diff(padded(extra.indptr, vocab_size))
        indptr = np.zeros(vocab_size + 1, dtype=np.int64)
        np.cumsum(mine + theirs, out=indptr[1:])
        term = repeat_index(mine + theirs)
        # Within its merged column, a posting is this matrix's while its rank is below `mine`.
        is_mine = np.arange(len(term), dtype=np.int64) - indptr[term] < mine[term]
        indices = np.empty(len(term), dtype=np.int32)
        indices[is_mine] = self.indices  # boolean assignment fills in order: columns stay sorted
        indices[~is_mine] = extra.indices + self.num_docs
        tf = np.empty(len(term), dtype=np.promote_types(self.tf.dtype, extra.tf.dtype))
        tf[is_mine] = self.tf
        tf[~is_mine] = extra.tf
        lengths = np.concatenate((self.lengths, extra.lengths))
        return Bm25Matrix.scored(indices, indptr, tf, lengths, params, term)

    def without(self, keep: np.ndarray, params: RankingParams) -> Bm25Matrix:
        """This matrix with only the documents where `keep` is True (renumbered in order), rescored."""
        assert self.tf is not None and self.lengths is not None
        alive = keep[self.indices]
        renumber = np.cumsum(keep) - 1
        term = repeat_index(np.diff(self.indptr))[alive]
        counts = np.bincount(term, minlength=len(self.indptr) - 1)
        indptr = np.zeros(len(self.indptr), dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = renumber[self.indices[alive]].astype(np.int32)
        return Bm25Matrix.scored(indices, indptr, self.tf[alive], self.lengths[keep], params, term)

    def postings(
        self, term_ids: Sequence[int], weights: Sequence[float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(document ids, weighted scores) of every posting of `term_ids` (a doc may repeat)."""
        return column_postings(self.data, self.indices, column_bounds(self.indptr, term_ids), weights)

    def scores(self, term_ids: Sequence[int], weights: Sequence[float] | None = None) -> np.ndarray:
        """Weighted sum of the rows of `term_ids`, as a dense vector over documents (float64)."""
        idx, val = self.postings(term_ids, weights)
        return np.bincount(idx, weights=val, minlength=self.num_docs)

    def scores_at(
        self, term_ids: Sequence[int], weights: Sequence[float] | None, docs: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """Weighted scores of `docs` (sorted or not) for `term_ids`, by look-up in each column:
        each term's value (weighted in float32) added in term order, in float64."""
        if not len(docs) or not len(term_ids) or not len(self.indices):
            return np.zeros(len(docs))
        if kernel.takes(self):
            return np.asarray(kernel.scores_at(self, term_ids, weights, docs), dtype=np.float64)
        indices = self.indices
        keys = np.asarray(docs, dtype=indices.dtype)  # (an int64 key would copy the searched column)
        bounds = column_bounds(self.indptr, term_ids)
        # (term, doc): the place of each doc in each column, then in `indices`
        found = np.array([indices[start:end].searchsorted(keys) for start, end in bounds])
        spans = np.array(bounds, dtype=np.int64)
        hit = found < spans[:, 1:] - spans[:, :1]
        found += spans[:, :1]
        np.minimum(found, len(indices) - 1, out=found)
        hit &= indices[found] == keys
        values = np.where(hit, self.data[found], np.float32(0))
        weights = unit_as_none(weights)
        if weights is not None:
            values *= np.asarray(weights, dtype=np.float32)[:, None]
        # Summed term after term, in order (a cumulative sum: `sum` may pair the terms up)
        return np.cumsum(values, axis=0, dtype=np.float64)[-1]

    def contains(self, term_id: int, docs: np.ndarray) -> np.ndarray:
        """Which of `docs` contain `term_id` (bool per doc)."""
        column = self.indices[self.indptr[term_id] : self.indptr[term_id + 1]]
        pos = np.searchsorted(column, docs)
        pos = np.minimum(pos, max(len(column) - 1, 0))
        return (column[pos] == docs) if len(column) else np.zeros(len(docs), dtype=bool)

    def document_frequency(self, term_id: int) -> int:
        """Number of documents holding `term_id`."""
        return int(self.indptr[term_id + 1] - self.indptr[term_id])
