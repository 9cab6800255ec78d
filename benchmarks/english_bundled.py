"""English questions on the bundled French article, answered as a member is (3 excerpts, embeddings).

For `tests/data/english_questions.json`: how many answerable questions are answered, with the
answering sentence among the excerpts shown and first; how many off-topic ones get "not found".
The vectors are computed once into `.cache/embeddings` (as `run_bot.py` does).

Usage: .venv/bin/python -m benchmarks.english_bundled [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.service import QAService

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON line instead of the table")
    args = parser.parse_args()
    data = json.loads((ROOT / "tests" / "data" / "english_questions.json").read_text(encoding="utf-8"))
    service = QAService(ROOT / "corpus", cache_dir=ROOT / ".cache", embeddings=True)
    service.load()
    service.embedding_done.wait()
    engine = service.engine
    answered = shown = first = 0
    for item in data["questions"]:
        answer = engine.answer(item["question"], top=3)
        holds = [item["answer"] in excerpt.text for excerpt in answer.results]
        answered += answer.answered
        shown += answer.answered and any(holds)
        first += answer.answered and bool(holds) and holds[0]
    refused = sum(not engine.answer(item).answered for item in data["unanswerable"])
    figures = {
        "questions": len(data["questions"]),
        "answered": answered,
        "answer_shown": shown,
        "answer_first": first,
        "off_topic": len(data["unanswerable"]),
        "off_topic_refused": refused,
    }
    if args.json:
        print(json.dumps(figures))
        return
    n = figures["questions"]
    print("| English questions on the bundled article | count |")
    print("|---|---|")
    print(f"| answered | {answered} / {n} |")
    print(f"| answering sentence among the 3 shown | {shown} / {n} |")
    print(f"| answering sentence first | {first} / {n} |")
    print(f'| off-topic questions told "not found" | {refused} / {figures["off_topic"]} |')


if __name__ == "__main__":
    main()
