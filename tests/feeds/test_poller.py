"""Polling feeds from a local site into a served corpus: new items become answerable articles,
politely (conditional requests, backoff), and bad input loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from pathlib import Path

import frontmatter
import pytest

from bot.articles import FetchPolicy
from bot.feeds import FeedPoller, backoff
from bot.feeds.poller import NEW_PER_POLL
from bot.service import QAService
from bot.storage import FeedStore
from tests.discord.fixtures import eventually
from tests.feeds.feed_site import FeedSite, Story, serve

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def story(n: int, **extra) -> Story:
    """A short local-news story whose sentences name its number."""
    words = ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze"]
    name = f"Kermadec-{n}"
    values = dict(
        slug=f"story-{n}",
        title=f"Le chantier naval {name} lance un navire",
        paragraphs=[
            f"Le chantier naval {name} a lancé mardi un caboteur de quatre-vingts mètres.",
            f"Selon la direction, {words[n % 12]} cents ouvriers ont travaillé sur la coque "
            "pendant deux ans.",
            "La cérémonie a réuni les familles des ouvriers sur le quai.",
        ],
        published=NOW - dt.timedelta(hours=n + 1),
        summary=f"Le chantier {name} a lancé mardi un caboteur de quatre-vingts mètres, après deux ans "
        "de travaux.",
        guid=f"guid-{n}",
    )
    values.update(extra)
    return Story(**values)


@pytest.fixture
def service(corpus_dir: Path) -> QAService:
    served = QAService(corpus_dir)
    assert served.load().ok
    return served


@pytest.fixture
def store(tmp_path: Path):
    feeds = FeedStore(tmp_path / "depeche.sqlite3")
    yield feeds
    feeds.close()


def poller_for(store: FeedStore, service: QAService, **options) -> FeedPoller:
    policy = FetchPolicy(max_bytes=1024 * 1024, timeout_seconds=5, allow_private=True)
    return FeedPoller(store, service, policy, rng=random.Random(7), **options)


def feed_articles(corpus_dir: Path) -> dict[str, frontmatter.Post]:
    return {p.stem: frontmatter.load(p) for p in corpus_dir.glob("*.md") if p.stem != "sept-roquettes-balad"}


async def test_a_new_feed_brings_its_newest_items_in_and_they_are_answerable(store, service):
    site = FeedSite()
    for n in range(NEW_PER_POLL + 3, 0, -1):
        site.publish(story(n))
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml?utm_source=x", "?", interval_minutes=15)
        report = await poller_for(store, service).poll(feed)
        # The backlog beyond the newest items is not taken later either.
        again = await poller_for(store, service).poll(store.get(feed.id))
    assert again.not_modified and not again.added
    assert report.error is None and len(report.added) == NEW_PER_POLL and report.skipped == 3
    answer = service.engine.answer("Combien d'ouvriers ont travaillé sur la coque du chantier Kermadec-4 ?")
    assert answer.answered and answer.results[0].article_id == "le-chantier-naval-kermadec-4-lance-un-navire"
    meta = feed_articles(service.corpus_dir)["le-chantier-naval-kermadec-4-lance-un-navire"].metadata
    assert meta["url"] == f"{site.base}/news/story-4"
    assert meta["published"] == (NOW - dt.timedelta(hours=5)).date().isoformat()
    assert meta["published_at"] == (NOW - dt.timedelta(hours=5)).isoformat()
    assert meta["feed"].endswith("/rss.xml?utm_source=x") and "summary_only" not in meta
    state = store.get(feed.id)
    assert state is not None and state.title == "Le Courrier du Port" and state.articles == NEW_PER_POLL


async def test_an_unchanged_feed_is_asked_conditionally_and_costs_nothing(store, service):
    site = FeedSite(stories=[story(1)])
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        poller = poller_for(store, service, clock=lambda: NOW)
        await poller.poll(feed)
        pages = site.count("/news/story-1")
        second = await poller.poll(store.get(feed.id))
    assert second.not_modified and site.count("/news/story-1") == pages == 1
    assert site.requests[-1][2].get("If-None-Match", "").startswith('"')
    assert second.next_check is not None
    minutes = (second.next_check - NOW).total_seconds() / 60
    assert 13 <= minutes <= 17.5  # the interval, with jitter


async def test_a_published_item_arrives_at_the_next_poll_and_is_announced(store, service):
    site = FeedSite(stories=[story(1)])
    announced: list[tuple[int, list[str]]] = []

    async def announce(feed, metas):
        announced.append((feed.id, [m.id for m in metas]))

    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15, channel_id=42)
        poller = poller_for(store, service, announce=announce)
        await poller.poll(feed)
        assert announced == []  # a new feed's first items are its backlog, not news
        site.publish(story(2, published=NOW))
        report = await poller.poll(store.get(feed.id))
    assert report.added == ["le-chantier-naval-kermadec-2-lance-un-navire"]
    assert announced == [(feed.id, report.added)]


async def test_the_same_story_in_two_feeds_is_one_article(store, service):
    site = FeedSite(stories=[story(1, link_query="?utm_source=rss&utm_medium=feed")])
    async with serve(site):
        rss = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        atom = store.add(f"{site.base}/atom.xml", "?", interval_minutes=15)
        poller = poller_for(store, service)
        first = await poller.poll(rss)
        second = await poller.poll(atom)
    assert len(first.added) == 1 and second.added == [] and second.skipped == 1
    assert [p.metadata["url"] for p in feed_articles(service.corpus_dir).values()] == [
        f"{site.base}/news/story-1"
    ]


async def test_an_item_whose_page_cannot_be_read_keeps_its_summary(store, service):
    lonely = story(
        3,
        page=False,
        summary="Le chantier naval Kermadec-3 a lancé mardi un caboteur construit par trois cents ouvriers.",
    )
    site = FeedSite(stories=[lonely])
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        report = await poller_for(store, service).poll(feed)
    assert len(report.added) == 1
    post = feed_articles(service.corpus_dir)[report.added[0]]
    assert post.metadata["summary_only"] is True
    assert "trois cents ouvriers" in post.content


async def test_robots_txt_is_honoured_for_article_pages(store, service):
    site = FeedSite(stories=[story(1)], robots="User-agent: DepecheBot\nDisallow: /news/\n")
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        report = await poller_for(store, service).poll(feed)
    assert site.count("/news/story-1") == 0 and site.count("/robots.txt") == 1
    assert feed_articles(service.corpus_dir)[report.added[0]].metadata["summary_only"] is True


async def test_a_failing_feed_backs_off_shows_its_error_and_resumes(store, service):
    site = FeedSite(stories=[story(1)])
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        site.failures["/rss.xml"] = [500, {}, 3]
        poller = poller_for(store, service, clock=lambda: NOW)
        waits = []
        for _ in range(3):
            report = await poller.poll(store.get(feed.id))
            assert report.error == "the site answered HTTP 500" and not report.added
            waits.append(report.next_check)
        state = store.get(feed.id)
        assert state.failures == 3 and state.error == "the site answered HTTP 500"
        assert feed_articles(service.corpus_dir) == {}
        resumed = await poller.poll(state)
    gaps = [(w - NOW).total_seconds() / 60 for w in waits]
    assert gaps == [15, 30, 60]
    assert len(resumed.added) == 1 and store.get(feed.id).error is None and store.get(feed.id).failures == 0


async def test_retry_after_is_honoured(store, service):
    site = FeedSite(stories=[story(1)])
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=5)
        site.failures["/rss.xml"] = [429, {"Retry-After": "7200"}, 1]
        report = await poller_for(store, service, clock=lambda: NOW).poll(feed)
    assert report.error == "the site answered HTTP 429"
    assert (report.next_check - NOW).total_seconds() == 7200


def test_backoff_doubles_up_to_six_hours():
    interval = dt.timedelta(minutes=15)
    assert [backoff(interval, n, None).total_seconds() / 60 for n in (1, 2, 3, 6, 30)] == [
        15,
        30,
        60,
        360,
        360,
    ]
    assert backoff(interval, 1, 10 * 86400) == dt.timedelta(hours=24)


@pytest.mark.parametrize(
    ("path", "body", "kind", "message"),
    [
        ("/broken.xml", b"\x00\x01\x02 not xml", "application/xml", "not an RSS or Atom feed"),
        ("/page.html", b"<html><body><p>Bienvenue</p></body></html>", "text/html", "web page, not a feed"),
        ("/doc.pdf", b"%PDF-1.4", "application/pdf", "not a feed"),
    ],
)
async def test_what_is_not_a_feed_is_an_error_on_the_feed_and_the_corpus_is_untouched(
    store, service, path, body, kind, message
):
    site = FeedSite()
    site.raw[path] = (body, kind)
    before = service.engine.version
    async with serve(site):
        feed = store.add(f"{site.base}{path}", "?", interval_minutes=15)
        report = await poller_for(store, service).poll(feed)
    assert message in (report.error or "") and message in (store.get(feed.id).error or "")
    assert service.engine.version == before


async def test_a_feed_at_a_private_address_is_refused(store, service):
    site = FeedSite(stories=[story(1)])
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        poller = FeedPoller(store, service, FetchPolicy(timeout_seconds=5))
        report = await poller.poll(feed)
    assert "private or local address" in (report.error or "") and site.requests == []


async def test_a_huge_item_page_is_not_read_and_the_summary_serves(store, service):
    site = FeedSite(stories=[story(1)])
    async with serve(site):
        huge = b"<html><body>" + b"<p>bla bla</p>" * 4_000_000 + b"</body></html>"  # 56 MB
        site.raw["/news/story-1"] = (huge, "text/html")
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        report = await poller_for(store, service).poll(feed)
    assert len(report.added) == 1
    assert feed_articles(service.corpus_dir)[report.added[0]].metadata["summary_only"] is True


async def test_a_feed_removed_while_it_is_polled_stops_bringing_items_in(store, service):
    site = FeedSite(stories=[story(n) for n in (1, 2, 3)])
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        poller = poller_for(store, service)
        original = poller._fetch_page

        async def fetch_then_remove(url):
            page = await original(url)
            store.remove(feed.id)  # an admin's /feeds remove lands during the first item
            return page

        poller._fetch_page = fetch_then_remove
        report = await poller.poll(feed)
    assert len(report.added) == 1 and store.get(feed.id) is None
    assert len(feed_articles(service.corpus_dir)) == 1


async def test_a_process_killed_after_writing_an_article_takes_the_item_up_again_without_a_copy(
    store, service, monkeypatch
):
    site = FeedSite(stories=[story(1)])
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        real_mark = store.mark

        def killed(*args, **kwargs):
            raise KeyboardInterrupt  # the process dies between the write and the record

        monkeypatch.setattr(store, "mark", killed)
        with pytest.raises(KeyboardInterrupt):
            await poller_for(store, service).poll(feed)
        assert len(feed_articles(service.corpus_dir)) == 1
        assert not [p for p in service.corpus_dir.iterdir() if p.name.startswith(".tmp-")]
        monkeypatch.setattr(store, "mark", real_mark)
        restarted = QAService(service.corpus_dir)
        assert restarted.load().ok
        report = await poller_for(store, restarted).poll(store.get(feed.id))
    assert report.added == [] and report.skipped == 1
    assert len(feed_articles(service.corpus_dir)) == 1
    assert store.seen(feed.id, ["id:guid-1"]) == {"id:guid-1"}


async def test_run_polls_due_feeds_and_stops_at_once_when_told(store, service):
    site = FeedSite(stories=[story(1)])
    async with serve(site):
        store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        poller = poller_for(store, service)
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run(stop))
        with contextlib.suppress(TimeoutError):  # (the assertion below says what is missing)
            await eventually(lambda: bool(feed_articles(service.corpus_dir)))
        stop.set()
        await asyncio.wait_for(task, 2)
    assert len(feed_articles(service.corpus_dir)) == 1


async def test_retention_moves_old_feed_articles_out_and_keeps_the_rest(store, service):
    old = story(1, published=NOW - dt.timedelta(days=40))
    undated = story(2, published=None)
    site = FeedSite(stories=[story(3), old, undated])
    async with serve(site):
        feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        poller = poller_for(store, service, retention_days=30)
        report = await poller.poll(feed)
    assert len(report.added) == 3
    removed = await poller.expire()
    assert removed == ["le-chantier-naval-kermadec-1-lance-un-navire"]
    served = {meta.id for meta in service.engine.index.articles}
    assert "le-chantier-naval-kermadec-1-lance-un-navire" not in served
    assert {
        "le-chantier-naval-kermadec-2-lance-un-navire",
        "le-chantier-naval-kermadec-3-lance-un-navire",
    } <= served
    assert (service.corpus_dir / ".removed" / "le-chantier-naval-kermadec-1-lance-un-navire.md").is_file()
    assert await poller.expire() == []
    # Brought in 31 days ago without a date of its own: its time has come too.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    assert await poller.expire(later) == [
        "le-chantier-naval-kermadec-2-lance-un-navire",
        "le-chantier-naval-kermadec-3-lance-un-navire",
    ]


async def test_a_process_that_does_not_lead_does_not_poll(store, service):
    site = FeedSite(stories=[story(1)])
    leading = False
    async with serve(site):
        store.add(f"{site.base}/rss.xml", "?", interval_minutes=15)
        poller = poller_for(store, service, leads=lambda: leading)
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run(stop))
        await asyncio.sleep(0.3)
        assert site.requests == [] and feed_articles(service.corpus_dir) == {}
        leading = True  # the leader died: this process takes over at its next check
        poller.wake.set()
        with contextlib.suppress(TimeoutError):  # (the assertion below says what is missing)
            await eventually(lambda: bool(feed_articles(service.corpus_dir)))
        stop.set()
        await asyncio.wait_for(task, 2)
    assert len(feed_articles(service.corpus_dir)) == 1


async def test_an_item_without_title_or_with_a_script_link_still_brings_its_text_in(store, service):
    site = FeedSite()
    text = "Le conseil municipal de Quimper a voté mardi la gratuité des bus le samedi pour toute l'année."
    site.raw["/odd.xml"] = (
        (
            '<rss version="2.0"><channel><title>Odd</title>'
            f"<item><guid>a</guid><description>{text}</description></item>"
            "<item><guid>b</guid><title>Le port de Brest en fête</title><link>javascript:alert(1)</link>"
            "<description>Le port de Brest a fêté dimanche ses deux cents ans devant plus de dix "
            "mille visiteurs.</description></item>"
            "</channel></rss>"
        ).encode(),
        "application/rss+xml",
    )
    async with serve(site):
        feed = store.add(f"{site.base}/odd.xml", "?", interval_minutes=15)
        report = await poller_for(store, service).poll(feed)
    assert len(report.added) == 2 and site.requests[-1][1] == "/odd.xml"  # no request for the script link
    posts = feed_articles(service.corpus_dir)
    titles = sorted(post.metadata["title"] for post in posts.values())
    assert titles == [
        "Le conseil municipal de Quimper a voté mardi la gratuité des bus le samedi pour toute l'année.",
        "Le port de Brest en fête",
    ]
    assert all("url" not in post.metadata for post in posts.values())
