"""One scoring pass: a sentence's whole lexical score folded into one term x sentence matrix.

A sentence scores by its own BM25, plus `neighbour_weight` times its paragraph neighbours' and
`paragraph_weight` times its paragraph's (`bot.search.bm25`, `SearchIndex.rank`). All three are
linear in the question's term weights, so they are added at index time into one matrix whose
column for a term holds every sentence of every paragraph that has the term, with

    folded[t, s] = S[t, s] + neighbour_weight * (S[t, s - 1] + S[t, s + 1]) + paragraph_weight * P[t, p(s)]

(neighbours within the paragraph only). A question then sums a few columns once: no second
pass, no bound on the paragraphs' share, no refinement. The cost is memory: a paragraph's terms
are repeated for each of its sentences (about twice the postings of the two matrices it folds;
`python -m benchmarks.anchors` prints the peak).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from bot.search import kernel
from bot.search.bm25 import Bm25Matrix, RankingParams, blocks, column_bounds, column_postings, padded, term_of

# Postings are folded in blocks of about this many (sentence postings: two blocks at a time, in
# two threads): the temporary arrays stay small (twice this size in two threads raised the 1M
# build's peak: `benchmarks.anchors`), and no numpy call holds the GIL for long. (A paragraph
# posting becomes one per sentence of its paragraph: those blocks are smaller.)
_FOLD_BLOCK = 1 << 19
_PARAGRAPH_BLOCK = 1 << 18
# Postings read to bound the k-th best total before the others are looked at (`_contenders`),
# the shortest column's always: a tighter bound from more columns costs more than it saves, at
# 100k sentences (at 1M: the same either way; docs/performance.md, #20's fifth pass).
_BOUND_BUDGET = 256
# Questions with more than one posting per this many sentences find their contenders in one pass
# over every sentence's total (0.5 ns a sentence at 1M) rather than by their postings' totals
# (read at random, then sorted: ~8 ns a posting).
_SWEEP_AFTER = 8


def paragraph_starts(sent_para_index: np.ndarray, num_paragraphs: int) -> np.ndarray:
    """Where each paragraph's sentences begin (they are contiguous), and the last one ends:
    paragraph p's are `starts[p]` .. `starts[p + 1]` - 1."""
    starts = np.zeros(num_paragraphs + 1, dtype=np.int64)
    np.cumsum(np.bincount(sent_para_index, minlength=num_paragraphs), out=starts[1:])
    return starts


class FoldCancelled(Exception):
    """A fold stopped half-way (`FoldedMatrix.fold`'s `stop` was set): its index is not served."""


