"""The second look at doubtful "not found" decisions: when it is taken and what it decides."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from bot.search.abstention import (
    ABSTENTION_FEATURES,
    SECOND_LOOK_FEATURES,
    SecondLook,
    default_abstention,
    excerpt_texts,
    second_look_values,
)
from bot.search.answer import Engine
from bot.service import QAService

FRENCH = "Combien de roquettes sont tombées sur la base aérienne de Balad ?"
ENGLISH = "How many rockets hit the Balad air base?"


def with_second_look(service: QAService, second: SecondLook) -> Engine:
    """The service's engine with the shipped weights but this second look."""
    engine = service.engine
    abstention = dataclasses.replace(default_abstention(), second_look=second)
    return Engine(engine.index, engine.policy, engine.dense, engine.encoder, abstention=abstention)


def constant(intercept: float, band: float) -> SecondLook:
    """A second look that answers (intercept > 0) or refuses (< 0) whatever it reads."""
    return SecondLook(np.zeros(len(ABSTENTION_FEATURES) + len(SECOND_LOOK_FEATURES)), intercept, band)


def test_the_second_look_decides_questions_within_its_band(embedded_service):
    assert with_second_look(embedded_service, constant(1.0, math.inf)).answer(FRENCH).answered
    refused = with_second_look(embedded_service, constant(-1.0, math.inf)).answer(FRENCH)
    assert not refused.answered and not refused.results


def test_outside_its_band_the_first_model_decides(embedded_service):
    shipped = embedded_service.engine.answer(FRENCH)
    answer = with_second_look(embedded_service, constant(-1.0, 0.0)).answer(FRENCH)
    assert shipped.answered and answer.answered
    assert answer.results == shipped.results


def test_questions_across_languages_never_take_the_second_look(embedded_service):
    # The cross-lingual model decides alone: its questions are not what the second look was fitted on.
    assert embedded_service.engine.answer(ENGLISH).answered
    assert with_second_look(embedded_service, constant(-1.0, math.inf)).answer(ENGLISH).answered


def test_the_second_look_margin_sets_the_caveat(embedded_service):
    caution = default_abstention().caution_margin
    assert caution > 0
    just_above = with_second_look(embedded_service, constant(caution / 2, math.inf)).answer(FRENCH)
    well_above = with_second_look(embedded_service, constant(caution + 1, math.inf)).answer(FRENCH)
    assert just_above.answered and just_above.unsure
    assert well_above.answered and not well_above.unsure


def test_second_look_values_are_cosines_and_lengths(embedded_service):
    engine = embedded_service.engine
    sentence = engine.rank(FRENCH).order[0].sentence
    values = second_look_values(engine.index, engine.encoder, FRENCH, engine.encoder.query(FRENCH), sentence)
    assert len(values) == len(SECOND_LOOK_FEATURES)
    cosines, lengths = values[:6], values[6:]
    assert all(-1.0 <= v <= 1.0 + 1e-6 for v in cosines)
    assert all(v > 0 for v in lengths)
    # The window holds the sentence and is no longer than its paragraph.
    assert values[SECOND_LOOK_FEATURES.index("window_tokens")] <= values[-1] + 1e-9


def test_the_window_stays_inside_the_paragraph(engine):
    index = engine.index
    for sentence in range(index.size):
        first, last = index.paragraph_bounds(sentence)
        text, window, paragraph = excerpt_texts(index, sentence)
        assert index.texts[sentence] in text and index.texts[sentence] in window
        inside = " ".join(
            index.texts[i] for i in range(max(first, sentence - 1), min(last, sentence + 1) + 1)
        )
        assert window.endswith(inside) and paragraph.endswith(" ".join(index.texts[first : last + 1]))
        if sentence > 0 and sentence == first:
            assert index.texts[sentence - 1] not in window


def test_the_shipped_weights_have_a_second_look():
    second = default_abstention().second_look
    assert second is not None and second.band > 0
    assert second.weights.shape == (len(ABSTENTION_FEATURES) + len(SECOND_LOOK_FEATURES),)
    assert np.count_nonzero(second.weights[len(ABSTENTION_FEATURES) :]) == len(SECOND_LOOK_FEATURES)
