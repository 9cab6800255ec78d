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
