"""A news site with feeds on 127.0.0.1: RSS 2.0, Atom and RDF documents built from the items a
test publishes, article pages for them, robots.txt, and planned failures."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import hashlib
import html
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Story:
    """A published item and the page it links to."""

    slug: str
    title: str
    paragraphs: list[str]
    published: dt.datetime | None = None
    summary: str | None = None
    guid: str | None = None
    link_query: str = ""  # e.g. "?utm_source=rss" (tracking the article should drop)
    page: bool = True  # False: the link answers 404


@dataclass
class FeedSite:
    """What the site serves; tests change it between polls."""

    stories: list[Story] = field(default_factory=list)
    title: str = "Le Courrier du Port"
    robots: str | None = "User-agent: *\nAllow: /\n"
    # path -> (status, headers, times left); a planned failure of the next requests to a path
    failures: dict[str, list] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (method, path, headers)
    base: str = ""
    raw: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (body, content type)

    def publish(self, story: Story) -> None:
        """Add an item at the top of the feeds."""
        self.stories.insert(0, story)

    def count(self, path: str) -> int:
        """How many requests reached `path`."""
        return sum(1 for _, p, _ in self.requests if p == path)

    def link(self, story: Story) -> str:
        return f"{self.base}/news/{story.slug}{story.link_query}"

    # -- documents -------------------------------------------------------------------------

    def rss(self) -> bytes:
        items = []
        for s in self.stories:
            parts = [f"<title>{html.escape(s.title)}</title>", f"<link>{html.escape(self.link(s))}</link>"]
            if s.guid is not None:
                parts.append(f'<guid isPermaLink="false">{html.escape(s.guid)}</guid>')
            if s.published is not None:
                parts.append(f"<pubDate>{email.utils.format_datetime(s.published)}</pubDate>")
            if s.summary is not None:
                parts.append(f"<description>{html.escape(s.summary)}</description>")
            items.append("<item>" + "".join(parts) + "</item>")
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{html.escape(self.title)}</title><link>{self.base}/</link>"
            f"<description>Nouvelles</description>{''.join(items)}</channel></rss>"
        ).encode()

    def atom(self) -> bytes:
        entries = []
        for s in self.stories:
            when = (s.published or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).isoformat()
            body = "".join(f"<p>{html.escape(p)}</p>" for p in s.paragraphs)
            entries.append(
                f"<entry><id>urn:story:{s.slug}</id><title>{html.escape(s.title)}</title>"
                f'<link href="{html.escape(self.link(s))}"/><updated>{when}</updated>'
                f'<content type="html">{html.escape(body)}</content></entry>'
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{html.escape(self.title)}</title><id>urn:site</id>"
            f"<updated>2026-01-01T00:00:00Z</updated>{''.join(entries)}</feed>"
        ).encode()

    def rdf(self) -> bytes:
        items = "".join(
            f'<item rdf:about="{html.escape(self.link(s))}"><title>{html.escape(s.title)}</title>'
            f"<link>{html.escape(self.link(s))}</link>"
            f"<description>{html.escape(s.summary or '')}</description></item>"
            for s in self.stories
        )
        return (
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/">'
            f'<channel rdf:about="{self.base}/"><title>{html.escape(self.title)}</title>'
            f"<link>{self.base}/</link><description>x</description></channel>{items}</rdf:RDF>"
        ).encode()

    def page(self, story: Story) -> bytes:
        body = "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
        return (
            f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(story.title)}'
            f'</title><link rel="canonical" href="{self.base}/news/{story.slug}">'
            f'<meta property="og:site_name" content="{html.escape(self.title)}"></head><body>'
            f"<nav>Accueil Politique Sport</nav><article><h1>{html.escape(story.title)}</h1>{body}</article>"
            "<footer>Mentions légales</footer></body></html>"
        ).encode()

    # -- server ----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests.append((request.method, path, dict(request.headers)))
        planned = self.failures.get(path)
        if planned and planned[2] > 0:
            planned[2] -= 1
            return web.Response(status=planned[0], headers=planned[1], text="planned failure")
        if path in self.raw:
            body, kind = self.raw[path]
            return web.Response(body=body, content_type=kind)
        if path == "/robots.txt":
            if self.robots is None:
                return web.Response(status=404)
            return web.Response(text=self.robots, content_type="text/plain")
        documents = {"/rss.xml": self.rss, "/atom.xml": self.atom, "/rdf.xml": self.rdf}
        if path in documents:
            body = documents[path]()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})
        if path.startswith("/news/"):
            story = next((s for s in self.stories if s.slug == path.removeprefix("/news/")), None)
            if story is None or not story.page:
                return web.Response(status=404)
            return web.Response(body=self.page(story), content_type="text/html", charset="utf-8")
        return web.Response(status=404)


@contextlib.asynccontextmanager
async def serve(site: FeedSite) -> AsyncIterator[FeedSite]:
    """Serve `site` on a free loopback port (its `base` set) until the block ends."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", site.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    site.base = f"http://127.0.0.1:{port}"
    try:
        yield site
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def serve_in_thread(site: FeedSite) -> Iterator[FeedSite]:
    """`serve`, on its own event loop in a thread: for code that runs `asyncio.run` itself."""
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    loop = asyncio.new_event_loop()

    async def main() -> None:
        stop.append(asyncio.Event())
        async with serve(site):
            ready.set()
            await stop[0].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield site
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)
        loop.close()
