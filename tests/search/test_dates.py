"""Time in questions: periods read against today, articles published then answer first, the
newest first when the latest is asked for or when two articles say the same thing."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.articles.corpus import load_corpus
from bot.search import answer_news
from bot.search.dates import latest_words, period_in
from bot.service import build_engine
from tests.conftest import corpus_with_bundled_article, write_article

TODAY = dt.date(2026, 12, 2)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("Que s'est-il passé hier à Erbil ?", "2026-12-01", "2026-12-01"),
        ("Et avant-hier ?", "2026-11-30", "2026-11-30"),
        ("Quoi de prévu aujourd’hui ?", "2026-12-02", "2026-12-02"),
        ("Les nouvelles de cette semaine", "2026-11-30", "2026-12-02"),
        ("Qu'a dit le ministre la semaine dernière ?", "2026-11-23", "2026-11-29"),
        ("What happened last week in Baghdad?", "2026-11-23", "2026-11-29"),
        ("Le mois dernier, combien d'attaques ?", "2026-11-01", "2026-11-30"),
        ("Que s'est-il passé le 3 mars ?", "2026-03-03", "2026-03-03"),
        ("Et le 25 décembre ?", "2025-12-25", "2025-12-25"),  # not yet this year: last year's
        ("Le 1er mai 2024 à Paris", "2024-05-01", "2024-05-01"),
        ("What happened on March 3, 2021?", "2021-03-03", "2021-03-03"),
        ("Les attaques en 2021", "2021-01-01", "2021-12-31"),
        ("Qu'est-ce qui a changé en février ?", "2026-02-01", "2026-02-28"),
    ],
)
def test_periods_are_read_against_today(question, start, end):
    period = period_in(question, TODAY)
    assert period is not None and (period.start.isoformat(), period.end.isoformat()) == (start, end)


@pytest.mark.parametrize(
    "question",
    ["Mars a-t-il des lunes ?", "Combien de roquettes ?", "Le 31 février ?", "Qui a tiré 14 roquettes ?"],
)
def test_no_period_where_none_is_named(question):
    assert period_in(question, TODAY) is None


def test_asking_for_the_latest():
    assert latest_words("Quelles sont les dernières nouvelles sur l'Irak ?") == "dernieres nouvelles"
    assert latest_words("What is the latest on Erbil?") == "latest"
    assert latest_words("Quelle est la dernière attaque ?") is None


@pytest.fixture
def news(tmp_path):
    folder = corpus_with_bundled_article(tmp_path)
    write_article(
        folder,
        "port-ferme.md",
        "Le port de Brest est fermé aux navires de commerce à cause de la tempête.",
        title="Tempête, le port de Brest fermé",
        source="Test",
        published="2026-11-24",
    )
    write_article(
        folder,
        "port-rouvre.md",
        "Le port de Brest a rouvert aux navires de commerce après la tempête.",
        title="Le port de Brest rouvre",
        source="Test",
        published="2026-12-01",
    )
    return build_engine(load_corpus(folder))


def test_articles_published_in_the_named_period_answer_first(news):
    yesterday = answer_news(news, "Le port de Brest et les navires de commerce, hier ?", today=TODAY)
    assert yesterday.answered and [e.article_id for e in yesterday.results] == ["port-rouvre"]
    last_week = answer_news(
        news, "Le port de Brest et les navires de commerce la semaine dernière ?", today=TODAY
    )
    assert last_week.answered and [e.article_id for e in last_week.results] == ["port-ferme"]
    named = answer_news(news, "Le port de Brest le 24 novembre ?", today=TODAY)
    assert [e.article_id for e in named.results] == ["port-ferme"]
    assert named.question == "Le port de Brest le 24 novembre ?"


def test_a_date_no_article_was_published_on_is_still_searched_in_the_text(news):
    # "le 15 février" names an event the Balad article tells; nothing was published then.
    answer = answer_news(news, "Quelle base a été touchée le 15 février ?", today=TODAY)
    assert answer.answered and answer.results[0].article_id == "balad"


def test_the_latest_news_comes_first(news):
    plain = answer_news(news, "Le port de Brest et les navires de commerce", today=TODAY)
    latest = answer_news(
        news, "Les dernières nouvelles du port de Brest et des navires de commerce", today=TODAY
    )
    assert {e.article_id for e in plain.results} == {"port-ferme", "port-rouvre"}
    assert [e.article_id for e in latest.results] == ["port-rouvre", "port-ferme"]
    assert [e.published for e in latest.results] == ["2026-12-01", "2026-11-24"]


def test_the_same_sentence_in_two_articles_is_cited_from_the_newest(tmp_path):
    folder = corpus_with_bundled_article(tmp_path)
    sentence = "La préfecture a interdit la baignade sur les plages de Crozon jusqu'à nouvel ordre."
    for name, published in (("afp-older", "2026-07-01"), ("afp-newer", "2026-07-03"), ("afp-undated", None)):
        meta = {"title": f"Baignade interdite ({name})", "source": "Test"}
        if published:
            meta["published"] = published
        write_article(folder, f"{name}.md", sentence, **meta)
    answer = build_engine(load_corpus(folder)).answer("Jusqu'à quand la baignade est interdite à Crozon ?")
    assert [e.article_id for e in answer.results] == ["afp-newer"]
