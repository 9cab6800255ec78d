"""Read the article folder into a validated `Corpus`; a bad file is reported, never fatal."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml
from pydantic import ValidationError

from bot.articles.models import (
    Article,
    Corpus,
    FrontMatter,
    LoadProblem,
    Paragraph,
    Sentence,
    corpus_version,
    is_article_file,
    sentence_id,
)
from bot.text import clean_text, fold, split_sentences, visible

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
# Files are read in windows; with worker processes allowed, a window holding this many files
# never split before (a first load, a large import) is split by them.
PARALLEL_MIN_FILES = 64
_WINDOW = 256
_WORD = re.compile(r"[^\W_]")  # a letter or a digit: an article needs at least one


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
    if not any(_WORD.search(p.text) for p in paragraphs if p.number > 0):
        raise ArticleError("no words: the body holds only punctuation or symbols")
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
    """Markdown body -> paragraph texts; headings, rules and HTML comments are not paragraphs.

    A comment is removed only within its paragraph: text that merely contains "<!--" (an
    article about HTML, an arrow "-->" further on) never loses what lies between."""
    for raw_block in re.split(r"\n\s*\n", body):
        block = strip_comments(raw_block)
        lines = [
            line.strip()
            for line in block.strip().splitlines()
            if line.strip() and not re.match(r"^(#{1,6}\s|[-*_]{3,}\s*$)", line.strip())
        ]
        text = " ".join(lines).strip()
        if text:
            yield text


def strip_comments(text: str) -> str:
    """`text` without its HTML comments, in one pass (a "<!--" never closed is kept as text)."""
    if "<!--" not in text:
        return text
    kept: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        kept.append(text[position:start])
        position = end + 3
    kept.append(text[position:])
    return "".join(kept)


def _paragraph(article_id: str, number: int, text: str, language: str) -> Paragraph:
    sentences = split_sentences(text, language)
    return Paragraph(
        number=number,
        text=" ".join(sentences),
        sentences=tuple(
            Sentence(id=sentence_id(article_id, number, i), text=s) for i, s in enumerate(sentences, 1)
        ),
    )


def _article_files(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if is_article_file(p))


def _read_inside(path: Path, root: Path, max_bytes: int) -> bytes:
    """Read a file of the folder `root` (already resolved) only if it really lives inside it
    (symlinks out are refused). A file that is not a link is opened without following links
    (one swapped for a link meanwhile is refused) and checked on the open file: no path is
    resolved but links."""
    candidate = root / path.name
    try:
        if candidate.is_symlink():
            real = candidate.resolve(strict=True)
            if not real.is_relative_to(root):
                raise ArticleError("links outside the corpus folder; only files inside it are read")
            flags = 0
        else:
            real, flags = candidate, getattr(os, "O_NOFOLLOW", 0)
        # (non-blocking: a FIFO named like an article must not hang the load; reads are unaffected)
        descriptor = os.open(real, os.O_RDONLY | flags | getattr(os, "O_NONBLOCK", 0))
    except RuntimeError as exc:  # Python 3.11 reports a symlink loop so (3.13: OSError)
        raise ArticleError("symbolic link loop; the file cannot be read") from exc
    except OSError as exc:
        raise ArticleError(f"cannot be read ({exc.strerror or type(exc).__name__})") from exc
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise ArticleError("not a regular file")
    with open(descriptor, "rb") as handle:  # (closes the descriptor)
        if status.st_size > max_bytes:
            raise ArticleError(f"file too large ({status.st_size:,} bytes; the limit is {max_bytes:,})")
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ArticleError(f"file too large (more than {max_bytes:,} bytes)")
    return raw


# Part of every parsed article's cache key: change it when the sentence splitter changes.
SPLITTER_VERSION = "sentencex-1"


class ParsedArticleCache:
    """Parsed articles on disk, one JSON file per (file name, file bytes, splitter): reading an
    entry costs less than parsing and splitting the file again (`benchmarks/scale.py`).

    Each entry starts with the SHA-256 of its JSON, and the article read back must carry the
    checksum of the file bytes it was keyed by: a damaged or altered entry is parsed again,
    never served. A cache folder that cannot be written (read-only, full) only costs speed.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.used: set[str] = set()
        self.writable = True

    def key(self, name: str, checksum: str) -> str:
        """The entry name of one file version (`checksum`: the SHA-256 of its bytes)."""
        return hashlib.sha256(f"{SPLITTER_VERSION}\0{name}\0{checksum}".encode()).hexdigest()

    def get(self, key: str, checksum: str) -> Article | None:
        """The parsed article of the file whose bytes have `checksum`, or None (absent, damaged or
        not that file's: parsed again)."""
        try:
            digest, _, payload = (self.folder / f"{key}.json").read_bytes().partition(b"\n")
            if hashlib.sha256(payload).hexdigest().encode() != digest:
                raise ValueError("checksum mismatch")
            article = Article.model_validate_json(payload)
            if article.checksum != checksum:
                raise ValueError("parsed from other bytes")
        except (OSError, ValueError):
            return None
        self.used.add(key)
        return article

    def put(self, key: str, article: Article) -> None:
        """Store a parsed article (atomically); a failing cache folder is logged once, then skipped."""
        if self.writable:
            try:
                write_parsed_entry(self.folder, key, article)
            except OSError as exc:
                self.failed(exc)
                return
            self.used.add(key)

    def failed(self, exc: OSError) -> None:
        """An entry could not be written (here or by a worker): stop writing, say so once."""
        if self.writable:
            self.writable = False
            log.warning(
                "cannot write parsed articles to %s (%s); loading without that cache", self.folder, exc
            )

    def prune(self) -> None:
        """Forget the entries of files that are no longer in the corpus."""
        if not self.folder.is_dir():
            return
        for entry in self.folder.glob("*.json"):
            if entry.stem not in self.used:
                with contextlib.suppress(OSError):
                    entry.unlink(missing_ok=True)


