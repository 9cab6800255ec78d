"""The link guard: what `fetch_page` refuses to connect to, however the address is written."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.articles import fetch
from bot.articles.fetch import FetchError, FetchPolicy, fetch_page, is_public_address


@contextlib.asynccontextmanager
async def counting_site(host: str, redirect_to: str | None = None) -> AsyncIterator[tuple[int, list[str]]]:
    """A loopback site that records every request; with `redirect_to`, it redirects there
    (the raw Location header, as a hostile site would write it)."""
    hits: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        hits.append(request.path)
        if redirect_to is not None:
            return web.Response(status=302, headers={"Location": redirect_to.format(port=port)})
        return web.Response(text="<title>Internal</title><p>secret</p>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield port, hits
    finally:
        await runner.cleanup()


# Hosts that yarl (and so aiohttp) normalise to 127.0.0.1, while urllib reads them as names.
UNICODE_LOOPBACK = ["１２７.０.０.１", "127。0。0。1", "①②⑦.0.0.1", "１２７.0.0.1"]


@pytest.mark.parametrize("host", UNICODE_LOOPBACK)
async def test_a_loopback_address_written_with_unicode_digits_or_dots_is_refused(host):
    async with counting_site("127.0.0.1") as (port, hits):
        with pytest.raises(FetchError, match="private or local"):
            await fetch_page(f"http://{host}:{port}/secret", FetchPolicy())
    assert hits == []


async def test_a_redirect_to_a_unicode_written_internal_address_is_refused(monkeypatch):
    # 127.0.0.1 plays a public news site here; 127.0.0.2 the internal service behind it.
    monkeypatch.setattr(fetch, "is_public_address", lambda address: address.split("%")[0] == "127.0.0.1")
    async with counting_site("127.0.0.2") as (internal_port, internal_hits):
        target = f"http://１２７.０.０.２:{internal_port}/secret"
        async with counting_site("127.0.0.1", redirect_to=target) as (port, hits):
            with pytest.raises(FetchError, match="private or local"):
                await fetch_page(f"http://127.0.0.1:{port}/news", FetchPolicy())
    assert hits == ["/news"] and internal_hits == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "192.0.0.8",  # IETF protocol assignments
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "fec0::1",  # site-local (deprecated)
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo of 127.0.0.1
    ],
)
def test_addresses_that_are_or_embed_a_private_one_are_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808", "2002:808:808::"])
def test_public_addresses_stay_public(address):
    assert is_public_address(address)


def page(body: bytes, charset: str | None = None) -> fetch.FetchedPage:
    return fetch.FetchedPage("http://x.test/", "http://x.test/", "text/html", charset, body)


def test_a_charset_declared_only_in_the_page_is_honoured():
    html = "<html><head><meta charset='iso-8859-1'><title>Été à Mossoul</title></head></html>"
    assert "Été à Mossoul" in page(html.encode("latin-1")).text()
    http_equiv = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>Noël</p>'
    assert "Noël" in page(http_equiv.encode("cp1252")).text()


def test_an_undeclared_non_utf8_page_is_read_as_windows_1252():
    assert page("<p>Légère hausse</p>".encode("cp1252")).text() == "<p>Légère hausse</p>"


@pytest.mark.parametrize("charset", ["foobar", "rot13", "x-unknown"])
def test_an_unknown_or_non_text_charset_does_not_escape_as_an_error(charset):
    assert page("<p>Déjà</p>".encode(), charset).text() == "<p>Déjà</p>"


async def test_a_public_address_is_fetched_through_the_guarded_socket(monkeypatch):
    # 127.0.0.1 plays a public site: the default policy's resolver and socket factory both run.
    monkeypatch.setattr(fetch, "is_public_address", lambda address: True)
    async with counting_site("127.0.0.1") as (port, hits):
        page = await fetch_page(f"http://127.0.0.1:{port}/news", FetchPolicy())
    assert hits == ["/news"] and b"Internal" in page.body
