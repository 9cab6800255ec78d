"""Answers: the right excerpt, cited; the same for accent-less questions; honest "not found"."""

import pytest

from bot import messages

BALAD = "Combien de roquettes ont frappé la base de Balad ?"


def test_balad_question_is_answered_with_the_seven_rockets_sentence(engine):
    answer = engine.answer(BALAD)
    assert answer.answered
    best = answer.results[0]
    assert "Au moins sept roquettes" in best.text
    assert best.article == "Sept roquettes frappent des positions américaines en Irak"
    assert best.paragraph == 1
    assert best.source == "Atalayar"
    assert {"roquettes", "Balad"} <= set(best.matched)


@pytest.mark.parametrize(
    "variant",
    [
        "combien de roquettes ont frappe la base de balad",
        "COMBIEN DE ROQUETTES ONT FRAPPÉ LA BASE DE BALAD ?",
        "combien de roquetes ont frape la base de balad",
    ],
)
def test_variants_give_the_same_top_excerpt(engine, variant):
    assert engine.answer(variant).results[0].text == engine.answer(BALAD).results[0].text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Qui est le porte-parole du Pentagone ?", "John F. Kirby"),
        ("Combien de soldats américains en Irak ?", "2 500 soldats"),
        ("Combien de blesses a Erbil ?", "huit autres"),
        ("Stoltenbrg mission OTAN", "Jens Stoltenberg"),
    ],
)
def test_reader_questions_find_their_sentence_in_the_top_three(engine, question, expected):
    answer = engine.answer(question)
    assert answer.answered
    assert any(expected in r.text for r in answer.results)


@pytest.mark.parametrize("question", ["", "   ", "?!", "le la les de", "hello", "bonjour"])
def test_empty_or_meaningless_questions_are_not_found(engine, question):
    answer = engine.answer(question)
    assert not answer.answered and answer.results == []
    assert messages.not_found_reason(answer.reason, "en")


@pytest.mark.parametrize(
    "question",
    [
        "Quelle est la capitale de l'Australie ?",
        "Qui a gagné la coupe du monde de football ?",
        "Quel est le prix du pétrole à Londres ?",
    ],
)
def test_questions_the_corpus_never_answers_are_not_found(engine, question):
    answer = engine.answer(question)
    assert not answer.answered, answer.results
    assert answer.results == []


def test_not_found_may_suggest_the_closest_article(engine):
    answer = engine.answer("Quelle est la capitale de l'Australie ?")
    assert answer.suggestions in ([], ["Sept roquettes frappent des positions américaines en Irak"])


def test_excerpt_count_is_bounded(engine):
    assert len(engine.answer(BALAD, top=1).results) == 1
    assert 1 <= len(engine.answer(BALAD, top=10).results) <= 10


def test_a_5000_character_question_is_answered_or_refused_quickly(engine):
    answer = engine.answer("roquettes Balad " + "x" * 5000)
    assert answer.question.startswith("roquettes")


def test_an_answer_within_one_article_cites_only_it_and_an_unknown_article_means_everywhere(tmp_path):
    from bot.articles.corpus import load_corpus
    from bot.service import build_engine
    from tests.conftest import corpus_with_bundled_article, write_article

    folder = corpus_with_bundled_article(tmp_path)
    write_article(
        folder,
        "roquettes-gaza.md",
        "Trois roquettes ont été tirées depuis Gaza vers Sderot dans la nuit, sans faire de victime.",
        title="Roquettes tirées depuis Gaza",
        source="Test",
    )
    engine = build_engine(load_corpus(folder))
    question = "Combien de roquettes ont été tirées ?"
    everywhere = engine.answer(question)
    assert {e.article_id for e in everywhere.results} >= {"roquettes-gaza"}
    within = engine.answer(question, within="balad")
    assert within.results and {e.article_id for e in within.results} == {"balad"}
    assert engine.answer(question, within="no-such-article") == everywhere


def test_a_news_question_naming_the_story_in_the_title_is_answered_without_embeddings(tmp_path):
    """The place is only in the title and the lede; the fact, in a later paragraph, with another
    form of the verb ("repris"/"reprendre"): the question still counts as covered."""
    from bot.articles.corpus import load_corpus
    from bot.service import build_engine
    from tests.conftest import corpus_with_bundled_article, write_article

    folder = corpus_with_bundled_article(tmp_path)
    write_article(
        folder,
        "fromagerie.md",
        "La fromagerie de Saint-Varenne, ravagée par un incendie en janvier, a rouvert ses portes lundi.\n\n"
        "Les travaux ont duré quatre mois. Le four et la cave d'affinage ont été refaits à neuf.\n\n"
        "Selon la direction, trente-huit ouvriers ont pu reprendre le travail dès la première semaine. "
        "Les dix autres reviendront en juin.",
        title='"Saint-Varenne : la fromagerie rouvre après l\'incendie"',
        source="Test",
    )
    engine = build_engine(load_corpus(folder))  # no embeddings: as while an article waits for them
    answer = engine.answer("Combien d'ouvriers ont repris le travail à Saint-Varenne ?")
    assert answer.answered
    assert answer.coverage == 1.0  # each half alone: 0.79 (verb forms) or 0.5 (title and lede)
    assert answer.results[0].text.startswith("Selon la direction, trente-huit ouvriers")
