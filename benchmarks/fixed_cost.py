"""What a question costs apart from its postings: Dépêche beside Tantivy, one kind of question at a time.

The synthetic corpus of `benchmarks/scale.py` is indexed by both engines in this one process
(Dépêche as `benchmarks.anchors` builds it, into a temporary folder; Tantivy sentence-only with
its French analyzer), then each question is asked of Dépêche with its compiled sums
(`bot.search.kernel`, when built), of Dépêche with the numpy code alone, and of Tantivy, in turn
(`--rounds` times), and the medians are printed for:
- a word the corpus lacks, one rare word (in 3 sentences), one of the 50 most frequent words,
  and stop words only (which Tantivy's lenient parser seems to turn into a match of every
  sentence) — what a question costs apart from the postings it sums;
- the benchmark's PIAF questions, grouped by how many postings of the folded matrix their
  terms have — how the cost grows with the work.
Usage: .venv/bin/python -m benchmarks.fixed_cost [--size 100000] [--questions 300] [--rounds 6]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np

from benchmarks.anchors import depeche_engine, run_tantivy
from benchmarks.scale import questions
from bot.search import kernel
from bot.search.bm25 import column_bounds

# Upper edges of the groups of PIAF questions, in folded postings.
POSTING_EDGES = (3_000, 6_000, 9_000, 12_500, 20_000, 40_000)
WORDS_PER_KIND = 50
COMPILED = {"Dépêche": True, "numpy alone": False}


def alternated(
    engines: dict[str, Callable[[str], object]], qs: list[str], rounds: int
) -> dict[str, list[float]]:
    """Microseconds of each question on each engine, the engines in turn per question (Dépêche's
    compiled sums on or off, per `COMPILED`, before the clock starts)."""
    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(rounds):
        for q in qs:
            for name, search in engines.items():
                if name in COMPILED:
                    kernel.use_compiled(COMPILED[name])
                start = time.perf_counter()
                search(q)
                times[name].append((time.perf_counter() - start) * 1e6)
    return times


def single_word_kinds(index) -> dict[str, list[str]]:
    """Questions of one kind each: a word absent, a rare word, a frequent word, stop words."""
    frequency = np.diff(index.sentences.indptr)
    words = [""] * len(index.vocab)
    for word, term_id in index.vocab.items():
        words[term_id] = word
    return {
        "a word the corpus lacks": ["zzzqqq"] * WORDS_PER_KIND,
        "one rare word (3 sentences)": [words[t] for t in np.flatnonzero(frequency == 3)[:WORDS_PER_KIND]],
        "one of the 50 most frequent words": [words[t] for t in np.argsort(-frequency)[:WORDS_PER_KIND]],
        "stop words only": ["le la les"] * WORDS_PER_KIND,
    }


def by_postings(index, qs: list[str]) -> dict[str, list[str]]:
    """The questions grouped by their terms' count of folded postings."""
    edges = (0, *POSTING_EDGES)
    labels = [f"PIAF, {lo:,}–{hi - 1:,} postings" for lo, hi in pairwise(edges)]
    labels.append(f"PIAF, {edges[-1]:,}+ postings")
    groups: dict[str, list[str]] = {label: [] for label in labels}
    for q in qs:
        ids = sorted({t for t in index.resolve_terms(index.query_terms(q)).values() if t is not None})
        postings = sum(end - start for start, end in column_bounds(index.folded.indptr, ids))
        groups[labels[sum(postings >= edge for edge in POSTING_EDGES)]].append(q)
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="depeche-fixed-cost-") as folder:
        _, engine = depeche_engine(args.size, Path(folder) / "index")
        _, tantivy = run_tantivy(args.size, paragraph_field=False)
        index = engine.index
        qs = questions(args.questions)

        def ours(q: str) -> object:
            return engine.lexical_query(q, 10)

        built = kernel.enabled()
        engines = {"Dépêche": ours, "numpy alone": ours, "Tantivy": tantivy}
        alternated(engines, qs[:20], 1)  # (warm-up)
        print(f"\n{args.size:,} sentences: p50 µs per question, the engines in turn ({args.rounds} rounds)")
        if not built:
            print("(the compiled sums were not built here: both Dépêche columns are the numpy code)")
        print("| questions | count | Dépêche | numpy alone | Tantivy | Dépêche / Tantivy | / numpy alone |")
        print("|---|---|---|---|---|---|---|")
        for kind, asked in {**single_word_kinds(index), **by_postings(index, qs)}.items():
            if not asked:
                continue
            p50 = {name: statistics.median(t) for name, t in alternated(engines, asked, args.rounds).items()}
            ours, base, theirs = p50["Dépêche"], p50["numpy alone"], p50["Tantivy"]
            print(
                f"| {kind} | {len(asked)} | {ours:.1f} | {base:.1f} | {theirs:.1f} "
                f"| ×{ours / theirs:.2f} | ×{ours / base:.2f} |"
            )


if __name__ == "__main__":
    main()
