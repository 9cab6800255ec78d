"""Read the article folder into a validated `Corpus`; a bad file is reported, never fatal."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import frontmatter
import yaml
from pydantic import ValidationError

from bot.models import Article, Corpus, FrontMatter, LoadProblem, Paragraph, Sentence
from bot.text import clean_text, fold, split_sentences

if TYPE_CHECKING:
    from bot.index import ArticleMeta

log = logging.getLogger(__name__)

ARTICLE_SUFFIX = ".md"
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024


class ArticleError(ValueError):
    """An article file that cannot be loaded; the message says why in plain words."""


def slugify(name: str) -> str:
    """A file name or title as an article id: folded, lower-case, hyphen-separated."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")
    return slug[:80].strip("-") or "article"


def parse_article(raw: bytes, *, name: str, path: str = "") -> Article:
    """Validate one article file's bytes; raise `ArticleError` saying what is wrong."""
    if b"\x00" in raw:
        raise ArticleError("binary file (contains NUL bytes), not a Markdown article")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8 text (invalid byte at offset {exc.start})") from exc
    if not text.strip():
        raise ArticleError("empty file")
    try:
        metadata, body = frontmatter.parse(text)
    except yaml.YAMLError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ArticleError(f"invalid front matter (YAML): {detail}") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise ArticleError("invalid front matter: it must be a YAML mapping of key: value") from exc
    if not isinstance(metadata, dict) or not metadata:
        raise ArticleError(
            "missing front matter: start the file with a --- block holding at least title and source"
        )
    try:
        meta = FrontMatter.model_validate(metadata)
    except ValidationError as exc:
        raise ArticleError(f"invalid front matter: {_describe(exc)}") from exc

    article_id = meta.id or slugify(name)
    blocks = list(_body_paragraphs(body))
    if not blocks:
        raise ArticleError("empty body: the article has no paragraphs under its front matter")
    paragraphs: list[Paragraph] = []
    if meta.summary and meta.summary.strip():
        paragraphs.append(_paragraph(article_id, 0, meta.summary, meta.language))
    paragraphs.extend(
        _paragraph(article_id, number, block, meta.language) for number, block in enumerate(blocks, start=1)
    )
    paragraphs = [p for p in paragraphs if p.sentences]
    if not any(p.number > 0 for p in paragraphs):
        raise ArticleError("empty body: no sentence could be read from the paragraphs")
    try:
        return Article(
            id=article_id,
            title=clean_text(meta.title).strip(),
            source=meta.source,
            language=meta.language,
            url=meta.url,
            published=meta.published,
            summary=meta.summary,
            paragraphs=tuple(paragraphs),
            path=path or name,
            checksum=hashlib.sha256(raw).hexdigest(),
        )
    except ValidationError as exc:
        raise ArticleError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "value"
        message = "missing" if err["type"] == "missing" else err["msg"]
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def _body_paragraphs(body: str) -> Iterable[str]:
    """Markdown body -> paragraph texts; headings, rules and HTML comments are not paragraphs."""
    body = re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL)
    for block in re.split(r"\n\s*\n", body):
        lines = [
            line.strip()
            for line in block.strip().splitlines()
            if line.strip() and not re.match(r"^(#{1,6}\s|[-*_]{3,}\s*$)", line.strip())
        ]
        text = " ".join(lines).strip()
        if text:
            yield text


def _paragraph(article_id: str, number: int, text: str, language: str) -> Paragraph:
    sentences = split_sentences(text, language)
    return Paragraph(
        number=number,
        text=" ".join(sentences),
        sentences=tuple(
            Sentence(id=f"{article_id}#p{number}s{i}", text=s) for i, s in enumerate(sentences, 1)
        ),
    )


def _article_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.iterdir() if p.suffix.lower() == ARTICLE_SUFFIX and not p.name.startswith(".")
    )


