"""robots.txt for the article pages feeds link to (RFC 9309), read once an hour per site."""

from __future__ import annotations

import time
import urllib.robotparser
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

from bot.articles import FetchedPage, FetchError, HttpStatusError

AGENT = "DepecheBot"
TTL_SECONDS = 3600.0
ROBOTS_TYPES = ("text/plain", "text/html", "application/octet-stream")

Fetch = Callable[[str], Awaitable[FetchedPage]]


class RobotsRules:
    """Whether a page may be fetched, by its site's robots.txt.

    As RFC 9309 says: a robots.txt that is missing (4xx) allows everything; one that cannot be
    read (5xx, no answer) disallows everything until it can."""

    def __init__(self, fetch: Fetch, ttl_seconds: float = TTL_SECONDS) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._rules: dict[str, tuple[float, urllib.robotparser.RobotFileParser | bool]] = {}

    async def allowed(self, url: str) -> bool:
        """True when `url` may be fetched by this bot."""
        parts = urlsplit(url)
        site = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        cached = self._rules.get(site)
        if cached is None or time.monotonic() - cached[0] > self._ttl:
            cached = (time.monotonic(), await self._read(site))
            self._rules[site] = cached
            if len(self._rules) > 10_000:  # many sites over a long run: start again
                self._rules = {site: cached}
        rules = cached[1]
        return rules if isinstance(rules, bool) else rules.can_fetch(AGENT, url)

    async def _read(self, site: str) -> urllib.robotparser.RobotFileParser | bool:
        try:
            page = await self._fetch(site + "/robots.txt")
        except HttpStatusError as exc:
            return 400 <= exc.status < 500
        except FetchError:
            return False
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(page.text().splitlines())
        return parser
