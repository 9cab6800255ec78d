"""English questions over the French article, through the sentence-embedding signal."""

from __future__ import annotations

import json

import pytest

from bot.service import QAService
from tests.conftest import ROOT

QUESTIONS = json.loads((ROOT / "tests" / "data" / "english_questions.json").read_text(encoding="utf-8"))[
    "questions"
]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    service = QAService(ROOT / "corpus", cache_dir=tmp_path_factory.mktemp("cache"), embeddings=True)
    assert service.load().ok
    assert service.embedding_done.wait(120)
    assert service.engine.dense is not None and service.engine.dense.coverage == service.engine.index.size
    return service


def test_english_questions_find_their_sentence_in_the_top_three(service):
    hits = [
        any(q["answer"] in r.text for r in service.engine.answer(q["question"], top=3).results)
        for q in QUESTIONS
    ]
    rate = sum(hits) / len(hits)
    print(f"English set: hit@3 = {rate:.3f} over {len(hits)} questions")
    # Measured 0.733 (the issue asks 0.8: not reached yet); this guards the level.
    assert rate >= 0.6


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Australia?",
        "Who won the football World Cup?",
        "Quelle est la capitale de l'Australie ?",
        "Qui a gagné la coupe du monde de football ?",
    ],
)
def test_questions_the_article_does_not_answer_stay_not_found(service, question):
    assert not service.engine.answer(question).answered


def test_vectors_are_cached_per_article_and_reused(service, tmp_path):
    again = QAService(ROOT / "corpus", cache_dir=service.cache_dir, embeddings=True)
    again.load()
    # Everything was cached: the engine has its vectors before any background work.
    assert again.engine.dense is not None and again.engine.dense.coverage == again.engine.index.size


def test_dense_index_reranks_only_candidates_above_the_full_scan_limit():
    import numpy as np

    from bot.embeddings import DenseIndex, quantise

    vectors = quantise(np.eye(4, 512, dtype=np.float32))
    dense = DenseIndex(np.array([0, 1, 2, 3]), vectors)
    query = np.eye(1, 512, 2, dtype=np.float32)[0]
    rows, sims = dense.similarities(query)
    assert list(rows) == [0, 1, 2, 3] and sims.argmax() == 2
    dense.full_scan_limit = 2
    rows, sims = dense.similarities(query, np.array([1, 2, 7]))
    assert list(rows) == [1, 2] and sims[1] > 0.99 and abs(sims[0]) < 0.01
