"""Polite polling: each feed at its interval (with jitter), conditional requests, one request at a
time per site, exponential backoff on errors (Retry-After honoured), new items written as
articles and served by one reload per poll, then announced.

Everything slow runs off the event loop (the database, parsing, extraction, the reload); the
loop only waits. `run` stops as soon as its stop event is set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.articles import (
    ArticleError,
    ArticleMeta,
    FetchedPage,
    FetchError,
    FetchPolicy,
    HttpStatusError,
    check_url,
    fetch_page,
    library,
    normalise_url,
    text_fingerprint,
)
from bot.feeds.ingest import FeedSource, draft_for_item
from bot.feeds.parse import FEED_TYPES, FeedError, FeedItem, ParsedFeed, parse_feed
from bot.feeds.robots import ROBOTS_TYPES, RobotsRules
from bot.search import find_duplicate
from bot.service import QAService
from bot.storage import Feed, FeedStore

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MINUTES = 15
MIN_INTERVAL_MINUTES = 5
MAX_BACKOFF = dt.timedelta(hours=6)
MAX_RETRY_AFTER = dt.timedelta(hours=24)
JITTER = 0.1  # each next check moves by up to ±10 % of the interval
NEW_PER_POLL = 10  # articles one poll brings in; more wait for the next poll, a minute later
BACKLOG_RETRY = dt.timedelta(minutes=1)
RETENTION_CHECK = dt.timedelta(hours=1)
CONCURRENT_POLLS = 8
FOLLOWER_RETRY_SECONDS = 30.0  # how often a process that does not poll checks whether the poller died

Announce = Callable[[Feed, list[ArticleMeta]], Awaitable[None]]
Audit = Callable[[str, str, str], None]


@dataclass
class PollReport:
    """What one poll of one feed did."""

    feed_id: int
    url: str
    not_modified: bool = False
    added: list[str] = field(default_factory=list)  # article ids
    skipped: int = 0  # duplicates, items without text, the backlog of a new feed
    waiting: int = 0  # new items left for the next poll
    error: str | None = None
    next_check: dt.datetime | None = None


def backoff(interval: dt.timedelta, failures: int, retry_after: float | None) -> dt.timedelta:
    """How long to wait after the `failures`-th failure in a row (1 for the first): the interval
    doubled each time up to six hours, and never less than the site's Retry-After."""
    wait = min(interval * 2 ** min(failures - 1, 16), MAX_BACKOFF)
    if retry_after is not None:
        wait = max(wait, min(dt.timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return wait


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _newest_first(items: Iterable[FeedItem]) -> list[FeedItem]:
    """Dated items newest first, then the undated ones in the document's order."""
    listed = list(items)
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    order = sorted(range(len(listed)), key=lambda i: (-(listed[i].published or floor).timestamp(), i))
    return [listed[i] for i in order]


class FeedPoller:
    """Polls the store's feeds into the service's corpus folder."""

    def __init__(
        self,
        store: FeedStore,
        service: QAService,
        policy: FetchPolicy,
        *,
        feed_max_bytes: int = 2 * 1024 * 1024,
        audit: Audit | None = None,
        announce: Announce | None = None,
        retention_days: int | None = None,
        leads: Callable[[], bool] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.policy = policy
        self.feed_policy = FetchPolicy(
            max_bytes=feed_max_bytes,
            timeout_seconds=policy.timeout_seconds,
            max_redirects=policy.max_redirects,
            allow_private=policy.allow_private,
        )
        self.audit = audit
        self.announce = announce
        self.retention_days = retention_days
        # Whether this process runs the polling (several processes share the feeds: one polls).
        self.leads = leads or (lambda: True)
        self._expired_at: dt.datetime | None = None
        self._rng = rng or random.Random()
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._hosts: dict[str, asyncio.Lock] = {}
        self._write = asyncio.Lock()  # one poll at a time writes and reloads
        self.robots = RobotsRules(self._fetch_robots)
        self.wake = asyncio.Event()  # set to poll what is due now (a new feed, /feeds check)

    # -- requests, one at a time per site ------------------------------------------------------

    def _host_lock(self, url: str) -> asyncio.Lock:
        host = (urlsplit(url).hostname or "").lower()
        if len(self._hosts) > 10_000:
            self._hosts = {h: lock for h, lock in self._hosts.items() if lock.locked()}
        return self._hosts.setdefault(host, asyncio.Lock())

    async def _fetch_page(self, url: str) -> FetchedPage:
        async with self._host_lock(url):
            return await fetch_page(url, self.policy)

    async def _fetch_robots(self, url: str) -> FetchedPage:
        async with self._host_lock(url):
            policy = FetchPolicy(512 * 1024, self.policy.timeout_seconds, 5, self.policy.allow_private)
            return await fetch_page(url, policy, accept=ROBOTS_TYPES, what="a robots.txt file")

    async def fetch_feed(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedPage:
        """The feed document (or a 304 answer when the validators still hold)."""
        async with self._host_lock(url):
            return await fetch_page(
                url,
                self.feed_policy,
                accept=FEED_TYPES,
                what="a feed",
                etag=etag,
                last_modified=last_modified,
            )

    async def preview(self, url: str) -> tuple[str, ParsedFeed]:
        """What a feed holds before it is followed (its final address, after redirects, and its
        items); raise `FetchError` or `FeedError` saying why it cannot be followed."""
        page = await self.fetch_feed(check_url(url, allow_private=self.policy.allow_private))
        return page.final_url, await asyncio.to_thread(parse_feed, page.body)

    # -- polling -------------------------------------------------------------------------------

    def _next(self, feed: Feed, now: dt.datetime) -> dt.datetime:
        interval = dt.timedelta(minutes=feed.interval_minutes)
        return now + interval * (1 + self._rng.uniform(-JITTER, JITTER))

    async def poll(self, feed: Feed) -> PollReport:
        """Poll one feed now: fetch, bring its new items in, record the outcome."""
        report = PollReport(feed.id, feed.url)
        now = self._clock()
        try:
            page = await self.fetch_feed(feed.url, feed.etag, feed.last_modified)
            # A 304 answer keeps the validators sent, and brings nothing in.
            parsed = None if page.not_modified else await asyncio.to_thread(parse_feed, page.body, now=now)
        except (FetchError, FeedError) as exc:
            retry_after = exc.retry_after if isinstance(exc, HttpStatusError) else None
            report.error = str(exc)
            wait = backoff(dt.timedelta(minutes=feed.interval_minutes), feed.failures + 1, retry_after)
            report.next_check = now + wait
            await asyncio.to_thread(
                self.store.failed, feed.id, str(exc), now=now, next_check=report.next_check
            )
            log.info("feed %s: %s; next try in %s", feed.url, exc, wait)
            return report
        report.not_modified = parsed is None
        if parsed is not None:
            async with self._write:
                await self._bring_in(feed, parsed.items, report, first=feed.last_success is None)
        report.next_check = now + BACKLOG_RETRY if report.waiting else self._next(feed, now)
        await asyncio.to_thread(
            self.store.checked,
            feed.id,
            now=now,
            next_check=report.next_check,
            etag=page.etag,
            last_modified=page.last_modified,
            title=parsed.title if parsed is not None else None,
        )
        return report

    async def _bring_in(self, feed: Feed, items: list[FeedItem], report: PollReport, *, first: bool) -> None:
        """Write the feed's unseen items as articles (at most `NEW_PER_POLL`), reload, announce."""
        seen = await asyncio.to_thread(self.store.seen, feed.id, [i.key for i in items])
        fresh = _newest_first(i for i in items if i.key not in seen)
        taken, rest = fresh[:NEW_PER_POLL], fresh[NEW_PER_POLL:]
        if first and rest:  # a new feed's backlog: its newest items only
            await asyncio.to_thread(self.store.mark, feed.id, [i.key for i in rest], "backlog")
            report.skipped += len(rest)
        else:
            report.waiting = len(rest)
        source = FeedSource(feed.url, feed.title)
        batch: dict[str, str] = {}  # links and fingerprints written in this poll -> article id
        added = report.added
        for item in taken:
            if await asyncio.to_thread(self.store.get, feed.id) is None:
                log.info("feed %s was removed while it was polled; stopping", feed.url)
                break
            outcome, article_id = await self._bring_item(item, source, batch)
            await asyncio.to_thread(self.store.mark, feed.id, [item.key], outcome, article_id=article_id)
            if outcome == "added" and article_id is not None:
                added.append(article_id)
            else:
                report.skipped += 1
        if not added:
            return
        reloaded = await self.service.reload()
        if not reloaded.ok:
            log.warning("feed %s: articles written but the reload failed: %s", feed.url, reloaded.error)
            return
        if self.announce is not None and not first and feed.channel_id is not None:
            served = {meta.id: meta for meta in self.service.engine.index.articles}
            metas = [served[a] for a in added if a in served]
            try:
                await self.announce(feed, metas)
            except Exception:  # an announcement that fails never stops polling
                log.exception("announcing feed %s's new articles failed", feed.url)

    async def _bring_item(
        self, item: FeedItem, source: FeedSource, batch: dict[str, str]
    ) -> tuple[str, str | None]:
        """Write one item's article; the outcome ("added", "duplicate", "refused") and its id."""
        try:
            draft = await draft_for_item(item, source, self._fetch_page, self.robots.allowed)
            prepared = await asyncio.to_thread(library.prepare, draft, added_by=f"feed:{source.url}")
        except ArticleError as exc:
            log.info("feed %s: item %s not brought in: %s", source.url, item.link or item.key, exc)
            return "refused", None
        body = [s.text for p in prepared.article.paragraphs if p.number > 0 for s in p.sentences]
        marks = [text_fingerprint(body)] + ([normalise_url(draft.url)] if draft.url else [])
        for mark in marks:
            if mark in batch:
                return "duplicate", batch[mark]
        if self.service.ready:
            duplicate = await asyncio.to_thread(find_duplicate, self.service.engine.index, prepared)
            if duplicate is not None:
                return "duplicate", duplicate.id
        try:
            path = await asyncio.to_thread(library.write_article, self.service.corpus_dir, prepared)
        except (ArticleError, OSError) as exc:
            log.warning("feed %s: could not write %s: %s", source.url, draft.slug, exc)
            return "refused", None
        for mark in marks:
            batch[mark] = path.stem
        if self.audit is not None:
            try:
                await asyncio.to_thread(self.audit, "feed-add", path.stem, draft.url or source.url)
            except Exception:
                log.warning("could not record a feed article in the audit trail", exc_info=True)
        return "added", path.stem

    async def expire(self, now: dt.datetime | None = None) -> list[str]:
        """Move the feed articles older than the retention out of the served corpus, as `/corpus
        remove` does (to `.removed/`, recoverable); their age is their publication date, or
        when they were brought in if they have none. The ids removed."""
        if self.retention_days is None or not self.service.ready:
            return []
        now = now or self._clock()
        cutoff = (now - dt.timedelta(days=self.retention_days)).date()
        brought = await asyncio.to_thread(self.store.brought_in)
        removed: list[str] = []
        async with self._write:
            served = {meta.id: meta for meta in self.service.engine.index.articles}
            for article_id, came in brought:
                meta = served.get(article_id)
                if meta is None:  # removed by an admin meanwhile
                    await asyncio.to_thread(self.store.expired, article_id)
                    continue
                age = _day(meta.published) or came.date()
                if age >= cutoff:
                    continue
                try:
                    await asyncio.to_thread(library.remove_article, self.service.corpus_dir, meta)
                except (ArticleError, OSError) as exc:
                    log.warning("retention: could not remove %s: %s", article_id, exc)
                    continue
                await asyncio.to_thread(self.store.expired, article_id)
                removed.append(article_id)
                if self.audit is not None:
                    await asyncio.to_thread(self.audit, "feed-expire", article_id, meta.path)
            if removed:
                await self.service.reload()
                log.info(
                    "retention: %d feed articles older than %d days left the corpus",
                    len(removed),
                    self.retention_days,
                )
        return removed

    async def poll_due(self) -> list[PollReport]:
        """Poll every feed that is due."""
        return await self.poll_many(await asyncio.to_thread(self.store.due, self._clock()))

    async def poll_many(self, feeds: list[Feed]) -> list[PollReport]:
        """Poll these feeds, several sites at once (at most `CONCURRENT_POLLS`: the event loop
        answers members between the steps of a few polls, not of hundreds)."""
        slots = asyncio.Semaphore(CONCURRENT_POLLS)

        async def poll(feed: Feed) -> PollReport:
            async with slots:
                return await self.poll(feed)

        return list(await asyncio.gather(*(poll(feed) for feed in feeds)))

    async def run(self, stop: asyncio.Event) -> None:
        """Poll due feeds until `stop` is set; sleep until the next one is due (or `wake`)."""
        while not stop.is_set():
            self.wake.clear()
            try:
                if not await asyncio.to_thread(self.leads):
                    await _wait(stop, self.wake, FOLLOWER_RETRY_SECONDS)  # another process polls
                    continue
                await self.poll_due()
                now = self._clock()
                if self._expired_at is None or now - self._expired_at >= RETENTION_CHECK:
                    self._expired_at = now
                    await self.expire(now)
                next_due = await asyncio.to_thread(self.store.next_due)
            except Exception:  # a broken database or a bug: log, wait, try again
                log.exception("feed polling failed; trying again in a minute")
                next_due = None
            delay = 60.0 if next_due is None else (next_due - self._clock()).total_seconds()
            await _wait(stop, self.wake, min(max(delay, 1.0), 60.0))


async def _wait(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less when `stop` or `wake` is set."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()
