"""A large index's matrices built in bounded memory, straight into `.npy` files.

Built in memory (`SearchIndex.build` without a folder), an index holds every term id, both BM25
matrices and the folded matrix at once (docs/performance.md measures it). Built here, the
analysis has written the term ids to files (`NpyWriter`); the vocabulary is cut into ranges of
consecutive term ids, each worth about `RANGE_ENTRIES` folded entries; each range's (term,
document) keys are gathered into one file, then, one range at a time, read back, its columns of
the sentence and paragraph matrices built and folded by the same code as in memory, and appended
to the index's files. A column depends only on its term's postings and on collection statistics
that are known before any range (the number of documents, their lengths), so the files hold the
in-memory build's arrays, bit for bit (tests), ready to be served memory-mapped — the index
cache's layout, so a first load's build is its cache entry. An update in place is written the
same way (`bot.search.disk_update`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np

from bot.search.bm25 import Bm25Matrix, RankingParams, length_norms, repeat_index, sorted_pair_postings
from bot.search.folded import FoldedMatrix, paragraph_starts
from bot.search.npy_files import NpyWriter, saved

# Folded entries per range of terms: a range's arrays and temporaries are what the build holds
# beyond the analysis (smaller ranges lower its peak, down to the commonest term's column, in
# about the same time: docs/performance.md, #20's seventh pass).
RANGE_ENTRIES = 1 << 21
# Tokens per chunk when the keys are gathered by range.
_CHUNK_TOKENS = 1 << 21


@dataclass(frozen=True)
class Field:
    """One matrix's documents: their term ids, one after the other (in a file), and lengths."""

    tokens: NpyWriter
    lengths: np.ndarray

    def bounds(self) -> np.ndarray:
        """Where each document's term ids begin (and the last ends)."""
        out = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=out[1:])
        return out

    def chunks(self) -> Iterator[tuple[slice, np.ndarray]]:
        """(documents, their term ids one after the other) in chunks of whole documents of
        about `_CHUNK_TOKENS` term ids."""
        bounds = self.bounds()
        cuts = np.searchsorted(bounds, np.arange(_CHUNK_TOKENS, bounds[-1], _CHUNK_TOKENS))
        edges = np.unique(np.concatenate(([0], cuts, [len(self.lengths)])))
        for first, last in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
            yield slice(first, last), self.tokens.read(int(bounds[first]), int(bounds[last]))

    def term_counts(self, vocab_size: int) -> np.ndarray:
        """How many times each term occurs."""
        counts = np.zeros(vocab_size, dtype=np.int64)
        for _, ids in self.chunks():
            counts += np.bincount(ids, minlength=vocab_size)
        return counts


@dataclass(frozen=True)
class RangeKeys:
    """A field's keys `term * documents + document`, one per token, in a file grouped by term
    range: range r's are `offsets[r]` .. `offsets[r + 1]` - 1 (unsorted)."""

    path: Path
    offsets: np.ndarray

    @classmethod
    def gathered(cls, field: Field, cuts: np.ndarray, counts: np.ndarray, path: Path) -> RangeKeys:
        """Write `field`'s keys to `path`, grouped by the term ranges that `cuts` bound, whose
        token counts per term are `counts`."""
        num_docs = len(field.lengths)
        per_range = np.add.reduceat(counts, cuts[:-1]) if len(counts) else np.zeros(0, np.int64)
        offsets = np.zeros(len(cuts), dtype=np.int64)
        np.cumsum(per_range, out=offsets[1:])
        cursor = offsets[:-1].copy()
        with path.open("wb") as handle:
            handle.truncate(int(offsets[-1]) * 8)
            fd = handle.fileno()
            for docs, ids in field.chunks():
                keys = ids.astype(np.int64)
                keys *= num_docs
                keys += docs.start + repeat_index(field.lengths[docs])
                keys.sort()  # (the ranges are then consecutive, and each range's keys sorted runs)
                edges = np.searchsorted(keys, cuts[1:-1].astype(np.int64) * num_docs)
                for r, piece in enumerate(np.split(keys, edges)):
                    if len(piece):
                        os.pwrite(fd, piece.data.cast("B"), int(cursor[r]) * 8)
                        cursor[r] += len(piece)
        return cls(path, offsets)

    def read(self, r: int) -> np.ndarray:
        """Range r's keys, sorted."""
        start, stop = int(self.offsets[r]), int(self.offsets[r + 1])
        keys = np.fromfile(self.path, dtype=np.int64, count=stop - start, offset=start * 8)
        keys.sort(kind="stable")  # (sorted runs, one per chunk: merged)
        return keys


