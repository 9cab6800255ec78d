"""A feed item as an article draft: the linked page extracted when it may be read and has the
text, else the item's own content, else its summary (marked summary-only)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from bot.articles import (
    ArticleDraft,
    ArticleError,
    FetchedPage,
    FetchError,
    draft_from_html,
    draft_from_paragraphs,
)
from bot.feeds.links import canonical_link, clean_link
from bot.feeds.parse import FeedItem

log = logging.getLogger(__name__)

FetchPage = Callable[[str], Awaitable[FetchedPage]]
MayFetch = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True)
class FeedSource:
    """What an item's article says about where it came from."""

    url: str  # the feed's address
    title: str  # the feed's title


def _site(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def _headline(text: str, limit: int = 100) -> str:
    """A title for an item that has none: the start of its text, cut at a word."""
    first = text.split(". ")[0].strip()
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0] + "…"


def _page_draft(page: FetchedPage) -> tuple[ArticleDraft | None, str]:
    """The page's article (None if extraction failed or found too little), and its address."""
    link = canonical_link(page.body, page.final_url) or page.final_url
    try:
        return draft_from_html(page.text(), link), link
    except ArticleError as exc:
        log.info("feed item page %s: %s; using the item's own text", page.final_url, exc)
        return None, link


async def draft_for_item(
    item: FeedItem,
    source: FeedSource,
    fetch_page: FetchPage,
    may_fetch: MayFetch,
) -> ArticleDraft:
    """The article an item becomes; raise `ArticleError` when it has no usable text."""
    link = clean_link(item.link) if item.link else None
    if link is not None and urlsplit(link).scheme not in ("http", "https"):
        link = None  # javascript:, mailto:... not an article's address
    page_draft: ArticleDraft | None = None
    if link is not None:
        try:
            if await may_fetch(link):
                page = await fetch_page(link)
                # trafilatura parses the page: seconds for a large one, never on the event loop
                page_draft, page_link = await asyncio.to_thread(_page_draft, page)
                link = clean_link(page_link)
            else:
                log.info("robots.txt disallows %s; using the item's own text", link)
        except FetchError as exc:
            log.info("feed item page %s: %s; using the item's own text", link, exc)
    own_text = sum(len(p) for p in item.content)
    summary_only = False
    if page_draft is not None and sum(len(p) for p in page_draft.paragraphs) >= own_text // 2:
        draft = page_draft
    elif item.content:
        draft = draft_from_paragraphs(
            item.title or _headline(item.content[0]), item.content, source="", url=link
        )
    elif item.summary:
        draft = draft_from_paragraphs(
            item.title or _headline(item.summary), [item.summary], source="", url=link
        )
        summary_only = True
    elif item.title:
        raise ArticleError("the item has only a title, and its page could not be read")
    else:
        raise ArticleError("the item has neither text nor a readable page")
    published = item.published
    return replace(
        draft,
        title=item.title or draft.title,
        url=link,
        source=draft.source or _site(link) or source.title or "feed",
        # The item's date (UTC); without a trusted one, the page's own date, else none.
        published=published.date().isoformat() if published else draft.published,
        published_at=published.isoformat(timespec="seconds") if published else None,
        summary=draft.summary or item.summary,
        feed=source.url,
        summary_only=summary_only,
    )