@dataclass(frozen=True)
class FoldedMatrix:
    """The folded term x sentence scores (CSC: `indptr` per term, sentence ids sorted in each)."""

    data: np.ndarray  # float32
    indices: np.ndarray  # int32 sentence ids
    indptr: np.ndarray  # int64, one more than the vocabulary
    num_docs: int
    # Where the compiled `top` sums a question (`bot.search.kernel`; made on first use).
    _scratch: kernel.Scratch = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_scratch", kernel.Scratch(self.num_docs))

    @classmethod
    def fold(
        cls,
        sentences: Bm25Matrix,
        paragraphs: Bm25Matrix,
        sent_para_index: np.ndarray,
        para_start: np.ndarray,
        params: RankingParams,
        stop: threading.Event | None = None,
    ) -> FoldedMatrix:
        """Fold the sentence and paragraph matrices (same vocabulary) of one index; between
        blocks, raise `FoldCancelled` once `stop` is set.

        Every (term, sentence) pair of the result lies in a paragraph holding the term, so the
        paragraph postings, each repeated over its paragraph's sentences, give the structure
        (already sorted); the sentence postings are then added at their place and their
        neighbours', found by search among the paragraph postings: no sort, no duplicates."""
        vocab_size = max(len(sentences.indptr), len(paragraphs.indptr)) - 1
        p_indptr = padded(paragraphs.indptr, vocab_size)
        p_doc = paragraphs.indices
        size = np.diff(para_start)  # each paragraph's count of sentences
        total = int(np.bincount(p_doc, minlength=len(size)) @ size)
        # Where each paragraph posting begins (int32 while it fits: 60 MB less at 1M).
        offset = np.zeros(len(p_doc) + 1, dtype=np.int32 if total < 2**31 else np.int64)
        indices = np.empty(total, dtype=np.int32)
        data = np.empty(total, dtype=np.float32)
        weight = np.float32(params.paragraph_weight)
        # (In blocks: numpy's repeat holds the GIL, and a rebuild runs beside the event loop.)
        for block in blocks(len(p_doc), _PARAGRAPH_BLOCK):
            _check(stop)
            count = size[p_doc[block]]
            ends = offset[block.start + 1 : block.stop + 1]
            np.cumsum(count, out=ends)
            np.add(ends, offset[block.start], out=ends)
            within = slice(offset[block.start], offset[block.stop])
            shift = np.repeat(para_start[p_doc[block]] - offset[block.start : block.stop], count)
            indices[within] = shift + np.arange(within.start, within.stop, dtype=np.int64)
            data[within] = np.repeat(paragraphs.data[block] * weight, count)
        s_indptr = padded(sentences.indptr, vocab_size)
        add = _SentenceAdder(
            sentences, s_indptr, p_indptr, p_doc, offset, sent_para_index, para_start, data,
            max(paragraphs.num_docs, 1), params,
        )  # fmt: skip
        # In blocks of whole terms: a place's shares (own, then its neighbours') are then added in
        # the same order whatever the blocks, and the same float32 sums come out. Two halves of
        # the blocks side by side: a term's postings land in its own slice of `data`.
        parts = _term_blocks(s_indptr, len(sentences.indices), _FOLD_BLOCK)
        half = len(parts) // 2
        with ThreadPoolExecutor(1, thread_name_prefix="depeche-fold") as pool:
            second = pool.submit(add.postings, parts[half:], stop)
            add.postings(parts[:half], stop)
            second.result()
        return cls(data, indices, offset[p_indptr].astype(np.int64), len(sent_para_index))

    def top(
        self,
        term_ids: Sequence[int],
        weights: Sequence[float] | None,
        k: int,
        among: np.ndarray | None = None,
    ) -> tuple[list[int], list[float]]:
        """The `k` best sentences (of `among` only, when given) for the weighted terms, and their
        totals, best first, ties by sentence order; sentences scoring 0 are left out."""
        if k <= 0:
            return [], []
        if kernel.takes(self):
            return kernel.top(self, term_ids, weights, k, self._scratch, among)
        bounds = column_bounds(self.indptr, term_ids)
        idx, val = column_postings(self.data, self.indices, bounds, weights)
        if not len(idx):
            return [], []
        scores = np.bincount(idx, weights=val, minlength=self.num_docs)
        if among is None:
            cand = self._contenders(scores, idx, bounds, k)
        else:
            cand = np.asarray(among, dtype=np.int64)
        return best_first(cand, scores[cand], k)

    def _contenders(
        self, scores: np.ndarray, idx: np.ndarray, bounds: list[tuple[int, int]], k: int
    ) -> np.ndarray:
        """The sentences that may be among the `k` best (all of them, ties with the k-th too),
        in sentence order.

        A column's sentences are distinct, so the k-th best total among them is a lower bound of
        the k-th best total overall: the shortest columns (the rarest terms, whose sentences tend
        to score high) give a bound cheaply, and only sentences at or above it are looked at. A
        question with many postings finds them in one pass over the totals (sequential, where
        its postings would be read at random); the others look at their postings' totals: a
        sentence appears once per term at most, so the k x terms best postings hold the k best
        (the postings tied with the last are kept, for the tie order)."""
        bound = _kth_best_bound(scores, idx, bounds, k)
        if len(idx) * _SWEEP_AFTER >= self.num_docs:
            contenders = np.flatnonzero(scores >= bound) if bound > 0 else np.flatnonzero(scores)
            if len(contenders) > 4 * k:  # a loose bound: narrowed by the k-th best total
                totals = scores[contenders]
                contenders = contenders[totals >= np.partition(totals, len(totals) - k)[len(totals) - k]]
            return contenders
        posted = np.take(scores, idx)
        keep = posted >= bound
        contenders = idx[keep]
        m = min(len(idx), k * len(bounds))
        if len(contenders) > 4 * m:  # a loose bound: narrowed by the m-th best posting
            posted = posted[keep]
            contenders = contenders[posted >= np.partition(posted, len(posted) - m)[len(posted) - m]]
        return distinct(contenders)


