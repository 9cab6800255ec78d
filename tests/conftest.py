"""Shared fixtures: the bundled corpus, a temporary copy of it, and an engine over it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.articles.corpus import load_corpus
from bot.search.answer import Engine
from bot.service import QAService, build_engine

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def engine() -> Engine:
    """An engine over the bundled corpus (built once per test session)."""
    return build_engine(load_corpus(BUNDLED_CORPUS))


@pytest.fixture(scope="session")
def embedded_service(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    """A service over the bundled corpus with every sentence embedded (once per test session)."""
    service = QAService(BUNDLED_CORPUS, cache_dir=tmp_path_factory.mktemp("cache"), embeddings=True)
    assert service.load().ok
    assert service.embedding_done.wait(120)
    assert service.engine.dense is not None and service.engine.dense.coverage == service.engine.index.size
    return service


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the session (skipped, saying why, where it cannot run)."""
    from tests.storage import postgres

    reason = postgres.available()
    if reason is not None:
        pytest.skip(reason)
    with postgres.cluster() as running:
        yield running


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, target)
    return target


def write_article(folder: Path, name: str, body: str, **meta: str) -> Path:
    """Write a Markdown article with front matter built from `meta`."""
    header = "\n".join(f"{k}: {v}" for k, v in meta.items())
    path = folder / name
    path.write_text(f"---\n{header}\n---\n\n{body}\n", encoding="utf-8")
    return path


def corpus_with_bundled_article(tmp_path: Path) -> Path:
    """A new corpus folder (`tmp_path/corpus`) holding a copy of the bundled article, as `balad.md`."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "balad.md").write_bytes((BUNDLED_CORPUS / "sept-roquettes-balad.md").read_bytes())
    return folder


# Tiers: `make check` runs neither; `make test` runs everything.
_SLOW_FIXTURES = {"embedded_service"}  # loads the embedding model and embeds the corpus
# (they spawn run_bot.py or load the model)
_SLOW_FILES = {"test_shutdown.py", "test_english.py", "test_service.py", "test_processes.py"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the Discord tests (`discord`: they need the API double) and the slow ones (`slow`:
    they load the embedding model or spawn `run_bot.py`)."""
    for item in items:
        path = Path(str(item.path))
        if path.is_relative_to(ROOT / "tests" / "discord"):
            item.add_marker(pytest.mark.discord)
        if _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or path.name in _SLOW_FILES:
            item.add_marker(pytest.mark.slow)
