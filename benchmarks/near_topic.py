"""How often are near-topic questions — about the corpus's subjects, but not answered by it —
told "not found"? The known weak spot of the not-found decision, measured two ways:

1. PIAF dev, held-out split: each question asked of the corpus without its own *paragraph*
   (its article's other paragraphs stay: same subject, same names). Questions whose answer
   text still occurs in the rest of the article are left out (they may still be answerable).
   Recall of "not found" next to the article-removed recall that `eval --abstention` reports.
2. `benchmarks/data/near_topic_questions.json`: our own French and English questions about the
   bundled article's subjects that it does not answer; how many get "not found".

The sentence vectors of the full corpus are reused (a removed paragraph's rows are dropped), so
nothing is embedded again. Usage: .venv/bin/python -m benchmarks.near_topic   (about 2 minutes)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.train_ranker import PIAF
from bot.articles.corpus import load_corpus
from bot.articles.models import Corpus
from bot.search.answer import Engine
from bot.search.embeddings import DenseIndex, EmbeddingCache, Encoder
from bot.search.evaluate import EvalQuestion, EvalSet, load_squad, split_questions
from bot.search.index import SearchIndex
from bot.service import build_engine
from bot.text import fold

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = ROOT / "benchmarks" / "data" / "near_topic_questions.json"


def without_paragraph(full: Engine, evalset: EvalSet, article_id: str, number: int) -> Engine | None:
    """The engine of the corpus minus one paragraph, its vectors taken from `full`'s."""
    position = next(k for k, a in enumerate(evalset.corpus.articles) if a.id == article_id)
    article = evalset.corpus.articles[position]
    kept = tuple(p for p in article.paragraphs if p.number != number)
    if not kept or full.dense is None or full.dense.coverage != full.index.size:
        return None
    articles = list(evalset.corpus.articles)
    articles[position] = article.model_copy(update={"paragraphs": kept})
    index = SearchIndex.build(Corpus(articles=tuple(articles), version=f"without-{article_id}-{number}"))
    old = full.index
    gone = np.flatnonzero((old.sent_article == position) & (old.sent_paragraph == number))
    dense = full.dense
    paragraph = int(dense.row_paragraph[gone[0]])
    row_paragraph = np.delete(dense.row_paragraph, gone)
    row_paragraph[row_paragraph > paragraph] -= 1
    vectors = DenseIndex(
        np.arange(index.size),
        np.delete(dense.vectors, gone, axis=0),
        np.delete(dense.paragraphs, paragraph, axis=0),
        row_paragraph,
    )
    return Engine(index, dense=vectors, encoder=full.encoder)


def paragraph_removed_recall(
    full: Engine, evalset: EvalSet, questions: list[EvalQuestion]
) -> tuple[float, float, int]:
    """Shares of questions told "not found", and answered with the "may not answer" caveat,
    once their paragraph is gone; and how many were asked."""
    answers: dict[str, list[str]] = {}
    for entry in json.loads(Path(PIAF).read_text(encoding="utf-8"))["data"]:
        for para in entry["paragraphs"]:
            for qa in para["qas"]:
                answers.setdefault(qa["question"], []).extend(a["text"] for a in qa.get("answers", []))
    groups: dict[tuple[str, int], list[EvalQuestion]] = {}
    for q in questions:
        number = int(next(iter(q.gold)).split("#p")[1].split("s")[0])
        groups.setdefault((q.article_id, number), []).append(q)
    asked = refused = unsure = 0
    for (article_id, number), items in groups.items():
        engine = without_paragraph(full, evalset, article_id, number)
        if engine is None:
            continue
        position = [a.id for a in engine.index.articles].index(article_id)
        rest = " ".join(fold(engine.index.texts[s]) for s in engine.index.article_rows(position))
        for q in items:
            if any(fold(text).strip() and fold(text).strip() in rest for text in answers.get(q.question, [])):
                continue  # the answer is still in the article: not a fair "not found" case
            asked += 1
            answer = engine.answer(q.question)
            refused += not answer.answered
            unsure += answer.unsure
    return refused / max(asked, 1), unsure / max(asked, 1), asked


def main() -> None:
    vectors, encoder = EmbeddingCache(ROOT / ".cache" / "embeddings"), Encoder()
    evalset = load_squad(PIAF)
    full = build_engine(evalset.corpus, vectors, encoder)
    recall, unsure, asked = paragraph_removed_recall(full, evalset, split_questions(evalset, "heldout"))
    print(
        f"PIAF held-out, own paragraph removed: 'not found' for {recall:.3f} of {asked} questions, "
        f"answered with the caveat {unsure:.3f}"
    )

    bundled = build_engine(load_corpus(ROOT / "corpus"), vectors, encoder)
    sets = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    for language in ("french", "english"):
        answers = [bundled.answer(q) for q in sets[language]]
        refused, unsure = sum(not a.answered for a in answers), sum(a.unsure for a in answers)
        total = len(answers)
        print(
            f"bundled article, near-topic {language} questions: 'not found' for {refused} of {total}, "
            f"the caveat for {unsure}"
        )


if __name__ == "__main__":
    main()
