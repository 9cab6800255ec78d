"""Packed sentence texts: what the index cache maps instead of decoding every sentence at start."""

import numpy as np
import pytest

from bot.search.texts import PackedTexts, joined

TEXTS = ["Au moins sept roquettes.", "", "Été à Mossoul — « déjà ».", "😀 fin"]


def test_packed_texts_read_back_as_written():
    packed = PackedTexts.pack(TEXTS)
    assert len(packed) == 4
    assert [packed[i] for i in range(4)] == TEXTS
    assert list(packed) == TEXTS
    assert packed[-1] == "😀 fin" and packed[1:3] == TEXTS[1:3]
    with pytest.raises(IndexError):
        packed[4]


def test_joined_texts_keep_both_halves_without_decoding_the_first():
    packed = joined(PackedTexts.pack(TEXTS), ["nouvelle phrase", "é"])
    assert isinstance(packed, PackedTexts)
    assert list(packed) == [*TEXTS, "nouvelle phrase", "é"]
    assert joined(["a"], ["b"]) == ["a", "b"]


def test_offsets_that_do_not_fit_the_blob_are_refused():
    blob = np.frombuffer(b"abc", dtype=np.uint8)
    for offsets in ([0, 2], [1, 3], [0, 2, 1, 3], []):
        with pytest.raises(ValueError, match="offsets"):
            PackedTexts(blob, np.array(offsets, dtype=np.int64))


def test_texts_taken_by_rows_stay_packed_in_the_rows_order():
    packed = PackedTexts.pack(TEXTS)
    taken = packed.taken(np.array([3, 0, 1]))
    assert isinstance(taken, PackedTexts)
    assert list(taken) == [TEXTS[3], TEXTS[0], TEXTS[1]]
    assert list(packed.taken(np.array([], dtype=np.int64))) == []


def test_a_lone_surrogate_survives_packing():
    """Any Python string packs and reads back (the index holds what the articles hold)."""
    odd = ["avant \ud800 après", "fin"]
    assert list(PackedTexts.pack(odd)) == odd
    assert PackedTexts.pack(odd)[0] == odd[0]


def test_a_built_index_keeps_its_texts_packed():
    from bot.articles.corpus import load_corpus
    from bot.search.index import SearchIndex
    from tests.conftest import BUNDLED_CORPUS

    corpus = load_corpus(BUNDLED_CORPUS)
    index = SearchIndex.build(corpus)
    assert isinstance(index.texts, PackedTexts)
    expected = [s.text for a in corpus.articles for p in a.paragraphs for s in p.sentences]
    assert list(index.texts) == expected


def test_texts_taken_in_runs_and_out_of_order():
    texts = [f"phrase {i} é" * (i % 3) for i in range(40)]
    packed = PackedTexts.pack(texts)
    rng = np.random.default_rng(0)
    for rows in ([0, 1, 2, 10, 11, 39], list(range(40)), [5], rng.permutation(40)[:25].tolist()):
        assert list(packed.taken(np.array(rows))) == [texts[r] for r in rows]
