"""A standing comparison: Dépêche's index against Tantivy (a Rust engine) and rank_bm25, same corpora.

For each size, the synthetic corpus of `benchmarks/scale.py` (same seed) is indexed by each engine
in a fresh child process (so peak memory is its own), then the same PIAF questions are asked, one
at a time, top 10:
- Dépêche: `SearchIndex.build` over the articles (two analysis worker processes) into a
  temporary folder — as the bot's first load builds its index cache: in bounded memory, the
  arrays written to files and served memory-mapped — then `Engine.lexical_query` (analysis, typo
  resolution, BM25 with the neighbours' and paragraph's share, exact top 10), with the compiled
  sums when they were built (`bot.search.kernel`; the JSON says which). `--in-memory` adds the
  same index built in memory, as an update in place or a run without cache builds it; `--numpy`
  the same index answered by the numpy code alone (the baseline of the compiled sums).
- Tantivy, sentence-only: one document per sentence, a French analyzer (lower case, French stop
  words, accent folding, Snowball stemmer), BM25; an in-memory index, one writer, then merged.
- Tantivy + paragraph (`--paragraph-field`): the same plus a field holding the sentence's
  paragraph, both searched (the nearest Tantivy gets to our context ranking).
- rank_bm25 (`--rank-bm25`): BM25Okapi over our analyzer's terms, full scan per question
  (at most 30 questions: about a second each at 1M).
Build seconds include making the engine's documents from the articles, not generating them; peak
MB is the child's largest resident size after its build (the generated text included, the same for
all), and again after all its questions (pages of mapped files a question read count then);
Dépêche's analysis workers are processes of their own, whose largest is printed apart.
The children build one after the other, then stay up and answer the questions in slices of 30,
every engine a slice in turn, in a shuffled order (`--rounds` passes over the questions, 5 by
default): a change in the machine's load, which here lasts from milliseconds to seconds, falls on
every engine alike instead of on whichever ran at that moment (docs/performance.md, #20's tenth
pass). p50 and p95 are over every pass's timings (after 20 warm-up questions per child). Ends
with one JSON line per size.
Usage: .venv/bin/python -m benchmarks.anchors [--sizes 100000 1000000] [--questions 300] [--rounds 5]
       [--paragraph-field] [--rank-bm25] [--in-memory] [--numpy]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.scale import (
    BackgroundSampler,
    peak_mb,
    percentiles,
    questions,
    rss_mb,
    synthetic_articles,
    synthetic_specs,
)

if TYPE_CHECKING:
    from bot.search.answer import Engine

RANK_BM25_QUESTIONS = 30
SLICE = 30  # questions a child answers per turn


def question_times(search, qs: list[str]) -> list[float]:
    """Milliseconds of `search(q)` for each of `qs`, one at a time."""
    times = []
    for q in qs:
        start = time.perf_counter()
        search(q)
        times.append((time.perf_counter() - start) * 1000)
    return times


class WorkersPeak(BackgroundSampler):
    """The largest high-water resident size (VmHWM) among this process's child processes while
    the block runs, sampled every 0.1 s. (`RUSAGE_CHILDREN` would not do: a spawned child's
    maximum includes the parent's pages at the moment it was forked, before its exec.)"""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0.0

    def sample(self) -> None:
        me = str(os.getpid())
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:  # (gone meanwhile)
                continue
            status = dict(line.split(":", 1) for line in lines if ":" in line)
            if status.get("PPid", "").strip() == me and "VmHWM" in status:
                self.largest = max(self.largest, int(status["VmHWM"].split()[0]) / 1024)


def depeche_engine(n: int, folder: Path | None) -> tuple[dict, Engine]:
    """Dépêche's index of the synthetic corpus of `n` sentences, built as a first load builds it
    (into `folder`, or in memory when None), and its `Engine`; with the build's figures."""
    from bot.search.answer import Engine
    from bot.search.index import SearchIndex

    specs = synthetic_specs(n)
    before = rss_mb()
    start = time.perf_counter()
    with WorkersPeak() as workers:  # (the analysis workers are processes of their own)
        # (Tantivy: two indexing threads)
        index = SearchIndex.build(synthetic_articles(specs), workers=2, folder=folder)
    build_s = time.perf_counter() - start
    peak = peak_mb()
    stats = {"build_s": build_s, "peak_mb": peak, "corpus_mb": before, "workers_peak_mb": workers.largest}
    return stats, Engine(index)


def run_depeche(n: int, folder: Path | None) -> tuple[dict, Callable[[str], object]]:
    stats, engine = depeche_engine(n, folder)
    return stats, lambda q: engine.lexical_query(q, 10)


def french_analyzer():
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("french"))
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("french"))
        .build()
    )


