"""The stores' tests run on both engines: a SQLite file, and a database of a throwaway
PostgreSQL cluster started for the session."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Where a store keeps its state: a fresh SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'depeche.sqlite3'}"
    return request.getfixturevalue("pg_cluster").fresh_database()
