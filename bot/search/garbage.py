"""Python's cyclic garbage collector held back while a corpus is indexed.

Indexing a large corpus makes millions of short-lived objects (article models, texts, word
lists). Those still alive at a collection are promoted, and each time promoted objects grow by a
quarter the collector walks every object of the process: at 1M sentences, about half of the
main process's time (docs/performance.md, #20's fifth pass). Reference counting frees these objects
(a build's collections found no cycle to free), so while any build runs, automatic collections are
off; between batches the build collects young objects only if many are still alive, which a
batch's own objects are not once it is done: cycles left behind are still freed.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Young objects alive (made since the last collection, less those freed) above which a build
# collects them: ten times a batch's articles and their models.
YOUNG_LIMIT = 200_000

_lock = threading.Lock()
_builds = 0  # blocks under `automatic_collections_paused`, in every thread
_resume = False  # whether collections were on before the first of them


@contextmanager
def automatic_collections_paused() -> Iterator[None]:
    """Automatic collections off for the block, and back on once no such block runs (if they
    were on before the first); `collect_young` between steps of the block."""
    global _builds, _resume
    with _lock:
        if _builds == 0:
            _resume = gc.isenabled()
            gc.disable()
        _builds += 1
    try:
        yield
    finally:
        with _lock:
            _builds -= 1
            if _builds == 0 and _resume:
                gc.enable()


def collect_young() -> None:
    """Collect the objects made since the last collection (the two young generations) if more
    than `YOUNG_LIMIT` of them are alive: cycles left behind do not pile up."""
    if gc.get_count()[0] > YOUNG_LIMIT:
        gc.collect(1)
