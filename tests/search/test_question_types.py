"""Expected answer types: detected from the question, found (or not) in a sentence."""

import pytest

from bot.search.question_types import expected_answer, has_answer_of, question_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Combien de roquettes ont frappé Balad ?", "combien"),
        ("Quand la mission a-t-elle été lancée ?", "quand"),
        ("En quelle année la mission a-t-elle été lancée ?", "quand"),
        ("Qui est le porte-parole du Pentagone ?", "qui"),
        ("Où se trouve la base d'al-Assad ?", "où"),
        ("ou se trouve la base", "où"),
        ("Quelle milice a revendiqué l'attaque ?", "quel"),
        ("Pourquoi les contractants voulaient-ils partir ?", "pourquoi"),
        ("How many rockets hit Balad?", "combien"),
        ("Who is the Pentagon spokesman?", "qui"),
        ("Roquettes Balad", "other"),
    ],
)
def test_question_type(question, kind):
    assert question_type(question) == kind


def test_expected_answers_and_their_detection():
    assert expected_answer("Combien de soldats ?") == "quantity"
    assert expected_answer("Quelle milice ?") is None
    assert has_answer_of("quantity", "Les troupes comptent jusqu'à 2 500 soldats.")
    assert has_answer_of("quantity", "Au moins sept roquettes ont frappé la base.")
    assert not has_answer_of("quantity", "Personne n'a été blessé.")
    assert has_answer_of("date", "La mission a été lancée en 2018.")
    assert has_answer_of("date", "Le 15 février, un autre tir a touché Erbil.")
    assert not has_answer_of("date", "Les troupes américaines sont présentes.")
    assert has_answer_of("name", "a déclaré le porte-parole du Pentagone, John F. Kirby.")
    assert not has_answer_of("name", "Personne n'a été blessé.")
