"""A large index's matrices built in bounded memory, straight into `.npy` files.

Built in memory (`SearchIndex.build` without a folder), an index holds every term id, both BM25
matrices and the folded matrix at once (docs/performance.md measures it). Built here, the analysis has
written the term ids to files (`NpyWriter`); the vocabulary is cut into ranges of consecutive
term ids, each worth about `RANGE_ENTRIES` folded entries; each range's (term, document) keys
are gathered into one file, then, one range at a time, read back, its columns of the sentence
and paragraph matrices built and folded by the same code as in memory, and appended to the
index's files. A column depends only on its term's postings and on collection statistics that
are known before any range (the number of documents, their lengths), so the files hold the
in-memory build's arrays, bit for bit (tests), ready to be served memory-mapped — the index
cache's layout, so a first load's build is its cache entry.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np

from bot.search.bm25 import Bm25Matrix, RankingParams, padded, repeat_index, sorted_pair_postings, term_of
from bot.search.folded import FoldCancelled, FoldedMatrix

# Folded entries per range of terms: a range's arrays and temporaries are what the build holds
# beyond the analysis (smaller ranges lower its peak, down to the commonest term's column, in
# about the same time: docs/performance.md, #20's seventh pass).
RANGE_ENTRIES = 1 << 21
# Tokens per chunk when the keys are gathered by range.
_CHUNK_TOKENS = 1 << 21
_HEADER = 128  # bytes of a `.npy` header of one dimension, as `np.save` writes it


class NpyWriter:
    """A one-dimensional `.npy` file written piece by piece (its header once the length is
    known): the same bytes `np.save` writes for the whole array."""

    def __init__(self, path: Path, dtype: np.dtype | type) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.length = 0
        self._file: io.BufferedWriter | None = path.open("wb")
        self._file.write(bytes(_HEADER))

    def frombytes(self, data: bytes | memoryview) -> None:
        """Append raw values of this file's type (as `array.array.frombytes`)."""
        assert self._file is not None, "closed"
        self._file.write(data)
        self.length += len(data) // self.dtype.itemsize

    def append(self, values: np.ndarray) -> None:
        """Append `values` (cast to this file's type)."""
        self.frombytes(np.ascontiguousarray(values, dtype=self.dtype).data.cast("B"))

    def close(self) -> None:
        """Write the header; the file is then a complete `.npy`."""
        if self._file is None:
            return
        header = io.BytesIO()
        fields = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False}
        np.lib.format.write_array_header_1_0(header, fields | {"shape": (self.length,)})
        if len(header.getvalue()) != _HEADER:
            raise ValueError(f"unexpected .npy header size for {self.path.name}")
        self._file.seek(0)
        self._file.write(header.getvalue())
        self._file.close()
        self._file = None

    def read(self, start: int, stop: int) -> np.ndarray:
        """Values `start` .. `stop` - 1, read (not mapped: they do not stay in this process)."""
        assert self._file is None, "read a closed file"
        return np.fromfile(
            self.path, dtype=self.dtype, count=stop - start, offset=_HEADER + start * self.dtype.itemsize
        )

    def mapped(self) -> np.ndarray:
        """The closed file's array, memory-mapped read-only."""
        self.close()
        return mapped(self.path)


def saved(folder: Path, name: str, values: np.ndarray) -> np.ndarray:
    """`values` written whole to `folder/name.npy`, returned memory-mapped."""
    np.save(folder / f"{name}.npy", np.ascontiguousarray(values))
    return mapped(folder / f"{name}.npy")


