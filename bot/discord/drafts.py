"""Article drafts from what admins give on Discord: a link or an attachment.

Pages and uploads are untrusted input: they are parsed in one thread of their own, never in the
thread pool that answers members' questions, so however long a hostile page takes to parse,
questions keep being answered (red-team A16: six slow uploads stalled every answer).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import discord

from bot.articles import (
    ArticleDraft,
    ArticleError,
    FetchPolicy,
    PreparedArticle,
    draft_from_html,
    draft_from_upload,
    fetch_page,
    library,
)

_PARSING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="depeche-drafts")
P = ParamSpec("P")
R = TypeVar("R")


async def parsed(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a parse of untrusted input in the drafts' own thread (one at a time)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PARSING, functools.partial(function, *args, **kwargs))


async def prepare(draft: ArticleDraft, *, added_by: str) -> PreparedArticle:
    """Render and validate a draft as the loader will read it (in the drafts' thread)."""
    return await parsed(library.prepare, draft, added_by=added_by)


async def from_url(url: str, policy: FetchPolicy) -> ArticleDraft:
    """Download a page within the policy and extract its article (extraction off the event loop)."""
    page = await fetch_page(url, policy)
    if page.content_type == "text/plain":
        raise ArticleError("the link is a plain-text file, not a news page; upload it as a file instead")
    return await parsed(lambda: draft_from_html(page.text(), page.final_url))


async def from_attachment(attachment: discord.Attachment, max_bytes: int) -> ArticleDraft:
    """Read an uploaded `.md`, `.txt` or `.html` file (size-capped) and turn it into a draft."""
    if attachment.size > max_bytes:
        raise ArticleError(f"the file is too large ({attachment.size:,} bytes; limit {max_bytes:,})")
    if not attachment.filename.lower().endswith((".md", ".txt", ".html", ".htm")):
        raise ArticleError("unsupported file type: upload a .md, .txt or .html file")
    raw = await attachment.read()
    return await parsed(draft_from_upload, attachment.filename, raw)