def _kth_best_bound(scores: np.ndarray, idx: np.ndarray, bounds: list[tuple[int, int]], k: int) -> float:
    """The largest k-th best total among the sentences of each of the shortest columns
    (`_BOUND_BUDGET` postings in all, the shortest always): a lower bound of the k-th best.
    A column's sentences are read from `idx`, the columns' postings one after the other."""
    columns = []  # (length, where it starts in `idx`)
    at = 0
    for start, end in bounds:
        columns.append((end - start, at))
        at += end - start
    columns.sort()
    bound = -np.inf
    spent = 0
    for length, at in columns:
        if length < k:
            continue
        if spent and spent + length > _BOUND_BUDGET:
            break
        column = np.take(scores, idx[at : at + length])
        bound = max(bound, float(np.partition(column, length - k)[length - k]))
        spent += length
    return bound


def best_first(cand: np.ndarray, totals: np.ndarray, k: int) -> tuple[list[int], list[float]]:
    """The `k` best of the sentences `cand` by their `totals`, best first, ties by sentence
    order, those scoring 0 left out."""
    order = np.lexsort((cand, -totals))[:k]
    order = order[totals[order] > 0]
    return cand[order].tolist(), totals[order].tolist()


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, sorted (`np.unique`'s answer, by a sort: several
    times faster than `np.unique` on the few thousand ids of a question)."""
    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


@dataclass(frozen=True)
class _SentenceAdder:
    """Adds sentence postings (and their neighbours' share) into the folded structure."""

    sentences: Bm25Matrix
    s_indptr: np.ndarray
    p_indptr: np.ndarray
    p_doc: np.ndarray
    offset: np.ndarray
    sent_para_index: np.ndarray
    para_start: np.ndarray
    data: np.ndarray
    num_paragraphs: int
    params: RankingParams

    def postings(self, parts: list[slice], stop: threading.Event | None) -> None:
        """Add the sentence postings of `parts`, block by block."""
        num_paragraphs = self.num_paragraphs
        neighbour = np.float32(self.params.neighbour_weight)
        data, para_start, p_indptr = self.data, self.para_start, self.p_indptr
        for block in parts:
            _check(stop)
            doc = self.sentences.indices[block].astype(np.int64)
            value = self.sentences.data[block]
            para = self.sent_para_index[doc].astype(np.int64)
            term = term_of(self.s_indptr, block.start, block.stop)
            # The paragraph postings of the block's terms, keyed (term, paragraph) as the block's
            # are: both sorted, so each sentence posting's paragraph posting is found by search.
            low, high = int(p_indptr[term[0]]), int(p_indptr[term[-1] + 1])
            p_key = term_of(p_indptr, low, high) * num_paragraphs + self.p_doc[low:high]
            found = low + np.searchsorted(p_key, term * num_paragraphs + para)
            place = self.offset[found] + (doc - para_start[para])
            data[place] += value
            has_next = doc + 1 < para_start[para + 1]
            data[place[has_next] + 1] += neighbour * value[has_next]
            has_prev = doc > para_start[para]
            data[place[has_prev] - 1] += neighbour * value[has_prev]


def _term_blocks(indptr: np.ndarray, count: int, size: int) -> list[slice]:
    """Postings 0 .. `count` - 1 of a CSC matrix in blocks of about `size`, cut between terms
    only (a term longer than `size` is a block of its own)."""
    if not count:
        return []
    targets = np.arange(size, count, size)
    cuts = np.unique(indptr[np.searchsorted(indptr, targets, side="right") - 1])
    edges = [0, *(int(c) for c in cuts if 0 < c < count), count]
    return [slice(a, b) for a, b in pairwise(edges)]


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise FoldCancelled
