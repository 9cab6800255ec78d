"""Memory of the running bot under repeated identical loads (no per-message state kept without bound).

Four waves of 50 users x one question each make a load; the load runs three times, and after
each the traced Python memory is read (tracemalloc; the double's own records dropped first; the
lowest of five settled readings, since work finishing after the last reply is transient). The
figure is the growth from the first reading to the last: bounded state stays flat however many
loads run, an unbounded map of replies grows with every one. `--unbounded` lifts the bound on
remembered replies for the comparison in the same run.
Usage: .venv/bin/python -m benchmarks.discord_memory [--runs 3] [--unbounded]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import tempfile
import tracemalloc
from pathlib import Path

from tests.discord.fixtures import BALAD, mention, running_bot

ROOT = Path(__file__).resolve().parent.parent


async def growth(bound: int) -> list[int]:
    """Traced memory after each of three identical loads (replies remembered up to `bound`)."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        async with running_bot(
            corpus,
            Path(tmp) / "db.sqlite3",
            {"max_messages": 100},
            rate_limit_count=3,
            rate_limit_seconds=0.001,
        ) as env:
            d = env.double
            users = [d.user(f"user{n}") for n in range(50)]
            env.bot.get_cog("Chat").replied.capacity = bound
            gc.collect()
            tracemalloc.start()
            readings = []
            for _ in range(4):  # the first load warms caches; the three after it are compared
                mark = len(d.requests)
                for _ in range(4):
                    await asyncio.gather(*(mention(d, u, BALAD) for u in users))
                    await asyncio.sleep(0.05)
                for _ in range(600):
                    if len(d.sent(mark)) >= 200:
                        break
                    await asyncio.sleep(0.02)
                d.requests.clear()
                d.messages.clear()
                settled = []
                for _ in range(5):
                    await asyncio.sleep(0.05)
                    gc.collect()
                    settled.append(tracemalloc.get_traced_memory()[0])
                readings.append(min(settled))
            tracemalloc.stop()
            return readings[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--unbounded", action="store_true", help="also run with no bound on remembered replies"
    )
    args = parser.parse_args()
    cases = [("bounded (100 replies)", 100)] + ([("unbounded", 10**9)] if args.unbounded else [])
    print(f"{'case':<22} {'growth kB, load 2 -> 4 (one per run)':<40}")
    for name, bound in cases:
        grown = []
        for _ in range(args.runs):
            readings = asyncio.run(growth(bound))
            grown.append((readings[-1] - readings[0]) / 1000)
        print(f"{name:<22} {', '.join(f'{g:+.0f}' for g in grown)}")


if __name__ == "__main__":
    main()
