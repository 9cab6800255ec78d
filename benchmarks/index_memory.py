"""Where a large index's memory goes: resident size by stage of `SearchIndex.build`, and what
each part of the built index holds.

The synthetic corpus of `benchmarks/scale.py` (the same one `benchmarks.anchors` indexes) is
generated first — its text stays held, as in `anchors`, and is printed apart — then built with two
analysis workers while a thread samples this process's resident size every 10 ms, under the
name of the stage running: analysis (until the first BM25 matrix is built), the two BM25
matrices, the fold (`bot.search.folded`), after. Then the bytes of each array of the index.
With `--folder`, built as a first load with a cache folder builds it: into a temporary folder,
range of terms by range (`bot.search.disk_build`), the stages then analysis, the term ranges
(keys gathered, matrices built, folded and written), after.
Usage: .venv/bin/python -m benchmarks.index_memory [--sentences 1000000] [--folder]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.scale import BackgroundSampler, peak_mb, rss_mb, synthetic_articles, synthetic_specs
from bot.search import index as index_module
from bot.search.bm25 import Bm25Matrix
from bot.search.folded import FoldedMatrix
from bot.search.index import SearchIndex

MB = 2**20


class StageSampler(BackgroundSampler):
    """Largest resident size (MB) seen under each stage name, sampled every 10 ms."""

    interval = 0.01

    def __init__(self, first: str) -> None:
        super().__init__()
        self.stage = first
        self.largest: dict[str, float] = {}

    def sample(self) -> None:
        stage = self.stage
        self.largest[stage] = max(self.largest.get(stage, 0.0), rss_mb())

    def entering(self, stage: str, call: Callable, after: str) -> Callable:
        """`call`, with the stage set to `stage` while it runs (in any thread) and to `after`
        once the last call in flight returns (the two matrices are built side by side)."""
        lock = threading.Lock()
        in_flight = 0

        def staged(*args: object, **kwargs: object) -> object:
            nonlocal in_flight
            with lock:
                in_flight += 1
                self.stage = stage
            try:
                return call(*args, **kwargs)
            finally:
                with lock:
                    in_flight -= 1
                    if not in_flight:
                        self.stage = after

        return staged


def array_mb(*arrays: np.ndarray | None) -> float:
    return sum(a.nbytes for a in arrays if a is not None) / MB


def parts(index: SearchIndex) -> list[tuple[str, float]]:
    """(name, MB) of each part of the index held in arrays."""
    folded = index.folded
    assert folded is not None
    rows = [
        ("folded matrix: scores", array_mb(folded.data)),
        ("folded matrix: sentence ids", array_mb(folded.indices, folded.indptr)),
    ]
    for name, matrix in (("sentence", index.sentences), ("paragraph", index.paragraphs)):
        scores_and_ids = array_mb(matrix.data, matrix.indices, matrix.indptr)
        rows.append((f"{name} BM25 matrix: scores, ids", scores_and_ids))
        rows.append((f"{name} BM25 matrix: term frequencies, lengths", array_mb(matrix.tf, matrix.lengths)))
    texts = index.texts
    blob, offsets = getattr(texts, "blob", None), getattr(texts, "offsets", None)
    rows.append(("sentence texts (UTF-8, offsets)", array_mb(blob, offsets)))
    per_sentence = (index.sent_article, index.sent_paragraph, index.sent_para_index, index.sent_position)
    rows.append(("per-sentence article, paragraph, position", array_mb(*per_sentence)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1_000_000)
    parser.add_argument("--folder", action="store_true", help="build into a temporary folder")
    args = parser.parse_args()
    n = args.sentences
    specs = synthetic_specs(n)
    held = rss_mb()
    folder = tempfile.TemporaryDirectory(prefix="depeche-index-memory-") if args.folder else None
    with StageSampler("analysis") as sampler:
        # (The build's own calls, staged; the classes' attributes put back after.)
        originals = Bm25Matrix.__dict__["build"], FoldedMatrix.__dict__["fold"], index_module.build_matrices
        if folder is None:
            Bm25Matrix.build = sampler.entering("BM25 matrices", Bm25Matrix.build, "between")  # type: ignore[method-assign]
            FoldedMatrix.fold = sampler.entering("fold", FoldedMatrix.fold, "after the fold")  # type: ignore[method-assign]
        else:
            index_module.build_matrices = sampler.entering("term ranges", originals[2], "after")  # type: ignore[assignment]
        try:
            start = time.perf_counter()
            into = Path(folder.name) / "index" if folder is not None else None
            index = SearchIndex.build(synthetic_articles(specs), workers=2, folder=into)
            build_s = time.perf_counter() - start
            time.sleep(0.05)
        finally:
            setattr(Bm25Matrix, "build", originals[0])  # noqa: B010
            setattr(FoldedMatrix, "fold", originals[1])  # noqa: B010
            index_module.build_matrices = originals[2]
    print(f"{n:,} sentences, built in {build_s:.1f} s; the generated corpus held: {held:,.0f} MB resident")
    print("| stage | largest resident MB | of which over the held corpus |")
    print("|---|---|---|")
    for stage, largest in sampler.largest.items():
        print(f"| {stage} | {largest:,.0f} | {largest - held:,.0f} |")
    print(f"peak (ru_maxrss) {peak_mb():,.0f} MB, resident after the build {rss_mb():,.0f} MB")
    print("| part of the index" + (" (in files, mapped)" if folder is not None else "") + " | MB |")
    print("|---|---|")
    rows = parts(index)
    for name, size in rows:
        print(f"| {name} | {size:,.1f} |")
    print(f"| all of the above | {sum(size for _, size in rows):,.1f} |")
    del specs
    gc.collect()
    print(f"resident once the generated corpus is let go: {rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
