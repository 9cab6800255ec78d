"""Article drafts from what admins give on Discord: a link or an attachment."""

from __future__ import annotations

import asyncio

import discord

from bot.articles import (
    ArticleDraft,
    ArticleError,
    FetchPolicy,
    draft_from_html,
    draft_from_upload,
    fetch_page,
)


async def from_url(url: str, policy: FetchPolicy) -> ArticleDraft:
    """Download a page within the policy and extract its article (extraction off the event loop)."""
    page = await fetch_page(url, policy)
    if page.content_type == "text/plain":
        raise ArticleError("the link is a plain-text file, not a news page; upload it as a file instead")
    return await asyncio.to_thread(draft_from_html, page.text(), page.final_url)


async def from_attachment(attachment: discord.Attachment, max_bytes: int) -> ArticleDraft:
    """Read an uploaded `.md`, `.txt` or `.html` file (size-capped) and turn it into a draft."""
    if attachment.size > max_bytes:
        raise ArticleError(f"the file is too large ({attachment.size:,} bytes; limit {max_bytes:,})")
    if not attachment.filename.lower().endswith((".md", ".txt", ".html", ".htm")):
        raise ArticleError("unsupported file type: upload a .md, .txt or .html file")
    raw = await attachment.read()
    return await asyncio.to_thread(draft_from_upload, attachment.filename, raw)
