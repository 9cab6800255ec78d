"""Following feeds: RSS and Atom documents read into items, items turned into articles (the
linked page, else the item's own text), and the poller that does it politely on a schedule.

Depends on `articles` (fetching, drafts, the library that writes files), `search` (duplicates),
`storage` (the feeds and their items) and `service` (the reload that serves new articles).
"""

from bot.feeds.ingest import FeedSource, draft_for_item
from bot.feeds.links import canonical_link, clean_link
from bot.feeds.parse import FeedError, FeedItem, ParsedFeed, discovered_feed, parse_feed
from bot.feeds.poller import (
    DEFAULT_INTERVAL_MINUTES,
    MIN_INTERVAL_MINUTES,
    FeedPoller,
    PollReport,
    backoff,
)

__all__ = [
    "DEFAULT_INTERVAL_MINUTES",
    "MIN_INTERVAL_MINUTES",
    "FeedError",
    "FeedItem",
    "FeedPoller",
    "FeedSource",
    "ParsedFeed",
    "PollReport",
    "backoff",
    "canonical_link",
    "clean_link",
    "discovered_feed",
    "draft_for_item",
    "parse_feed",
]
