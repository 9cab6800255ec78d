"""The index cache: reused when nothing changed, rebuilt when files change or the cache is damaged."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from bot.search import index_cache as cache
from bot.service import QAService
from tests.conftest import write_article

QUESTION = "Combien de roquettes ont frappé la base de Balad ?"


def test_a_restart_with_unchanged_files_uses_the_cache_and_answers_the_same(corpus_dir, tmp_path):
    first = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert first.load().ok and not first.last_load_from_cache
    second = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    report = second.load()
    assert report.ok and second.last_load_from_cache
    assert report.version == first.engine.version and report.sentences == first.engine.index.size
    a, b = first.engine.answer(QUESTION), second.engine.answer(QUESTION)
    assert [r.model_dump() for r in a.results] == [r.model_dump() for r in b.results]


def test_a_changed_file_misses_the_cache(corpus_dir, tmp_path):
    QAService(corpus_dir, cache_dir=tmp_path / "cache").load()
    write_article(corpus_dir, "neuf.md", "Le pont de Mossoul a rouvert.", title="Pont", source="T")
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    report = service.load()
    assert not service.last_load_from_cache and report.articles == 2
    assert len(list((tmp_path / "cache" / "index").glob("*/*"))) == 1  # the stale entry is gone


def test_rejected_files_are_remembered_by_the_cache(corpus_dir, tmp_path):
    (corpus_dir / "casse.md").write_text("---\nsource: X\n---\n\nTexte.\n", encoding="utf-8")
    QAService(corpus_dir, cache_dir=tmp_path / "cache").load()
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    report = service.load()
    assert service.last_load_from_cache and [p.path for p in report.problems] == ["casse.md"]


def test_a_truncated_or_corrupt_cache_is_detected_and_rebuilt(corpus_dir, tmp_path):
    QAService(corpus_dir, cache_dir=tmp_path / "cache").load()
    [entry] = (tmp_path / "cache" / "index").glob("*/*")
    data = entry / "sentences.data.npy"
    data.write_bytes(data.read_bytes()[:-16])
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    report = service.load()
    assert report.ok and not service.last_load_from_cache
    assert "Au moins sept" in service.engine.answer(QUESTION).results[0].text
    [entry] = (tmp_path / "cache" / "index").glob("*/*")
    manifest = entry / "manifest.json"
    manifest.write_text("{not json", encoding="utf-8")
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok and not service.last_load_from_cache


def test_cache_key_depends_on_every_file(corpus_dir):
    files = cache.scan_files(corpus_dir, 10_000_000)
    from bot.search.index import RankingParams

    key = cache.cache_key(files, RankingParams())
    assert key != cache.cache_key({**files, "x.md": "0"}, RankingParams())
    assert key != cache.cache_key(files, RankingParams(k1=2.0))


def test_unchanged_files_are_not_split_again_after_a_change(corpus_dir, tmp_path):
    QAService(corpus_dir, cache_dir=tmp_path / "cache").load()
    [parsed] = (tmp_path / "cache" / "articles").iterdir()  # this corpus's part of the cache
    [entry] = parsed.glob("*.json")
    before = entry.stat().st_mtime_ns
    write_article(corpus_dir, "neuf.md", "Le pont de Mossoul a rouvert.", title="Pont", source="T")
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().articles == 2
    assert entry.stat().st_mtime_ns == before  # read back, not rewritten
    assert len(list(parsed.glob("*.json"))) == 2
    (corpus_dir / "neuf.md").unlink()
    QAService(corpus_dir, cache_dir=tmp_path / "cache").load()
    assert list(parsed.glob("*.json")) == [entry]  # the removed file's entry is pruned
    assert "Au moins sept" in service.engine.answer(QUESTION).results[0].text


def test_an_update_in_place_keeps_the_other_files_parsed(corpus_dir, tmp_path):
    """A reload that reads only the changed file leaves every other file's parsed entry there:
    the next full build (a restart with a changed constant, a damaged index) splits none again."""
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok
    [parsed] = (tmp_path / "cache" / "articles").iterdir()
    [entry] = parsed.glob("*.json")
    write_article(corpus_dir, "neuf.md", "Le pont de Mossoul a rouvert.", title="Pont", source="T")
    assert service.load().articles == 2  # (in place: only neuf.md read)
    assert entry.is_file() and len(list(parsed.glob("*.json"))) == 2


def test_an_altered_manifest_is_detected_and_rebuilt_not_served(corpus_dir, tmp_path):
    QAService(corpus_dir, cache_dir=tmp_path / "cache").load()
    [entry] = (tmp_path / "cache" / "index").glob("*/*")
    manifest = entry / "manifest.json"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("Atalayar", "Atalayor"), encoding="utf-8"
    )
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok and not service.last_load_from_cache
    assert service.engine.answer(QUESTION).results[0].source == "Atalayar"


def test_an_altered_parsed_article_is_split_again_not_quoted(corpus_dir, tmp_path):
    QAService(corpus_dir, cache_dir=tmp_path / "cache").load()
    [entry] = (tmp_path / "cache" / "articles").glob("*/*.json")
    entry.write_bytes(entry.read_bytes().replace(b"Au moins sept", b"Au moins soixante-dix"))
    for index in (tmp_path / "cache" / "index").glob("*/*"):  # force a rebuild from the parsed cache
        (index / "manifest.json").unlink()
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok
    text = service.engine.answer(QUESTION).results[0].text
    assert "Au moins sept" in text and "soixante-dix" not in text


def test_a_cache_folder_that_cannot_be_written_only_costs_speed(corpus_dir, tmp_path):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be", encoding="utf-8")
    service = QAService(corpus_dir, cache_dir=blocked)
    report = service.load()
    assert report.ok and report.articles == 1
    assert "Au moins sept" in service.engine.answer(QUESTION).results[0].text


def test_a_load_of_another_corpus_prunes_nothing_of_this_one(corpus_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    write_article(other, "pont.md", "Le pont de Mossoul a rouvert mardi.", title="Pont", source="T")
    shared = tmp_path / "cache"
    assert QAService(corpus_dir, cache_dir=shared).load().ok
    assert QAService(other, cache_dir=shared).load().ok  # `run_bot.py ask --corpus OTHER`
    again = QAService(corpus_dir, cache_dir=shared)
    assert again.load().ok and again.last_load_from_cache
    assert len(list((shared / "articles").glob("*/*.json"))) == 2  # both corpora's parsed files


def test_a_file_whose_stat_is_unchanged_is_not_read_again_and_a_changed_one_is(corpus_dir, monkeypatch):
    write_article(
        corpus_dir, "zoo.md", "Le zoo de Bagdad a accueilli trois girafes.", title="Zoo", source="T"
    )
    known: cache.StatCache = {}
    first = cache.scan_files(corpus_dir, 10_000_000, known)
    read: list[str] = []
    original = Path.read_bytes

    def counting(path: Path) -> bytes:
        read.append(path.name)
        return original(path)

    monkeypatch.setattr(Path, "read_bytes", counting)
    assert cache.scan_files(corpus_dir, 10_000_000, known) == first and read == []
    write_article(corpus_dir, "zoo.md", "Le zoo de Bagdad a accueilli cinq girafes.", title="Zoo", source="T")
    second = cache.scan_files(corpus_dir, 10_000_000, known)
    assert read == ["zoo.md"] and second["zoo.md"] != first["zoo.md"]
    assert cache.scan_files(corpus_dir, 10_000_000) == second  # the same sums as reading everything


def test_the_file_list_is_kept_for_the_next_start(tmp_path):
    known: cache.StatCache = {
        "a.md": ((1, 2, 3, 4), "f" * 64),
        "été\nà la une.md": ((0, (1 << 64) - 1, 5, 1 << 63), "0" * 64),  # any name, any stat
        "caf\udce9.md": ((7, 8, 9, 10), "1" * 64),  # a name that is not UTF-8 on disk
    }
    path = tmp_path / "files" / "x.npz"
    cache.write_stat_cache(path, known)
    assert cache.read_stat_cache(path) == known
    assert cache.read_stat_cache(tmp_path / "nothing.npz") == {}
    cache.write_stat_cache(path, {})
    assert cache.read_stat_cache(path) == {}
    path.write_bytes(b"PK\x03\x04 damaged")
    assert cache.read_stat_cache(path) == {}  # (then every file is hashed once more)


def test_the_file_list_leaves_no_temporary_file_behind(tmp_path, monkeypatch):
    """A write that fails half-way removes its temporary file; one left by a process stopped
    half-way is removed by the next write once an hour old (a younger one may be in progress)."""
    import os
    import time

    path = tmp_path / "files" / "x.npz"
    path.parent.mkdir()
    stale, recent = path.parent / ".tmp-stale", path.parent / ".tmp-recent"
    stale.write_bytes(b"PK")
    recent.write_bytes(b"PK")
    hours_ago = time.time() - cache.STAGING_GRACE_SECONDS - 60
    os.utime(stale, (hours_ago, hours_ago))
    known: cache.StatCache = {"a.md": ((1, 2, 3, 4), "f" * 64)}
    cache.write_stat_cache(path, known)
    assert sorted(p.name for p in path.parent.iterdir()) == [".tmp-recent", "x.npz"]

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.np, "savez", full_disk)
    cache.write_stat_cache(path, {})  # (logged; the previous list stays)
    assert sorted(p.name for p in path.parent.iterdir()) == [".tmp-recent", "x.npz"]
    assert cache.read_stat_cache(path) == known


def test_a_stat_before_1970_or_past_63_bits_is_kept_and_compared(tmp_path):
    status = SimpleNamespace(st_size=12, st_mtime_ns=-5, st_ctime_ns=1 << 64, st_ino=(1 << 64) - 1)
    stat = cache._stat_of(status)  # a time before 1970, an inode past 63 bits: wrapped, not lost
    assert all(0 <= part < 1 << 64 for part in stat)
    cache.write_stat_cache(tmp_path / "f.npz", {"a.md": (stat, "f" * 64)})
    assert cache.read_stat_cache(tmp_path / "f.npz")["a.md"][0] == stat


def test_an_array_changed_in_place_is_checked_again_and_an_unchanged_one_is_not(
    corpus_dir, tmp_path, monkeypatch
):
    from bot.search import index_cache

    QAService(corpus_dir, cache_dir=tmp_path / "cache").load()
    hashed: list[str] = []
    real = index_cache._sha256
    monkeypatch.setattr(index_cache, "_sha256", lambda path: hashed.append(path.name) or real(path))
    again = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert again.load().ok and again.last_load_from_cache
    assert hashed == []  # stats as verified: nothing read
    [entry] = (tmp_path / "cache" / "index").glob("*/*")
    data = entry / "sentences.data.npy"
    raw = bytearray(data.read_bytes())
    raw[-4:] = bytes(4)  # same size, other bytes
    data.write_bytes(bytes(raw))
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok and not service.last_load_from_cache
    assert "sentences.data.npy" in hashed
    assert "Au moins sept" in service.engine.answer(QUESTION).results[0].text


def _file_mapped(array) -> bool:
    """Whether `array`'s memory is a mapping of a file (some base of it is a `mmap`)."""
    import mmap

    base = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


