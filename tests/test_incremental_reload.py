"""Reloads read only the files that changed: the index is updated in place, and serves exactly
what a fresh load of the same folder serves."""

from __future__ import annotations

import numpy as np
import pytest

from bot.articles import corpus
from bot.service import QAService
from tests.conftest import write_article

QUESTIONS = [
    "Combien de roquettes ont frappé la base de Balad ?",
    "Combien de girafes au zoo de Bagdad ?",
    "Qui a revendiqué l'attaque ?",
    "Quel pont a rouvert à Mossoul ?",
]


def answers(service: QAService) -> list[list[tuple[str, float]]]:
    return [[(e.sentence_id, e.score) for e in service.engine.answer(q).results] for q in QUESTIONS]


def assert_serves_like_a_fresh_load(service: QAService) -> None:
    fresh = QAService(service.corpus_dir)
    assert fresh.load().ok
    assert service.engine.version == fresh.engine.version
    ours, theirs = answers(service), answers(fresh)
    assert [[s for s, _ in a] for a in ours] == [[s for s, _ in a] for a in theirs]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose([x for _, x in a], [x for _, x in b], rtol=1e-6)


@pytest.fixture
def counted_reads(monkeypatch):
    """The names of the files each reload parses."""
    read: list[str] = []
    original = corpus._parse_outcome

    def counting(raw, name, path):
        read.append(path)
        return original(raw, name, path)

    monkeypatch.setattr(corpus, "_parse_outcome", counting)
    return read


@pytest.mark.parametrize("cached", [False, True], ids=["no-cache", "cache"])
def test_added_changed_and_removed_files_are_the_only_ones_read(corpus_dir, tmp_path, counted_reads, cached):
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache" if cached else None)
    assert service.load().ok
    write_article(
        corpus_dir, "zoo.md", "Le zoo de Bagdad a accueilli trois girafes.", title="Zoo", source="Test"
    )
    write_article(
        corpus_dir, "pont.md", "Le vieux pont de Mossoul a rouvert lundi.", title="Pont", source="Test"
    )
    counted_reads.clear()
    report = service.load()
    assert report.ok and report.added == ["pont", "zoo"] and sorted(counted_reads) == ["pont.md", "zoo.md"]
    assert_serves_like_a_fresh_load(service)

    write_article(
        corpus_dir, "zoo.md", "Le zoo de Bagdad a accueilli cinq girafes.", title="Zoo", source="Test"
    )
    (corpus_dir / "pont.md").unlink()
    counted_reads.clear()
    report = service.load()
    assert report.changed == ["zoo"] and report.removed == ["pont"] and counted_reads == ["zoo.md"]
    assert "cinq girafes" in service.engine.answer("Combien de girafes au zoo de Bagdad ?").results[0].text
    assert_serves_like_a_fresh_load(service)

    counted_reads.clear()
    assert service.load().unchanged and counted_reads == []


def test_a_bad_new_file_is_reported_and_a_fixed_one_served(corpus_dir, counted_reads):
    service = QAService(corpus_dir)
    assert service.load().ok
    (corpus_dir / "broken.md").write_text("---\ntitle: [unclosed\n---\n\nTexte.\n", encoding="utf-8")
    report = service.load()
    assert report.ok and [p.path for p in report.problems] == ["broken.md"]
    write_article(
        corpus_dir, "other.md", "Un autre article sur le port de Bassora.", title="Autre", source="T"
    )
    report = service.load()
    assert [p.path for p in report.problems] == ["broken.md"]  # still rejected, not read again
    assert counted_reads.count("broken.md") == 0 or counted_reads.count("broken.md") == 1
    write_article(corpus_dir, "broken.md", "Le port de Bassora a rouvert.", title="Réparé", source="T")
    report = service.load()
    assert report.added == ["broken"] and report.problems == []
    assert_serves_like_a_fresh_load(service)


def test_an_added_article_with_a_served_title_goes_through_a_full_load(corpus_dir, counted_reads):
    service = QAService(corpus_dir)
    assert service.load().ok
    title = service.engine.index.articles[0].title
    write_article(corpus_dir, "aaa-copy.md", "Un texte différent.", title=f'"{title}"', source="T")
    counted_reads.clear()
    report = service.load()
    # The full load decides in file order: the copy's name comes first, so it is the one kept.
    assert "sept-roquettes-balad.md" in counted_reads  # read again: the full load ran
    assert [p.path for p in report.problems] == ["sept-roquettes-balad.md"]
    assert_serves_like_a_fresh_load(service)


def test_a_restart_loads_the_updated_index_from_the_cache(corpus_dir, tmp_path, counted_reads):
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok
    write_article(
        corpus_dir, "zoo.md", "Le zoo de Bagdad a accueilli trois girafes.", title="Zoo", source="Test"
    )
    assert service.load().added == ["zoo"]
    counted_reads.clear()
    restarted = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert restarted.load().ok and restarted.last_load_from_cache and counted_reads == []
    assert answers(restarted) == answers(service)


def test_the_articles_just_added_are_embedded_before_the_back_fill(tmp_path):
    import threading

    from bot.search import EmbeddingCache, SearchIndex
    from bot.search.embeddings import DIMENSIONS, embed_missing
    from tests.search.test_incremental_index import random_article

    rng = np.random.default_rng(1)
    articles = [random_article(rng, n) for n in range(6)]
    index = SearchIndex.build(articles)
    embedded: list[str] = []
    refreshed_after: list[int] = []

    class Encoder:  # records which article each batch of passages belongs to
        def passages(self, texts):
            embedded.append(
                next(a.id for a in articles if texts[0].startswith((f"{a.title} :", f"{a.title}.")))
            )
            vectors = rng.normal(size=(len(texts), DIMENSIONS)).astype(np.float32)
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    count = embed_missing(
        index,
        EmbeddingCache(tmp_path / "vectors"),
        Encoder(),
        threading.Event(),
        on_progress=lambda: refreshed_after.append(len(embedded)),
        progress_every=100,
        first={"a4", "a2"},
    )
    assert count == 6
    assert embedded[0::2][:2] == ["a2", "a4"]  # sentences then paragraphs of each: the new ones first
    assert refreshed_after == [4]  # served as soon as those two are embedded


def test_a_cache_written_in_the_background_is_complete_once_waited_for(corpus_dir, tmp_path, counted_reads):
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache", save_cache_in_background=True)
    assert service.load().ok
    write_article(
        corpus_dir, "zoo.md", "Le zoo de Bagdad a accueilli trois girafes.", title="Zoo", source="Test"
    )
    assert service.load().added == ["zoo"]
    assert service.wait_for_cache(30)
    counted_reads.clear()
    restarted = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert restarted.load().ok and restarted.last_load_from_cache and counted_reads == []
    assert answers(restarted) == answers(service)


def test_the_index_a_reload_replaces_stops_folding(corpus_dir):
    """Once the updated index serves, the replaced one's background fold (if any) is told to stop;
    the new one's is not."""
    service = QAService(corpus_dir)
    assert service.load().ok
    before = service.engine.index
    write_article(
        corpus_dir, "zoo.md", "Le zoo de Bagdad a accueilli trois girafes.", title="Zoo", source="T"
    )
    assert service.load().ok
    after = service.engine.index
    assert after is not before
    assert before._stop_fold.is_set() and not after._stop_fold.is_set()
    assert after.wait_folded(timeout=30)
    assert_serves_like_a_fresh_load(service)
