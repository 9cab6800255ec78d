"""A synthetic French corpus of N sentences, resampled from PIAF with perturbed words.

Sentences are drawn from PIAF's contexts (real French, realistic length distribution); about one
word in six is swapped for another word of the pool and numbers are redrawn, so the vocabulary
grows with N as a wire feed's would. Articles get 20-45 sentences in paragraphs of 2-5.
Generated into a temporary folder, never committed.

Usage: .venv/bin/python -m benchmarks.synth_corpus N OUT_DIR
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIAF = ROOT.parent / "shared" / "data" / "piaf-dev.json"


def piaf_sentences(path: Path = PIAF) -> list[str]:
    """PIAF's contexts cut into sentences with a plain regex (fast; the pool only needs variety)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out: list[str] = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            out += [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-ZÉÈÀ])", para["context"]) if len(s) > 20]
    return out


def synthetic_sentences(n: int, seed: int = 7) -> Iterator[str]:
    """`n` perturbed sentences."""
    rng = random.Random(seed)
    pool = piaf_sentences()
    words = [w for s in pool for w in s.split() if w.isalpha() and len(w) > 3]
    for _ in range(n):
        tokens = rng.choice(pool).split()
        for i, token in enumerate(tokens):
            if token.isdigit():
                tokens[i] = str(rng.randint(1, 5000))
            elif rng.random() < 0.16 and token.isalpha():
                tokens[i] = rng.choice(words) + (
                    rng.choice(["", "", "s", "e", "ent"]) if rng.random() < 0.3 else ""
                )
        yield " ".join(tokens)


def write_corpus(n: int, out: Path, seed: int = 7) -> int:
    """Write Markdown articles holding `n` sentences in total into `out`; return the article count."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + 1)
    sentences = synthetic_sentences(n, seed)
    written = 0
    remaining = n
    while remaining > 0:
        size = min(remaining, rng.randint(20, 45))
        remaining -= size
        paragraphs: list[str] = []
        left = size
        while left > 0:
            k = min(left, rng.randint(2, 5))
            paragraphs.append(" ".join(next(sentences) for _ in range(k)))
            left -= k
        title = f"Dépêche {written:06d} : " + " ".join(paragraphs[0].split()[:8])
        header = json.dumps({"title": title, "source": "Synthétique", "language": "fr"}, ensure_ascii=False)
        # JSON is valid YAML: a flow mapping on one line.
        text = f"---\n{header}\n---\n\n" + "\n\n".join(paragraphs) + "\n"
        (out / f"a{written:06d}.md").write_text(text, encoding="utf-8")
        written += 1
    return written


if __name__ == "__main__":
    count = write_corpus(int(sys.argv[1]), Path(sys.argv[2]))
    print(f"{count} articles written to {sys.argv[2]}")