def run_tantivy(n: int, paragraph_field: bool) -> tuple[dict, Callable[[str], object]]:
    import tantivy

    specs = synthetic_specs(n)
    before = rss_mb()
    start = time.perf_counter()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("sentence", stored=False, tokenizer_name="fr")
    if paragraph_field:
        builder.add_text_field("paragraph", stored=False, tokenizer_name="fr")
    builder.add_unsigned_field("row", stored=True)
    index = tantivy.Index(builder.build())
    index.register_tokenizer("fr", french_analyzer())
    writer = index.writer(heap_size=256_000_000, num_threads=2)
    row = 0
    for article in synthetic_articles(specs):
        for paragraph in article.paragraphs:
            text = paragraph.text
            for sentence in paragraph.sentences:
                fields = {"sentence": sentence.text, "row": row}
                if paragraph_field:
                    fields["paragraph"] = text
                writer.add_document(tantivy.Document(**fields))
                row += 1
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    build_s = time.perf_counter() - start
    peak = peak_mb()
    searcher = index.searcher()
    fields = ["sentence", "paragraph"] if paragraph_field else ["sentence"]

    def search(q: str):
        query, _errors = index.parse_query_lenient(q, fields)
        return searcher.search(query, 10).hits

    return {"build_s": build_s, "peak_mb": peak, "corpus_mb": before}, search


def run_rank_bm25(n: int) -> tuple[dict, Callable[[str], object]]:
    from rank_bm25 import BM25Okapi

    from bot.text import analyzer

    specs = synthetic_specs(n)
    before = rss_mb()
    terms = analyzer("fr").terms
    start = time.perf_counter()
    tokens = [terms(s) for article in specs for paragraph in article for s in paragraph]
    bm25 = BM25Okapi(tokens)
    build_s = time.perf_counter() - start
    peak = peak_mb()

    def search(q: str):
        return bm25.get_scores(terms(q)).argsort()[-10:]

    return {"build_s": build_s, "peak_mb": peak, "corpus_mb": before}, search


def serve(engine: str, n: int, n_questions: int) -> None:
    """A child: build, print the build's figures, then time the questions `start` to `stop` for
    each line "start stop" read on stdin (a JSON list of milliseconds), until stdin closes."""
    qs = questions(n_questions)
    folder = tempfile.TemporaryDirectory(prefix="depeche-anchors-")  # (removed when the child ends)
    if engine.startswith("depeche"):
        from bot.search import kernel

        kernel.use_compiled(engine != "depeche-numpy")
        stats, search = run_depeche(n, None if engine == "depeche-memory" else Path(folder.name) / "index")
        stats["compiled"] = kernel.enabled()
    elif engine.startswith("tantivy"):
        stats, search = run_tantivy(n, paragraph_field=engine == "tantivy+paragraph")
    else:
        stats, search = run_rank_bm25(n)
        qs = qs[:RANK_BM25_QUESTIONS]
    question_times(search, qs[:2] if engine == "rank_bm25" else qs[:20])  # warm-up
    print(json.dumps(stats), flush=True)
    for line in sys.stdin:
        start, stop = map(int, line.split())
        print(json.dumps(question_times(search, qs[start:stop])), flush=True)
    print(json.dumps({"peak_after_mb": peak_mb()}), flush=True)


