"""Scale benchmark: build time, peak memory, query latency, warm start, vs rank_bm25, at N sentences.

Each size runs in fresh child processes so memory figures are not polluted by the previous one:
- build:  synthetic sentences (see synth_corpus.py) streamed as validated article models into
          SearchIndex.build, timed (model creation included; sentence splitting is not: see README);
          peak RSS of that process; query latency over real PIAF questions (whole path: analysis,
          typo resolution, scoring with context, ranking, coverage, excerpt assembly); the index is
          saved to the on-disk cache; rank_bm25.BM25Okapi on the same tokens, timed on the same
          questions, on the whole corpus by default (above `--bm25-cap` sentences it runs on a
          random sample of that size and its per-query time is extrapolated linearly, which the
          output says: at 1M that underestimates it, its dicts no longer fit in cache).
- warm:   a fresh process loads the cache (checksums verified, arrays memory-mapped) and answers:
          warm-start time and resident memory while serving.
- dense:  (--dense) random int8 unit vectors for every sentence and paragraph, written to the
          per-article cache and assembled: memory added and query latency with the embedding
          re-rank, the question encoded by the real model (vector content does not change cost).
- lag:    inside an asyncio loop, a full rebuild runs off the loop (as /reload does) while a ticker
          measures the largest gap between 10 ms ticks and questions keep being answered.

Usage: .venv/bin/python -m benchmarks.scale [--sizes 10000 100000 1000000] [--questions 300] [--dense]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

from benchmarks.synth_corpus import PIAF, synthetic_sentences

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """Current resident memory of this process (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class BackgroundSampler:
    """Calls `sample()` every `interval` seconds in a thread while its `with` block runs."""

    interval = 0.1

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        raise NotImplementedError


class ResidentPeak(BackgroundSampler):
    """The largest resident size (MB) of this process while the block runs, sampled every 10 ms."""

    interval = 0.01

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0.0

    def sample(self) -> None:
        self.largest = max(self.largest, rss_mb())


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def questions(limit: int) -> list[str]:
    data = json.loads(PIAF.read_text(encoding="utf-8"))
    out = [qa["question"] for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    random.Random(3).shuffle(out)
    return out[:limit]


def synthetic_specs(n: int) -> list[list[list[str]]]:
    """Articles (lists of paragraphs of sentences) of 20-45 sentences in paragraphs of 2-5."""
    rng = random.Random(1)
    sentences = synthetic_sentences(n)
    specs: list[list[list[str]]] = []
    left = n
    while left > 0:
        size = min(left, rng.randint(20, 45))
        left -= size
        paragraphs: list[list[str]] = []
        done = 0
        while done < size:
            k = min(size - done, rng.randint(2, 5))
            paragraphs.append([next(sentences) for _ in range(k)])
            done += k
        specs.append(paragraphs)
    return specs


def synthetic_articles(specs: list[list[list[str]]]):
    """Validated article models, made one at a time as the loader streams them."""
    from bot.articles.models import Article, Paragraph, Sentence, sentence_id

    for a, paragraphs in enumerate(specs):
        aid = f"a{a:06d}"
        yield Article(
            id=aid,
            title=f"Dépêche {aid}",
            source="Synthétique",
            language="fr",
            path=f"{aid}.md",
            checksum=f"{a:064d}",
            paragraphs=tuple(
                Paragraph(
                    number=p,
                    text=" ".join(ss),
                    sentences=tuple(Sentence(id=sentence_id(aid, p, i), text=t) for i, t in enumerate(ss, 1)),
                )
                for p, ss in enumerate(paragraphs, 1)
            ),
        )


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def query_latency(engine, qs: list[str]) -> tuple[float, float]:
    """p50 and p95 milliseconds of the whole answer path over `qs`."""
    times = []
    for q in qs:
        t0 = time.perf_counter()
        engine.answer(q)
        times.append((time.perf_counter() - t0) * 1000)
    return percentiles(times)


def child_build(n: int, cache_dir: str, n_questions: int, bm25_cap: int) -> dict:
    from rank_bm25 import BM25Okapi

    from bot.search import index_cache as cache
    from bot.search.answer import Engine
    from bot.search.index import SearchIndex
    from bot.text import analyzer

    specs = synthetic_specs(n)
    rss_corpus = rss_mb()
    start = time.perf_counter()
    index = SearchIndex.build(synthetic_articles(specs))
    build_s = time.perf_counter() - start
    peak = peak_mb()
    engine = Engine(index)
    qs = questions(n_questions)
    for q in qs[:20]:
        engine.answer(q)  # warm the analyzer's word cache, as a running bot has
    p50, p95 = query_latency(engine, qs)
    start = time.perf_counter()
    cache.save(Path(cache_dir), "bench", index, [])
    save_s = time.perf_counter() - start

    sample = index.texts if len(index.texts) <= bm25_cap else random.Random(5).sample(index.texts, bm25_cap)
    tokens = [analyzer("fr").terms(t) for t in sample]
    del specs
    start = time.perf_counter()
    bm25 = BM25Okapi(tokens)
    bm25_build = time.perf_counter() - start
    bm25_times = []
    for q in qs[:10]:
        terms = analyzer("fr").terms(q)
        t0 = time.perf_counter()
        scores = bm25.get_scores(terms)
        scores.argsort()[-10:]
        bm25_times.append((time.perf_counter() - t0) * 1000)
    factor = len(index.texts) / len(sample)
    return {
        "n": len(index.texts),
        "articles": len(index.articles),
        "vocab": len(index.vocab),
        "build_s": build_s,
        "peak_rss_mb": peak,
        "rss_corpus_mb": rss_corpus,
        "p50_ms": p50,
        "p95_ms": p95,
        "save_s": save_s,
        "bm25_sample": len(sample),
        "bm25_build_s": bm25_build * factor,
        "bm25_ms": statistics.median(bm25_times) * factor,
        "bm25_extrapolated": factor > 1,
    }


def child_warm(cache_dir: str, n_questions: int) -> dict:
    rss0 = rss_mb()
    start = time.perf_counter()
    from bot.search import index_cache as cache
    from bot.search.answer import Engine

    cached = cache.load(Path(cache_dir), "bench")
    assert cached is not None
    engine = Engine(cached.index)
    engine.answer("Combien de roquettes ?")
    warm_s = time.perf_counter() - start
    qs = questions(n_questions)
    p50, p95 = query_latency(engine, qs)
    return {"warm_s": warm_s, "serving_rss_mb": rss_mb() - rss0, "warm_p50_ms": p50, "warm_p95_ms": p95}


def child_dense(cache_dir: str, n_questions: int) -> dict:
    """With sentence vectors for every article: memory they add, and the whole query path with
    the embedding re-rank (question encoded by the real model). The vectors themselves are random
    unit vectors written into the per-article cache: embedding 1M real sentences takes hours
    (see README), and memory and scoring cost do not depend on what the vectors say."""
    import numpy as np

    from bot.search import embeddings
    from bot.search import index_cache as cache
    from bot.search.answer import Engine
    from bot.search.embeddings import ArticleVectors, EmbeddingCache, Encoder, quantise

    cached = cache.load(Path(cache_dir), "bench")
    assert cached is not None
    index = cached.index
    vectors = EmbeddingCache(Path(cache_dir) / "vectors")
    rng = np.random.default_rng(7)

    def unit(rows: int) -> np.ndarray:
        v = rng.standard_normal((rows, embeddings.DIMENSIONS)).astype(np.float32)
        return quantise(v / np.linalg.norm(v, axis=1, keepdims=True))

    for a, meta in enumerate(index.articles):
        sentences, paragraphs, _ = embeddings.article_passages(index, a)
        vectors.put(meta.checksum, ArticleVectors(unit(len(sentences)), unit(len(paragraphs))))
    del sentences, paragraphs
    rss0 = rss_mb()
    start = time.perf_counter()
    dense = embeddings.assemble(index, vectors)
    assemble_s = time.perf_counter() - start
    added = rss_mb() - rss0
    engine = Engine(index, dense=dense, encoder=Encoder())
    qs = questions(n_questions)
    engine.answer(qs[0])
    p50, p95 = query_latency(engine, qs[1:])
    return {"dense_assemble_s": assemble_s, "dense_rss_mb": added, "dense_p50_ms": p50, "dense_p95_ms": p95}


def child_lag(n: int) -> dict:
    from bot.search.answer import Engine
    from bot.search.index import SearchIndex

    specs = synthetic_specs(n)
    engine = Engine(SearchIndex.build(synthetic_articles(specs)))
    qs = questions(200)

    async def main() -> dict:
        loop = asyncio.get_running_loop()
        gaps: list[float] = []
        answered = 0
        done = asyncio.Event()

        async def ticker() -> None:
            last = loop.time()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = loop.time()
                gaps.append(now - last - 0.01)
                last = now

        async def asker() -> None:
            nonlocal answered
            i = 0
            while not done.is_set():
                await asyncio.to_thread(engine.answer, qs[i % len(qs)])
                answered += 1
                i += 1
                await asyncio.sleep(0.05)

        tasks = [asyncio.create_task(ticker()), asyncio.create_task(asker())]
        start = time.perf_counter()
        await asyncio.to_thread(SearchIndex.build, synthetic_articles(specs))
        rebuild_s = time.perf_counter() - start
        done.set()
        await asyncio.gather(*tasks)
        return {
            "rebuild_s": rebuild_s,
            "max_lag_ms": max(gaps) * 1000,
            "p99_lag_ms": sorted(gaps)[int(0.99 * (len(gaps) - 1))] * 1000,
            "answered_during": answered,
        }

    return asyncio.run(main())


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--bm25-cap", type=int, default=1_000_000)
    parser.add_argument("--dense", action="store_true", help="also measure with sentence vectors")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "build":
            result = child_build(int(rest[0]), rest[1], args.questions, args.bm25_cap)
        elif kind == "warm":
            result = child_warm(rest[0], args.questions)
        elif kind == "dense":
            result = child_dense(rest[0], args.questions)
        else:
            result = child_lag(int(rest[0]))
        print(json.dumps(result))
        return
    header = (
        f"{'sentences':>10} {'build s':>8} {'peak MB':>8} {'p50 ms':>7} {'p95 ms':>7} {'warm s':>7} "
        f"{'serve MB':>9} {'lag ms':>7} {'bm25 ms':>9} {'speed-up':>9}"
    )
    print(header)
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            built = run_child("build", str(n), tmp)
            warm = run_child("warm", tmp)
            dense = run_child("dense", tmp) if args.dense else {}
        lag = run_child("lag", str(n))
        note = "*" if built["bm25_extrapolated"] else ""
        print(
            f"{built['n']:>10,} {built['build_s']:>8.1f} {built['peak_rss_mb']:>8.0f} "
            f"{built['p50_ms']:>7.2f} {built['p95_ms']:>7.2f} {warm['warm_s']:>7.2f} "
            f"{warm['serving_rss_mb']:>9.0f} {lag['max_lag_ms']:>7.1f} {built['bm25_ms']:>8.0f}{note} "
            f"{built['bm25_ms'] / built['p50_ms']:>8.0f}x",
            flush=True,
        )
        if dense:
            print(
                f"           with sentence vectors: +{dense['dense_rss_mb']:.0f} MB, assembled in "
                f"{dense['dense_assemble_s']:.1f} s, query p50 {dense['dense_p50_ms']:.2f} ms, "
                f"p95 {dense['dense_p95_ms']:.2f} ms",
                flush=True,
            )
        print(f"           details: {json.dumps({**built, **warm, **dense, **lag})}", flush=True)
    print("* rank_bm25 timed on a random sample of --bm25-cap sentences, per-query time scaled linearly to N")


if __name__ == "__main__":
    main()
