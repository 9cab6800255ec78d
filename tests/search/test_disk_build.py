"""An index built into a folder, range of terms by range (`bot.search.disk_build`), is the index
built in memory: every array to the bit, every file the bytes `np.save` writes, served mapped."""

from __future__ import annotations

import io
import mmap

import numpy as np
import pytest

from bot.articles.corpus import load_corpus
from bot.search import disk_build, disk_update
from bot.search.index import SearchIndex
from tests.conftest import BUNDLED_CORPUS
from tests.search.test_incremental_index import random_article


def _articles(seed: int, count: int = 40) -> list:
    rng = np.random.default_rng(seed)
    return [random_article(rng, n) for n in range(count)]


def _assert_same(built: SearchIndex, expected: SearchIndex) -> None:
    mine, theirs = built.arrays(), expected.arrays()
    assert mine.keys() == theirs.keys()
    for name, values in theirs.items():
        assert mine[name].dtype == values.dtype, name
        assert np.array_equal(mine[name], values), name
    assert built.vocab == expected.vocab
    assert (built.version, built.articles, built.languages) == (
        expected.version,
        expected.articles,
        expected.languages,
    )
    assert list(built.texts) == list(expected.texts)


def _is_mapped(values: np.ndarray) -> bool:
    base = values
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return isinstance(base, mmap.mmap)


@pytest.mark.parametrize(("entries", "chunk"), [(1 << 22, 1 << 21), (40, 64), (1, 5)])
@pytest.mark.parametrize("seed", [0, 1])
def test_built_in_ranges_it_is_the_index_built_in_memory(tmp_path, monkeypatch, entries, chunk, seed):
    """One range or a range per term, the keys gathered in one chunk or in chunks of a few
    documents: the same arrays, and files holding exactly what `np.save` writes of them (the
    index cache's files), served memory-mapped; nothing else is left in the folder."""
    monkeypatch.setattr(disk_build, "RANGE_ENTRIES", entries)
    monkeypatch.setattr(disk_build, "_CHUNK_TOKENS", chunk)
    articles = _articles(seed)
    built = SearchIndex.build(articles, folder=tmp_path / "index")
    expected = SearchIndex.build(articles)
    _assert_same(built, expected)
    arrays = expected.arrays()
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == sorted(f"{n}.npy" for n in arrays)
    for name, values in arrays.items():
        saved = io.BytesIO()
        np.save(saved, np.ascontiguousarray(values))
        assert (tmp_path / "index" / f"{name}.npy").read_bytes() == saved.getvalue(), name
    assert all(_is_mapped(values) for values in built.arrays().values())


def test_its_answers_are_the_in_memory_index_answers(tmp_path, monkeypatch):
    """On the bundled corpus, in many small ranges: the same ranked sentences and scores."""
    monkeypatch.setattr(disk_build, "RANGE_ENTRIES", 500)
    corpus = load_corpus(BUNDLED_CORPUS)
    built = SearchIndex.build(corpus, folder=tmp_path / "index")
    expected = SearchIndex.build(corpus)
    _assert_same(built, expected)
    for question in ("Combien de roquettes ont frappé la base ?", "Qui a parlé au nom du Pentagone ?"):
        ids = [t for t in expected.resolve_terms(expected.query_terms(question)).values() if t is not None]
        assert built.rank(ids, 10) == expected.rank(ids, 10) != []


def test_worker_processes_and_an_empty_corpus(tmp_path, monkeypatch):
    from bot.search import analysis

    monkeypatch.setattr(analysis, "PARALLEL_AFTER", 20)
    monkeypatch.setattr(analysis, "BATCH_SENTENCES", 15)
    monkeypatch.setattr(disk_build, "RANGE_ENTRIES", 30)
    articles = _articles(7, count=25)
    _assert_same(SearchIndex.build(articles, workers=2, folder=tmp_path / "a"), SearchIndex.build(articles))
    empty = SearchIndex.build([], folder=tmp_path / "b")
    _assert_same(empty, SearchIndex.build([]))
    assert empty.size == 0 and not empty.vocab


