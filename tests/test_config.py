"""Settings for several processes: shard ranges and the database address."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("written", "ids"), [("0-3", [0, 1, 2, 3]), ("4,5,6,7", [4, 5, 6, 7]), ("1, 0-1", [0, 1])]
)
def test_shard_ranges_are_read(written, ids):
    assert load_settings(_env_file=None, shard_ids=written, shard_count=8).shard_ids == ids


@pytest.mark.parametrize(
    ("written", "count", "message"),
    [
        ("0-3", None, "DEPECHE_SHARD_IDS needs DEPECHE_SHARD_COUNT"),
        ("9", 8, "DEPECHE_SHARD_IDS: shard 9 is not below DEPECHE_SHARD_COUNT=8"),
        ("a", 8, "DEPECHE_SHARD_IDS: 'a' is not a shard number or range"),
        ("3-1", 8, "DEPECHE_SHARD_IDS: the range '3-1' ends before it starts"),
    ],
)
def test_bad_shard_ranges_are_refused_clearly(written, count, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(_env_file=None, shard_ids=written, shard_count=count)


def test_the_database_is_the_sqlite_file_unless_a_url_is_given(tmp_path):
    assert load_settings(_env_file=None, database_path=tmp_path / "x.db").database_address == str(
        tmp_path / "x.db"
    )
    url = "postgresql://depeche:s3cret@db.internal/depeche"
    settings = load_settings(_env_file=None, database_url=url)
    assert settings.database_address == url and "s3cret" not in repr(settings)
    assert load_settings(_env_file=None, database_url="  ").database_url is None


def test_the_example_env_file_is_valid_as_it_is(monkeypatch):
    from tests.conftest import ROOT

    for name in ("DISCORD_TOKEN", "DEPECHE_SHARD_COUNT", "DEPECHE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=ROOT / ".env.example")
    assert settings.shard_count is None and settings.shard_ids == [] and settings.database_url is None
