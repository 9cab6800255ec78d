"""Download a news page safely: http(s) only, public addresses only, few redirects, size and time caps.

The address check happens twice: in the connector's resolver (a name whose answers include a
private address is refused as a whole), and on the socket itself, just before it connects, so
the address checked is the address connected to whatever path led there: a resolved name (no
DNS-rebinding window), an IP literal aiohttp does not resolve, or a host that yarl normalises
(IDNA/UTS-46 maps fullwidth digits and ideographic dots to ASCII: "１２７。０。０。１" is
127.0.0.1). Every redirect hop goes through the same checks.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email.utils
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

ALLOWED_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
USER_AGENT = "DepecheBot/0.1 (+news questions bot)"


class FetchError(Exception):
    """A page that will not be fetched or used; the message is safe to show an admin."""


class HttpStatusError(FetchError):
    """The site answered with an error status; `retry_after` is its Retry-After in seconds."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"the site answered HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch."""

    max_bytes: int = 3 * 1024 * 1024
    timeout_seconds: float = 10.0
    max_redirects: int = 3
    allow_private: bool = False


@dataclass(frozen=True)
class FetchedPage:
    """A downloaded page."""

    url: str
    final_url: str
    content_type: str
    charset: str | None
    body: bytes
    # For a conditional request next time (feeds): the validators the site sent.
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # 304: the caller's copy is current, `body` is empty

    def text(self) -> str:
        """The body as text, never failing: the charset of the HTTP header, else of the page's
        own `<meta>`, else UTF-8 when the bytes are UTF-8, else Windows-1252 (what browsers
        assume for a Western page that declares nothing). An unknown charset is skipped."""
        for declared in (self.charset, _meta_charset(self.body)):
            codec = _text_codec(declared)
            if codec is not None:
                return self.body.decode(codec, errors="replace")
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            return self.body.decode("cp1252", errors="replace")


# `<meta charset="...">` or `<meta http-equiv="Content-Type" content="text/html; charset=...">`,
# looked for where browsers look: the first 1,024 bytes.
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE
)


def _meta_charset(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:1024])
    return found.group(1).decode("ascii") if found else None


def _text_codec(name: str | None) -> str | None:
    """`name` if Python knows it as a text encoding (not "foobar", not "rot13"), else None."""
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


# Ranges `is_global` lets through but that reach (or embed) addresses that are not public.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(net)
    for net in (
        "192.0.0.0/24",  # IETF protocol assignments
        "fec0::/10",  # deprecated site-local
        "::/96",  # deprecated IPv4-compatible (::a.b.c.d)
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo client, NAT64), if any."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """True for globally routable addresses (not private, loopback, link-local, reserved…), and
    for IPv6 ones only when the IPv4 address they embed is public too."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip in net for net in _NOT_PUBLIC if net.version == ip.version):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
        if ip.ipv4_mapped:
            ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class _RefusedAddress(OSError):
    """Raised instead of connecting a socket to a non-public address."""


def _guarded_socket(addr_info: tuple) -> socket.socket:
    """aiohttp's socket factory: refuse to open a socket towards a non-public address."""
    family, kind, proto, _, address = addr_info
    if not is_public_address(str(address[0])):
        raise _RefusedAddress(f"{address[0]} is a private or local address; fetching it is not allowed")
    return socket.socket(family=family, type=kind, proto=proto)


class _GuardedResolver(AbstractResolver):
    """Resolves names, then refuses any non-public address unless the policy allows it."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for result in results:
                if not is_public_address(result["host"]):
                    raise FetchError(f"{host} is a private or local address; fetching it is not allowed")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _literal_address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool = False) -> str:
    """Validate a link's form (and a literal IP's reach); return it stripped, or raise `FetchError`."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError("only http:// and https:// links can be added")
    if not parts.hostname:
        raise FetchError("the link has no host name")
    if parts.username or parts.password:
        raise FetchError("links with a user name or password are not accepted")
    try:  # the host as aiohttp will read it (yarl applies IDNA/UTS-46 mapping)
        host = yarl.URL(url).host or ""
    except (ValueError, UnicodeError) as exc:
        raise FetchError("the link's host name is not valid") from exc
    literal = _literal_address(host)
    # Refused early for a clear message; the socket factory checks again what is connected to.
    if literal and not allow_private and not is_public_address(literal):
        raise FetchError(f"{literal} is a private or local address; fetching it is not allowed")
    return url


async def fetch_page(
    url: str,
    policy: FetchPolicy | None = None,
    *,
    accept: tuple[str, ...] = ALLOWED_TYPES,
    what: str = "a web page",
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchedPage:
    """Download `url` within the policy's limits; raise `FetchError` saying why not.

    `accept` lists the content types taken (others are refused as not being `what`). With
    `etag` / `last_modified` (the validators of an earlier copy) the request is conditional, and
    a 304 answer is returned as `not_modified`."""
    policy = policy or FetchPolicy()
    current = check_url(url, allow_private=policy.allow_private)
    timeout = aiohttp.ClientTimeout(total=policy.timeout_seconds, sock_connect=policy.timeout_seconds)
    connector = aiohttp.TCPConnector(
        resolver=_GuardedResolver(policy.allow_private),
        use_dns_cache=False,
        socket_factory=None if policy.allow_private else _guarded_socket,
    )
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join(accept) + ", */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector, headers=headers) as session:
            for _ in range(policy.max_redirects + 1):
                async with session.get(current, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location")
                        if not location:
                            raise FetchError("the site answered with a redirect to nowhere")
                        current = check_url(urljoin(current, location), allow_private=policy.allow_private)
                        continue
                    if response.status == 304 and (etag or last_modified):
                        return FetchedPage(
                            url, current, "", None, b"", etag, last_modified, not_modified=True
                        )
                    if response.status != 200:
                        raise HttpStatusError(
                            response.status, retry_after_seconds(response.headers.get("Retry-After"))
                        )
                    content_type = response.content_type or ""
                    if content_type not in accept:
                        raise FetchError(f"the link is not {what} ({content_type or 'unknown type'})")
                    declared = response.content_length
                    if declared is not None and declared > policy.max_bytes:
                        raise FetchError(
                            f"the page is too large ({declared:,} bytes; limit {policy.max_bytes:,})"
                        )
                    body = bytearray()
                    async for chunk in response.content.iter_chunked(65536):
                        body.extend(chunk)
                        if len(body) > policy.max_bytes:
                            raise FetchError(f"the page is too large (over {policy.max_bytes:,} bytes)")
                    return FetchedPage(
                        url,
                        current,
                        content_type,
                        response.charset,
                        bytes(body),
                        response.headers.get("ETag"),
                        response.headers.get("Last-Modified"),
                    )
            raise FetchError(f"too many redirects (more than {policy.max_redirects})")
    except FetchError:
        raise
    except TimeoutError as exc:
        raise FetchError(f"the site did not answer within {policy.timeout_seconds:g} s") from exc
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.__cause__, FetchError):
            raise exc.__cause__ from None
        if isinstance(exc.os_error, _RefusedAddress):
            raise FetchError(str(exc.os_error)) from None
        raise FetchError("could not connect to the site") from exc
    except (aiohttp.ClientError, ValueError) as exc:
        raise FetchError(f"the download failed ({type(exc).__name__})") from exc
