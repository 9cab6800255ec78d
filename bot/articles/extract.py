"""Turn a web page or an uploaded file into an article draft (title, date, paragraphs...)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from bot.articles.corpus import ArticleError, parse_article, slugify
from bot.text import clean_text, fold, guess_language

# trafilatura reports every page it finds thin at WARNING; our caller reports failures itself.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

MIN_PARAGRAPHS = 1
MIN_CHARACTERS = 80


@dataclass(frozen=True)
class ArticleDraft:
    """An article before it is written to the corpus."""

    title: str
    paragraphs: list[str]
    language: str
    source: str
    url: str | None = None
    published: str | None = None
    author: str | None = None
    summary: str | None = None
    # Brought in by a feed: the publication time (UTC, ISO), the feed's address, and whether the
    # text is only the item's summary (the page could not be read).
    published_at: str | None = None
    feed: str | None = None
    summary_only: bool = False

    @property
    def slug(self) -> str:
        """The file name (without `.md`) the article gets."""
        return slugify(self.title)

    @property
    def body(self) -> str:
        """The body text, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def draft_from_html(html: str, url: str | None = None) -> ArticleDraft:
    """Extract the article of a page with trafilatura: no navigation, ads, comments or captions."""
    import trafilatura  # imported when a page is first read: a second of start-up otherwise

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_precision=True,
    )
    if doc is None:
        raise ArticleError("no article text could be found on this page")
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    title = clean_text(data.get("title") or "").strip()
    paragraphs = [clean_text(p).strip() for p in (data.get("text") or "").split("\n")]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and title and fold(paragraphs[0]) == fold(title):
        paragraphs = paragraphs[1:]  # the page's own headline, repeated as the first line
    if not title:
        raise ArticleError("the page has no title")
    _check_size(paragraphs)
    text = " ".join(paragraphs)
    language = data.get("language") or guess_language(text)
    return ArticleDraft(
        title=title,
        paragraphs=paragraphs,
        language=language if language in ("fr", "en") else guess_language(text),
        source=clean_text(data.get("sitename") or data.get("hostname") or "web").strip(),
        url=url,
        published=_iso_date(data.get("date")),
        author=clean_text(data.get("author") or "").strip() or None,
        summary=clean_text(data.get("description") or "").strip() or None,
    )


def _check_size(paragraphs: list[str]) -> None:
    if len(paragraphs) < MIN_PARAGRAPHS or sum(len(p) for p in paragraphs) < MIN_CHARACTERS:
        raise ArticleError("the page has too little article text to be useful")


def draft_from_paragraphs(title: str, paragraphs: list[str], *, source: str, url: str | None) -> ArticleDraft:
    """A draft from text already split into paragraphs (a feed item's own content or summary)."""
    title = " ".join(clean_text(title).split())
    if not title:
        raise ArticleError("the item has no title")
    paragraphs = [" ".join(clean_text(p).split()) for p in paragraphs]
    paragraphs = [p for p in paragraphs if p]
    _check_size(paragraphs)
    language = guess_language(" ".join([title, *paragraphs]))
    return ArticleDraft(title=title, paragraphs=paragraphs, language=language, source=source, url=url)


def draft_from_text(text: str, source: str = "upload") -> ArticleDraft:
    """A `.txt` upload: the first line is the title, blank lines separate paragraphs."""
    lines = clean_text(text).strip().split("\n", 1)
    title = lines[0].strip()
    if not title:
        raise ArticleError("the first line (the title) is empty")
    paragraphs = [" ".join(block.split()) for block in (lines[1] if len(lines) > 1 else "").split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    _check_size(paragraphs)
    return ArticleDraft(
        title=title, paragraphs=paragraphs, language=guess_language(" ".join(paragraphs)), source=source
    )


def draft_from_markdown(raw: bytes, name: str) -> ArticleDraft:
    """A `.md` upload with front matter, validated exactly as the corpus loader does."""
    article = parse_article(raw, name=name)
    body = [p for p in article.paragraphs if p.number > 0]
    return ArticleDraft(
        title=article.title,
        paragraphs=[p.text for p in body],
        language=article.language,
        source=article.source,
        url=article.url,
        published=article.published.isoformat() if article.published else None,
        summary=article.summary,
    )


def draft_from_upload(filename: str, raw: bytes) -> ArticleDraft:
    """Dispatch an uploaded file by its extension: `.md`, `.txt` or `.html`."""
    lower = filename.lower()
    if b"\x00" in raw:
        raise ArticleError("binary file, not a text article")
    if lower.endswith(".md"):
        return draft_from_markdown(raw, filename.rsplit(".", 1)[0])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8 text (invalid byte at offset {exc.start})") from exc
    if lower.endswith(".txt"):
        return draft_from_text(text)
    if lower.endswith((".html", ".htm")):
        return draft_from_html(text)
    raise ArticleError("unsupported file type: upload a .md, .txt or .html file")
