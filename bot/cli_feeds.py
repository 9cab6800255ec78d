"""`run_bot.py feeds add|remove|list|poll`: the shell twins of the admins' `/feeds` commands."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import signal
import sys
from pathlib import Path

from bot.articles import FetchError
from bot.cli_manage import confirm
from bot.config import Settings
from bot.feeds import DEFAULT_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES, FeedError, FeedPoller
from bot.service import QAService
from bot.storage import Feed, FeedbackStore, FeedStore, open_database

MAX_INTERVAL_MINUTES = 24 * 60


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def feed_lines(feed: Feed) -> list[str]:
    """How a feed is doing, in a few lines (shell and Discord say the same)."""
    lines = [
        f"checked {_when(feed.last_checked)}; last new item {_when(feed.last_new_item)}; "
        f"{feed.articles} articles brought in; every {feed.interval_minutes} min",
    ]
    if feed.error:
        lines.append(f"error: {feed.error} ({feed.failures} in a row); next try {_when(feed.next_check)}")
    else:
        lines.append(f"next check {_when(feed.next_check)}")
    return lines


class _Shell:
    """The store, the service and the poller one shell command needs."""

    def __init__(self, settings: Settings, corpus_dir: Path) -> None:
        self.settings = settings
        self.database = open_database(settings.database_address)
        self.store = FeedStore(self.database)
        self.feedback = FeedbackStore(self.database)
        self.service = QAService(
            corpus_dir, max_file_bytes=settings.max_article_bytes, cache_dir=settings.cache_dir
        )

    def poller(self) -> FeedPoller:
        return FeedPoller(
            self.store,
            self.service,
            self.settings.fetch_policy(),
            feed_max_bytes=self.settings.feed_max_bytes,
            retention_days=self.settings.feed_retention_days,
            audit=lambda action, target, detail: self.feedback.audit(None, action, target, detail),
        )

    def close(self) -> None:
        self.database.close()


def run_feeds(command: str, args: object, settings: Settings, corpus_dir: Path) -> int:
    """Dispatch one `feeds` sub-command."""
    shell = _Shell(settings, corpus_dir)
    try:
        if command == "list":
            return _list(shell, as_json=bool(getattr(args, "json", False)))
        if command == "add":
            return asyncio.run(
                _add(
                    shell,
                    str(getattr(args, "url", "")),
                    getattr(args, "interval", None),
                    bool(getattr(args, "yes", False)),
                )
            )
        if command == "remove":
            return _remove(shell, str(getattr(args, "name", "")), bool(getattr(args, "yes", False)))
        return asyncio.run(_poll(shell, once=bool(getattr(args, "once", False))))
    finally:
        shell.close()


def _list(shell: _Shell, *, as_json: bool) -> int:
    feeds = shell.store.all()
    if as_json:
        print(json.dumps([dataclasses.asdict(f) for f in feeds], default=str, ensure_ascii=False))
        return 0
    if not feeds:
        print("No feeds followed. Add one with: run_bot.py feeds add URL")
    for feed in feeds:
        print(f"[{feed.id}] {feed.title} — {feed.url}")
        for line in feed_lines(feed):
            print(f"    {line}")
    return 0


async def _add(shell: _Shell, url: str, interval: int | None, assume_yes: bool) -> int:
    interval = interval or DEFAULT_INTERVAL_MINUTES
    if not MIN_INTERVAL_MINUTES <= interval <= MAX_INTERVAL_MINUTES:
        print(
            f"error: the interval must be {MIN_INTERVAL_MINUTES} to {MAX_INTERVAL_MINUTES} minutes",
            file=sys.stderr,
        )
        return 2
    try:
        _, parsed = await shell.poller().preview(url)
    except (FetchError, FeedError) as exc:
        print(f"error: cannot follow this feed: {exc}", file=sys.stderr)
        return 1
    print(f"Feed:      {parsed.title or '(no title)'}")
    print(f"Items:     {len(parsed.items)}{' (more not read)' if parsed.truncated else ''}")
    for item in parsed.items[:5]:
        date = item.published.strftime("%Y-%m-%d") if item.published else "no date"
        print(f"  • {date}  {item.title or item.link or '(untitled)'}")
    print(f"Checked every {interval} minutes; its newest items are brought in at the first check.")
    if not confirm("Follow it?", assume_yes):
        return 1
    try:
        feed = shell.store.add(url.strip(), parsed.title or url, interval_minutes=interval, added_by="shell")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    shell.feedback.audit(None, "feed-follow", str(feed.id), feed.url)
    print(f"Following as feed {feed.id}. The running bot checks it within a minute.")
    return 0


def _remove(shell: _Shell, name: str, assume_yes: bool) -> int:
    feed = shell.store.find(name)
    if feed is None:
        print(f"error: no feed {name!r} (give its number, address or title)", file=sys.stderr)
        return 1
    if not confirm(f"Stop following “{feed.title}” ({feed.url})? Its articles stay.", assume_yes):
        return 1
    shell.store.remove(feed.id)
    shell.feedback.audit(None, "feed-unfollow", str(feed.id), feed.url)
    print(f"No longer following {feed.url}; its {feed.articles} articles stay in the corpus.")
    return 0


async def _poll(shell: _Shell, *, once: bool) -> int:
    report = await shell.service.reload()
    if not report.ok:
        print(f"error: could not load the corpus: {report.error}", file=sys.stderr)
        return 1
    poller = shell.poller()
    if once:
        for feed in await asyncio.to_thread(shell.store.all):
            result = await poller.poll(feed)
            state = result.error or ("not modified" if result.not_modified else f"{len(result.added)} new")
            print(
                f"[{feed.id}] {feed.title}: {state}"
                + (f", {result.skipped} skipped" if result.skipped else "")
            )
        return 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print("Polling feeds; Ctrl-C stops.")
    await poller.run(stop)
    return 0