def _read_inside(path: Path, root: Path, max_bytes: int) -> bytes:
    """Read a file only if it really lives inside `root` (symlinks out are refused)."""
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise ArticleError("links outside the corpus folder; only files inside it are read")
    if not real.is_file():
        raise ArticleError("not a regular file")
    size = real.stat().st_size
    if size > max_bytes:
        raise ArticleError(f"file too large ({size:,} bytes; the limit is {max_bytes:,})")
    with real.open("rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ArticleError(f"file too large (more than {max_bytes:,} bytes)")
    return raw


def corpus_version(articles: Iterable[Article] | Iterable[ArticleMeta]) -> str:
    """A short hash naming exactly which article contents are served."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.id):
        digest.update(f"{article.id}\0{article.checksum}\n".encode())
    return digest.hexdigest()[:12]


class ParsedArticleCache:
    """Parsed articles on disk, one JSON file per (file name, file bytes): sentence splitting is
    the slowest step of a load (pysbd, ~0.2-0.6 ms a sentence), so each file is split once."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.used: set[str] = set()

    def key(self, name: str, raw: bytes) -> str:
        """The entry name of one file version."""
        return hashlib.sha256(name.encode() + b"\0" + raw).hexdigest()

    def get(self, key: str) -> Article | None:
        """The parsed article, or None (absent or unreadable: it is parsed again)."""
        try:
            article = Article.model_validate_json((self.folder / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            return None
        self.used.add(key)
        return article

    def put(self, key: str, article: Article) -> None:
        """Store a parsed article (atomically)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".tmp-{key}.json"
        tmp.write_text(article.model_dump_json(), encoding="utf-8")
        tmp.replace(self.folder / f"{key}.json")
        self.used.add(key)

    def prune(self) -> None:
        """Forget the entries of files that are no longer in the corpus."""
        if self.folder.is_dir():
            for entry in self.folder.glob("*.json"):
                if entry.stem not in self.used:
                    entry.unlink(missing_ok=True)


def _parse_cached(raw: bytes, path: Path, parsed: ParsedArticleCache | None) -> Article:
    if parsed is None:
        return parse_article(raw, name=path.stem, path=path.name)
    key = parsed.key(path.name, raw)
    article = parsed.get(key)
    if article is None:
        article = parse_article(raw, name=path.stem, path=path.name)
        parsed.put(key, article)
    return article


def iter_articles(
    root: Path | str,
    problems: list[LoadProblem],
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    parsed: ParsedArticleCache | None = None,
) -> Iterator[Article]:
    """Yield each valid article of `root` as it is read; append each bad file to `problems`.

    Streaming lets the index be built without holding every parsed article in memory at once.
    With `parsed`, files split before are read back instead of being split again.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    ids: dict[str, str] = {}
    titles: dict[str, str] = {}
    for path in _article_files(root):
        try:
            article = _parse_cached(_read_inside(path, root, max_file_bytes), path, parsed)
            if article.id in ids:
                raise ArticleError(f"duplicate id {article.id!r}: already used by {ids[article.id]}")
            title_key = fold(article.title)
            if title_key in titles:
                raise ArticleError(f"duplicate title {article.title!r}: already used by {titles[title_key]}")
        except ArticleError as exc:
            problems.append(LoadProblem(path=path.name, reason=str(exc)))
        except OSError as exc:  # vanished or unreadable while we looked
            problems.append(LoadProblem(path=path.name, reason=f"could not be read ({exc.strerror or exc})"))
        else:
            ids[article.id] = path.name
            titles[title_key] = path.name
            yield article


def load_corpus(root: Path | str, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Corpus:
    """Load every `*.md` article in `root`; each bad file becomes a `LoadProblem`."""
    problems: list[LoadProblem] = []
    articles = list(iter_articles(root, problems, max_file_bytes=max_file_bytes))
    for problem in problems:
        log.warning("corpus: skipped %s: %s", problem.path, problem.reason)
    return Corpus(articles=tuple(articles), problems=tuple(problems), version=corpus_version(articles))
