"""The sentence splitter against the one it replaced: boundary agreement and time.

"before" is pysbd (`pysbd.Segmenter("fr", clean=False)`, with the glue for initials the code had),
"after" is `bot.text.split_sentences` (sentencex). Both see the same cleaned paragraphs. A boundary
is the number of non-space characters before a sentence end, so spacing never counts as a
disagreement. Prints, per text set: paragraphs split identically, boundaries of each found by the
other (recall of pysbd's, precision), and seconds per 1,000 paragraphs.
Usage: .venv/bin/python -m benchmarks.splitter [--piaf ../shared/data/piaf-dev.json] [--corpus corpus]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pysbd

from bot.articles.corpus import load_corpus
from bot.text import _SPACES, clean_text, split_sentences

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "benchmarks" / "data" / "news_questions.json"
_INITIAL = re.compile(r"(?:^|[\s(])[A-Z]\.$")


@cache
def _pysbd(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False)


def pysbd_split(paragraph: str, language: str = "fr") -> list[str]:
    """The former splitter: pysbd, then pieces after a lone capital initial glued back."""
    paragraph = _SPACES.sub(" ", clean_text(paragraph).replace("\n", " ")).strip()
    sentences: list[str] = []
    for piece in _pysbd(language).segment(paragraph):
        piece = piece.strip()
        if not piece:
            continue
        if sentences and _INITIAL.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def boundaries(sentences: list[str]) -> set[int]:
    """Sentence ends as counts of non-space characters (the last end excluded: it is the text's)."""
    ends, total = set(), 0
    for sentence in sentences[:-1]:
        total += len("".join(sentence.split()))
        ends.add(total)
    return ends


def timed(split: Callable[[str], list[str]], paragraphs: list[str]) -> tuple[list[list[str]], float]:
    start = time.perf_counter()
    out = [split(p) for p in paragraphs]
    return out, time.perf_counter() - start


def compare(name: str, paragraphs: list[str]) -> None:
    before, before_s = timed(pysbd_split, paragraphs)
    after, after_s = timed(split_sentences, paragraphs)
    same = sum(a == b for a, b in zip(before, after, strict=True))
    old = [boundaries(s) for s in before]
    new = [boundaries(s) for s in after]
    shared = sum(len(a & b) for a, b in zip(old, new, strict=True))
    old_total, new_total = sum(map(len, old)), sum(map(len, new))
    per_k = 1000 / max(len(paragraphs), 1)
    print(
        f"| {name} | {len(paragraphs)} | {same} ({same / len(paragraphs):.1%}) "
        f"| {shared}/{old_total} ({shared / max(old_total, 1):.1%}) "
        f"| {shared}/{new_total} ({shared / max(new_total, 1):.1%}) "
        f"| {before_s * per_k:.2f} | {after_s * per_k:.3f} | ×{before_s / max(after_s, 1e-9):.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--piaf", type=Path, default=ROOT.parent / "shared" / "data" / "piaf-dev.json")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    args = parser.parse_args()
    print(
        "| texts | paragraphs | split identically | pysbd's boundaries kept | sentencex's shared "
        "| pysbd s / 1k | sentencex s / 1k | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|")
    data = json.loads(args.piaf.read_text(encoding="utf-8"))["data"]
    compare("PIAF dev", [p["context"] for article in data for p in article["paragraphs"]])
    news = json.loads(NEWS.read_text(encoding="utf-8"))["data"]
    compare("news set pages", [p["context"] for article in news for p in article["paragraphs"]])
    corpus = load_corpus(args.corpus)
    compare(
        f"{args.corpus.name}/ (news)",
        [" ".join(s.text for s in p.sentences) for article in corpus.articles for p in article.paragraphs],
    )


if __name__ == "__main__":
    main()
