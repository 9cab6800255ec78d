"""The serving state: the current engine, and reloads that swap it atomically or not at all."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.articles import Corpus, LoadProblem, ParsedArticleCache, iter_articles, library, read_articles
from bot.search import (
    EmbeddingCache,
    Encoder,
    EncoderUnavailable,
    Engine,
    RankingParams,
    SearchIndex,
    embeddings,
)
from bot.search import index_cache as cache
from bot.text import fold

log = logging.getLogger(__name__)

# A reload reads and analyses only the files that changed while they are few: at most this many,
# or this share of the corpus (past that, a full build costs little more).
INCREMENTAL_MIN_FILES = 200
INCREMENTAL_SHARE = 0.2


@dataclass(frozen=True)
class ReloadReport:
    """What a reload did: the changes it served, or why it kept the previous index."""

    ok: bool
    version: str
    articles: int
    sentences: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def unchanged(self) -> bool:
        """True when the reload found exactly what was already served."""
        return self.ok and not (self.added or self.removed or self.changed)


def build_engine(
    corpus: Corpus, vectors: EmbeddingCache | None = None, encoder: Encoder | None = None
) -> Engine:
    """Index a loaded corpus and wrap it in an engine; with a vector cache and an encoder, first
    embed whatever articles are not cached yet (blocking: for batch jobs such as `eval`)."""
    index = SearchIndex.build(corpus)
    if vectors is None or encoder is None:
        return Engine(index)
    embeddings.embed_missing(index, vectors, encoder, threading.Event())
    return Engine(index, dense=embeddings.assemble(index, vectors), encoder=encoder)


# An index to write to the cache: its key, itself, its load's problems, the stats of its files.
_Save = tuple[str, SearchIndex, list[LoadProblem], "cache.StatCache"]


class QAService:
    """Holds the engine that answers; `reload` replaces it only with a complete new one."""

    def __init__(
        self,
        corpus_dir: Path,
        *,
        max_file_bytes: int = 5 * 1024 * 1024,
        cache_dir: Path | None = None,
        embeddings: bool = False,
        parse_workers: int = 1,
        save_cache_in_background: bool = False,
        title_lookup_on_load: bool = True,
    ) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.max_file_bytes = max_file_bytes
        self.cache_dir = cache_dir
        # Processes that split many new files at once (only from an entry point whose main
        # module is import-safe, as run_bot.py is: they are spawned).
        self.parse_workers = parse_workers
        self.last_load_from_cache = False
        # Sentence embeddings need somewhere to keep them: without a cache folder they are off.
        self._embedding_cache = (
            EmbeddingCache(Path(cache_dir) / "embeddings") if embeddings and cache_dir else None
        )
        self._encoder = Encoder() if self._embedding_cache else None
        self._stop_embedding = threading.Event()
        self.embedding_done = threading.Event()
        self._engine: Engine | None = None
        # Taken to replace `_engine`: a background refresh may only replace the engine it read.
        self._swap = threading.Lock()
        self._checksums: dict[str, str] = {}
        self._files: dict[str, str] | None = None  # file name -> SHA-256 of what is served
        self._loaded_files: dict[str, str] | None = None  # ...of what the load in progress read
        self._stats: cache.StatCache | None = None  # file name -> (stat, SHA-256): not read twice
        self._unsaved: _Save | None = None
        self._pending_save: _Save | None = None
        self._saving = threading.Lock()
        self._saver: threading.Thread | None = None
        # Write the index cache after a load returns (the bot: a reload serves seconds sooner at
        # 1M sentences) rather than before (batch commands and tests read it right after).
        self.save_cache_in_background = save_cache_in_background
        # Build the article-title look-up during each load, off the event loop (the bot's
        # commands and autocomplete use it); a one-shot question does not (0.5 s at 30k articles).
        self.title_lookup_on_load = title_lookup_on_load
        self._problems: list[LoadProblem] = []
        self._lock = asyncio.Lock()
        # Called before each load (in its thread): brings the folder in step with a shared corpus.
        self.before_load: Callable[[], None] | None = None
        self.loaded_at: dt.datetime | None = None
        self.load_error: str | None = None  # why the last load failed (None after a success)

    @property
    def engine(self) -> Engine:
        """The engine serving now (raises if nothing was ever loaded)."""
        if self._engine is None:
            raise RuntimeError("no corpus loaded yet")
        return self._engine

    @property
    def ready(self) -> bool:
        """True once a corpus has been loaded."""
        return self._engine is not None

    @property
    def embeddings_enabled(self) -> bool:
        """Whether sentence vectors are computed and used (setting on, and a cache folder)."""
        return self._embedding_cache is not None

    @property
    def problems(self) -> list[LoadProblem]:
        """Files skipped by the last successful load."""
        return list(self._problems)

    def load(self) -> ReloadReport:
        """Load and index the corpus now (blocking); keep the old engine on failure."""
        start = time.perf_counter()
        corpus_problems: list[LoadProblem] = []
        if self._unsaved is not None:  # (what a failed load built is never saved)
            dropped, self._unsaved = self._unsaved, None
            self._discard(dropped[1])
        if self.before_load is not None:
            try:
                self.before_load()
            except Exception:  # the shared corpus is unreachable: serve the folder as it is
                log.warning("could not bring the corpus in step with the database", exc_info=True)
        try:
            if not self.corpus_dir.is_dir():
                raise FileNotFoundError(self.corpus_dir)
            engine, corpus_problems, from_cache = self._engine_for_current_files()
        except Exception as exc:  # the previous engine keeps serving whatever went wrong
            log.exception("reload failed; keeping the previous index")
            old = self._engine
            self.load_error = _public_error(exc)
            return ReloadReport(
                ok=False,
                version=old.version if old else "",
                articles=len(old.index.articles) if old else 0,
                sentences=old.index.size if old else 0,
                problems=getattr(exc, "problems", corpus_problems),
                error=_public_error(exc),
                seconds=time.perf_counter() - start,
            )
        self.last_load_from_cache = from_cache
        new = {a.id: a.checksum for a in engine.index.articles}
        old_sums = self._checksums
        report = ReloadReport(
            ok=True,
            version=engine.version,
            articles=len(engine.index.articles),
            sentences=engine.index.size,
            added=sorted(set(new) - set(old_sums)),
            removed=sorted(set(old_sums) - set(new)),
            changed=sorted(k for k in set(new) & set(old_sums) if new[k] != old_sums[k]),
            problems=list(corpus_problems),
            seconds=time.perf_counter() - start,
        )
        if self.title_lookup_on_load:
            _ = engine.index.titles  # built here, off the event loop, not by the first autocomplete
        # One assignment: a question sees either the whole old engine or the whole new one.
        engine = self._with_cached_vectors(engine)
        with self._swap:
            old, self._engine = self._engine, engine
        if old is not None and old.index is not engine.index:
            old.index.stop_folding()  # (an update's fold left running would only compete)
        self._files = self._loaded_files  # the files of the index now served, for the next update
        self._start_embedding(engine, first={*report.added, *report.changed})
        self._save_index_cache()
        self._checksums = new
        self._problems = list(corpus_problems)
        self.loaded_at = dt.datetime.now(dt.UTC)
        self.load_error = None
        log.info(
            "corpus %s loaded: %d articles, %d sentences, %d skipped files in %.2fs",
            report.version,
            report.articles,
            report.sentences,
            len(report.problems),
            report.seconds,
        )
        return report

    def _cache_of(self, kind: str) -> Path:
        """This corpus folder's part of the cache folder for `kind` ("index", "articles").

        One cache folder serves every corpus a command is pointed at (`run_bot.py ask --corpus
        OTHER`), and each load prunes what its own corpus no longer needs: keyed by the corpus
        folder, a load never prunes another corpus's index or parsed articles."""
        assert self.cache_dir is not None
        folder = hashlib.sha256(str(self.corpus_dir.resolve()).encode()).hexdigest()[:16]
        return Path(self.cache_dir) / kind / folder

    @property
    def _stat_file(self) -> Path:
        return self._cache_of("files").with_suffix(".npz")

    def _sweep_temporary_files(self) -> None:
        """Remove what writes killed half-way left behind (never read, but never freed either)."""
        folders = [self.corpus_dir]
        if self.cache_dir is not None:
            folders.append(self._cache_of("articles"))
        if self._embedding_cache is not None:
            folders.append(self._embedding_cache.folder)
        swept = sum(library.sweep_temporary(folder) for folder in folders if folder.is_dir())
        if swept:
            log.info("removed %d temporary files left by interrupted writes", swept)

    def _engine_for_current_files(self) -> tuple[Engine, list[LoadProblem], bool]:
        """The engine for the folder as it is now: from the cache when nothing changed, updated
        in place when a few files changed, else built."""
        self._sweep_temporary_files()
        if self._stats is None:  # the first load of this process: the stats of the last one
            self._stats = cache.read_stat_cache(self._stat_file) if self.cache_dir is not None else {}
        remembered = dict(self._stats)
        files = cache.scan_files(self.corpus_dir, self.max_file_bytes, self._stats)
        key = cache.cache_key(files, RankingParams())
        if self.cache_dir is not None:
            cached = cache.load(self._cache_of("index"), key)
            if cached is not None:
                self._loaded_files = files
                if self._stats != remembered:  # for the next start (unchanged: nothing to write)
                    cache.write_stat_cache(self._stat_file, self._stats)
                return Engine(cached.index), cached.problems, True
        parsed = ParsedArticleCache(self._cache_of("articles")) if self.cache_dir is not None else None
        problems: list[LoadProblem] = []
        index = self._updated_index(files, problems, parsed)
        built = index is None
        if index is None:
            problems = []
            index = self._built_index(problems, parsed)
        try:
            if built and parsed is not None:
                parsed.prune()  # (what this full build did not read)
            for problem in problems:
                log.warning("corpus: skipped %s: %s", problem.path, problem.reason)
            if not index.articles and problems:
                # Every file was rejected: more likely a mistake than an intent to serve nothing.
                raise CorpusRejected("no valid article in the corpus folder", problems)
        except BaseException:
            self._discard(index)  # (a build into the cache that will not be served)
            raise
        self._loaded_files = files
        if self.cache_dir is not None:
            # saved once it serves (see `load`), with the file stats of this version
            self._unsaved = (key, index, problems, dict(self._stats or {}))
        return Engine(index), problems, False

    def _built_index(self, problems: list[LoadProblem], parsed: ParsedArticleCache | None) -> SearchIndex:
        """Every article of the folder, indexed (into the index cache's files when there is one)."""

        def build(folder: Path | None) -> SearchIndex:
            problems.clear()
            articles = iter_articles(
                self.corpus_dir,
                problems,
                max_file_bytes=self.max_file_bytes,
                parsed=parsed,
                workers=self.parse_workers,
            )
            return SearchIndex.build(articles, workers=self.parse_workers, folder=folder)

        return self._in_cache_folder(build)

    def _in_cache_folder(self, make: Callable[[Path | None], SearchIndex]) -> SearchIndex:
        """`make(folder)`: an index built or updated straight into a new staging folder of the
        index cache (bounded memory; the save then only renames it) — or in memory (`folder`
        None) without a cache folder, or when that folder cannot take it."""
        if self.cache_dir is None:
            return make(None)
        staging: Path | None = None
        try:
            staging = cache.staging_folder(self._cache_of("index"))
            index = make(staging)
        except OSError as exc:
            log.warning("could not write the index in %s (%s); making it in memory", staging, exc)
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            return make(None)
        except BaseException:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            raise
        if index.folder != staging:  # (an update with nothing to change: the served index)
            shutil.rmtree(staging, ignore_errors=True)
        return index

    def _discard(self, index: SearchIndex) -> None:
        """Remove the staging folder of an index that will not be saved — unless that index is
        served or waits to be saved after all (an update that changed nothing returns the
        served index itself)."""
        kept = {id(self._engine.index) if self._engine is not None else None}
        if self._pending_save is not None:
            kept.add(id(self._pending_save[1]))
        if self._unsaved is not None:
            kept.add(id(self._unsaved[1]))
        if id(index) not in kept:
            cache.discard_staged(index)

    def _save_index_cache(self) -> None:
        """Write the index just served to the cache, in the background: answering does not wait
        (at 1M sentences a save takes seconds). One writer thread saves the newest pending index;
        it is not a daemon, so a process exiting finishes the save it started."""
        if not self.save_cache_in_background:
            self._pending_save, self._unsaved = self._unsaved, None
            if self._pending_save is not None:
                self._write_saves()
            return
        with self._saving:
            if self._unsaved is not None:  # (a load from the cache has nothing to save)
                superseded, self._pending_save, self._unsaved = self._pending_save, self._unsaved, None
                if superseded is not None:  # (its turn never came: it is never saved)
                    self._discard(superseded[1])
            if self._pending_save is None or self._saver is not None:
                return  # nothing to save, or the writer will take it
            self._saver = threading.Thread(target=self._write_saves, name="depeche-index-cache")
            self._saver.start()

    def _write_saves(self) -> None:
        while True:
            with self._saving:
                pending, self._pending_save = self._pending_save, None
                if pending is None:
                    if threading.current_thread() is self._saver:
                        self._saver = None  # under the lock: a later save starts a new writer
                    return
            key, index, problems, stats = pending
            try:
                saved = cache.save(self._cache_of("index"), key, index, problems)
            except OSError:
                log.warning("could not write the index cache in %s; serving without it", self.cache_dir)
            else:
                if not cache.adopt_saved(saved, index):
                    log.info("the index cache could not be read back; serving the built index as it is")
            cache.write_stat_cache(self._stat_file, stats)

    def wait_for_cache(self, timeout: float | None = None) -> bool:
        """Wait until the index cache holds what is served (True), or `timeout` passes."""
        saver = self._saver
        if saver is not None:
            saver.join(timeout)
        return not saver.is_alive() if saver is not None else True

    def _updated_index(
        self, files: dict[str, str], problems: list[LoadProblem], parsed: ParsedArticleCache | None
    ) -> SearchIndex | None:
        """The served index updated in place for the files that changed since it was loaded
        (only those are read and analysed), or None when a full build is the better way: nothing
        served yet, many changes, or an added article whose id or title another file has (the
        full build decides, in file order, which one is kept)."""
        current = self._engine
        if current is None or self._files is None:
            return None
        before = self._files
        changed = [name for name, checksum in files.items() if before.get(name) != checksum]
        gone = [name for name in before if name not in files]
        if len(changed) + len(gone) > max(INCREMENTAL_MIN_FILES, len(files) * INCREMENTAL_SHARE):
            return None
        index = current.index
        leaving = set(changed) | set(gone)
        removed = [meta for meta in index.articles if meta.path in leaving]
        added = read_articles(
            self.corpus_dir, changed, problems, max_file_bytes=self.max_file_bytes, parsed=parsed
        )
        served = index.titles  # (folded titles, built once per index)
        new_ids: set[str] = set()
        new_titles: set[str] = set()
        for article in added:
            for clash in (served.find(article.id), served.find(article.title)):
                if clash is not None and clash.path not in leaving:
                    return None  # a served article has this id or title: the full build decides
            title = fold(article.title)
            if article.id in new_ids or title in new_titles:
                return None
            new_ids.add(article.id)
            new_titles.add(title)
        problems[:0] = [p for p in self._problems if p.path not in leaving and p.path in files]
        removed_ids = [meta.id for meta in removed]
        try:
            return self._in_cache_folder(lambda folder: index.updated(added, removed_ids, folder=folder))
        except ValueError as exc:  # an index that cannot be updated in place
            log.info("full rebuild: %s", exc)
            return None

    # -- sentence embeddings (background, per article, cached) ---------------------------------

    def _with_cached_vectors(self, engine: Engine) -> Engine:
        """The engine plus whatever article vectors are already cached."""
        if self._embedding_cache is None:
            return engine
        dense = embeddings.assemble(engine.index, self._embedding_cache)
        return Engine(engine.index, engine.policy, dense, self._encoder, engine.weights, engine.abstention)

    def _start_embedding(self, engine: Engine, first: set[str] | None = None) -> None:
        """Embed, in a background thread, the articles that have no vectors yet (those of ids
        `first` before the others); then serve them."""
        self._stop_embedding.set()
        self.embedding_done.clear()
        if self._embedding_cache is None or self._encoder is None:
            self.embedding_done.set()
            return
        stop = threading.Event()
        self._stop_embedding = stop
        index = engine.index
        vectors, encoder = self._embedding_cache, self._encoder

        def refresh() -> None:
            current = self._engine
            if current is None or current.index is not index or stop.is_set():
                return
            refreshed = self._with_cached_vectors(current)  # seconds at 1M sentences
            with self._swap:  # a reload meanwhile has replaced `current`: keep the reload
                if self._engine is current and not stop.is_set():
                    self._engine = refreshed

        def work() -> None:
            try:
                count = embeddings.embed_missing(
                    index,
                    vectors,
                    encoder,
                    stop,
                    on_progress=refresh,
                    first=first or set(),
                )
                refresh()
                if count:
                    log.info("embedded %d articles", count)
            except EncoderUnavailable:  # already logged once; the lexical engine serves
                pass
            except Exception:  # a failed embedding leaves the lexical engine serving
                log.exception("sentence embedding failed; answering without it")
            finally:
                if not stop.is_set():
                    self.embedding_done.set()

        threading.Thread(target=work, name="depeche-embeddings", daemon=True).start()

    async def reload(self) -> ReloadReport:
        """Reload off the event loop; concurrent calls wait their turn instead of racing."""
        async with self._lock:
            return await asyncio.to_thread(self.load)


class CorpusRejected(ValueError):
    """Every article file was rejected; `problems` says why for each."""

    def __init__(self, message: str, problems: list[LoadProblem]) -> None:
        super().__init__(message)
        self.problems = problems


def _public_error(exc: Exception) -> str:
    """An error message safe to show an admin: no file system paths beyond the corpus."""
    if isinstance(exc, FileNotFoundError):
        return "the corpus folder is missing"
    if isinstance(exc, ValueError):
        return str(exc)
    return f"index build failed ({type(exc).__name__}); details are in the bot's log"
