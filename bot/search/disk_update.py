"""An index updated in place, written range of terms by range into a folder, then folded there.

What `Bm25Matrix.without` then `merged` do to a whole matrix in memory — drop the removed
articles' postings, renumber the rest, append the added articles' — `Splice` does to one range of
terms at a time, rescoring with the new collection statistics (`bot.search.disk_build`'s
`write_ranges` writes the columns). The updated index serves as soon as its two BM25 matrices are
written; `fold_files` folds them in a thread, a range at a time, from the files. The arrays are
the in-memory update's, bit for bit (tests).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import pairwise
from pathlib import Path

import numpy as np

from bot.search.bm25 import Bm25Matrix, RankingParams, length_norms, padded, term_of
from bot.search.disk_build import Outputs, term_ranges, write_ranges
from bot.search.folded import FoldCancelled, FoldedMatrix, paragraph_starts
from bot.search.npy_files import read_slice


@dataclass(frozen=True)
class Splice:
    """A matrix's documents where `keep` is True (renumbered in order), then `extra`'s after them:
    what `Bm25Matrix.without` then `merged` make, a range of terms at a time."""

    old: Bm25Matrix
    keep: np.ndarray
    extra: Bm25Matrix
    vocab_size: int

    @property
    def lengths(self) -> np.ndarray:
        assert self.old.lengths is not None and self.extra.lengths is not None
        return np.concatenate((self.old.lengths[self.keep], self.extra.lengths))

    @property
    def tf_type(self) -> np.dtype:
        assert self.old.tf is not None and self.extra.tf is not None
        return np.promote_types(self.old.tf.dtype, self.extra.tf.dtype)

    def term_counts(self) -> np.ndarray:
        """Postings per term, before the documents not kept are dropped (a bound, for the cuts)."""
        old_ptr, extra_ptr = self.column_starts
        return np.diff(old_ptr) + np.diff(extra_ptr)

    @cached_property
    def renumbered(self) -> tuple[np.ndarray, int]:
        """Each old document's new number (where kept), and how many are kept."""
        return np.cumsum(self.keep) - 1, int(self.keep.sum())

    @cached_property
    def column_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """The old and the extra matrix's column starts, over the whole new vocabulary."""
        return padded(self.old.indptr, self.vocab_size), padded(self.extra.indptr, self.vocab_size)

    def columns(
        self, r: int, lo: int, hi: int, lengths: np.ndarray, norms: np.ndarray, params: RankingParams
    ) -> Bm25Matrix:
        """Terms `lo` .. `hi` - 1 (numbered from 0), scored with the documents' `lengths` (and
        their `length_norms`)."""
        assert self.old.tf is not None and self.extra.tf is not None
        renumber, kept = self.renumbered
        old_ptr, extra_ptr = self.column_starts
        a, b = int(old_ptr[lo]), int(old_ptr[hi])
        c, d = int(extra_ptr[lo]), int(extra_ptr[hi])
        old_term, old_indices, old_tf = term_of(old_ptr, a, b) - lo, self.old.indices[a:b], self.old.tf[a:b]
        if kept < len(self.keep):  # (articles removed: their postings dropped, the others renumbered)
            alive = self.keep[old_indices]
            old_term, old_indices, old_tf = old_term[alive], renumber[old_indices[alive]], old_tf[alive]
        new_term = term_of(extra_ptr, c, d) - lo
        # Both sorted by term: the new postings go in after each column's kept ones (a merge,
        # where a sort of the whole range would cost n log n for the few postings added).
        at = np.searchsorted(old_term, new_term, side="right")
        term = np.insert(old_term, at, new_term)
        indices = np.insert(old_indices.astype(np.int32, copy=False), at, self.extra.indices[c:d] + kept)
        tf = np.insert(old_tf.astype(self.tf_type, copy=False), at, self.extra.tf[c:d].astype(self.tf_type))
        indptr = np.zeros(hi - lo + 1, dtype=np.int64)
        np.cumsum(np.bincount(term, minlength=hi - lo), out=indptr[1:])
        return Bm25Matrix.scored(indices, indptr, tf, lengths, params, term, norms)


