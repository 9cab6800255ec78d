"""Articles in and out: the records, reading the corpus folder, pages and uploads turned into
drafts, safe fetching of links, and the library that writes and removes article files.

Depends on `bot.text` only; the fetcher's names load on first use. Errors an admin sees:
`ArticleError` (a file or draft that is not a valid article) and `FetchError` (a link that
cannot be read safely).
"""

import importlib
from typing import TYPE_CHECKING

from bot.articles import library
from bot.articles.corpus import (
    ArticleError,
    ParsedArticleCache,
    exit_with_parent,
    iter_articles,
    load_corpus,
    read_articles,
    slugify,
)
from bot.articles.extract import ArticleDraft, draft_from_html, draft_from_paragraphs, draft_from_upload
from bot.articles.library import PreparedArticle, normalise_url, text_fingerprint
from bot.articles.models import (
    Article,
    ArticleMeta,
    Corpus,
    LoadProblem,
    Paragraph,
    Sentence,
    corpus_version,
    is_article_file,
    sentence_id,
)

if TYPE_CHECKING:
    from bot.articles.fetch import (
        FetchedPage,
        FetchError,
        FetchPolicy,
        HttpStatusError,
        check_url,
        fetch_page,
    )

# The fetcher brings an HTTP client (aiohttp: a third of a second): imported on first use, so a
# one-shot question or a corpus load does not pay for it.
_FETCH_NAMES = frozenset(
    ("FetchedPage", "FetchError", "FetchPolicy", "HttpStatusError", "check_url", "fetch_page")
)


def __getattr__(name: str) -> object:
    if name in _FETCH_NAMES:
        value = getattr(importlib.import_module("bot.articles.fetch"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Article",
    "ArticleDraft",
    "ArticleError",
    "ArticleMeta",
    "Corpus",
    "FetchError",
    "FetchPolicy",
    "FetchedPage",
    "HttpStatusError",
    "LoadProblem",
    "Paragraph",
    "ParsedArticleCache",
    "PreparedArticle",
    "Sentence",
    "check_url",
    "corpus_version",
    "draft_from_html",
    "draft_from_paragraphs",
    "draft_from_upload",
    "exit_with_parent",
    "fetch_page",
    "is_article_file",
    "iter_articles",
    "library",
    "load_corpus",
    "normalise_url",
    "read_articles",
    "sentence_id",
    "slugify",
    "text_fingerprint",
]