class Child:
    """One engine in its own process, built, answering rounds of questions on request."""

    def __init__(self, engine: str, n: int, n_questions: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.anchors", "--child", engine, str(n), str(n_questions)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.stats = json.loads(self._line())
        self.times: list[float] = []

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark child exited with {self.process.wait()}")
        return line

    def answer(self, start: int, stop: int) -> None:
        """Time questions `start` to `stop` (one turn)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{start} {stop}\n")
        self.process.stdin.flush()
        self.times += json.loads(self._line())

    def close(self) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.close()
        after = json.loads(self._line())
        self.process.wait()
        p50, p95 = percentiles(self.times)
        return {**self.stats, **after, "p50_ms": p50, "p95_ms": p95}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the questions per engine")
    parser.add_argument("--paragraph-field", action="store_true", help="also Tantivy with a paragraph field")
    parser.add_argument("--rank-bm25", action="store_true", help="also rank_bm25 (slow at 1M)")
    parser.add_argument("--in-memory", action="store_true", help="also Dépêche's index built in memory")
    parser.add_argument("--numpy", action="store_true", help="also Dépêche without its compiled sums")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        serve(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    engines = ["depeche", *(["depeche-memory"] if args.in_memory else []), "tantivy"]
    engines += ["depeche-numpy"] if args.numpy else []
    engines += ["tantivy+paragraph"] if args.paragraph_field else []
    engines += ["rank_bm25"] if args.rank_bm25 else []
    names = {
        "depeche": "Dépêche SearchIndex (context ranking, top 10)",
        "depeche-memory": "Dépêche, the same built in memory",
        "depeche-numpy": "Dépêche, the same answered by numpy alone",
        "tantivy": "Tantivy, French analyzer, sentences only",
        "tantivy+paragraph": "Tantivy, same + a paragraph field",
        "rank_bm25": f"rank_bm25 ({RANK_BM25_QUESTIONS} questions)",
    }
    lines = []
    for n in args.sizes:
        children = {engine: Child(engine, n, args.questions) for engine in engines}  # (built in turn)
        turns = random.Random(n)
        for round_number in range(args.rounds):
            for start in range(0, args.questions, SLICE):
                stop = min(start + SLICE, args.questions)
                order = list(children)
                turns.shuffle(order)
                for engine in order:
                    # (rank_bm25: its first questions once, seconds each)
                    if engine != "rank_bm25" or (round_number == 0 and start < RANK_BM25_QUESTIONS):
                        children[engine].answer(start, stop)
        results = {engine: child.close() for engine, child in children.items()}
        print(f"\n{n:,} sentences")
        print("| engine | build s | p50 ms | p95 ms | peak MB (corpus text MB) | peak MB after questions |")
        print("|---|---|---|---|---|---|")
        for engine, r in results.items():
            print(
                f"| {names[engine]} | {r['build_s']:.1f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} "
                f"| {r['peak_mb']:,.0f} ({r['corpus_mb']:,.0f}) | {r['peak_after_mb']:,.0f} |"
            )
        d, t = results["depeche"], results["tantivy"]
        print(f"(Dépêche's analysis workers, beside that peak: each at most {d['workers_peak_mb']:,.0f} MB)")
        print(
            f"Dépêche / Tantivy: p50 ×{d['p50_ms'] / t['p50_ms']:.2f}, p95 ×{d['p95_ms'] / t['p95_ms']:.2f}"
            + ("" if d["compiled"] else " (without the compiled sums: not built here)")
        )
        if "depeche-numpy" in results:
            base = results["depeche-numpy"]
            p50, p95 = d["p50_ms"] / base["p50_ms"], d["p95_ms"] / base["p95_ms"]
            print(f"compiled / numpy: p50 ×{p50:.2f}, p95 ×{p95:.2f}")
        lines.append(
            {
                "sentences": n,
                "depeche_p50_ms": round(d["p50_ms"], 3),
                "depeche_p95_ms": round(d["p95_ms"], 3),
                "tantivy_p50_ms": round(t["p50_ms"], 3),
                "tantivy_p95_ms": round(t["p95_ms"], 3),
                "depeche_build_s": round(d["build_s"], 2),
                "tantivy_build_s": round(t["build_s"], 2),
                "depeche_peak_mb": round(d["peak_mb"], 1),
                "depeche_peak_after_questions_mb": round(d["peak_after_mb"], 1),
                "tantivy_peak_mb": round(t["peak_mb"], 1),
                "depeche_workers_peak_mb": round(d["workers_peak_mb"], 1),
                "depeche_compiled": d["compiled"],
            }
        )
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
