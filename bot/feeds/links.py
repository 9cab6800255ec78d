"""An item's link as the article's address: the page's own canonical link when it gives one,
tracking parameters and fragments removed."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Parameters that say where a click came from, not what the page is.
_TRACKING = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|_hsenc|_hsmi"
    r"|mkt_tok|xtor|at_\w+|ncid|ocid|cmpid|sr_share|share|smid|ref_src|ref)$",
    re.IGNORECASE,
)
_CANONICAL = re.compile(rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical[\"']?[^>]*>", re.IGNORECASE)
_HREF = re.compile(rb"""\bhref\s*=\s*["']([^"']{1,2000})["']""", re.IGNORECASE)


def clean_link(url: str) -> str:
    """`url` without tracking parameters and fragment (the other parameters kept in order)."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


def canonical_link(html: bytes, page_url: str) -> str | None:
    """The page's `<link rel="canonical">`, absolute, when it is an http(s) link on any site."""
    tag = _CANONICAL.search(html[:500_000])
    href = _HREF.search(tag.group(0)) if tag else None
    if href is None:
        return None
    link = urljoin(page_url, href.group(1).decode("utf-8", "replace").strip())
    return link if urlsplit(link).scheme in ("http", "https") and urlsplit(link).hostname else None
