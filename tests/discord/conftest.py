"""Fixtures of the Discord tests: a bot on the bundled corpus against a fresh API double."""

from __future__ import annotations

import pytest

from tests.discord.fixtures import running_bot


@pytest.fixture
async def env(corpus_dir, tmp_path):
    """The bot on a copy of the bundled corpus, connected to a fresh double."""
    async with running_bot(corpus_dir, tmp_path / "depeche.sqlite3") as under_test:
        yield under_test


@pytest.fixture
async def rate_limited_env(corpus_dir, tmp_path):
    """The bot with a tight rate limit: two questions a minute per member."""
    async with running_bot(
        corpus_dir, tmp_path / "depeche.sqlite3", rate_limit_count=2, rate_limit_seconds=60
    ) as under_test:
        yield under_test