def spliced_matrices(
    sentences: Splice, paragraphs: Splice, sent_para_index: np.ndarray, params: RankingParams, folder: Path
) -> tuple[Bm25Matrix, Bm25Matrix]:
    """The sentence and paragraph matrices of an index updated in place (documents dropped,
    others added), rescored range by range into `folder` (folded afterwards: `fold_files`): the
    in-memory update's arrays, in bounded memory."""
    lengths = sentences.lengths, paragraphs.lengths
    cuts = term_ranges(
        sentences.term_counts(), paragraphs.term_counts(), len(lengths[0]) / max(len(lengths[1]), 1)
    )
    return write_ranges(
        cuts,
        (
            partial(
                sentences.columns, lengths=lengths[0], norms=length_norms(lengths[0], params), params=params
            ),
            partial(
                paragraphs.columns, lengths=lengths[1], norms=length_norms(lengths[1], params), params=params
            ),
        ),
        lengths,
        sent_para_index,
        params,
        folder,
        (sentences.tf_type.type, paragraphs.tf_type.type),
        fold=False,
    )[:2]


def fold_files(
    folder: Path,
    sentences: Bm25Matrix,
    paragraphs: Bm25Matrix,
    sent_para_index: np.ndarray,
    params: RankingParams,
    stop: threading.Event | None = None,
) -> FoldedMatrix:
    """The fold of the sentence and paragraph matrices written in `folder` (by `write_ranges`
    without `fold`), range of terms by range, their columns read from the files (not mapped:
    they do not stay in this process), written there too and returned memory-mapped. Between
    ranges and blocks, raises `FoldCancelled` once `stop` is set (the partial files removed)."""
    num_paragraphs = paragraphs.num_docs
    para_start = paragraph_starts(sent_para_index, num_paragraphs)
    vocab_size = len(sentences.indptr) - 1
    column_starts = {"sentences": sentences.indptr, "paragraphs": padded(paragraphs.indptr, vocab_size)}
    cuts = term_ranges(
        np.diff(column_starts["sentences"]), np.diff(column_starts["paragraphs"]),
        len(sent_para_index) / max(num_paragraphs, 1),
    )  # fmt: skip
    output = Outputs.of(folder, "folded", None)
    try:
        for lo, hi in pairwise(cuts.tolist()):
            if stop is not None and stop.is_set():
                raise FoldCancelled
            local = [
                _read_columns(folder, name, column_starts[name], m.num_docs, lo, hi)
                for name, m in (("sentences", sentences), ("paragraphs", paragraphs))
            ]
            folded = FoldedMatrix.fold(local[0], local[1], sent_para_index, para_start, params, stop)
            output.append(folded.data, folded.indices, folded.indptr, None)
        data, indices, indptr, _ = output.closed(folder, "folded")
    except BaseException:
        output.data.close()
        output.indices.close()
        for part in ("data", "indices", "indptr"):
            (folder / f"folded.{part}.npy").unlink(missing_ok=True)
        raise
    return FoldedMatrix(data, indices, indptr, len(sent_para_index))


def _read_columns(
    folder: Path, name: str, column_starts: np.ndarray, num_docs: int, lo: int, hi: int
) -> Bm25Matrix:
    """Columns `lo` .. `hi` - 1 (numbered from 0) of the matrix of `column_starts` over the
    whole vocabulary, its scores and ids read from `folder/name.*.npy`."""
    indptr = column_starts[lo : hi + 1]
    start, stop = int(indptr[0]), int(indptr[-1])
    values = [
        read_slice(folder / f"{name}.{part}.npy", dtype, start, stop)
        for part, dtype in (("data", np.float32), ("indices", np.int32))
    ]
    return Bm25Matrix(values[0], values[1], indptr - start, num_docs)
