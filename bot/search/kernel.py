"""The compiled speed-up of a question's two steps, when it was built (`_kernel.c`).

A question over the folded matrix is a few dozen numpy calls, and at 100k sentences their fixed
cost is most of its time (`python -m benchmarks.fixed_cost`). The C module does the same work in
one call per step: the columns summed into a reused scratch array (no 800 KB array made and
zeroed per question), the k best kept as they are met, and the own scores found by binary
search. It is optional, as MarkupSafe's speed-ups are: `pip install` builds it when a C compiler
is there, and without it (or for arrays it does not take) the numpy code answers the same rows
and the same bits (tests/search/test_kernel.py).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Protocol

import numpy as np


class CscMatrix(Protocol):
    """A term x row score matrix in CSC form (`Bm25Matrix`, `FoldedMatrix`)."""

    @property
    def data(self) -> np.ndarray:
        """float32 values."""

    @property
    def indices(self) -> np.ndarray:
        """int32 row ids, sorted in each column."""

    @property
    def indptr(self) -> np.ndarray:
        """int64 column pointers: column t is `data[indptr[t]:indptr[t + 1]]`."""


def _built() -> ModuleType | None:
    """The compiled module, or None when it was not built (no C compiler at install)."""
    try:
        return importlib.import_module("bot.search._kernel")
    except ImportError:
        return None


_compiled = _built()


def enabled() -> bool:
    """Whether the compiled module was built and is in use."""
    return _compiled is not None


def use_compiled(on: bool) -> None:
    """Turn the compiled module off (or back on, if it was built): the benchmarks' A/B and the
    tests' check that both paths agree."""
    global _compiled
    _compiled = _built() if on else None


def takes(matrix: CscMatrix) -> bool:
    """Whether the compiled module is there and takes this matrix (float32 values, int32 row ids,
    int64 column pointers, each contiguous)."""
    return (
        _compiled is not None
        and matrix.data.dtype == np.float32
        and matrix.indices.dtype == np.int32
        and matrix.indptr.dtype == np.int64
        and matrix.data.flags.c_contiguous
        and matrix.indices.flags.c_contiguous
        and matrix.indptr.flags.c_contiguous
    )


# Questions with at least one posting per this many rows find their k best by reading every
# row's sum in order; the others read the rows their postings name (at random). Measured on the
# synthetic corpora, at 100k and 1M sentences alike: the two cost the same at a quarter of a
# posting per row (docs/experiments.md, "numba or a small C module").
SWEEP_AFTER = 4


class Scratch:
    """One float64 per row, all 0 between questions: where `top` sums a question's postings.

    One question at a time uses it (a lock); a question that finds it busy gets a fresh one, so
    questions answered in several threads never wait for each other nor share sums."""

    def __init__(self, rows: int) -> None:
        self._rows = rows
        self._lock = threading.Lock()
        self._array: np.ndarray | None = None

    @contextmanager
    def held(self) -> Iterator[np.ndarray]:
        """The shared array if free (made on first use), else a fresh one."""
        if not self._lock.acquire(blocking=False):
            yield np.zeros(self._rows)
            return
        try:
            if self._array is None:
                self._array = np.zeros(self._rows)
            yield self._array
        finally:
            self._lock.release()


def top(
    matrix: CscMatrix,
    term_ids: Sequence[int],
    weights: Sequence[float] | None,
    k: int,
    scratch: Scratch,
    among: np.ndarray | None,
) -> tuple[list[int], list[float]]:
    """`FoldedMatrix.top`'s answer, compiled (only when `takes` says so)."""
    assert _compiled is not None
    rows = None if among is None else np.ascontiguousarray(among, dtype=np.int64)
    with scratch.held() as sums:
        return _compiled.top(
            matrix.data, matrix.indices, matrix.indptr, term_ids, weights, k, sums, SWEEP_AFTER, rows
        )


def scores_at(
    matrix: CscMatrix,
    term_ids: Sequence[int],
    weights: Sequence[float] | None,
    rows: Sequence[int] | np.ndarray,
) -> list[float]:
    """`Bm25Matrix.scores_at`'s answer as a list, compiled (only when `takes` says so)."""
    assert _compiled is not None
    if isinstance(rows, np.ndarray):
        rows = rows.tolist()
    return _compiled.scores_at(matrix.data, matrix.indices, matrix.indptr, term_ids, weights, rows)