def test_an_index_built_in_a_folder_updates_as_one_built_in_memory(tmp_path):
    """Feeds update a served index in place: from mapped arrays as from its own."""
    articles = _articles(3)
    built = SearchIndex.build(articles[:30], folder=tmp_path / "index")
    grown = built.updated(articles[30:], [articles[4].id])
    expected = SearchIndex.build(articles[:30]).updated(articles[30:], [articles[4].id])
    assert grown.wait_folded(timeout=30) and expected.wait_folded(timeout=30)
    _assert_same(grown, expected)


@pytest.mark.parametrize("entries", [1 << 21, 30])
@pytest.mark.parametrize("change", ["add and remove", "add", "remove", "remove all, add"])
def test_updated_into_a_folder_it_is_the_update_made_in_memory(tmp_path, monkeypatch, entries, change):
    """An update in place written range by range into a folder, then folded there in a thread
    (it answers meanwhile), holds the arrays of the update spliced and folded in memory, from an
    index served from files or from memory alike."""
    monkeypatch.setattr(disk_build, "RANGE_ENTRIES", entries)
    articles = _articles(11, count=45)
    first, extra = articles[:35], articles[35:]
    added = [] if change == "remove" else extra
    removed = {
        "add and remove": [first[2].id, first[20].id],
        "add": [],
        "remove": [first[0].id, first[34].id],
        "remove all, add": [a.id for a in first],
    }[change]
    expected = SearchIndex.build(first).updated(added, removed)
    assert expected.wait_folded(timeout=30)
    for n, base in enumerate((SearchIndex.build(first, folder=tmp_path / "base"), SearchIndex.build(first))):
        grown = base.updated(added, removed, folder=tmp_path / f"updated{n}")
        assert grown.folder == tmp_path / f"updated{n}"
        question = [t for t in expected.resolve_terms(["mot3", "roquett"]).values() if t is not None]
        ranked, wanted = grown.rank(question, 10), expected.rank(question, 10)  # (folded or not yet)
        assert [c.sentence for c in ranked] == [c.sentence for c in wanted] and wanted
        assert np.allclose([c.score for c in ranked], [c.score for c in wanted], rtol=1e-6)
        assert grown.wait_folded(timeout=30)
        _assert_same(grown, expected)
        assert all(_is_mapped(values) for values in grown.arrays().values())
    unchanged = SearchIndex.build(first)
    assert unchanged.updated([], [], folder=tmp_path / "unused") is unchanged


def test_a_fold_stopped_half_way_leaves_no_folded_files(tmp_path, monkeypatch):
    """An update replaced before its fold ends stops folding; what it wrote of the fold goes, so
    the folder never holds a folded matrix that is not whole."""
    import threading

    from bot.search.folded import FoldCancelled

    monkeypatch.setattr(disk_build, "RANGE_ENTRIES", 30)
    articles = _articles(5)
    index = SearchIndex.build(articles[:30]).updated(articles[30:], [], folder=tmp_path / "u")
    assert index.wait_folded(timeout=30)
    for part in ("data", "indices", "indptr"):
        (tmp_path / "u" / f"folded.{part}.npy").unlink()
    stop = threading.Event()
    stop.set()
    with pytest.raises(FoldCancelled):
        disk_update.fold_files(
            tmp_path / "u", index.sentences, index.paragraphs, index.sent_para_index, index.params, stop
        )
    assert not list((tmp_path / "u").glob("folded.*"))
    refolded = disk_update.fold_files(
        tmp_path / "u", index.sentences, index.paragraphs, index.sent_para_index, index.params
    )
    assert index.folded is not None
    assert all(
        np.array_equal(getattr(refolded, part), getattr(index.folded, part))
        for part in ("data", "indices", "indptr")
    )
