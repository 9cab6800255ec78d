"""A standing comparison: Dépêche's index against Tantivy (a Rust engine) and rank_bm25, same corpora.

For each size, the synthetic corpus of `benchmarks/scale.py` (same seed) is indexed by each engine
in a fresh child process (so peak memory is its own), then the same PIAF questions are asked, one
at a time, top 10:
- Dépêche: `SearchIndex.build` over the articles, then `Engine.lexical_query` (analysis, typo
  resolution, BM25 with the neighbours' and paragraph's share, exact top 10).
- Tantivy, sentence-only: one document per sentence, a French analyzer (lower case, French stop
  words, accent folding, Snowball stemmer), BM25; an in-memory index, one writer, then merged.
- Tantivy + paragraph (`--paragraph-field`): the same plus a field holding the sentence's
  paragraph, both searched (the nearest Tantivy gets to our context ranking).
- rank_bm25 (`--rank-bm25`): BM25Okapi over our analyzer's terms, full scan per question
  (at most 30 questions: about a second each at 1M).
Build seconds include making the engine's documents from the articles, not generating them; peak
MB is the child's largest resident size (the generated text included, the same for all).
Ends with one JSON line per size.
Usage: .venv/bin/python -m benchmarks.anchors [--sizes 100000 1000000] [--questions 300]
       [--paragraph-field] [--rank-bm25]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from benchmarks.scale import peak_mb, percentiles, questions, rss_mb, synthetic_articles, synthetic_specs

RANK_BM25_QUESTIONS = 30


def timed_queries(search, qs: list[str]) -> tuple[float, float]:
    """p50 and p95 milliseconds of `search(q)` over `qs`, after 20 warm-up questions."""
    for q in qs[:20]:
        search(q)
    times = []
    for q in qs:
        start = time.perf_counter()
        search(q)
        times.append((time.perf_counter() - start) * 1000)
    return percentiles(times)


def run_depeche(n: int, qs: list[str]) -> dict:
    from bot.search.answer import Engine
    from bot.search.index import SearchIndex

    specs = synthetic_specs(n)
    before = rss_mb()
    start = time.perf_counter()
    index = SearchIndex.build(synthetic_articles(specs))
    build_s = time.perf_counter() - start
    peak = peak_mb()
    engine = Engine(index)
    p50, p95 = timed_queries(lambda q: engine.lexical_query(q, 10), qs)
    return {"build_s": build_s, "p50_ms": p50, "p95_ms": p95, "peak_mb": peak, "corpus_mb": before}


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


def run_tantivy(n: int, qs: list[str], paragraph_field: bool) -> dict:
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

    p50, p95 = timed_queries(search, qs)
    return {"build_s": build_s, "p50_ms": p50, "p95_ms": p95, "peak_mb": peak, "corpus_mb": before}


def run_rank_bm25(n: int, qs: list[str]) -> dict:
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

    p50, p95 = timed_queries(search, qs[: RANK_BM25_QUESTIONS + 20])
    return {"build_s": build_s, "p50_ms": p50, "p95_ms": p95, "peak_mb": peak, "corpus_mb": before}


def child(engine: str, n: int, n_questions: int) -> dict:
    qs = questions(n_questions)
    if engine == "depeche":
        return run_depeche(n, qs)
    if engine.startswith("tantivy"):
        return run_tantivy(n, qs, paragraph_field=engine == "tantivy+paragraph")
    return run_rank_bm25(n, qs)


def in_child(engine: str, n: int, n_questions: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.anchors", "--child", engine, str(n), str(n_questions)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--paragraph-field", action="store_true", help="also Tantivy with a paragraph field")
    parser.add_argument("--rank-bm25", action="store_true", help="also rank_bm25 (slow at 1M)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, n, n_questions = args.child[0], int(args.child[1]), int(args.child[2])
        print(json.dumps(child(engine, n, n_questions)))
        return
    engines = ["depeche", "tantivy"]
    engines += ["tantivy+paragraph"] if args.paragraph_field else []
    engines += ["rank_bm25"] if args.rank_bm25 else []
    names = {
        "depeche": "Dépêche SearchIndex (context ranking, top 10)",
        "tantivy": "Tantivy, French analyzer, sentences only",
        "tantivy+paragraph": "Tantivy, same + a paragraph field",
        "rank_bm25": f"rank_bm25 ({RANK_BM25_QUESTIONS} questions)",
    }
    lines = []
    for n in args.sizes:
        results = {engine: in_child(engine, n, args.questions) for engine in engines}
        print(f"\n{n:,} sentences")
        print("| engine | build s | p50 ms | p95 ms | peak MB (corpus text MB) |")
        print("|---|---|---|---|---|")
        for engine, r in results.items():
            print(
                f"| {names[engine]} | {r['build_s']:.1f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} "
                f"| {r['peak_mb']:,.0f} ({r['corpus_mb']:,.0f}) |"
            )
        d, t = results["depeche"], results["tantivy"]
        print(
            f"Dépêche / Tantivy: p50 ×{d['p50_ms'] / t['p50_ms']:.2f}, p95 ×{d['p95_ms'] / t['p95_ms']:.2f}"
        )
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
            }
        )
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
