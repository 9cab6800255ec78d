"""Automatic garbage collections are held back while a corpus is indexed, and given back."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from bot.search import analysis, garbage
from bot.search.garbage import automatic_collections_paused
from bot.search.index import SearchIndex
from tests.search.test_index import _many_articles


def _watched(seen: list[bool]):
    for article in _many_articles():
        seen.append(gc.isenabled())
        yield article


def test_a_build_holds_back_automatic_collections_and_gives_them_back():
    seen: list[bool] = []
    assert gc.isenabled()
    SearchIndex.build(_watched(seen))
    assert seen and not any(seen)
    assert gc.isenabled()


def test_collections_stay_off_after_a_build_when_they_were_off():
    gc.disable()
    try:
        SearchIndex.build(_many_articles())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failed_build_gives_collections_back():
    def broken():
        yield from list(_many_articles())[:5]
        raise OSError("disk gone")

    with pytest.raises(OSError):
        SearchIndex.build(broken())
    assert gc.isenabled()


def test_collections_come_back_when_the_last_of_two_builds_ends():
    inside, leave = threading.Barrier(2), threading.Event()

    def other_build():
        with automatic_collections_paused():
            inside.wait()
            leave.wait()

    thread = threading.Thread(target=other_build)
    thread.start()
    with automatic_collections_paused():
        inside.wait()
    assert not gc.isenabled()  # (the other one still runs)
    leave.set()
    thread.join()
    assert gc.isenabled()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_cycles_made_during_a_build_are_freed_during_it(monkeypatch):
    """With automatic collections off, the build collects young objects itself once too many
    are alive (here: any)."""
    monkeypatch.setattr(analysis, "BATCH_SENTENCES", 15)
    monkeypatch.setattr(garbage, "YOUNG_LIMIT", 0)
    freed: list[int] = []
    freed_before: list[int] = []

    def leaving_cycles():
        for n, article in enumerate(_many_articles()):
            freed_before.append(len(freed))
            cycle = _Cycle()
            weakref.finalize(cycle, freed.append, n)
            del cycle
            yield article

    SearchIndex.build(leaving_cycles())
    assert freed_before[-1] >= len(freed_before) // 2