def term_ranges(
    sentence_counts: np.ndarray, paragraph_counts: np.ndarray, mean_paragraph: float
) -> np.ndarray:
    """Cuts of the vocabulary (0 first, its size last) into ranges of about `RANGE_ENTRIES`
    folded entries each (a paragraph's term is folded into each of its sentences; a term
    with more is a range of its own)."""
    work = sentence_counts + paragraph_counts * mean_paragraph
    cumulative = np.cumsum(work)
    total = float(cumulative[-1]) if len(cumulative) else 0.0
    cuts = np.searchsorted(cumulative, np.arange(RANGE_ENTRIES, total, RANGE_ENTRIES), side="right")
    return np.unique(np.concatenate(([0], cuts, [len(work)]))).astype(np.int64)


@dataclass(frozen=True)
class Outputs:
    """The files one matrix is appended to, range by range, and its column starts so far."""

    data: NpyWriter
    indices: NpyWriter
    tf: NpyWriter | None
    indptr: list[np.ndarray]

    @classmethod
    def of(cls, folder: Path, name: str, tf_type: type | None) -> Outputs:
        return cls(
            NpyWriter(folder / f"{name}.data.npy", np.float32),
            NpyWriter(folder / f"{name}.indices.npy", np.int32),
            NpyWriter(folder / f"{name}.tf.npy", tf_type) if tf_type else None,
            [np.zeros(1, np.int64)],
        )

    def append(
        self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, tf: np.ndarray | None
    ) -> None:
        """Append one range's columns."""
        self.data.append(data)
        self.indices.append(indices)
        self.indptr.append(indptr[1:] + self.indptr[-1][-1])
        if self.tf is not None:
            assert tf is not None
            self.tf.append(tf)

    def closed(self, folder: Path, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(data, indices, indptr, tf), complete and memory-mapped."""
        indptr = saved(folder, f"{name}.indptr", np.concatenate(self.indptr))
        tf = self.tf.mapped() if self.tf is not None else None
        return self.data.mapped(), self.indices.mapped(), indptr, tf


# A range's columns of one matrix: (range number, first term, end term) -> its matrix, the terms
# numbered from 0.
RangeColumns = Callable[[int, int, int], Bm25Matrix]


def build_matrices(
    sentences: Field,
    paragraphs: Field,
    vocab_size: int,
    sent_para_index: np.ndarray,
    params: RankingParams,
    folder: Path,
) -> tuple[Bm25Matrix, Bm25Matrix, FoldedMatrix]:
    """The sentence, paragraph and folded matrices of the fields, written range by range to
    `folder` (with the documents' lengths) and returned memory-mapped; sentence `s` is in
    paragraph `sent_para_index[s]`."""
    num_sentences, num_paragraphs = len(sentences.lengths), len(paragraphs.lengths)
    counts = sentences.term_counts(vocab_size), paragraphs.term_counts(vocab_size)
    cuts = term_ranges(*counts, num_sentences / max(num_paragraphs, 1))
    # Term frequencies in the type the in-memory build gives them (uint16 whenever they fit;
    # past a document of 65,535 terms, uint32 here where they might still fit).
    longest = max(int(sentences.lengths.max(initial=0)), int(paragraphs.lengths.max(initial=0)))
    tf_type = np.uint16 if longest <= np.iinfo(np.uint16).max else np.uint32
    with ThreadPoolExecutor(1, thread_name_prefix="depeche-bm25") as pool:
        gathering = pool.submit(RangeKeys.gathered, paragraphs, cuts, counts[1], folder / "paragraphs.keys")
        keys = (RangeKeys.gathered(sentences, cuts, counts[0], folder / "sentences.keys"), gathering.result())
    s_lengths, p_lengths = sentences.lengths.astype(np.int32), paragraphs.lengths.astype(np.int32)
    norms = length_norms(s_lengths, params), length_norms(p_lengths, params)  # (once, not per range)
    try:
        own, context, folded = write_ranges(
            cuts,
            (
                partial(
                    _range_matrix, keys[0], lengths=s_lengths, norms=norms[0], params=params, tf_type=tf_type
                ),
                partial(
                    _range_matrix, keys[1], lengths=p_lengths, norms=norms[1], params=params, tf_type=tf_type
                ),
            ),
            (s_lengths, p_lengths),
            sent_para_index,
            params,
            folder,
            (tf_type, tf_type),
        )
    finally:
        for key_file in keys:
            key_file.path.unlink()
    assert folded is not None
    return own, context, folded


def write_ranges(
    cuts: np.ndarray,
    columns: tuple[RangeColumns, RangeColumns],
    lengths: tuple[np.ndarray, np.ndarray],
    sent_para_index: np.ndarray,
    params: RankingParams,
    folder: Path,
    tf_types: tuple[type, type],
    fold: bool = True,
) -> tuple[Bm25Matrix, Bm25Matrix, FoldedMatrix | None]:
    """For each term range that `cuts` bound, the sentence and paragraph matrices' columns (made
    by `columns`, scored with the documents' `lengths`, term frequencies kept as `tf_types`)
    and, with `fold`, their fold, appended to `folder`'s files; the matrices returned
    memory-mapped."""
    num_paragraphs = len(lengths[1])
    para_start = paragraph_starts(sent_para_index, num_paragraphs)
    names = ("sentences", "paragraphs")
    outputs = {name: Outputs.of(folder, name, tf_type) for name, tf_type in zip(names, tf_types, strict=True)}
    if fold:
        outputs["folded"] = Outputs.of(folder, "folded", None)
    # The paragraphs' side in a thread beside the sentences' (numpy's sorts and arithmetic let
    # go of the GIL), and each range written to its files in another while the next is built.
    with (
        ThreadPoolExecutor(1, thread_name_prefix="depeche-bm25") as pool,
        ThreadPoolExecutor(1, thread_name_prefix="depeche-write") as writer,
    ):
        written: Future | None = None
        for r, (lo, hi) in enumerate(pairwise(cuts.tolist())):
            pending = pool.submit(columns[1], r, lo, hi)
            own = columns[0](r, lo, hi)
            context = pending.result()
            folded = FoldedMatrix.fold(own, context, sent_para_index, para_start, params) if fold else None
            if written is not None:
                written.result()  # (one range waits to be written at most: memory stays bounded)
            written = writer.submit(_append, outputs, own, context, folded)
            del own, context, folded
        if written is not None:
            written.result()
    matrices = []
    for name, field_lengths in zip(names, lengths, strict=True):
        data, indices, indptr, tf = outputs[name].closed(folder, name)
        mapped_lengths = saved(folder, f"{name}.lengths", field_lengths)
        matrices.append(Bm25Matrix(data, indices, indptr, len(field_lengths), tf, mapped_lengths))
    if not fold:
        return matrices[0], matrices[1], None
    data, indices, indptr, _ = outputs["folded"].closed(folder, "folded")
    return matrices[0], matrices[1], FoldedMatrix(data, indices, indptr, len(lengths[0]))


def _append(
    outputs: dict[str, Outputs], own: Bm25Matrix, context: Bm25Matrix, folded: FoldedMatrix | None
) -> None:
    """Append one range's columns of the matrices to their files."""
    for name, matrix in (("sentences", own), ("paragraphs", context)):
        outputs[name].append(matrix.data, matrix.indices, matrix.indptr, matrix.tf)
    if folded is not None:
        outputs["folded"].append(folded.data, folded.indices, folded.indptr, None)


def _range_matrix(
    keys: RangeKeys,
    r: int,
    lo: int,
    hi: int,
    *,
    lengths: np.ndarray,
    norms: np.ndarray,
    params: RankingParams,
    tf_type: type,
) -> Bm25Matrix:
    """The BM25 matrix of terms `lo` .. `hi` - 1 (range r; as columns 0 .. hi - lo - 1), scored
    with the whole field's statistics."""
    pair = keys.read(r)
    doc, tf, df = sorted_pair_postings(pair, len(lengths), lo, hi - lo)
    del pair
    indptr = np.zeros(hi - lo + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return Bm25Matrix.scored(doc, indptr, tf.astype(tf_type), lengths, params, norms=norms)