def mapped(path: Path) -> np.ndarray:
    """A `.npy` file's array, memory-mapped read-only (a plain ndarray view: slicing a
    `np.memmap` runs Python code on every call)."""
    return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))


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
class _Outputs:
    """The files one matrix is appended to, range by range, and its column starts so far."""

    data: NpyWriter
    indices: NpyWriter
    tf: NpyWriter | None
    indptr: list[np.ndarray]

    @classmethod
    def of(cls, folder: Path, name: str, tf_type: type | None) -> _Outputs:
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
    try:
        own, context, folded = write_ranges(
            cuts,
            (
                partial(_range_matrix, keys[0], lengths=s_lengths, params=params, tf_type=tf_type),
                partial(_range_matrix, keys[1], lengths=p_lengths, params=params, tf_type=tf_type),
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
    para_start = np.zeros(num_paragraphs + 1, dtype=np.int64)
    np.cumsum(np.bincount(sent_para_index, minlength=num_paragraphs), out=para_start[1:])
    names = ("sentences", "paragraphs")
    outputs = {
        name: _Outputs.of(folder, name, tf_type) for name, tf_type in zip(names, tf_types, strict=True)
    }
    if fold:
        outputs["folded"] = _Outputs.of(folder, "folded", None)
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
    para_start = np.zeros(num_paragraphs + 1, dtype=np.int64)
    np.cumsum(np.bincount(sent_para_index, minlength=num_paragraphs), out=para_start[1:])
    vocab_size = len(sentences.indptr) - 1
    cuts = term_ranges(
        np.diff(sentences.indptr), np.diff(padded(paragraphs.indptr, vocab_size)),
        len(sent_para_index) / max(num_paragraphs, 1),
    )  # fmt: skip
    output = _Outputs.of(folder, "folded", None)
    try:
        for lo, hi in pairwise(cuts.tolist()):
            if stop is not None and stop.is_set():
                raise FoldCancelled
            local = [
                _read_columns(folder, name, m, lo, hi)
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


def _read_columns(folder: Path, name: str, matrix: Bm25Matrix, lo: int, hi: int) -> Bm25Matrix:
    """Columns `lo` .. `hi` - 1 of `matrix` (numbered from 0), its scores and ids read from
    `folder/name.*.npy`."""
    indptr = padded(matrix.indptr, hi)[lo : hi + 1]
    start, stop = int(indptr[0]), int(indptr[-1])
    values = [
        np.fromfile(
            folder / f"{name}.{part}.npy", dtype=dtype, count=stop - start, offset=_HEADER + start * size
        )
        for part, dtype, size in (("data", np.float32, 4), ("indices", np.int32, 4))
    ]
    return Bm25Matrix(values[0], values[1], indptr - start, matrix.num_docs)


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
        return np.diff(padded(self.old.indptr, self.vocab_size)) + np.diff(
            padded(self.extra.indptr, self.vocab_size)
        )

    def columns(self, r: int, lo: int, hi: int, lengths: np.ndarray, params: RankingParams) -> Bm25Matrix:
        """Terms `lo` .. `hi` - 1 (numbered from 0), scored with the documents' `lengths`."""
        assert self.old.tf is not None and self.extra.tf is not None
        renumber = np.cumsum(self.keep) - 1
        old_ptr, extra_ptr = (
            padded(self.old.indptr, self.vocab_size),
            padded(self.extra.indptr, self.vocab_size),
        )
        a, b = int(old_ptr[lo]), int(old_ptr[hi])
        alive = self.keep[self.old.indices[a:b]]
        c, d = int(extra_ptr[lo]), int(extra_ptr[hi])
        term = np.concatenate(((term_of(old_ptr, a, b) - lo)[alive], term_of(extra_ptr, c, d) - lo))
        indices = np.concatenate(
            (
                renumber[self.old.indices[a:b][alive]],
                self.extra.indices[c:d].astype(np.int64) + int(self.keep.sum()),
            )
        )
        tf = np.concatenate((self.old.tf[a:b][alive], self.extra.tf[c:d])).astype(self.tf_type)
        order = np.argsort(term, kind="stable")  # (each column: the kept documents', then the new)
        term, indices, tf = term[order], indices[order].astype(np.int32), tf[order]
        indptr = np.zeros(hi - lo + 1, dtype=np.int64)
        np.cumsum(np.bincount(term, minlength=hi - lo), out=indptr[1:])
        return Bm25Matrix.scored(indices, indptr, tf, lengths, params, term)


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
            partial(sentences.columns, lengths=lengths[0], params=params),
            partial(paragraphs.columns, lengths=lengths[1], params=params),
        ),
        lengths,
        sent_para_index,
        params,
        folder,
        (sentences.tf_type.type, paragraphs.tf_type.type),
        fold=False,
    )[:2]


def _append(
    outputs: dict[str, _Outputs], own: Bm25Matrix, context: Bm25Matrix, folded: FoldedMatrix | None
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
    return Bm25Matrix.scored(doc, indptr, tf.astype(tf_type), lengths, params)
