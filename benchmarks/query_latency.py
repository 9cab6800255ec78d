"""Query latency on the bundled corpus: question text to ranked excerpts, embeddings cached.

Loads `corpus/` through `QAService` (vectors computed once into a temporary cache, then reused),
and times `Engine.answer` over distinct questions (the English set of tests/data plus PIAF
questions, so the engine's recent-question memory never serves a vector), with the embedding
signal and without it, without the second look at doubtful "not found" decisions (and how many
questions took it), the question encoding alone, and (last row) with embeddings while the
same encoder embeds passages in a background thread, as it does after articles are added.

Usage: .venv/bin/python -m benchmarks.query_latency [--questions 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bot.search import abstention
from bot.search.answer import Engine
from bot.search.embeddings import Encoder
from bot.service import QAService

ROOT = Path(__file__).resolve().parent.parent


def distinct_questions(limit: int) -> list[str]:
    english = json.loads((ROOT / "tests" / "data" / "english_questions.json").read_text(encoding="utf-8"))
    out = [q["question"] for q in english["questions"]]
    piaf = ROOT.parent / "shared" / "data" / "piaf-dev.json"
    if piaf.is_file():
        data = json.loads(piaf.read_text(encoding="utf-8"))
        out += [qa["question"] for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    return list(dict.fromkeys(out))[:limit]


def timings(run, questions: list[str]) -> tuple[float, float]:
    times = []
    for q in questions:
        start = time.perf_counter()
        run(q)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[round(0.95 * (len(times) - 1))]


def during_background(engine: Engine, questions: list[str]) -> tuple[float, float]:
    """`timings` of fresh variants of the questions while the engine's encoder embeds the
    corpus's sentences over and over in another thread."""
    stop = threading.Event()
    texts = engine.index.texts

    def embed_forever() -> None:
        while not stop.is_set():
            engine.encoder.passages(texts[:8])

    worker = threading.Thread(target=embed_forever)
    worker.start()
    try:
        time.sleep(0.2)
        return timings(engine.answer, [f"{q} ?" for q in questions])
    finally:
        stop.set()
        worker.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    questions = distinct_questions(args.questions)
    with tempfile.TemporaryDirectory() as cache:
        service = QAService(ROOT / "corpus", cache_dir=Path(cache), embeddings=True)
        service.load()
        service.embedding_done.wait()
        with_dense = service.engine
        lexical = Engine(with_dense.index)
        with_dense.answer("échauffement")  # load the model once, as a running bot has
        lexical.answer("échauffement")
        encoder = Encoder()
        encoder.query("échauffement")
        first_only = Engine(
            with_dense.index,
            with_dense.policy,
            with_dense.dense,
            Encoder(),  # its own recent-question memory, so that neither run serves the other
            abstention=dataclasses.replace(abstention.default_abstention(), second_look=None),
        )
        first_only.answer("échauffement")
        looked: list[str] = []
        second_look_values = abstention.first_excerpt_second_look

        def counted(index, encoder, question, ranking):
            looked.append(question)
            return second_look_values(index, encoder, question, ranking)

        abstention.first_excerpt_second_look = counted
        rows = [("answer, embeddings on", timings(with_dense.answer, questions))]
        abstention.first_excerpt_second_look = second_look_values
        taken = len(set(looked))
        rows += [
            ("answer, no second look", timings(first_only.answer, questions)),
            ("answer, lexical only", timings(lexical.answer, questions)),
            ("question encoding alone", timings(encoder.query, questions)),
            ("answer, during background", during_background(with_dense, questions)),
        ]
    print(f"{len(questions)} distinct questions, {with_dense.index.size} sentences")
    print(f"second look taken for {taken} of them (first row)")
    print(f"{'path':<26} {'p50 ms':>7} {'p95 ms':>7}")
    for name, (p50, p95) in rows:
        print(f"{name:<26} {p50:>7.2f} {p95:>7.2f}")


if __name__ == "__main__":
    main()
