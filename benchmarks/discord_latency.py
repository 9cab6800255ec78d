"""End-to-end reply latency through discord.py and the API double (message in -> reply out).

Baseline in the same run: an empty mention, which the bot answers with a fixed hint (same
gateway, REST and reply path, no retrieval), so the ratio shows what answering adds. Each answer
is recorded in the database; with `--engines sqlite postgresql` the same run measures both (a
throwaway PostgreSQL cluster on a unix socket, as the tests start), and votes per second: each
vote is one button press answered by the bot after writing it.
Usage: .venv/bin/python -m benchmarks.discord_latency [--questions 200] [--engines sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tests.discord.fixtures import running_bot

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "Combien de roquettes ont frappé la base de Balad ?",
    "Qui est le porte-parole du Pentagone ?",
    "Combien de soldats américains en Irak ?",
    "Quand la mission de l'OTAN a-t-elle été lancée ?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(n: int, engine: str, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        extra = {"database_url": database_url} if database_url else {}
        async with running_bot(
            corpus, Path(tmp) / "db.sqlite3", rate_limit_count=1000, rate_limit_seconds=0.001, **extra
        ) as env:
            d = env.double
            user = d.user("bench")
            results: dict[str, list[float]] = {"hint (baseline)": [], "answer": []}
            for i in range(n):
                for label, text in (("hint (baseline)", ""), ("answer", QUESTIONS[i % len(QUESTIONS)])):
                    mark = len(d.requests)
                    start = time.perf_counter()
                    await d.send_message(user, f"<@{d.app_id}> {text}", mentions=[d.bot_user])
                    rec = await d.wait_for(
                        lambda r: r.method == "POST" and r.path.endswith("/messages"), after=mark
                    )
                    results[label].append((rec.at - start) * 1000)
            answers = [m for m in d.messages.values() if m.get("components")][: min(n, 100)]
            start = time.perf_counter()
            for k, posted in enumerate(answers):
                button = posted["components"][0]["components"][0]
                mark = len(d.requests)
                press = {"custom_id": button["custom_id"], "component_type": 2}
                await d.interact(d.user(f"voter{k}"), 3, press, message=posted)
                await d.wait_for(lambda r: r.method == "POST" and r.path.endswith("/callback"), after=mark)
            votes_per_second = len(answers) / (time.perf_counter() - start)
    print(f"engine: {engine}; votes recorded, one after another: {votes_per_second:.0f} per second")
    print(f"{'reply':<16} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for label, values in results.items():
        print(
            f"{label:<16} {len(values):>5} {percentile(values, 0.5):>8.2f} {percentile(values, 0.95):>8.2f} "
            f"{statistics.mean(values):>8.2f}"
        )
    base, ans = results["hint (baseline)"], results["answer"]
    print(f"ratio answer/baseline p50: {percentile(ans, 0.5) / percentile(base, 0.5):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--engines", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite"])
    args = parser.parse_args()
    for engine in args.engines:
        if engine == "sqlite":
            asyncio.run(measure(args.questions, engine, None))
            continue
        from tests.storage import postgres

        reason = postgres.available()
        if reason is not None:
            print(f"engine: postgresql skipped: {reason}")
            continue
        with postgres.cluster() as cluster:
            asyncio.run(measure(args.questions, engine, cluster.fresh_database()))


if __name__ == "__main__":
    main()
