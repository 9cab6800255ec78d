"""The README's baseline row: plain rank_bm25.BM25Okapi over `text.lower().split()` sentences.

Same sentences, same gold and metrics as `run_bot.py eval`; only the ranking differs.
Usage: .venv/bin/python -m benchmarks.baseline_eval ../shared/data/piaf-dev.json [--split heldout]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from rank_bm25 import BM25Okapi

from bot.search.evaluate import MRR_DEPTH, evaluate, load_squad, split_questions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--split", choices=("all", "tune", "heldout"), default="all")
    args = parser.parse_args()
    evalset = load_squad(args.file)
    ids = [s.id for a in evalset.corpus.articles for p in a.paragraphs for s in p.sentences]
    texts = [s.text for a in evalset.corpus.articles for p in a.paragraphs for s in p.sentences]
    model = BM25Okapi([t.lower().split() for t in texts])

    def rank(question: str) -> list[str]:
        scores = model.get_scores(question.lower().split())
        return [ids[i] for i in np.argsort(-scores, kind="stable")[:MRR_DEPTH]]

    report = evaluate(rank, split_questions(evalset, args.split))
    print(
        json.dumps(
            {"ranking": "rank_bm25 BM25Okapi lower().split()", "split": args.split, **report.as_json()}
        )
    )


if __name__ == "__main__":
    main()