def _served_arrays(index) -> list:
    return [index.folded.data, index.folded.indices, index.sentences.data, index.paragraphs.tf,
            index.texts.blob, index.sent_para_index]  # fmt: skip


def test_a_first_load_builds_into_the_cache_entry_and_serves_it_mapped(corpus_dir, tmp_path):
    """With a cache folder, the first load builds its index straight into a staging folder of the
    cache (bounded memory), serving those files mapped at once; the save hashes them and renames
    the folder into the entry — the same files (inodes), no array written twice — and the answers
    are those of an index built in memory."""
    import os

    in_memory = QAService(corpus_dir)  # (no cache: the index built in memory)
    assert in_memory.load().ok and not _file_mapped(in_memory.engine.index.folded.data)
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache", save_cache_in_background=True)
    assert service.load().ok and not service.last_load_from_cache
    index = service.engine.index
    staging = index.folder
    assert staging is not None and staging.name.startswith(".tmp-")
    assert all(_file_mapped(array) for array in _served_arrays(index))
    inodes = {path.name: path.stat().st_ino for path in staging.iterdir()}
    assert service.wait_for_cache(30)
    entry = index.folder
    assert entry is not None and entry.parent == staging.parent and not staging.exists()
    assert {name: (entry / name).stat().st_ino for name in inodes} == inodes
    assert service.engine.index is index
    answers = [[r.model_dump() for r in s.engine.answer(QUESTION).results] for s in (in_memory, service)]
    assert answers[0] == answers[1] and answers[0]
    restarted = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert restarted.load().ok and restarted.last_load_from_cache
    assert os.listdir(entry.parent) == [entry.name]


