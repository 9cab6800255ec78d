"""Add and remove article files: atomic writes, no overwrites, duplicates refused, removals recoverable.

This is the only code that writes to the corpus folder. A new article is written to a hidden
temporary file (ignored by the loader), then hard-linked to its final name, which fails rather
than overwrite an existing article; a removed article is moved to `corpus/.removed/`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

from bot.articles.corpus import ArticleError, parse_article
from bot.articles.extract import ArticleDraft
from bot.articles.models import Article, ArticleMeta
from bot.text import fold

REMOVED_DIR = ".removed"
TEMPORARY_PREFIX = ".tmp-"  # hidden: the loader never reads these


@dataclass(frozen=True)
class PreparedArticle:
    """A draft rendered as an article file and validated by the corpus loader."""

    draft: ArticleDraft
    markdown: str
    article: Article

    @property
    def first_paragraph(self) -> str:
        """The first body paragraph (for previews)."""
        return next(p.text for p in self.article.paragraphs if p.number > 0)


def normalise_url(url: str) -> str:
    """A URL reduced for comparison: lower-case scheme and host, no fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def text_fingerprint(sentences: list[str]) -> str:
    """A hash of the body text that ignores case, accents and spacing."""
    folded = " ".join(fold(" ".join(sentences)).split())
    return hashlib.sha256(folded.encode()).hexdigest()


def to_markdown(draft: ArticleDraft, *, added_by: str | None, retrieved: dt.date | None = None) -> str:
    """The article file: YAML front matter, then the paragraphs separated by blank lines."""
    meta: dict[str, object] = {
        "title": draft.title,
        "source": draft.source,
        "language": draft.language,
        "url": draft.url,
        "published": draft.published,
        "published_at": draft.published_at,
        "retrieved": (retrieved or dt.datetime.now(dt.UTC).date()).isoformat() if draft.url else None,
        "author": draft.author,
        "summary": draft.summary,
        "feed": draft.feed,
        "summary_only": draft.summary_only,
        "added_by": added_by,
    }
    header = yaml.safe_dump({k: v for k, v in meta.items() if v}, allow_unicode=True, sort_keys=False)
    # A paragraph must not read as a Markdown heading or rule, or the loader would drop it.
    body = "\n\n".join(re.sub(r"^(#+|[-*_]{3,})\s*", "", p) for p in draft.paragraphs)
    return f"---\n{header}---\n\n{body}\n"


def prepare(draft: ArticleDraft, *, added_by: str | None) -> PreparedArticle:
    """Render `draft` and validate it exactly as the loader will read it."""
    markdown = to_markdown(draft, added_by=added_by)
    article = parse_article(markdown.encode(), name=draft.slug)
    return PreparedArticle(draft, markdown, article)


def write_article(corpus_dir: Path, prepared: PreparedArticle) -> Path:
    """Write the file atomically under a free name (`slug.md`, `slug-2.md`...); never overwrite."""
    corpus_dir = Path(corpus_dir)
    tmp = corpus_dir / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}.md"
    try:
        with tmp.open("x", encoding="utf-8") as handle:
            handle.write(prepared.markdown)
            handle.flush()
            os.fsync(handle.fileno())
        for n in range(1, 1000):
            target = corpus_dir / (f"{prepared.draft.slug}.md" if n == 1 else f"{prepared.draft.slug}-{n}.md")
            try:
                os.link(tmp, target)  # atomic, and fails if the name is taken
                return target
            except FileExistsError:
                continue
        raise ArticleError("no free file name for this article")
    finally:
        tmp.unlink(missing_ok=True)


def remove_article(corpus_dir: Path, meta: ArticleMeta) -> Path:
    """Move an article's file to `.removed/` (recoverable); return where it went."""
    try:
        return set_aside(corpus_dir, meta.path)
    except FileNotFoundError:
        raise ArticleError(f"the file of article {meta.id!r} is not in the corpus folder any more") from None


def replace_file(corpus_dir: Path, name: str, content: str) -> Path:
    """Write the article file `name` with `content` atomically, replacing what is there (a copy
    kept in sync with the shared corpus: the database holds the authoritative version)."""
    corpus_dir = Path(corpus_dir)
    target = corpus_dir / name
    if target.resolve().parent != corpus_dir.resolve():
        raise ArticleError(f"{name!r} is not a file name of the corpus folder")
    tmp = corpus_dir / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}.md"
    try:
        with tmp.open("x", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        return target
    finally:
        tmp.unlink(missing_ok=True)


def set_aside(corpus_dir: Path, name: str) -> Path:
    """Move the file `name` to `.removed/`, never overwriting an earlier removal; where it went.
    Raises FileNotFoundError when it is not (or no longer) in the corpus folder."""
    corpus_dir = Path(corpus_dir).resolve()
    source = (corpus_dir / name).resolve()
    if source.parent != corpus_dir or not source.is_file():
        raise FileNotFoundError(name)
    removed = corpus_dir / REMOVED_DIR
    removed.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    candidates = [source.name] + [f"{source.stem}.{stamp}-{n}{source.suffix}" for n in range(1, 1000)]
    for candidate in candidates:
        try:
            os.link(source, removed / candidate)  # fails rather than overwrite an earlier removal
        except FileExistsError:
            continue
        source.unlink()
        return removed / candidate
    raise ArticleError(f"no free name in {REMOVED_DIR}/ for {name!r}")


def sweep_temporary(folder: Path, older_than_seconds: float = 3600) -> int:
    """Delete the temporary files a killed write left in `folder` (those older than the given
    age, so a write in progress is never touched); return how many went."""
    swept = 0
    cutoff = time.time() - older_than_seconds
    try:
        with os.scandir(folder) as entries:  # (a glob matches every name against a pattern: slower)
            leftovers = [entry for entry in entries if entry.name.startswith(TEMPORARY_PREFIX)]
    except OSError:  # gone or unreadable: nothing to sweep (the load reports the folder itself)
        return 0
    for entry in leftovers:
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                swept += 1
        except OSError:
            continue
    return swept


def restore_article(corpus_dir: Path, removed_file: Path) -> Path:
    """Move a removed file back into the corpus folder (refusing to overwrite)."""
    target = Path(corpus_dir) / removed_file.name
    os.link(removed_file, target)
    removed_file.unlink()
    return target
