"""The serving state under concurrency: background embedding never undoes a reload."""

from __future__ import annotations

import threading

from bot.search import embeddings
from bot.service import QAService
from tests.conftest import write_article


def test_a_reload_during_the_background_refresh_is_not_undone(corpus_dir, tmp_path, monkeypatch):
    """The embedding thread rebuilds the engine with new vectors (slow at scale: seconds at 1M
    sentences); a reload that lands meanwhile must stay served, not be replaced by the old corpus."""
    in_refresh, reloaded = threading.Event(), threading.Event()
    assemble = embeddings.assemble

    def slow_assemble(index, cache):  # the background refresh waits here for the reload
        if threading.current_thread().name == "depeche-embeddings" and not in_refresh.is_set():
            in_refresh.set()
            assert reloaded.wait(60)
        return assemble(index, cache)

    monkeypatch.setattr(embeddings, "assemble", slow_assemble)
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache", embeddings=True)
    service.load()
    assert in_refresh.wait(120), "the background embedding never refreshed the engine"

    write_article(
        corpus_dir, "bagdad.md", "Le zoo de Bagdad a accueilli trois girafes.", title="Zoo", source="Test"
    )
    report = service.load()
    assert report.added == ["bagdad"]
    reloaded.set()
    assert service.embedding_done.wait(120)

    assert "bagdad" in {a.id for a in service.engine.index.articles}
    assert service.engine.answer("Combien de girafes au zoo de Bagdad ?").answered
