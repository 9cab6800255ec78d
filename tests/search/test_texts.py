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
