"""The compiled sums (`bot.search.kernel`) against the numpy code: the same rows, the same bits."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bot.search import kernel
from bot.search.bm25 import Bm25Matrix
from bot.search.folded import FoldedMatrix

pytestmark = pytest.mark.skipif(not kernel.enabled(), reason="the compiled module was not built")


def random_csc(rng: np.random.Generator, rows: int, terms: int, density: float, levels: int | None):
    """A CSC matrix of float32 values (from `levels` distinct ones when given: many ties),
    int32 row ids sorted in each column, int64 column pointers; some columns empty."""
    data, indices, indptr = [], [], [0]
    for _ in range(terms):
        count = int(rng.binomial(rows, density)) if rng.random() > 0.1 else 0
        column = np.sort(rng.choice(rows, size=count, replace=False)).astype(np.int32)
        values = rng.integers(1, levels + 1, size=count) / 4 if levels else rng.uniform(0.01, 9, size=count)
        indices.append(column)
        data.append(values.astype(np.float32))
        indptr.append(indptr[-1] + count)
    return np.concatenate(data), np.concatenate(indices), np.array(indptr, dtype=np.int64)


def numpy_top(matrix: FoldedMatrix, *args, **kwargs):
    saved = kernel._compiled
    kernel.use_compiled(False)
    try:
        return matrix.top(*args, **kwargs)
    finally:
        kernel._compiled = saved


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("density", [0.002, 0.05, 0.4])  # postings read one by one / every row swept
@pytest.mark.parametrize("levels", [None, 3])
def test_top_is_the_numpy_codes_answer_to_the_bit(seed, density, levels):
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(1, 3000))
    matrix = FoldedMatrix(*random_csc(rng, rows, 30, density, levels), rows)
    for _ in range(20):
        ids = sorted({int(t) for t in rng.integers(0, 30, size=rng.integers(1, 8))})
        weights = None
        if rng.random() < 0.6:  # 0 (a term dropped), 1, and others: weighted in float32
            weights = [float(w) for w in rng.choice([0.0, 1.0, 0.3, 1.7, 0.123456789], size=len(ids))]
        k = int(rng.choice([1, 2, 10, 40, 5000]))
        among = None
        if rng.random() < 0.3:
            among = np.unique(rng.integers(0, rows, size=rng.integers(0, 50)))
        compiled = matrix.top(ids, weights, k, among)
        assert compiled == numpy_top(matrix, ids, weights, k, among)
        assert all(type(r) is int for r in compiled[0]) and all(type(t) is float for t in compiled[1])


@pytest.mark.parametrize("sweep_after", [0, 1, 4, 10**9])  # never, always, ... sweep every row
def test_both_ways_of_finding_the_best_give_the_same_answer(sweep_after):
    rng = np.random.default_rng(sweep_after)
    rows = 2000
    matrix = FoldedMatrix(*random_csc(rng, rows, 20, 0.1, 2), rows)
    scratch = np.zeros(rows)
    for _ in range(30):
        ids = sorted({int(t) for t in rng.integers(0, 20, size=rng.integers(1, 6))})
        k = int(rng.choice([1, 7, 100]))
        expected = numpy_top(matrix, ids, None, k)
        arrays = (matrix.data, matrix.indices, matrix.indptr)
        assert kernel._compiled.top(*arrays, ids, None, k, scratch, sweep_after, None) == expected
        assert not scratch.any()  # left all 0 for the next question


@pytest.mark.parametrize("seed", range(4))
def test_own_scores_are_the_numpy_codes_to_the_bit(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(1, 500))
    data, indices, indptr = random_csc(rng, rows, 25, 0.1, None)
    matrix = Bm25Matrix(data, indices, indptr, rows)
    for _ in range(20):
        ids = sorted({int(t) for t in rng.integers(0, 25, size=rng.integers(1, 6))})
        weights = [float(w) for w in rng.uniform(0, 2, size=len(ids))] if rng.random() < 0.5 else None
        docs = rng.integers(0, rows, size=rng.integers(1, 30))  # any order, repeated
        compiled = matrix.scores_at(ids, weights, docs)
        with monkeypatch.context() as m:
            m.setattr(kernel, "_compiled", None)
            assert np.array_equal(compiled, matrix.scores_at(ids, weights, docs))


def test_bad_input_is_an_error_and_leaves_the_scratch_clean():
    rng = np.random.default_rng(0)
    matrix = FoldedMatrix(*random_csc(rng, 100, 10, 0.2, None), 100)
    scratch = np.zeros(100)
    top = kernel._compiled.top
    with pytest.raises(IndexError):  # a term the vocabulary lacks
        top(matrix.data, matrix.indices, matrix.indptr, [3, 10], None, 5, scratch, 4, None)
    with pytest.raises(IndexError):  # a row the matrix lacks
        top(matrix.data, matrix.indices, matrix.indptr, [3], None, 5, scratch, 4, np.array([5, 100]))
    with pytest.raises(ValueError):
        top(matrix.data, matrix.indices, matrix.indptr, [3, 4], [1.0], 5, scratch, 4, None)
    with pytest.raises(TypeError):  # int64 row ids
        top(matrix.data, matrix.indices.astype(np.int64), matrix.indptr, [3], None, 5, scratch, 4, None)
    broken = matrix.indptr.copy()
    broken[-1] += 5  # a column reaching past the postings
    with pytest.raises(ValueError):
        top(matrix.data, matrix.indices, broken, [9], None, 5, scratch, 4, None)
    short = np.zeros(50)  # row ids beyond the scratch: skipped, then an error
    with pytest.raises(IndexError):
        top(matrix.data, matrix.indices, matrix.indptr, list(range(10)), None, 5, short, 4, None)
    assert not scratch.any() and not short.any()
    assert matrix.top([3, 4], None, 5) == numpy_top(matrix, [3, 4], None, 5)


def test_arrays_it_does_not_take_are_answered_by_numpy():
    rng = np.random.default_rng(1)
    data, indices, indptr = random_csc(rng, 300, 10, 0.1, None)
    wide = FoldedMatrix(data, indices.astype(np.int64), indptr, 300)
    assert not kernel.takes(wide) and kernel.takes(FoldedMatrix(data, indices, indptr, 300))
    narrow = FoldedMatrix(data, indices, indptr, 300)
    assert wide.top([1, 2, 3], None, 10) == numpy_top(narrow, [1, 2, 3], None, 10)


def test_questions_in_several_threads_do_not_share_sums():
    """The scratch serves one question at a time; one that finds it busy sums in its own."""
    rng = np.random.default_rng(2)
    rows = 5000
    matrix = FoldedMatrix(*random_csc(rng, rows, 40, 0.05, None), rows)
    questions = [sorted({int(t) for t in rng.integers(0, 40, size=4)}) for _ in range(50)]
    expected = [numpy_top(matrix, ids, None, 10) for ids in questions]
    failures: list[int] = []

    def ask(offset: int) -> None:
        for n in range(200):
            i = (n + offset) % len(questions)
            if matrix.top(questions[i], None, 10) != expected[i]:
                failures.append(i)

    threads = [threading.Thread(target=ask, args=(t * 7,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    with matrix._scratch.held() as busy, matrix._scratch.held() as fresh:
        assert busy is not fresh and not fresh.any()