def test_an_index_updated_in_place_is_written_into_the_cache_and_serves_it_mapped(corpus_dir, tmp_path):
    """A reload's (or a feed's) update in place is written range by range into a staging folder
    of the cache, folded, and serves it mapped; the save makes it the entry. Its answers are a
    full build's."""
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok
    first = service.engine.index
    write_article(corpus_dir, "pont.md", "Le pont de Mossoul a rouvert mardi.", title="Pont", source="T")
    report = service.load()
    assert report.ok and report.articles == 2 and not service.last_load_from_cache
    index = service.engine.index
    assert index is not first and index.folded is not None and service.wait_for_cache(30)
    assert index.folder is not None and (index.folder / "manifest.json").is_file()
    assert all(_file_mapped(array) for array in _served_arrays(index))
    built = QAService(corpus_dir)
    assert built.load().ok
    for question in (QUESTION, "Quand le pont de Mossoul a-t-il rouvert ?"):
        answers = [[r.model_dump() for r in s.engine.answer(question).results] for s in (built, service)]
        assert answers[0] == answers[1] and answers[0]
    assert service.load().ok and service.last_load_from_cache  # nothing changed: nothing staged
    assert [p.name for p in index.folder.parent.iterdir()] == [index.folder.name]


def test_an_index_made_in_memory_once_saved_serves_from_the_mapped_cache(corpus_dir, tmp_path, monkeypatch):
    """When the cache folder could not take the update as it was made, the index is made in
    memory; once saved, the served index holds the saved arrays, file-mapped, as a restart would:
    its own copies are let go, its answers unchanged."""
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok
    real = cache.staging_folder

    def no_room(folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "staging_folder", no_room)
    write_article(corpus_dir, "pont.md", "Le pont de Mossoul a rouvert mardi.", title="Pont", source="T")
    assert service.load().ok
    monkeypatch.setattr(cache, "staging_folder", real)
    index = service.engine.index
    assert index.folder is None and service.wait_for_cache(30)  # (its arrays in memory until saved)
    assert service.engine.index is index and index.folded is not None
    assert all(_file_mapped(array) for array in _served_arrays(index))
    built = QAService(corpus_dir)
    assert built.load().ok
    answers = [[r.model_dump() for r in s.engine.answer(QUESTION).results] for s in (built, service)]
    assert answers[0] == answers[1] and answers[0]


