"""Finding articles by name: exact (id or title, any case or accents) and fuzzy for autocomplete."""

from __future__ import annotations

from bot.search.index import ArticleMeta
from bot.search.titles import ArticleTitles


def meta(article_id: str, title: str) -> ArticleMeta:
    return ArticleMeta(article_id, title, "Test", "fr", None, None, None, f"{article_id}.md", "0", 1)


TITLES = ArticleTitles(
    [
        meta("roquettes", "Sept roquettes frappent des positions américaines en Irak"),
        meta("bassora", "Le port de Bassora rouvre"),
        meta("bassora-2", "Le port de Bassora rouvre"),
        meta("elysee", "L'Élysée répond"),
    ]
)


def test_exact_look_up_by_id_or_by_title_in_any_case_and_without_accents():
    assert TITLES.find("roquettes").id == "roquettes"
    assert TITLES.find("  L'ELYSEE REPOND ").id == "elysee"
    assert TITLES.find("le port de bassora rouvre").id == "bassora"  # the first of equal titles
    assert TITLES.find("Bagdad") is None


def test_fuzzy_match_puts_the_intended_title_first_and_lists_all_when_nothing_is_typed():
    assert TITLES.match("roquetes irak")[0].id == "roquettes"
    assert TITLES.match("elysee")[0].id == "elysee"
    assert [m.id for m in TITLES.match("", limit=2)] == ["roquettes", "bassora"]
    assert TITLES.match("zzzzzz") == []
