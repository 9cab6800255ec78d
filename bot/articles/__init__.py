"""Articles in and out: the records, reading the corpus folder, pages and uploads turned into
drafts, safe fetching of links, and the library that writes and removes article files.

Depends on `bot.text` only. Errors an admin sees: `ArticleError` (a file or draft that is not
a valid article) and `FetchError` (a link that cannot be read safely).
"""

from bot.articles import library
from bot.articles.corpus import (
    ArticleError,
    ParsedArticleCache,
    iter_articles,
    load_corpus,
    read_articles,
    slugify,
)
from bot.articles.extract import ArticleDraft, draft_from_html, draft_from_paragraphs, draft_from_upload
from bot.articles.fetch import FetchedPage, FetchError, FetchPolicy, HttpStatusError, check_url, fetch_page
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
