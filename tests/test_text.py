"""Text analysis: clean-up, folding, terms and the French sentence splitter."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import (
    MAX_SENTENCE_CHARS,
    Analyzer,
    clean_text,
    fold,
    split_sentences,
    visible,
)

fr = Analyzer("fr")


def test_fold_removes_accents_and_case():
    assert fold("Élysée ÉTATS-UNIS Téhéran œuvre") == "elysee etats-unis teheran oeuvre"


def test_question_without_accents_has_the_same_terms():
    assert fr.terms("Combien de blessés à Téhéran ?") == fr.terms("combien de blesses a teheran")


def test_elisions_are_cut():
    assert fr.terms("l'armée") == fr.terms("armée")
    assert fr.terms("jusqu'à l'extérieur") == fr.terms("extérieur")
    assert fr.terms("qu’elles") == []  # typographic apostrophe too


def test_numbers_are_kept():
    assert "2500" in fr.terms("jusqu'à 2 500 soldats")
    assert "2500" in fr.terms("2 500")
    assert "80" in fr.terms("80 km") and "km" in fr.terms("80 km")
    assert "14.2" in fr.terms("14,2 milliards")


def test_hyphenated_words_meet_their_spellings():
    assert "f16" in fr.terms("F-16") and "f16" in fr.terms("F16")
    assert set(fr.terms("al-Assad")) >= {"assad"}
    assert set(fr.terms("al Assad")) & set(fr.terms("al-Assad"))


def test_stopwords_and_question_words_are_dropped():
    assert fr.terms("Combien de quand pourquoi le la les") == []


def test_clean_text_drops_invisible_characters():
    assert clean_text("a\u200bb\u202ec\x00d") == "abcd"


def test_splitter_keeps_initials_together():
    text = "Le porte-parole du Pentagone, John F. Kirby, a parlé. Il a confirmé."
    assert split_sentences(text) == [
        "Le porte-parole du Pentagone, John F. Kirby, a parlé.",
        "Il a confirmé.",
    ]


def test_splitter_keeps_a_name_at_the_end_of_a_sentence():
    text = "a déclaré le porte-parole du Pentagone, John F. Kirby. Le 15 février, un tir."
    assert split_sentences(text)[0].endswith("John F. Kirby.")


def test_splitter_keeps_quoted_speech_and_hyphenated_names():
    text = (
        '"Deux roquettes sont tombées. Aucune perte", ont déclaré les forces. '
        "La base d'al-Assad a été touchée."
    )
    sentences = split_sentences(text)
    assert sentences[-1] == "La base d'al-Assad a été touchée."
    assert any("al-Assad" in s for s in sentences)


def test_splitter_handles_numbers_and_abbreviations():
    text = "Ils sont 2 500 soldats. Le programme F-16 continue."
    assert split_sentences(text) == ["Ils sont 2 500 soldats.", "Le programme F-16 continue."]


def test_splitter_keeps_french_titles_with_their_names():
    text = "M. Dupont est arrivé. Le Dr. Martin et Mme. Durand aussi. Ils sont partis."
    assert split_sentences(text) == [
        "M. Dupont est arrivé.",
        "Le Dr. Martin et Mme. Durand aussi.",
        "Ils sont partis.",
    ]


def test_splitter_keeps_era_abbreviations_inside_the_sentence():
    text = "Rome est fondée en 753 av. J.-C. selon la légende. Elle grandit."
    assert split_sentences(text) == ["Rome est fondée en 753 av. J.-C. selon la légende.", "Elle grandit."]


def test_splitter_on_empty_text():
    assert split_sentences("   \n ") == []


@settings(deadline=None)  # timing is for benchmarks, not tests
@given(st.text(max_size=400))
def test_analysis_never_crashes_and_splitting_keeps_the_words(text):
    terms = fr.terms(text)
    assert all(isinstance(t, str) and t for t in terms)
    sentences = split_sentences(text)
    joined = " ".join(sentences)
    assert fr.terms(joined) == fr.terms(" ".join(clean_text(text).split()))


HOSTILE_PIECES = st.sampled_from(
    [
        "@everyone",
        "@here",
        "<@123>",
        "<@&456>",
        "<#789>",
        "[x](http://evil.example)",
        "```",
        "**",
        "\u200b",
        "\u202e",
        "\u2066",
        "\x00",
        "\x1b[31m",
        "😀👍🏽",
        "l'",
        "qu'",
        "F.",
        "M. Dupont.",
        "...",
        "«",
        "»",
        "\n\n",
    ]
)
HOSTILE_TEXT = st.lists(st.one_of(st.text(max_size=80), HOSTILE_PIECES), max_size=30).map(" ".join)


@settings(deadline=None)
@given(HOSTILE_TEXT)
def test_hostile_text_never_crashes_the_analyzer_or_the_splitter(text):
    assert isinstance(Analyzer("en").terms(text), list)
    sentences = split_sentences(text)
    assert all(s and s == s.strip() and "\n" not in s for s in sentences)
    assert all("\u200b" not in s and "\u202e" not in s and "\x00" not in s for s in sentences)


def test_a_10000_character_line_is_split_and_analysed():
    line = ("Les roquettes tombent sur Balad " * 400)[:10_000]
    sentences = split_sentences(line)
    assert sum(len(s) for s in sentences) >= 9_000
    assert "roquet" in fr.terms(line)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("How many rockets hit Balad?", "en"),
        ("Who is the Pentagon spokesman?", "en"),
        ("Combien de roquettes ont frappé Balad ?", "fr"),
        ("Comment appelle-t-on la coalition ?", "fr"),
        ("Où a-t-on tiré les roquettes ?", "fr"),
        ("Balad", "fr"),  # no clue: French, the corpus's language
    ],
)
def test_short_questions_get_their_language(question, language):
    from bot.text import guess_language

    assert guess_language(question) == language


def test_a_long_paragraph_keeps_every_sentence():
    sentences = [f"Le ministre Mot{i} a annoncé mardi une aide de {i} millions à Lyon." for i in range(400)]
    assert split_sentences(" ".join(sentences)) == sentences


def test_text_without_punctuation_never_makes_a_giant_sentence():
    found = split_sentences(" ".join(f"mot{i}" for i in range(50_000)))
    assert max(map(len, found)) <= MAX_SENTENCE_CHARS
    assert " ".join(found) == " ".join(f"mot{i}" for i in range(50_000))  # nothing lost


def test_file_names_are_printed_with_their_control_characters_escaped():
    assert visible("sept-roquettes-balad.md") == "sept-roquettes-balad.md"
    assert visible("Été à Mossoul.md") == "Été à Mossoul.md"
    assert visible("evil\nfake.md: ok") == "evil\\nfake.md: ok"
    assert visible("\x1b[31mred.md") == "\\x1b[31mred.md"
    assert visible("abc\u202efdp.md") == "abc\\u202efdp.md"


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("Who is the NATO secretary general?", "le Secrétaire général de l'OTAN"),
        ("What did the UN say?", "l'ONU a déclaré"),
        ("EU sanctions", "les sanctions de l'UE"),
        ("US troops", "les troupes des États-Unis"),
        ("ISIS fighters", "les combattants de Daech"),
        ("attaque de l'EI", "une attaque de Daesh"),
    ],
)
def test_names_news_writes_differently_across_languages_share_one_term(question, article):
    english, french = Analyzer("en"), Analyzer("fr")
    assert set(english.terms(question)) & set(french.terms(article))


def test_acronyms_in_capitals_only_do_not_swallow_ordinary_words():
    assert Analyzer("fr").terms("un soldat") == Analyzer("fr").terms("soldat")  # "un", not the UN
    assert "usa" not in Analyzer("en").terms("let us know")
    assert "onu" in Analyzer("en").terms("the UN") and "usa" in Analyzer("en").terms("the US")


@pytest.mark.parametrize(
    ("form", "verb"),
    [
        ("repris", "reprendre"),
        ("morts", "mourir"),
        ("compris", "comprendre"),
        ("obtenu", "obtenir"),
        ("promis", "promettre"),
    ],
)
def test_irregular_french_verb_forms_meet_their_infinitive(form, verb):
    assert fr.terms(form) == fr.terms(verb)


@pytest.mark.parametrize("noun", ["profit", "debut", "credit"])
def test_prefixes_do_not_turn_nouns_into_verbs(noun):
    from bot.text import infinitive

    assert infinitive(noun) is None


@pytest.mark.parametrize(
    ("inverted", "plain"),
    [
        ("Combien de roquettes sont-elles tombées ?", "roquettes tombées"),
        ("Qui a-t-il nommé ?", "nommé"),
        ("Le rendez-vous est-il fixé ?", "rendez-vous fixé"),
    ],
)
def test_an_inverted_subject_pronoun_leaves_the_verb_alone(inverted, plain):
    assert fr.terms(inverted) == fr.terms(plain)


def test_the_saved_unicode_ranges_are_this_pythons_or_are_scanned_again(monkeypatch, tmp_path):
    """The character classes read from bot/data/unicode-ranges.json are what scanning gives under
    the Unicode version that wrote them; under another version they are scanned, not trusted."""
    import json
    import unicodedata

    import bot.text as text

    saved = json.loads(text._UNICODE_RANGES.read_text(encoding="utf-8"))
    if saved["unicode"] != unicodedata.unidata_version:
        pytest.skip(f"ranges saved for Unicode {saved['unicode']}, here {unicodedata.unidata_version}")
    scanned = text.scan_unicode_ranges()
    assert text._unicode_ranges() == scanned
    other = tmp_path / "ranges.json"
    stale = {"unicode": "0.0", "ranges": {"invisible_bmp": [[65, 90]]}}
    other.write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.setattr(text, "_UNICODE_RANGES", other)
    assert text._unicode_ranges() == scanned
    other.write_text("not json", encoding="utf-8")
    assert text._unicode_ranges() == scanned


def _clean_every_time(text: str) -> str:
    """`clean_text` as it was before its short cuts: every regular expression on every text."""
    import unicodedata

    from bot import text as t

    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = t._INVISIBLE_BMP.sub("", text)
    if not text.isascii() and t._ASTRAL.search(text):
        text = t._INVISIBLE_ASTRAL.sub("", text)
    if any(c in text for c in "`’‘ʼ´"):
        text = text.translate(t._APOSTROPHES)
    return t._SPACES.sub(" ", text)


TRICKY_PIECES = st.sampled_from(
    [
        *"ab é1 2 3\t\n'’`-,.",
        *("\u00a0", "\u200b", "\u0301", "e\u0301", "\u00ad", "\ufeff", "\u2003", "\u3000", "  ", "2 500"),
        *("\U000e0001", "\U000e0100", "\U0001f600", "\U000f0000", "\ud800", "\x00", "\x85"),
        *("_", "\x1c", "\u2028", "\u1680", "14,2", "l'", "-"),
    ]
)


@settings(deadline=None)
@given(st.lists(st.one_of(TRICKY_PIECES, st.text(max_size=5)), max_size=14).map("".join))
def test_the_clean_up_short_cuts_change_nothing(text):
    """Printable texts skip two regular expressions, texts without "digit space digit" the
    thousands one: the words are those of running them all."""
    from bot import text as t

    assert clean_text(text) == _clean_every_time(text)
    expected = t._TERM.findall(t._THOUSANDS.sub("", _clean_every_time(text)))
    assert fr.words(text) == expected


@settings(deadline=None)
@given(st.lists(st.one_of(TRICKY_PIECES, st.text(max_size=5)), max_size=14).map("".join))
def test_the_words_of_a_texts_pieces_are_its_words(text):
    """No word holds white space: the words of each piece between spaces, one after the other,
    are the text's words (what lets the index look whole pieces up)."""
    assert [word for piece in fr.pieces(text) for word in fr.piece_words(piece)] == fr.words(text)
