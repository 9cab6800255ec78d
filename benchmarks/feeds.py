"""Feeds benchmark: how fast a published item becomes answerable, what polling costs the bot.

Parts (each prints one JSON line; ratios are against a baseline measured in the same run):
- update:  an index of N synthetic sentences (see scale.py); a new article added in place
           (`SearchIndex.updated`) until a question is answered from it — p50/p95 over trials —
           next to a full build of the same articles; one removal; query p50/p95 of the updated
           index next to a freshly built one of the same articles; the largest resident size
           during the updates. `--into-folder`: the index built and each update written into
           folders, as `QAService` does with a cache folder (else spliced in memory).
- e2e:     a corpus folder of N sentences served by `QAService` (index cache on, written in
           the background as the bot does), a local feed site publishing one item per trial:
           from the start of the poll that sees it to a question answered citing it (fetch,
           extraction, file written, folder scanned, index updated in place). Before each item
           the previous cache write is let finish, as minutes between items would.
- lag:     500 feeds that answer 304, polled at once by one `FeedPoller` while a 10 ms ticker
           measures the event loop's largest delay (the feed site runs in another process).
- memory:  1,000 poll cycles of 50 feeds answering 304: resident memory after 100 and 1,000.

Usage: .venv/bin/python -m benchmarks.feeds [--sentences 1000000] [--e2e-sentences 100000]
       [--trials 20] [--parts update e2e lag memory]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import multiprocessing
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.feeds import FeedPoller
    from bot.storage import FeedStore

from benchmarks.scale import ResidentPeak, percentiles, questions, rss_mb, synthetic_articles, synthetic_specs

HOSTS = 50
NEW_ARTICLE = [
    "Le chantier naval de Kermadec-{n} a lancé mardi un caboteur de quatre-vingts mètres.",
    "Selon la direction, {n} ouvriers ont travaillé sur la coque pendant deux ans.",
    "La cérémonie a réuni les familles des ouvriers de Kermadec-{n} sur le quai.",
]


def new_article(n: int):
    from bot.articles.models import Article, Paragraph, Sentence, sentence_id

    aid = f"nouveau-{n}"
    texts = [t.format(n=n) for t in NEW_ARTICLE]
    sentences = tuple(Sentence(id=sentence_id(aid, 1, i), text=t) for i, t in enumerate(texts, 1))
    return Article(
        id=aid,
        title=f"Kermadec-{n} lance un navire",
        source="Bench",
        language="fr",
        path=f"{aid}.md",
        checksum=f"{10**9 + n:064d}",
        paragraphs=(Paragraph(number=1, text=" ".join(texts), sentences=sentences),),
    )


def part_update(n: int, trials: int, into_folder: bool = False) -> dict:
    from bot.search.answer import Engine
    from bot.search.index import SearchIndex

    specs = synthetic_specs(n)
    work = Path(tempfile.mkdtemp(prefix="depeche-feeds-update-"))
    folders = (work / f"index-{i}" for i in itertools.count()) if into_folder else itertools.repeat(None)
    start = time.perf_counter()
    index = SearchIndex.build(synthetic_articles(specs), folder=next(folders))
    full_build_s = time.perf_counter() - start
    times, added = [], []
    with ResidentPeak() as during_updates:
        for t in range(trials):
            article = new_article(t)
            start = time.perf_counter()
            previous, index = index, index.updated([article], [], folder=next(folders))
            previous.stop_folding()  # as the service does once the updated index serves
            answer = Engine(index).answer(f"Combien d'ouvriers ont travaillé sur la coque à Kermadec-{t} ?")
            times.append(time.perf_counter() - start)
            assert answer.answered and answer.results[0].article_id == article.id, answer
            added.append(article)
        start = time.perf_counter()
        index = index.updated([], [added[0].id], folder=next(folders))
        removal_s = time.perf_counter() - start
        index.wait_folded(300)
    qs = questions(300)
    updated_p50, updated_p95 = _latency(Engine(index), qs)
    articles = [a for a in synthetic_articles(specs)] + added[1:]
    start = time.perf_counter()
    fresh = SearchIndex.build(articles)
    rebuild_s = time.perf_counter() - start
    fresh_p50, fresh_p95 = _latency(Engine(fresh), qs)
    p50, p95 = percentiles(times)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "part": "update",
        "sentences": index.size,
        "full_build_s": round(full_build_s, 2),
        "full_rebuild_same_articles_s": round(rebuild_s, 2),
        "add_until_answered_p50_s": round(p50, 3),
        "add_until_answered_p95_s": round(p95, 3),
        "add_vs_full_build": round(p95 / rebuild_s, 4),
        "removal_s": round(removal_s, 3),
        "query_ms_updated_p50_p95": [round(updated_p50, 2), round(updated_p95, 2)],
        "query_ms_fresh_p50_p95": [round(fresh_p50, 2), round(fresh_p95, 2)],
        "query_p50_ratio": round(updated_p50 / fresh_p50, 3),
        "query_p95_ratio": round(updated_p95 / fresh_p95, 3),
        "into_folder": into_folder,
        "updates_peak_rss_mb": round(during_updates.largest),
        "peak_rss_mb": round(rss_mb()),
    }


def _latency(engine, qs: list[str]) -> tuple[float, float]:
    for q in qs[:20]:  # warm caches
        engine.answer(q)
    times = []
    for q in qs:
        start = time.perf_counter()
        engine.answer(q)
        times.append((time.perf_counter() - start) * 1000)
    return percentiles(times)


def _write_corpus(folder: Path, n: int) -> None:
    for a, paragraphs in enumerate(synthetic_specs(n)):
        body = "\n\n".join(" ".join(p) for p in paragraphs)
        (folder / f"a{a:06d}.md").write_text(
            f"---\ntitle: Dépêche a{a:06d}\nsource: Synthétique\n---\n\n{body}\n", encoding="utf-8"
        )


def part_e2e(n: int, trials: int, keep: Path | None = None) -> dict:
    from bot.articles import FetchPolicy
    from bot.feeds import FeedPoller
    from bot.service import QAService
    from bot.storage import FeedStore
    from tests.feeds.feed_site import FeedSite, Story, serve

    work = keep or Path(tempfile.mkdtemp(prefix="depeche-feeds-"))
    try:
        corpus = work / "corpus"
        if not corpus.is_dir():  # (with --keep, a second run starts from the first's cache)
            corpus.mkdir(parents=True)
            _write_corpus(corpus, n)
        for stale in [*corpus.glob("kermadec-*.md"), work / "db.sqlite3"]:
            stale.unlink(missing_ok=True)
        service = QAService(
            corpus,
            cache_dir=work / "cache",
            parse_workers=multiprocessing.cpu_count(),
            save_cache_in_background=True,  # as the bot does
        )
        start = time.perf_counter()
        assert service.load().ok
        first_load_s = time.perf_counter() - start

        async def main() -> list[float]:
            store = FeedStore(work / "db.sqlite3")
            site = FeedSite()
            times = []
            async with serve(site):
                feed = store.add(f"{site.base}/rss.xml", "?", interval_minutes=5)
                poller = FeedPoller(store, service, FetchPolicy(allow_private=True))
                await poller.poll(feed)  # the first (empty) poll: later items are news
                for t in range(trials):
                    story = Story(
                        f"s{t}",
                        f"Kermadec-{t} lance un navire",
                        [line.format(n=t) for line in NEW_ARTICLE],
                        published=dt.datetime.now(dt.UTC),
                        guid=f"s{t}",
                    )
                    site.publish(story)
                    # Feeds publish minutes apart: the previous item's index cache is written by
                    # then (it is written in the background, after the new index serves).
                    await asyncio.to_thread(service.wait_for_cache)
                    start = time.perf_counter()
                    report = await poller.poll(store.get(feed.id))
                    question = f"Combien d'ouvriers ont travaillé sur la coque à Kermadec-{t} ?"
                    answer = service.engine.answer(question)
                    times.append(time.perf_counter() - start)
                    assert report.added and answer.answered, (report, answer)
            store.close()
            return times

        times = asyncio.run(main())
        p50, p95 = percentiles(times)
        return {
            "part": "e2e",
            "sentences": service.engine.index.size,
            "first_load_s": round(first_load_s, 1),
            "poll_until_answered_p50_s": round(p50, 3),
            "poll_until_answered_p95_s": round(p95, 3),
        }
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _serve_304(port_out, ready) -> None:
    """A feed site in its own process: every feed answers 304 to a conditional request."""
    from aiohttp import web

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{name}.xml", feed)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        for host in range(2, HOSTS + 1):  # more loopback addresses, as more sites
            await web.TCPSite(runner, f"127.0.0.{host}", port).start()
        port_out.value = port
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


@contextlib.contextmanager
def _polling(feeds: int) -> Iterator[tuple[FeedStore, FeedPoller]]:
    """`feeds` feeds answering 304 from a site in another process, and a poller for them; all
    stopped and deleted when the block ends."""
    from bot.articles import FetchPolicy
    from bot.feeds import FeedPoller
    from bot.service import QAService
    from bot.storage import FeedStore

    port, ready = multiprocessing.Value("i", 0), multiprocessing.Event()
    server = multiprocessing.Process(target=_serve_304, args=(port, ready), daemon=True)
    server.start()
    ready.wait(10)
    work = Path(tempfile.mkdtemp(prefix="depeche-poll-"))
    (work / "corpus").mkdir()
    (work / "corpus" / "a.md").write_text("---\ntitle: A\nsource: S\n---\n\nUne phrase.\n", encoding="utf-8")
    service = QAService(work / "corpus")
    service.load()
    store = FeedStore(work / "db.sqlite3")
    # Feeds of many sites (127.0.0.x): the poller asks each site one request at a time.
    for i in range(feeds):
        store.add(f"http://127.0.0.{1 + i % HOSTS}:{port.value}/f{i}.xml", f"F{i}", interval_minutes=5)
    policy = FetchPolicy(allow_private=True, timeout_seconds=30)
    try:
        yield store, FeedPoller(store, service, policy, rng=random.Random(1))
    finally:
        server.kill()
        store.close()
        shutil.rmtree(work, ignore_errors=True)


def part_lag(feeds: int) -> dict:
    async def main(store: FeedStore, poller: FeedPoller) -> dict:
        await poller.poll_due()  # first polls: the validators are stored
        for feed in store.all():
            store.poll_now(feed.id)
        loop = asyncio.get_running_loop()
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = loop.time()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = loop.time()
                gaps.append(now - last - 0.01)
                last = now

        task = asyncio.create_task(ticker())
        start = time.perf_counter()
        reports = await poller.poll_due()
        seconds = time.perf_counter() - start
        done.set()
        await task
        return {
            "part": "lag",
            "feeds": len(reports),
            "not_modified": sum(r.not_modified for r in reports),
            "errors": sum(bool(r.error) for r in reports),
            "poll_all_s": round(seconds, 2),
            "max_loop_lag_ms": round(max(gaps) * 1000, 1),
            "p99_loop_lag_ms": round(sorted(gaps)[int(0.99 * (len(gaps) - 1))] * 1000, 1),
        }

    with _polling(feeds) as (store, poller):
        return asyncio.run(main(store, poller))


def part_memory(feeds: int, cycles: int) -> dict:
    async def main(store: FeedStore, poller: FeedPoller) -> dict:
        marks = {}
        for cycle in range(1, cycles + 1):
            for feed in store.all():
                store.poll_now(feed.id)
            await poller.poll_due()
            if cycle in (10, 100, cycles):
                marks[cycle] = rss_mb()
        return {
            "part": "memory",
            "feeds": feeds,
            "cycles": cycles,
            "rss_mb_after_10_100_last": [round(marks[c], 1) for c in sorted(marks)],
            "growth_100_to_last_mb": round(marks[cycles] - marks[100], 1),
        }

    with _polling(feeds) as (store, poller):
        return asyncio.run(main(store, poller))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=1_000_000)
    parser.add_argument("--e2e-sentences", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--parts", nargs="+", default=["update", "e2e", "lag", "memory"])
    parser.add_argument("--keep", type=Path, help="e2e: keep the corpus and its cache here, to reuse")
    parser.add_argument("--into-folder", action="store_true", help="update: write the index into folders")
    args = parser.parse_args()
    for part in args.parts:
        if part == "update":
            result = part_update(args.sentences, args.trials, args.into_folder)
        elif part == "e2e":
            result = part_e2e(args.e2e_sentences, args.trials, args.keep)
        elif part == "lag":
            result = part_lag(500)
        else:
            result = part_memory(50, 1000)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
