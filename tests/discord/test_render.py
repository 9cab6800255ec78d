"""Rendering, property-tested: any text stays within Discord's limits, pings no one, keeps formatting."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord import render
from bot.search.answer import Answer, Excerpt

HOSTILE = st.sampled_from(
    [
        "@everyone",
        "@here",
        "<@123456789012345678>",
        "<@&456456456456456456>",
        "<#789789789789789789>",
        "[x](http://evil.example)",
        "```py\nprint(1)\n```",
        "**",
        "__",
        "~~",
        "||",
        "`",
        "> quote",
        "# Titre",
        "- item",
        "\u200b",
        "\u202e",
        "😀",
        "\\",
        "*",
        "_",
        "x" * 3000,
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=200), HOSTILE), max_size=8).map(" ".join)


def excerpt(text: str, title: str, matched: list[str]) -> Excerpt:
    return Excerpt(
        text=text,
        article=title or "T",
        article_id="a",
        paragraph=1,
        sentence_id="a#p1s1",
        score=1.0,
        source="S",
        url="https://example.org/a(b)",
        matched=matched,
    )


@st.composite
def answers(draw):
    found = draw(st.booleans())
    results = []
    if found:
        for _ in range(draw(st.integers(1, 10))):
            text = draw(TEXT) or "x"
            words = re.findall(r"\w+", text)[:3]
            results.append(excerpt(text, draw(TEXT), words))
    return Answer(
        question=draw(TEXT),
        answered=found,
        results=results,
        terms=[],
        coverage=0.0,
        corpus_version="abc",
        suggestions=draw(st.lists(TEXT, max_size=3)) if not found else [],
        unsure=draw(st.booleans()) if found else False,
    )


def unescaped(text: str) -> str:
    """`text` with every backslash escape removed: what Discord would still read as markup."""
    return re.sub(r"\\.", "x", text, flags=re.DOTALL)


def assert_safe(text: str) -> None:
    bare = unescaped(text)
    assert not re.search(r"@(everyone|here)", bare, re.IGNORECASE)
    assert "<@" not in bare and "<#" not in bare
    assert "](" not in bare.replace("](https://example.org/a%28b%29)", "")
    assert bare.count("**") % 2 == 0
    assert bare.replace("**", "").count("*") % 2 == 0
    assert bare.count("`") % 2 == 0
    for mark in ("||", "~~", "__", "_"):
        assert mark not in bare


@settings(max_examples=150, deadline=None)
@given(answers())
def test_any_answer_renders_within_limits_without_pings(answer):
    embed = render.answer_embed(answer, "0123456789ab")
    data = embed.to_dict()
    assert len(data.get("title", "")) <= render.TITLE_LIMIT
    assert len(data.get("description", "")) <= render.DESCRIPTION_LIMIT
    assert len(data["footer"]["text"]) <= render.FOOTER_LIMIT
    assert len(embed) <= render.EMBED_TOTAL_LIMIT
    assert_safe(data.get("title", ""))
    assert_safe(data.get("description", ""))
    text = render.answer_text(answer, "0123456789ab")
    assert len(text) <= render.MESSAGE_LIMIT
    assert_safe(text)


@settings(deadline=None)
@given(TEXT, st.integers(1, 3000))
def test_shorten_cuts_at_word_boundaries_within_the_limit(text, limit):
    short = render.shorten(text, limit)
    assert len(short) <= limit
    if short.endswith("…") and " " in short:
        assert " ".join(text.split()).startswith(short[:-1].rstrip(" ,;:").rsplit(" ", 1)[0])


def test_matched_words_are_bold_and_the_rest_escaped():
    out = render.emphasise("Les *roquettes* de Balad", ["roquettes", "Balad"])
    assert out == "Les \\***roquettes**\\* de **Balad**"


def test_every_member_message_and_not_found_reason_exists_in_french_and_english():
    from bot import messages
    from bot.search.answer import REASONS

    for key, by_language in messages._MESSAGES.items():
        assert set(by_language) == {"fr", "en"}, key
    for reason in REASONS:
        assert messages.text(reason, "fr") and messages.text(reason, "en")


def test_an_unsure_answer_says_so_first_in_its_language():
    excerpt_ = excerpt("Sept roquettes ont frappé la base.", "Roquettes en Irak", ["roquettes"])
    for question, said in (
        ("Combien de drones ont attaqué la base ?", "Je ne suis pas sûr que ces extraits répondent"),
        ("How many drones attacked the base?", "I am not sure these excerpts answer"),
    ):
        answer = Answer(
            question=question,
            answered=True,
            results=[excerpt_],
            terms=[],
            coverage=0.5,
            corpus_version="abc",
            unsure=True,
        )
        embed = render.answer_embed(answer).to_dict()
        assert embed["description"].startswith(f"*{said}") and embed["color"] == render.COLOUR_UNSURE.value
        assert said in render.answer_text(answer)
        sure = render.answer_embed(answer.model_copy(update={"unsure": False})).to_dict()
        assert said not in sure["description"] and sure["color"] == render.COLOUR_FOUND.value
