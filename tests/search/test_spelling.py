"""The typo look-up's candidates: never a word within reach left out, most others ruled out."""

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from bot.search.spelling import NearWords, letter_mask, letter_masks

# A small alphabet makes close words common; the others test the masks' arithmetic
_LETTERS = st.sampled_from("abcdeé\0ç@🙂-")
_WORDS = st.text(_LETTERS, min_size=1, max_size=9)


@given(st.lists(st.text(min_size=0, max_size=12), max_size=30))
def test_the_masks_of_many_words_are_each_words_mask(words):
    assert letter_masks(words).tolist() == [letter_mask(w) for w in words]


@settings(max_examples=200)
@given(st.lists(_WORDS, min_size=1, max_size=60, unique=True), _WORDS, st.integers(1, 2))
def test_every_word_of_the_same_initial_within_reach_is_a_candidate(vocabulary, term, max_edits):
    near = NearWords(vocabulary)
    candidates = near.candidates(term, max_edits)
    within = [w for w in vocabulary if w[0] == term[0] and Levenshtein.distance(w, term) <= max_edits]
    assert set(within) <= set(candidates)
    assert all(w[0] == term[0] and abs(len(w) - len(term)) <= max_edits for w in candidates)


def test_words_whose_letters_differ_too_much_are_ruled_out():
    near = NearWords(["maison", "maisons", "marine", "mxyzqw", "moulin"])
    assert near.candidates("maisn", 1) == ["maison"]
    assert near.candidates("maisonx", 1) == ["maison", "maisons"]
    assert near.candidates("xmaison", 1) == []  # (another first letter)
    assert NearWords([]).candidates("maison", 2) == []
