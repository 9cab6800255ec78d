"""Read a feed document (RSS 2.0, Atom 1.0, RSS 1.0/RDF) with feedparser: its title and items,
newest first, with a bounded amount of work whatever the document's size."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass

import feedparser
import lxml.etree
import lxml.html

from bot.text import clean_text

log = logging.getLogger(__name__)

# What a feed is served as (some sites use text/plain or text/html; the parser decides).
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/x-rss+xml",
    "text/plain",
    "text/html",
)
# Items read from one document. Feeds list their newest items first; the document is cut after
# this many, so a feed of 100,000 items costs a poll no more than one of 300.
MAX_ITEMS = 300
# A date this far ahead of the clock is not trusted (time zones wrongly declared, typos).
FUTURE_SKEW = dt.timedelta(hours=1)

_ITEM_END = re.compile(rb"</(?:[a-z0-9]+:)?(?:item|entry)\s*>", re.IGNORECASE)
_ALTERNATE = re.compile(
    rb"""<link\b[^>]*\btype\s*=\s*["']application/(?:rss|atom)\+xml["'][^>]*>""", re.IGNORECASE
)
_HREF = re.compile(rb"""\bhref\s*=\s*["']([^"']{1,2000})["']""", re.IGNORECASE)
_BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "section", "article")


class FeedError(Exception):
    """A document that is not a usable feed; the message is safe to show an admin."""


@dataclass(frozen=True)
class FeedItem:
    """One item of a feed, as plain text."""

    key: str  # what identifies it across polls: its guid, else its link, else a hash of its text
    link: str | None
    title: str | None
    published: dt.datetime | None  # UTC; None when missing or not trusted
    summary: str | None
    content: list[str]  # the item's own full text, as paragraphs (often empty)
    future_date: bool = False  # it gave a date ahead of the clock, which was not trusted


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's title, its site, and its items (unique keys, in the document's order)."""

    title: str
    site: str | None
    items: list[FeedItem]
    truncated: bool  # the document had more items than were read


def paragraphs_of_html(fragment: str) -> list[str]:
    """The text of an HTML fragment as paragraphs (block elements and line breaks split them)."""
    if not fragment or not fragment.strip():
        return []
    if "<" not in fragment:
        text = clean_text(fragment)
        return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.LxmlError):
        return []
    for hidden in list(root.iter("script", "style")):
        hidden.drop_tree()
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for block in root.iter(*_BLOCKS):
        block.tail = "\n\n" + (block.tail or "")
        block.text = "\n\n" + (block.text or "")
    text = clean_text(root.text_content())
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _date(entry: feedparser.FeedParserDict, now: dt.datetime) -> tuple[dt.datetime | None, bool]:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None, False
    try:
        when = dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC)
    except (OverflowError, ValueError, OSError):
        return None, False
    if when > now + FUTURE_SKEW:
        return None, True
    return when, False


def _key(entry: feedparser.FeedParserDict, link: str | None, title: str | None, summary: str | None) -> str:
    guid = (entry.get("id") or "").strip()
    if guid:
        return f"id:{guid[:500]}"
    if link:
        return f"link:{link[:500]}"
    digest = hashlib.sha256(f"{title}\0{summary}".encode()).hexdigest()[:32]
    return f"text:{digest}"


def _text(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(clean_text(value).split())
    return text[:limit] or None


def discovered_feed(body: bytes) -> str | None:
    """The feed a web page announces (`<link rel="alternate" type="application/rss+xml">`)."""
    tag = _ALTERNATE.search(body[:200_000])
    href = _HREF.search(tag.group(0)) if tag else None
    return href.group(1).decode("utf-8", "replace") if href else None


def parse_feed(body: bytes, *, now: dt.datetime | None = None) -> ParsedFeed:
    """The feed in `body`; raise `FeedError` when it is not one."""
    now = now or dt.datetime.now(dt.UTC)
    ends = [m.end() for m, _ in zip(_ITEM_END.finditer(body), range(MAX_ITEMS + 1), strict=False)]
    truncated = len(ends) > MAX_ITEMS
    document = body[: ends[MAX_ITEMS - 1]] if truncated else body
    parsed = feedparser.parse(document, sanitize_html=True, resolve_relative_uris=True)
    if not parsed.get("version") and not parsed.entries:
        page = discovered_feed(body)
        if b"<html" in body[:2000].lower() or page:
            hint = f" — its feed may be {page}" if page else ""
            raise FeedError(f"this address is a web page, not a feed{hint}")
        problem = parsed.get("bozo_exception")
        detail = f" ({problem})" if problem and not truncated else ""
        raise FeedError(f"this is not an RSS or Atom feed{detail}"[:300])
    if parsed.get("bozo") and not truncated:
        log.info("feed parsed leniently: %s", parsed.get("bozo_exception"))
    items: list[FeedItem] = []
    keys: set[str] = set()
    for entry in parsed.entries:
        link = (entry.get("link") or "").strip() or None
        title = _text(entry.get("title"), 300)
        summary_html = entry.get("summary") or ""
        summary_paragraphs = paragraphs_of_html(summary_html) if isinstance(summary_html, str) else []
        summary = " ".join(summary_paragraphs)[:2000] or None
        content: list[str] = []
        for part in entry.get("content") or []:
            content.extend(paragraphs_of_html(part.get("value") or ""))
        key = _key(entry, link, title, summary)
        if key in keys:  # duplicate GUIDs in one document: the first one counts
            continue
        keys.add(key)
        published, future = _date(entry, now)
        items.append(FeedItem(key, link, title, published, summary, content, future))
    feed = parsed.feed
    return ParsedFeed(
        title=_text(feed.get("title"), 200) or "",
        site=(feed.get("link") or "").strip() or None,
        items=items,
        truncated=truncated,
    )
