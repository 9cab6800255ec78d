"""Expected answer types: detected from the question, found (or not) in a sentence."""

import pytest

from bot.search.question_types import (
    expected_answer,
    has_answer_of,
    has_new_answer_of,
    is_yes_no,
    question_type,
    says_no,
)


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


@pytest.mark.parametrize(
    ("sentence", "holds_a_quantity"),
    [
        ("Une roquette a touché une base.", False),  # articles, not numbers
        ("Un soldat a été blessé.", False),
        ("L'attaque en a blessé au moins huit autres.", True),
        ("La moitié des roquettes a manqué la cible.", True),
        ("Des dizaines de familles ont fui.", True),
        ("Aucun blessé n'est à déplorer.", True),  # zero
        ("Les troupes comptent 2 500 soldats.", True),
        ("Twelve people were hurt.", True),
    ],
)
def test_quantities_are_numbers_not_articles(sentence, holds_a_quantity):
    assert has_answer_of("quantity", sentence) is holds_a_quantity


def test_an_answer_must_add_something_the_question_does_not_say():
    question = "Qui a revendiqué l'attaque du 20 février contre Balad ?"
    assert not has_new_answer_of(
        "date", "Le 20 février, la même base a été la cible d'une attaque.", question
    )
    assert has_new_answer_of("date", "Le 3 mars, dix roquettes sont tombées.", question)
    assert not has_new_answer_of("name", "Le 20 février, la base de Balad a été visée.", question)
    assert has_new_answer_of(
        "name", "Une milice, Saraya Awliya al-Dam, en a revendiqué la responsabilité.", question
    )
    count = "Combien de roquettes sur les sept ont touché la base ?"
    assert not has_new_answer_of("quantity", "Sept roquettes ont été tirées.", count)
    assert has_new_answer_of("quantity", "Deux roquettes sur les sept sont tombées dehors.", count)


@pytest.mark.parametrize(
    ("question", "yes_no"),
    [
        ("Y a-t-il eu des morts dans l'attaque ?", True),
        ("Des soldats étaient-ils sur place ?", True),
        ("Est-ce que la base a été touchée ?", True),
        ("y a t il eu des blesses", False),  # no hyphens: too ambiguous to tell
        ("Was anyone killed in the attack?", True),
        ("Did the militia claim the attack?", True),
        ("Quand la base a-t-elle été touchée ?", False),
        ("Combien de roquettes ont-elles été tirées ?", False),
        ("Quelle milice a-t-elle revendiqué l'attaque ?", False),
        ("Who claimed the attack?", False),
    ],
)
def test_yes_no_questions(question, yes_no):
    assert is_yes_no(question) is yes_no


@pytest.mark.parametrize(
    ("sentence", "negative"),
    [
        ("L'attaque n'a fait aucun mort.", True),
        ("Personne n'a été blessé.", True),
        ("Les soldats n'étaient pas présents sur la base.", True),
        ("Aucune victime n'est à déplorer.", True),
        ("No one was hurt.", True),
        ("The troops were not on the base.", True),
        ("L'attaque a tué un entrepreneur civil.", False),
        ("Des personnes ont été blessées.", False),
    ],
)
def test_negation_cues(sentence, negative):
    assert says_no(sentence) is negative


def test_dates_are_not_quantities():
    assert not has_answer_of("quantity", "Le 15 février, un autre tir a touché la base d'Erbil.")
    assert not has_answer_of("quantity", "Les contractants voulaient partir en 2019.")
    assert has_answer_of("quantity", "Le 3 mars, 10 roquettes sont tombées sur la base.")
    assert has_answer_of("date", "Le 15 février, un autre tir a touché la base d'Erbil.")
