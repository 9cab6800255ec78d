"""The corpus shared through PostgreSQL: this process's corpus folder is a working copy of the
articles in the database.

Before each load, `CorpusReplica.exchange` sends the folder's own changes since the last
exchange (an article an admin added or removed here, a feed article written here) to the
database, then brings the folder up to the database's version (files written atomically;
files no longer served set aside in `.removed/`). The first process to start on an empty
database imports its folder. `listen` wakes every process when another commits a change; a
process that missed a wake-up (restarted, disconnected) sees the revision moved at its next
check and catches up the same way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from bot.articles import library
from bot.search import index_cache
from bot.service import QAService
from bot.storage import ArticleStore, listen_for_changes

log = logging.getLogger(__name__)


class CorpusReplica:
    """Keeps a corpus folder and the database's articles the same, both ways."""

    def __init__(self, store: ArticleStore, folder: Path, *, name: str) -> None:
        self.store = store
        self.folder = Path(folder)
        self.name = name
        self.revision = -1  # the database's revision the folder matches
        self._synced: dict[str, str] | None = None  # name -> checksum at the last exchange
        self._stats: index_cache.StatCache = {}
        self._lock = threading.Lock()

    def exchange(self) -> None:
        """Send the folder's own changes to the database, then bring the folder up to date."""
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Checksums from a stat cache: at every load only the files that changed are read.
            sums = index_cache.scan_files(self.folder, 1 << 62, self._stats)
            if self._synced is None and self.store.is_empty():
                self._synced = {}  # the first start of all: this folder is the corpus
            changed: dict[str, str] = {}
            removed: list[str] = []
            unreadable: set[str] = set()  # not UTF-8: the loader rejects them; left where they are
            if self._synced is not None:
                for name, checksum in sums.items():
                    if self._synced.get(name) != checksum:
                        try:
                            changed[name] = (self.folder / name).read_bytes().decode("utf-8")
                        except UnicodeDecodeError:
                            unreadable.add(name)
                        except OSError:  # gone meanwhile: the next exchange sees it gone
                            continue
                removed = [name for name in self._synced if name not in sums]
            if changed or removed:
                self.store.apply(changed, removed, self.name)
                log.info("corpus: sent %d changed and %d removed files", len(changed), len(removed))
            revision, served = self.store.served()
            stale = [name for name, checksum in served.items() if sums.get(name) != checksum]
            for name, content in self.store.contents(stale).items():
                library.replace_file(self.folder, name, content)
            gone = [name for name in sums if name not in served and name not in unreadable]
            for name in gone:
                try:
                    library.set_aside(self.folder, name)
                except FileNotFoundError:
                    continue
            if stale or gone:
                log.info(
                    "corpus: received %d files, set %d aside (revision %d)", len(stale), len(gone), revision
                )
            self._synced = dict(served)
            self.revision = revision

    def behind(self) -> bool:
        """Whether the database moved since the last exchange (a missed notification)."""
        return self.store.revision() != self.revision


CATCH_UP_SECONDS = 60.0  # how often a process checks the revision (and says what it serves)


async def keep_in_step(
    service: QAService, replica: CorpusReplica, url: str, shards: str, stop: asyncio.Event
) -> None:
    """Reload whenever another process changes the corpus (and at least check every minute);
    report the version served after each reload. Returns when `stop` is set."""
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    listening = threading.Event()  # set: stop listening
    threading.Thread(
        target=listen_for_changes,
        args=(url, lambda: loop.call_soon_threadsafe(changed.set), listening),
        name="depeche-corpus-listener",
        daemon=True,
    ).start()
    try:
        while not stop.is_set():
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(changed.wait())]
            try:
                await asyncio.wait(waits, timeout=CATCH_UP_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()
            if stop.is_set():
                break
            try:
                if changed.is_set() or await asyncio.to_thread(replica.behind):
                    changed.clear()
                    await service.reload()  # the exchange runs first, inside the load
                if service.ready:
                    version = service.engine.version
                    await asyncio.to_thread(
                        replica.store.report, replica.name, shards, version, replica.revision
                    )
            except Exception:  # the database is down: answers go on from what is served
                log.warning("could not check the shared corpus; trying again", exc_info=True)
    finally:
        listening.set()
