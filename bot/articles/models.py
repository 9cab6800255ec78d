"""Validated, immutable data of the corpus: articles, their paragraphs and sentences."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bot.text import SUPPORTED_LANGUAGES

ARTICLE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,79}$"
ARTICLE_SUFFIX = ".md"


def is_article_file(path: PurePath | str) -> bool:
    """Whether a file in the corpus folder (a path, or a bare name) is an article: `*.md`, not
    hidden (temporary files and `.removed/` start with a dot)."""
    name = path if isinstance(path, str) else path.name
    return name.lower().endswith(ARTICLE_SUFFIX) and not name.startswith(".")


def sentence_id(article_id: str, paragraph: int, position: int) -> str:
    """The stable id of a sentence: `<article>#p<paragraph>s<position>` (position from 1)."""
    return f"{article_id}#p{paragraph}s{position}"


NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _check_http_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
        raise ValueError("must be an http(s) URL")
    return value


def _check_language(value: str) -> str:
    value = value.strip().lower()
    if value not in SUPPORTED_LANGUAGES:
        raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    return value


class FrontMatter(BaseModel):
    """The YAML header of an article file, as an admin writes it."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    source: NonEmptyText
    language: Annotated[str, AfterValidator(_check_language)] = "fr"
    url: Annotated[str | None, AfterValidator(_check_http_url)] = None
    published: dt.date | None = None
    summary: str | None = None
    id: Annotated[str | None, Field(pattern=ARTICLE_ID_PATTERN)] = None


class Sentence(BaseModel):
    """One sentence with its stable id (see `sentence_id`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str


class Paragraph(BaseModel):
    """A paragraph; number 0 is the article's summary (lede), body paragraphs count from 1."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=0)
    text: str
    sentences: tuple[Sentence, ...]


class Article(BaseModel):
    """A loaded article: metadata from the front matter, paragraphs from the body."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=ARTICLE_ID_PATTERN)
    title: str
    source: str
    language: str
    url: str | None = None
    published: dt.date | None = None
    summary: str | None = None
    paragraphs: tuple[Paragraph, ...] = Field(min_length=1)
    path: str
    checksum: str

    @property
    def sentence_count(self) -> int:
        """Number of sentences over all paragraphs."""
        return sum(len(p.sentences) for p in self.paragraphs)


class LoadProblem(BaseModel):
    """A file that was not loaded, and why (said so an admin can fix it)."""

    model_config = ConfigDict(frozen=True)

    path: str
    reason: str


class Corpus(BaseModel):
    """The articles that loaded, the files that did not, and a version naming the content."""

    model_config = ConfigDict(frozen=True)

    articles: tuple[Article, ...]
    problems: tuple[LoadProblem, ...] = ()
    version: str

    @property
    def sentence_count(self) -> int:
        """Number of sentences over all articles."""
        return sum(a.sentence_count for a in self.articles)


@dataclass(frozen=True)
class ArticleMeta:
    """What a citation needs to know about an article (the index keeps these, not the text)."""

    id: str
    title: str
    source: str
    language: str
    url: str | None
    published: str | None
    summary: str | None
    path: str
    checksum: str
    sentence_count: int

    @classmethod
    def of(cls, article: Article) -> ArticleMeta:
        """The metadata of a loaded article."""
        return cls(
            id=article.id,
            title=article.title,
            source=article.source,
            language=article.language,
            url=article.url,
            published=article.published.isoformat() if article.published else None,
            summary=article.summary,
            path=article.path,
            checksum=article.checksum,
            sentence_count=article.sentence_count,
        )


def corpus_version(articles: Iterable[Article | ArticleMeta]) -> str:
    """A short hash naming exactly which article contents are served."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.id):
        digest.update(f"{article.id}\0{article.checksum}\n".encode())
    return digest.hexdigest()[:12]
