"""The learned combination: its weights file, its features, and the per-article vector cache."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.search.abstention import ABSTENTION_FEATURES, CROSS_LINGUAL_FEATURES, Abstention, default_abstention
from bot.search.embeddings import DIMENSIONS, ArticleVectors, EmbeddingCache, Similarities, quantise
from bot.search.index import Candidate
from bot.search.ranking import (
    DENSE_FEATURES,
    FEATURES,
    WEIGHTS_FILE,
    QuestionSignals,
    RankingWeights,
    TitleTerms,
    candidate_pool,
    features,
)


def test_shipped_weights_cover_known_features_only_and_were_learned():
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert set(data["weights"]["dense"]) <= set(FEATURES)
    assert not set(data["weights"]["lexical"]) & set(DENSE_FEATURES)
    assert "command" in data and "figures" in data  # reproducible and reported
    weights = RankingWeights.load()
    assert weights.dense.shape == (len(FEATURES),) and np.any(weights.dense != 0)


def test_a_weights_file_naming_an_unknown_feature_is_refused(tmp_path):
    path = tmp_path / "ranker.json"
    path.write_text(
        json.dumps(
            {
                "weights": {"lexical": {"bm25": 1}, "dense": {"shoe_size": 1}},
                "abstention": {
                    "weights": {},
                    "intercept": 0,
                    "cross_lingual": {"weights": {}, "intercept": 0},
                },
            }
        )
    )
    with pytest.raises(ValueError, match="shoe_size"):
        RankingWeights.load(path)


def test_pool_adds_nearest_sentences_by_meaning_after_lexical_ones():
    lexical = [Candidate(5, 2.0, 1.5, 0.5), Candidate(2, 1.0, 1.0, 0.0)]
    dense = Similarities(np.array([1, 2, 3, 9]), np.array([0.1, 0.9, 0.8, 0.2]), np.zeros(4))
    assert candidate_pool(lexical, dense, depth=2) == [5, 2, 3]
    assert candidate_pool(lexical, None, depth=2) == [5, 2]


def test_features_without_embeddings_leave_dense_columns_at_zero(engine):
    index = engine.index
    query = engine.lexical_query("Combien de roquettes ont frappé Balad ?", 5)
    known = {tid: index.idf(tid) for tid in query.known_ids}
    signals = QuestionSignals(known, frozenset(query.terms), "quantity")
    pool = [c.sentence for c in query.candidates]
    rows = features(index, pool, query.candidates, signals, None, TitleTerms(index))
    assert rows.shape == (len(pool), len(FEATURES))
    dense_columns = [FEATURES.index(name) for name in DENSE_FEATURES]
    assert not rows[:, dense_columns].any()
    assert rows[0, FEATURES.index("bm25")] == 1.0  # the best lexical candidate, normalised
    assert rows[0, FEATURES.index("quantity")] == 1.0  # "Au moins sept roquettes..."
    assert np.all((rows[:, FEATURES.index("sentence_coverage")] >= 0) & (rows[:, 3] <= 1))


def test_dense_features_rank_the_most_similar_candidate_first(engine):
    index = engine.index
    query = engine.lexical_query("roquettes Balad", 3)
    pool = [c.sentence for c in query.candidates]
    sims = np.linspace(0.2, 0.9, len(pool))  # the last candidate is the most similar
    order = np.argsort(pool)
    dense = Similarities(np.array(pool)[order], sims[order], sims[order])
    signals = QuestionSignals({}, frozenset(query.terms), None)
    rows = features(index, pool, query.candidates, signals, dense, TitleTerms(index))
    rank = rows[:, FEATURES.index("dense_rank")]
    assert rank[-1] == 1.0 and rank.argmax() == len(pool) - 1
    assert rows[-1, FEATURES.index("dense_gap")] == 0.0


def test_vector_cache_round_trips_and_rejects_what_does_not_fit(tmp_path):
    cache = EmbeddingCache(tmp_path)
    vectors = ArticleVectors(
        quantise(np.eye(3, DIMENSIONS, dtype=np.float32)), quantise(np.eye(1, DIMENSIONS, dtype=np.float32))
    )
    cache.put("abc", vectors)
    found = cache.get("abc", 3, 1)
    assert found is not None and np.array_equal(found.sentences, vectors.sentences)
    assert cache.get("abc", 4, 1) is None  # the article changed shape: recompute, never misalign
    assert cache.get("missing", 3, 1) is None
    cache.path("abc").write_bytes(b"truncated")
    assert cache.get("abc", 3, 1) is None


def test_answers_just_above_the_not_found_decision_are_unsure_in_the_same_language_only():
    # log-odds = 2 * coverage - 1 (other signals weigh 0); caveat band [0, 0.5)
    weights = np.zeros(len(ABSTENTION_FEATURES))
    weights[ABSTENTION_FEATURES.index("coverage")] = 2.0
    model = Abstention(weights, -1.0, np.ones(len(CROSS_LINGUAL_FEATURES)), -1.0, caution_margin=0.5)
    signals = np.zeros(len(ABSTENTION_FEATURES))
    for coverage, answered, unsure in (
        (0.4, False, False),
        (0.5, True, True),
        (0.7, True, True),
        (0.75, True, False),
    ):
        signals[ABSTENTION_FEATURES.index("coverage")] = coverage
        assert (model.margin(signals, cross_lingual=False) >= 0) is answered
        assert model.unsure(model.margin(signals, cross_lingual=False), cross_lingual=False) is unsure
    signals[:] = 0.4  # across languages: similarity etc. sum to 1.2 - 1 = 0.2, inside the band
    margin = model.margin(signals, cross_lingual=True)
    assert margin >= 0 and not model.unsure(margin, cross_lingual=True)


def test_the_shipped_not_found_model_has_a_caution_band():
    assert default_abstention().caution_margin > 0


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_vectors_are_discarded_not_raised(tmp_path, damage, caplog):
    cache = EmbeddingCache(tmp_path)
    vectors = ArticleVectors(
        quantise(np.eye(3, DIMENSIONS, dtype=np.float32)), quantise(np.eye(1, DIMENSIONS))
    )
    cache.put("abc", vectors)
    raw = bytearray(cache.path("abc").read_bytes())
    if damage == "flip":  # inside the compressed member: the zip's CRC no longer matches
        raw[len(raw) // 3] ^= 16
    else:
        raw = raw[: len(raw) // 2]
    cache.path("abc").write_bytes(bytes(raw))
    assert cache.get("abc", 3, 1) is None
    assert not cache.path("abc").exists() and "damaged sentence vectors" in caplog.text


def _row_of(engine, question: str, text_start: str):
    index = engine.index
    found = engine.candidate_features(question)
    rows = {index.texts[s]: row for s, row in zip(found.pool, found.rows, strict=True)}
    return next(row for text, row in rows.items() if text.startswith(text_start))


def test_a_sentence_leaning_on_the_one_before_gets_its_words(engine):
    """ "Personne n'a été blessé." says nothing of Bagdad: the sentence before it does."""
    row = _row_of(engine, "Des blessés dans la zone verte de Bagdad ?", "Personne n'a été blessé")
    assert row[FEATURES.index("previous_coverage")] > 0.5
    assert row[FEATURES.index("first_in_paragraph")] == 0.0
    opening = _row_of(engine, "Des blessés dans la zone verte de Bagdad ?", "Le 15 février")
    assert opening[FEATURES.index("first_in_paragraph")] == 1.0
    assert opening[FEATURES.index("previous_coverage")] == 0.0


def test_a_yes_no_question_marks_the_sentences_that_say_no(engine):
    question = "Des soldats américains étaient-ils sur la base pendant les attaques ?"
    assert _row_of(engine, question, "Pendant les attaques")[FEATURES.index("says_no")] == 1.0
    assert _row_of(engine, question, "La base de Balad est")[FEATURES.index("says_no")] == 0.0
    plain = "Quels soldats occupent la base de Balad ?"
    assert _row_of(engine, plain, "Pendant les attaques")[FEATURES.index("says_no")] == 0.0


def test_story_coverage_counts_the_title_and_lede_words_a_sentence_lacks(engine):
    """The article's title says "positions américaines"; the sentence does not."""
    row = _row_of(
        engine, "Combien d'hommes l'OTAN enverra-t-elle près des positions américaines ?", "De son côté"
    )
    assert row[FEATURES.index("story_coverage")] > 0.0
    assert row[FEATURES.index("sentence_coverage")] < 1.0
