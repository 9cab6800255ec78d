"""Term ids of texts, as the index's analysis makes them (`bot.search.analysis.TermIds`)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search import analysis
from bot.search.analysis import TermIds
from bot.text import analyzer

PIECES = st.sampled_from(
    ["l'armée,", "l'Armée", "F-16", "2 500", "14,2", "a-t-il", "Élysée.", "OTAN", "NATO", "e\u0301t\u00e9",
     "repris", "the", "les", "_x_", "\u00a0", "  ", "(Bagdad)", "ok", "\u200b", "«", "»"]
)  # fmt: skip
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=10).map(" ".join)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(["fr", "en"]), st.lists(TEXT, max_size=5)), max_size=4))
def test_term_ids_are_the_analyzers_terms(batch):
    """Per text, the ids of exactly `Analyzer.terms`' terms, in order, however often its pieces
    were met before; a term gets its id when first met."""
    terms = TermIds({})
    ids, lengths = terms.batch(batch)
    again, again_lengths = terms.batch(batch)  # (every piece known now)
    expected = [analyzer(language).terms(text) for language, texts in batch for text in texts]
    assert lengths.tolist() == [len(t) for t in expected] == again_lengths.tolist()
    words = {term_id: term for term, term_id in terms.vocab.items()}
    assert [words[i] for i in ids.tolist()] == [term for t in expected for term in t]
    assert np.array_equal(ids, again)
    assert list(terms.vocab) == list(dict.fromkeys(term for t in expected for term in t))


def test_the_memo_of_pieces_starting_again_changes_no_id(monkeypatch):
    texts = [
        ("fr", ["l'armée a repris Bagdad.", "L'armée, à Bagdad ; l'armée."]),
        ("en", ["The army, the army."]),
    ]
    whole = TermIds({}).batch(texts * 3)
    monkeypatch.setattr(analysis, "MAX_PIECES", 1)
    terms = TermIds({})
    cleared = [terms.batch(texts) for _ in range(3)]
    assert np.array_equal(np.concatenate([ids for ids, _ in cleared]), whole[0])
    assert np.array_equal(np.concatenate([n for _, n in cleared]), whole[1])
