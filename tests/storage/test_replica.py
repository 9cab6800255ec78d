"""The corpus shared through PostgreSQL: processes with folders of their own serve the same
articles; a change made in one reaches the others (notified, or caught up by revision)."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time

from bot.articles import library
from bot.replica import CorpusReplica, keep_in_step
from bot.service import QAService
from bot.storage import ArticleStore, listen_for_changes, open_database
from tests.conftest import BUNDLED_CORPUS, write_article

ZOO = "Combien de girafes au zoo de Bagdad ?"


def process(url: str, folder, name: str) -> tuple[QAService, CorpusReplica, object]:
    database = open_database(url)
    replica = CorpusReplica(ArticleStore(database), folder, name=name)
    service = QAService(folder)
    service.before_load = replica.exchange
    return service, replica, database


def served(service: QAService) -> set[str]:
    return {meta.id for meta in service.engine.index.articles}


def test_processes_serve_the_database_corpus_and_follow_each_others_changes(pg_cluster, tmp_path):
    url = pg_cluster.fresh_database()
    shutil.copytree(BUNDLED_CORPUS, tmp_path / "a")
    a, replica_a, db_a = process(url, tmp_path / "a", "a:1")
    b, replica_b, db_b = process(url, tmp_path / "b", "b:2")  # a new machine: an empty folder
    assert a.load().ok  # the first start imports its folder
    assert b.load().ok and served(b) == served(a) == {"sept-roquettes-balad"}

    write_article(
        tmp_path / "a", "zoo.md", "Le zoo de Bagdad a accueilli trois girafes.", title="Zoo", source="T"
    )
    assert a.load().added == ["zoo"]  # sent to the database on the way
    assert replica_b.behind()
    assert b.load().added == ["zoo"] and b.engine.answer(ZOO).answered
    assert (tmp_path / "b" / "zoo.md").read_bytes() == (tmp_path / "a" / "zoo.md").read_bytes()

    meta = next(m for m in b.engine.index.articles if m.id == "zoo")
    library.remove_article(tmp_path / "b", meta)  # removed through the other process this time
    assert b.load().removed == ["zoo"]
    assert a.load().removed == ["zoo"] and (tmp_path / "a" / ".removed" / "zoo.md").is_file()
    assert not replica_a.behind() and not replica_b.behind()
    db_a.close()
    db_b.close()


def test_a_change_wakes_the_listeners(pg_cluster):
    url = pg_cluster.fresh_database()
    store = ArticleStore(url)
    woken, stop = threading.Event(), threading.Event()
    calls: list[float] = []

    def on_change() -> None:
        calls.append(time.monotonic())
        if len(calls) > 1:  # the first call is the catch-up at connection
            woken.set()

    thread = threading.Thread(target=listen_for_changes, args=(url, on_change, stop), daemon=True)
    thread.start()
    for _ in range(100):
        if calls:
            break
        time.sleep(0.05)
    store.apply({"x.md": "---\ntitle: X\nsource: S\n---\n\nTexte.\n"}, [], "test")
    assert woken.wait(5)
    stop.set()
    thread.join(5)
    store.close()


async def test_a_running_process_serves_another_ones_article_within_seconds(pg_cluster, tmp_path):
    url = pg_cluster.fresh_database()
    shutil.copytree(BUNDLED_CORPUS, tmp_path / "a")
    a, _, db_a = process(url, tmp_path / "a", "a:1")
    b, replica_b, db_b = process(url, tmp_path / "b", "b:2")
    assert a.load().ok and b.load().ok
    stop = asyncio.Event()
    task = asyncio.create_task(keep_in_step(b, replica_b, url, "1", stop))
    await asyncio.sleep(0.5)  # listening
    write_article(
        tmp_path / "a", "zoo.md", "Le zoo de Bagdad a accueilli trois girafes.", title="Zoo", source="T"
    )
    start = time.monotonic()
    await a.reload()
    while "zoo" not in served(b):
        assert time.monotonic() - start < 5, "process B did not serve the new article within 5 s"
        await asyncio.sleep(0.05)
    assert b.engine.answer(ZOO).answered
    for _ in range(100):  # B says what it serves
        reported = replica_b.store.processes()
        if reported and reported[0].corpus_version == b.engine.version:
            break
        await asyncio.sleep(0.05)
    assert [(p.name, p.shards, p.corpus_version) for p in reported] == [("b:2", "1", b.engine.version)]
    stop.set()
    await asyncio.wait_for(task, 5)
    db_a.close()
    db_b.close()


def test_the_shared_corpus_is_exported_to_a_folder(pg_cluster, tmp_path, monkeypatch, capsys):
    from bot.cli import main

    url = pg_cluster.fresh_database()
    shutil.copytree(BUNDLED_CORPUS, tmp_path / "a")
    service, _, database = process(url, tmp_path / "a", "a:1")
    assert service.load().ok
    monkeypatch.setenv("DEPECHE_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert main(["corpus", "export", str(tmp_path / "out")]) == 0
    assert "Wrote 1 articles" in capsys.readouterr().out
    exported = tmp_path / "out" / "sept-roquettes-balad.md"
    assert exported.read_bytes() == (BUNDLED_CORPUS / "sept-roquettes-balad.md").read_bytes()
    database.close()
