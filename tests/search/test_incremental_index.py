"""An index updated in place (articles added and removed) scores exactly as a full build of the
same articles: random corpora, random sequences of changes, random questions."""

from __future__ import annotations

import numpy as np
import pytest

from bot.articles.models import Article, Paragraph, Sentence, sentence_id
from bot.search.index import SearchIndex

WORDS = [f"mot{i}" for i in range(80)] + ["roquette", "base", "balad", "erbil", "otan", "2 500"]


def random_article(rng: np.random.Generator, n: int) -> Article:
    paragraphs = []
    for p in range(int(rng.integers(0, 2)), int(rng.integers(2, 5))):  # some have a summary (0)
        texts = [
            " ".join(rng.choice(WORDS, size=int(rng.integers(2, 14)))) + "."
            for _ in range(int(rng.integers(1, 4)))
        ]
        sentences = tuple(Sentence(id=sentence_id(f"a{n}", p, i), text=t) for i, t in enumerate(texts, 1))
        paragraphs.append(Paragraph(number=p, text=" ".join(texts), sentences=sentences))
    return Article(
        id=f"a{n}",
        title=" ".join(rng.choice(WORDS, size=3)) + f" {n}",
        source="test",
        language="fr",
        path=f"a{n}.md",
        checksum=f"{n:064d}",
        paragraphs=tuple(paragraphs),
    )


def scores_by_sentence(index: SearchIndex, terms: list[str]) -> dict[str, float]:
    ids = [index.vocab[t] for t in terms if t in index.vocab]
    sent = index.sentences.scores(ids)
    para = index.paragraphs.scores(ids)[index.sent_para_index]
    return {index.sentence_id(i): float(sent[i] + para[i]) for i in range(index.size)}


def assert_same_index(updated: SearchIndex, full: SearchIndex, rng: np.random.Generator) -> None:
    assert updated.version == full.version
    assert [a.id for a in updated.articles] == [a.id for a in full.articles]
    assert list(updated.texts) == list(full.texts)
    for name in ("sent_article", "sent_paragraph", "sent_para_index", "sent_position"):
        np.testing.assert_array_equal(getattr(updated, name), getattr(full, name))
    for _ in range(15):
        terms = [str(t) for t in rng.choice(WORDS, size=int(rng.integers(1, 5)))]
        question = " ".join(terms)
        ours, theirs = (
            scores_by_sentence(updated, full.query_terms(question)),
            scores_by_sentence(full, full.query_terms(question)),
        )
        assert ours.keys() == theirs.keys()
        np.testing.assert_allclose([ours[k] for k in theirs], list(theirs.values()), rtol=1e-6, atol=1e-6)
        for k in (1, 5, 20):
            a = [(updated.sentence_id(c.sentence), c.score) for c in updated.rank(_ids(updated, question), k)]
            b = [(full.sentence_id(c.sentence), c.score) for c in full.rank(_ids(full, question), k)]
            assert [x for x, _ in a] == [x for x, _ in b]
            np.testing.assert_allclose([s for _, s in a], [s for _, s in b], rtol=1e-6, atol=1e-6)


def _ids(index: SearchIndex, question: str) -> list[int]:
    return [tid for tid in index.resolve_terms(index.query_terms(question)).values() if tid is not None]


@pytest.mark.parametrize("seed", range(6))
def test_adds_and_removes_score_as_a_full_build(seed):
    rng = np.random.default_rng(seed)
    made = iter(range(10_000))
    served = [random_article(rng, next(made)) for _ in range(int(rng.integers(1, 30)))]
    index = SearchIndex.build(served)
    for _ in range(6):
        removed = [a.id for a in served if rng.random() < 0.2]
        added = [random_article(rng, next(made)) for _ in range(int(rng.integers(0, 6)))]
        index = index.updated(added, removed)
        served = [a for a in served if a.id not in removed] + added
        assert_same_index(index, SearchIndex.build(served), rng)


def test_removing_every_article_and_adding_back(tmp_path):
    rng = np.random.default_rng(9)
    articles = [random_article(rng, n) for n in range(5)]
    index = SearchIndex.build(articles)
    empty = index.updated([], [a.id for a in articles])
    assert empty.size == 0 and empty.articles == () and empty.rank(_ids(empty, "mot1 mot2"), 5) == []
    again = empty.updated(articles[:2], [])
    assert_same_index(again, SearchIndex.build(articles[:2]), rng)


def test_a_term_only_removed_articles_had_is_unknown_again():
    rng = np.random.default_rng(3)
    rare = random_article(rng, 1).model_copy(update={"title": "Zanzibar", "id": "rare"})
    common = [random_article(rng, n) for n in range(2, 6)]
    index = SearchIndex.build([rare, *common]).updated([], ["rare"])
    full = SearchIndex.build(common)
    assert index.resolve_terms(["zanzibar"]) == full.resolve_terms(["zanzibar"])
    assert index.idf(index.resolve_terms(["zanzibar"])["zanzibar"]) == full.idf(None)
