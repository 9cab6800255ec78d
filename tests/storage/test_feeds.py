"""The feed store: followed feeds, their polling state, the items they brought in."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.storage import FeedStore

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(database_url):
    feeds = FeedStore(database_url)
    yield feeds
    feeds.close()


def test_a_feed_is_followed_once_and_due_at_once(store):
    feed = store.add("https://a.example/rss", "A", interval_minutes=15, guild_id=1, now=T0)
    with pytest.raises(ValueError, match="followed already"):
        store.add("https://a.example/rss", "A again", interval_minutes=30)
    assert store.due(T0) == [feed] and store.next_due() == T0
    assert store.find("A") == feed and store.find(str(feed.id)) == feed and store.find("B") is None
    assert store.all(guild_id=2) == [] and store.all(guild_id=1) == [feed]


def test_checks_and_failures_are_recorded(store, database_url):
    feed = store.add("https://a.example/rss", "?", interval_minutes=15, now=T0)
    later = T0 + dt.timedelta(minutes=15)
    store.failed(feed.id, "the site answered HTTP 500", now=T0, next_check=later)
    failed = store.get(feed.id)
    assert (
        failed.failures == 1 and failed.error == "the site answered HTTP 500" and failed.last_success is None
    )
    assert store.due(T0) == [] and [f.id for f in store.due(later)] == [feed.id]
    store.checked(feed.id, now=later, next_check=later, etag='"e"', last_modified=None, title="Le titre")
    ok = store.get(feed.id)
    assert (ok.failures, ok.error, ok.etag, ok.title, ok.last_success) == (0, None, '"e"', "Le titre", later)
    reopened = FeedStore(database_url)
    assert reopened.get(feed.id) == ok
    reopened.close()


def test_items_are_remembered_per_feed_even_once_it_is_removed(store):
    a = store.add("https://a.example/rss", "A", interval_minutes=15)
    b = store.add("https://b.example/rss", "B", interval_minutes=15)
    store.mark(a.id, ["id:1"], "added", article_id="one")
    store.mark(a.id, ["id:2", "id:3"], "backlog")
    assert store.seen(a.id, ["id:1", "id:2", "id:4"]) == {"id:1", "id:2"}
    assert store.seen(b.id, ["id:1"]) == set()
    assert store.get(a.id).articles == 1 and store.article_ids() == ["one"]
    assert store.remove(a.id) and not store.remove(a.id)
    store.mark(a.id, ["id:9"], "added", article_id="late")  # a poll finishing after the removal
    assert store.seen(a.id, ["id:1", "id:9"]) == {"id:1"} and store.article_ids() == ["one"]
    assert [article for article, _ in store.brought_in()] == ["one"]
    store.expired("one")
    assert store.brought_in() == []


def test_announcements_map_messages_to_articles(store):
    store.announced(111, 5, "article-a")
    assert store.announcement(111) == "article-a" and store.announcement(112) is None