def test_a_build_the_cache_folder_cannot_take_is_built_in_memory(corpus_dir, tmp_path, monkeypatch, caplog):
    """A disk that fills up during the build into the cache: the index is built again in memory,
    served, and the staging folder is gone; a build that fails otherwise leaves nothing either."""
    from bot.search import index as index_module

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_module, "build_matrices", full_disk)
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    with caplog.at_level("WARNING", logger="bot.service"):
        assert service.load().ok
    assert any("making it in memory" in r.getMessage() for r in caplog.records)
    assert "Au moins sept" in service.engine.answer(QUESTION).results[0].text
    assert not list((tmp_path / "cache" / "index").glob("*/.tmp-*"))

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(index_module, "build_matrices", broken)
    other = QAService(corpus_dir, cache_dir=tmp_path / "other")
    assert not other.load().ok
    assert not list((tmp_path / "other" / "index").glob("*/.tmp-*"))


def test_a_save_prunes_old_staging_folders_not_one_in_use(corpus_dir, tmp_path):
    """Another entry and a staging folder left by a process killed an hour ago are removed by the
    next save; a recent one (a build in progress, maybe in another thread) is not."""
    import os
    import time

    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok
    folder = service.engine.index.folder
    assert folder is not None
    stale, recent, old_entry = (
        folder.parent / ".tmp-stale",
        folder.parent / ".tmp-recent",
        folder.parent / "0ld",
    )
    for made in (stale, recent, old_entry):
        made.mkdir()
    hours_ago = time.time() - cache.STAGING_GRACE_SECONDS - 60
    os.utime(stale, (hours_ago, hours_ago))
    os.utime(old_entry, (hours_ago, hours_ago))
    write_article(corpus_dir, "pont.md", "Le pont de Mossoul a rouvert mardi.", title="Pont", source="T")
    assert service.load().ok and service.wait_for_cache(30)
    names = sorted(p.name for p in folder.parent.iterdir())
    assert (
        len(names) == 2
        and names[0] == ".tmp-recent"
        and (folder.parent / names[1] / "manifest.json").is_file()
    )


