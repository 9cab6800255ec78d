"""A small news site on 127.0.0.1 for the add-by-link tests: real pages, and hostile ones."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

PAGES = Path(__file__).resolve().parent.parent / "pages"


def build_app() -> web.Application:
    """Routes: an article, a 20 MB page, a PDF, a redirect loop, a server that never answers."""
    app = web.Application()

    async def article(request: web.Request) -> web.Response:
        html = (PAGES / f"{request.match_info['name']}.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        await response.prepare(request)
        chunk = b"<p>" + b"bla " * 16_000 + b"</p>\n"
        with contextlib.suppress(ConnectionError):
            for _ in range(20 * 1024 * 1024 // len(chunk) + 1):  # ~20 MB, no Content-Length
                await response.write(chunk)
        return response

    async def pdf(request: web.Request) -> web.Response:
        return web.Response(
            body=b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n", content_type="application/pdf"
        )

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response(text="too late")

    app.router.add_get("/article/{name}", article)
    app.router.add_get("/huge", huge)
    app.router.add_get("/report.pdf", pdf)
    app.router.add_get("/loop", loop)
    app.router.add_get("/hang", hang)
    return app


@contextlib.asynccontextmanager
async def news_site() -> AsyncIterator[str]:
    """Serve the site on a free loopback port; yield its base URL."""
    runner = web.AppRunner(build_app(), shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
