"""What both engines share: versioned migrations, ask-channels, addresses; and what PostgreSQL
adds: a server restarted under the stores."""

from __future__ import annotations

import pytest

from bot.storage import AskChannelStore, FeedbackStore, StorageError, open_database
from bot.storage.feedback import MIGRATIONS


def test_migrations_run_once_and_are_recorded(database_url):
    database = open_database(database_url)
    FeedbackStore(database)
    FeedbackStore(database)  # a second start: nothing applied twice
    rows = database.query("SELECT version FROM schema_migrations WHERE store = 'feedback' ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    database.close()


def test_ask_channels_are_kept_with_64_bit_ids(database_url):
    store = AskChannelStore(database_url)
    big = 2**63 - 1  # Discord ids are 64 bits
    assert store.add(1, big, 3) and not store.add(1, big, 3)
    assert store.add(1, 10, None) and store.add(2, 20, None)
    reopened = AskChannelStore(database_url)
    assert big in reopened and sorted(reopened.of_guild(1)) == [10, big]
    assert sorted(c for c, _, _ in reopened.listing(1)) == [10, big]
    assert reopened.remove([10, 99]) == 1 and 10 not in reopened
    store.close()
    reopened.close()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("mysql://db/depeche", "unknown database address mysql://"),
        (
            "postgresql://depeche:s3cret@/nowhere?host=/nonexistent&connect_timeout=1",
            "cannot connect to PostgreSQL",
        ),
    ],
)
def test_a_bad_address_is_one_clear_error_without_the_password(address, message):
    with pytest.raises(StorageError, match=message) as caught:
        open_database(address)
    assert "s3cret" not in str(caught.value)


def test_postgresql_restarted_under_the_stores_loses_nothing_acknowledged(pg_cluster):
    url = pg_cluster.fresh_database()
    store = FeedbackStore(url)
    store.record_answer("a" * 12, "Avant ?", True, "v1", 1)
    assert store.vote("a" * 12, 7, True)
    pg_cluster.restart()
    store.record_answer("b" * 12, "Après ?", False, "v1", 1)  # the pool replaced its connections
    assert store.votes("a" * 12) == (1, 0) and store.summary().answers == 2
    store.close()


def test_a_sqlite_database_is_copied_into_postgresql_whole_and_twice_harmlessly(tmp_path, pg_cluster, capsys):
    from bot.cli import main
    from bot.storage import FeedStore

    source = f"sqlite:///{tmp_path / 'depeche.sqlite3'}"
    feedback, feeds, channels = FeedbackStore(source), FeedStore(source), AskChannelStore(source)
    for n in range(3):
        feedback.record_answer(f"a{n:011d}", f"question {n}", n % 2 == 0, "v1", 1)
    feedback.vote("a00000000001", 7, True)
    feedback.audit(1, "add", "article")
    channels.add(1, 2**62, 3)
    feed = feeds.add("https://a.example/rss", "A", interval_minutes=15)
    feeds.mark(feed.id, ["id:1"], "added", article_id="article")
    feeds.announced(5, 6, "article")
    target = pg_cluster.fresh_database()
    for _ in range(2):  # a copy run again adds nothing
        assert main(["db", "migrate", "--from", source, "--to", target]) == 0
    out = capsys.readouterr().out
    assert "answers: 3 rows" in out and "feed_items: 1 rows" in out
    copied, copied_feeds = FeedbackStore(target), FeedStore(target)
    assert copied.summary() == feedback.summary() and copied.audit_log() == feedback.audit_log()
    assert copied.votes("a00000000001") == (1, 0)
    assert 2**62 in AskChannelStore(target) and copied_feeds.announcement(5) == "article"
    assert copied_feeds.all() == feeds.all() and copied_feeds.article_ids() == ["article"]
    assert copied_feeds.add("https://b.example/rss", "B", interval_minutes=15).id == feed.id + 1  # ids go on
    copied.audit(2, "remove", "article")
    assert [row[2] for row in copied.audit_log()] == ["remove", "add"]


def test_one_process_leads_the_feeds_and_another_takes_over_when_it_goes(pg_cluster, tmp_path):
    url = pg_cluster.fresh_database()
    first, second = open_database(url), open_database(url)
    a, b = first.leadership("feeds"), second.leadership("feeds")
    assert a.held() and not b.held() and a.held()  # held until released
    assert second.leadership("retention").held()  # another kind of work: its own leader
    a.release()  # the leading process stops (or dies: its connection goes, and its lock with it)
    assert b.held() and not a.held()
    b.release()
    first.close()
    second.close()
    assert open_database(tmp_path / "x.sqlite3").leadership("feeds").held()  # one process: it leads