def test_an_index_does_not_adopt_the_arrays_of_another(corpus_dir, tmp_path):
    """A saved index of other articles (or shapes) is refused: nothing of the served one changes."""
    first = QAService(corpus_dir, cache_dir=tmp_path / "one")
    assert first.load().ok and first.wait_for_cache(30)
    write_article(corpus_dir, "neuf.md", "Le pont de Mossoul a rouvert.", title="Pont", source="T")
    second = QAService(corpus_dir)
    assert second.load().ok
    index = second.engine.index
    own = index.folded.data
    assert not index.adopt_arrays(first.engine.index)
    assert index.folded.data is own and not _file_mapped(index.sentences.data)


def test_questions_answered_while_arrays_are_adopted_get_the_same_answers(corpus_dir, tmp_path):
    """Adoption swaps the served index's arrays one attribute at a time while questions run in
    other threads: whatever mix of old and new arrays a question reads, its answer is the same."""
    import threading

    service = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert service.load().ok and service.wait_for_cache(30)
    [entry] = (tmp_path / "cache" / "index").glob("*/*")
    index, engine = service.engine.index, service.engine
    built = QAService(corpus_dir)  # (the answers of the index as built, without a cache)
    assert built.load().ok
    expected = [r.model_dump() for r in built.engine.answer(QUESTION).results]
    copies = [cache.load(entry.parent, entry.name).index for _ in range(2)]  # (two mappings of it)
    stop, differing, asked = threading.Event(), [], [0]

    def ask() -> None:
        while not stop.is_set():
            asked[0] += 1
            if [r.model_dump() for r in engine.answer(QUESTION).results] != expected:
                differing.append(asked[0])

    thread = threading.Thread(target=ask)
    thread.start()
    try:
        n = 0
        while asked[0] < 30 and n < 100_000:  # (until questions were answered meanwhile)
            assert index.adopt_arrays(copies[n % 2])
            n += 1
    finally:
        stop.set()
        thread.join()
    assert asked[0] >= 30 and differing == []


def test_a_corpus_whose_every_file_is_rejected_leaves_no_staging_folder(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_article(folder, "vide.md", "... !!! ???", title="Vide", source="T")
    service = QAService(folder, cache_dir=tmp_path / "cache")
    assert not service.load().ok
    assert (tmp_path / "cache" / "index").is_dir()
    assert not list((tmp_path / "cache" / "index").glob("*/.tmp-*"))


def test_a_pending_save_replaced_by_the_same_index_keeps_its_folder(corpus_dir, tmp_path, monkeypatch):
    """While the cache writer is busy, an update is pending; a reload that changes nothing then
    serves that same index again: its staging folder stays (it is served and still to be saved),
    and once the writer is free it is saved and a restart reads it. An update replaced before
    its turn by another is never saved: its folder goes."""
    import threading

    release = threading.Event()
    real_save = cache.save
    calls = []

    def slow_save(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 1:
            release.wait(30)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(cache, "save", slow_save)
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache", save_cache_in_background=True)
    assert service.load().ok  # saved by the writer, which waits
    write_article(corpus_dir, "pont.md", "Le pont de Mossoul a rouvert mardi.", title="Pont", source="T")
    assert service.load().ok
    replaced = service.engine.index
    write_article(corpus_dir, "port.md", "Le port de Bassora a rouvert jeudi.", title="Port", source="T")
    assert service.load().ok
    pending = service.engine.index
    assert replaced.folder is not None and not replaced.folder.exists()  # replaced before its turn
    assert service.load().ok and service.engine.index is pending  # nothing changed
    assert pending.folder is not None and pending.folder.is_dir()
    release.set()
    assert service.wait_for_cache(60)
    assert [index is pending for index in calls[1:]] == [True]
    restarted = QAService(corpus_dir, cache_dir=tmp_path / "cache")
    assert (
        restarted.load().ok and restarted.last_load_from_cache and restarted.engine.index.size == pending.size
    )
    assert len(list((tmp_path / "cache" / "index").glob("*/*"))) == 1
