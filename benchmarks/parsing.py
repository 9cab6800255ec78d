"""Parsing time against input size: HTML comments and sentence splitting, before and after.

"before" is the code as it was, kept here as the baseline of the same run: comments removed by
`re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL)` over the whole body, and pysbd over a whole
paragraph at once. "after" is `bot.articles.corpus.strip_comments` (one pass, per paragraph) and
`bot.text.split_sentences` (sentencex). Quadratic code doubles its time four times over when the
input doubles; linear code twice. The "before" column stops where it gets too slow.
Usage: .venv/bin/python -m benchmarks.parsing [--max-before-seconds 20]
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

import pysbd

from bot.articles.corpus import strip_comments
from bot.text import split_sentences


def seconds(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def table(name: str, sizes: list[int], make: Callable[[int], str], before, after, limit: float) -> None:
    print(f"\n{name}")
    print(f"{'input KB':>9} {'before s':>9} {'after s':>8}")
    too_slow = False
    for n in sizes:
        text = make(n)
        old = None if too_slow else seconds(lambda: before(text))  # noqa: B023
        too_slow = too_slow or (old is not None and old > limit / 4)
        new = seconds(lambda: after(text))  # noqa: B023
        print(f"{len(text) / 1000:>9.0f} {'-' if old is None else f'{old:.2f}':>9} {new:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-before-seconds", type=float, default=20.0)
    args = parser.parse_args()
    table(
        "unclosed '<!--' in a body (a page about HTML, or a hostile upload)",
        [2_500, 5_000, 10_000, 20_000, 40_000, 160_000],
        lambda n: "Début. " + "<!--" * n,
        lambda text: re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL),
        strip_comments,
        args.max_before_seconds,
    )
    sentence = "Le ministre Mot{i} a annoncé mardi une aide de {i} millions à Lyon."
    table(
        "one paragraph of ordinary sentences (a transcript on one line)",
        [250, 500, 1_000, 2_000, 4_000, 16_000],
        lambda n: " ".join(sentence.format(i=i) for i in range(n)),
        lambda text: pysbd.Segmenter(language="fr", clean=False).segment(text),
        split_sentences,
        args.max_before_seconds,
    )
    table(
        "ellipses ('mot...' repeated)",
        [1_000, 2_000, 4_000, 8_000, 32_000],
        lambda n: " ".join(["mot..."] * n),
        lambda text: pysbd.Segmenter(language="fr", clean=False).segment(text),
        split_sentences,
        args.max_before_seconds,
    )


if __name__ == "__main__":
    main()