def write_parsed_entry(folder: Path, key: str, article: Article) -> None:
    """Write one `ParsedArticleCache` entry atomically (also from a worker process); raises
    `OSError`, leaving no temporary file behind."""
    payload = article.model_dump_json().encode("utf-8")
    tmp = folder / f".tmp-{key}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        tmp.replace(folder / f"{key}.json")
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def _parse_outcome(raw: bytes, name: str, path: str) -> Article | str:
    """`parse_article` for a worker process: the article, or what is wrong with the file."""
    try:
        return parse_article(raw, name=name, path=path)
    except ArticleError as exc:
        return str(exc)


def _parse_and_keep(
    raw: bytes, name: str, path: str, folder: Path, key: str
) -> tuple[Article, OSError | None] | str:
    """`_parse_outcome`, the article's `ParsedArticleCache` entry written by the worker too
    (with the error, if the entry could not be written)."""
    outcome = _parse_outcome(raw, name, path)
    if isinstance(outcome, str):
        return outcome
    try:
        write_parsed_entry(folder, key, outcome)
    except OSError as exc:
        return outcome, exc
    return outcome, None


def exit_with_parent(parent: int) -> None:
    """In a worker process: exit as soon as the process that started it is gone (killed with
    -9, it cannot shut its pool down, and idle workers would otherwise stay for ever)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="depeche-parent-watch", daemon=True).start()


@dataclass
class _Window:
    """Files being parsed: their outcomes so far (None: to parse), cache keys, what the workers
    were given."""

    raws: list[tuple[Path, bytes]]
    results: list[Article | ArticleError | None]
    keys: list[str]
    todo: list[int] = field(default_factory=list)
    pending: Iterator | None = None

    def arguments(self) -> tuple[list, ...]:
        todo, raws = self.todo, self.raws
        return [raws[i][1] for i in todo], [raws[i][0].stem for i in todo], [raws[i][0].name for i in todo]


class _Parser:
    """Parses windows of files, reading back those split before (`parsed`); with `workers` > 1,
    a window with `PARALLEL_MIN_FILES` new files starts that many spawned worker processes (the
    program's main module must then be import-safe: `if __name__ == "__main__"`). Should the
    workers die, the rest is parsed here."""

    def __init__(self, parsed: ParsedArticleCache | None, workers: int) -> None:
        self.parsed = parsed
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def window(self, raws: list[tuple[Path, bytes]]) -> list[Article | ArticleError]:
        """The outcome of each file of `raws`, in order."""
        return self.collect(self.submit(raws))

    def submit(self, raws: list[tuple[Path, bytes]]) -> _Window:
        """Start on a window: entries read back from the cache, the other files handed to the
        workers (who parse them while the caller works on the previous window)."""
        window = _Window(raws, [None] * len(raws), [""] * len(raws))
        if self.parsed:  # each file's bytes hashed once: the entry's name and its check
            for i, (path, raw) in enumerate(raws):
                checksum = hashlib.sha256(raw).hexdigest()
                window.keys[i] = self.parsed.key(path.name, checksum)
                window.results[i] = self.parsed.get(window.keys[i], checksum)
        window.todo = [i for i, result in enumerate(window.results) if result is None]
        if self.workers > 1 and self._pool is None and len(window.todo) >= PARALLEL_MIN_FILES:
            # spawn, not fork: the bot has threads running, which fork would copy half-way
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        if self._pool is not None and len(window.todo) > 1:
            arguments = window.arguments()
            parse: Callable[..., object] = _parse_outcome
            if self.parsed is not None and self.parsed.writable:  # entries written by the workers
                parse = _parse_and_keep
                todo = window.todo
                arguments += ([self.parsed.folder] * len(todo), [window.keys[i] for i in todo])
            try:  # (`map` submits every file now; its results are read in `collect`)
                window.pending = self._pool.map(parse, *arguments, chunksize=8)
            except (BrokenProcessPool, OSError) as exc:  # died, or could not be started
                self._without_workers(exc)
        return window

    def collect(self, window: _Window) -> list[Article | ArticleError]:
        """The outcomes of a submitted window (parsed here what the workers could not)."""
        outcomes: list = []
        if window.pending is not None:
            try:
                outcomes = list(window.pending)
            except (BrokenProcessPool, OSError, CancelledError) as exc:  # (cancelled: see below)
                self._without_workers(exc)
        if len(outcomes) != len(window.todo):
            outcomes = list(map(_parse_outcome, *window.arguments()))
        results = window.results
        for i, outcome in zip(window.todo, outcomes, strict=True):
            if isinstance(outcome, str):
                results[i] = ArticleError(outcome)
                continue
            if isinstance(outcome, tuple):  # parsed and kept by a worker
                results[i], error = outcome
                if self.parsed is not None:
                    if error is None:
                        self.parsed.used.add(window.keys[i])
                    else:
                        self.parsed.failed(error)
                continue
            results[i] = outcome
            if self.parsed:
                self.parsed.put(window.keys[i], outcome)
        return [r for r in results if r is not None]

    def _without_workers(self, exc: BaseException) -> None:
        """Parse here from now on; a window already handed over is cancelled and parsed here too."""
        log.warning("corpus: worker processes failed (%s); splitting the remaining files here", exc)
        self.close()
        self._pool = None
        self.workers = 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def _parsed_files(
    root: Path, max_file_bytes: int, parsed: ParsedArticleCache | None, workers: int
) -> Iterator[tuple[Path, Article | ArticleError | OSError]]:
    """Each article file of `root` in order, with its article or what went wrong."""
    parser = _Parser(parsed, workers)
    paths = _article_files(root)
    real_root = root.resolve()
    # One window ahead: the workers parse window k + 1 while the caller indexes window k.
    previous: tuple[list[Path], dict[Path, ArticleError | OSError], _Window] | None = None
    try:
        for start in range(0, len(paths) + _WINDOW, _WINDOW):
            current = None
            if start < len(paths):
                failed: dict[Path, ArticleError | OSError] = {}
                raws: list[tuple[Path, bytes]] = []
                for path in paths[start : start + _WINDOW]:
                    try:
                        raws.append((path, _read_inside(path, real_root, max_file_bytes)))
                    except (ArticleError, OSError) as exc:
                        failed[path] = exc
                current = (paths[start : start + _WINDOW], failed, parser.submit(raws))
            if previous is not None:
                names, failures, window = previous
                outcomes = dict(zip((path for path, _ in window.raws), parser.collect(window), strict=True))
                for path in names:
                    yield path, failures[path] if path in failures else outcomes[path]
            previous = current
    finally:
        parser.close()


def read_articles(
    root: Path | str,
    names: list[str],
    problems: list[LoadProblem],
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    parsed: ParsedArticleCache | None = None,
) -> list[Article]:
    """The valid articles of the files `names` of `root` (a few files that changed); each bad
    file goes to `problems`. Ids and titles are not checked against other files here."""
    root = Path(root)
    real_root = root.resolve()
    parser = _Parser(parsed, 1)
    raws: list[tuple[Path, bytes]] = []
    for name in names:
        path = root / name
        try:
            if path.name != name:  # (names come from the folder's listing: never a path)
                raise ArticleError("not a file name of the corpus folder")
            raws.append((path, _read_inside(path, real_root, max_file_bytes)))
        except ArticleError as exc:
            problems.append(LoadProblem(path=visible(name), reason=str(exc)))
        except OSError as exc:
            reason = f"could not be read ({exc.strerror or type(exc).__name__})"
            problems.append(LoadProblem(path=visible(name), reason=reason))
    articles: list[Article] = []
    for (path, _), outcome in zip(raws, parser.window(raws), strict=True):
        if isinstance(outcome, ArticleError):
            problems.append(LoadProblem(path=visible(path.name), reason=str(outcome)))
        else:
            articles.append(outcome)
    parser.close()
    return articles


def iter_articles(
    root: Path | str,
    problems: list[LoadProblem],
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    parsed: ParsedArticleCache | None = None,
    workers: int = 1,
) -> Iterator[Article]:
    """Yield each valid article of `root` as it is read; append each bad file to `problems`.

    Streaming lets the index be built without holding every parsed article in memory at once.
    With `parsed`, files split before are read back instead of being split again; with
    `workers` > 1, many new files are split by that many processes (see `_Parser`).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    ids: dict[str, str] = {}
    titles: dict[str, str] = {}
    for path, outcome in _parsed_files(root, max_file_bytes, parsed, workers):
        try:
            if isinstance(outcome, Exception):
                raise outcome
            article = outcome
            if article.id in ids:
                raise ArticleError(f"duplicate id {article.id!r}: already used by {ids[article.id]}")
            title_key = fold(article.title)
            if title_key in titles:
                raise ArticleError(f"duplicate title {article.title!r}: already used by {titles[title_key]}")
        except ArticleError as exc:
            problems.append(LoadProblem(path=visible(path.name), reason=str(exc)))
        except OSError as exc:  # vanished or unreadable while we looked
            reason = f"could not be read ({exc.strerror or type(exc).__name__})"
            problems.append(LoadProblem(path=visible(path.name), reason=reason))
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
