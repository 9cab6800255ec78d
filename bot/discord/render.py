"""Answer -> Discord embed or plain text, escaped and within every platform limit.

Every text that comes from users or articles goes through `escape`: markdown characters are
backslash-escaped and mentions are broken with a zero-width space, so nothing pings or
reformats; the only markup in a reply is our own, and it is balanced. Texts are cut at word
boundaries *before* escaping and emphasis, so a cut never splits an escape or a `**` pair.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord

from bot import messages
from bot.articles import ArticleMeta
from bot.search import Answer, Excerpt

MESSAGE_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EXCERPT_LIMIT = 700

COLOUR_FOUND = discord.Colour(0x2B6CB0)
COLOUR_NOT_FOUND = discord.Colour(0x718096)
COLOUR_UNSURE = discord.Colour(0xB7791F)  # answered, with a caveat
NO_MENTIONS = discord.AllowedMentions.none()

_MARKDOWN = re.compile(r"([\\*_~|`<>\[\]])")
_LINE_START = re.compile(r"(?m)^(\s*)([#>\-+]|\d+\.)")
_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)


def escape(text: str) -> str:
    """Text shown literally: no markdown, no masked links, no mentions."""
    text = _MARKDOWN.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)
    return _MENTION.sub("@\u200b\\1", text)


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` characters at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ellipsis), 0)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + ellipsis


def emphasise(text: str, words: Sequence[str]) -> str:
    """Escaped `text` with the matched `words` in bold."""
    if not words:
        return escape(text)
    pattern = re.compile(
        r"(?<![\w-])("
        + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
        + r")(?![\w-])"
    )
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f"**{escape(match.group())}**")
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def italic(text: str, limit: int) -> str:
    """`*text*`, escaped and shortened; never an empty `**` pair (which would open bold)."""
    inner = escape(shorten(text, limit)).strip()
    return f"*{inner}*" if inner else "*untitled*"


def _safe_url(url: str | None) -> str | None:
    if not url or not re.match(r"^https?://", url):
        return None
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def citation(excerpt: Excerpt, language: str = "en") -> str:
    """`— *Title*, § 3 · 2024-03-12 · [Source](url)` with every part escaped."""
    where = messages.text("summary", language) if excerpt.paragraph == 0 else f"§ {excerpt.paragraph}"
    parts = [f"— {italic(excerpt.article, 150)}, {where}"]
    if excerpt.published:
        parts.append(escape(excerpt.published[:10]))
    url = _safe_url(excerpt.url)
    source = escape(shorten(excerpt.source or "", 80))
    if url:
        parts.append(f"[{source or 'link'}]({url})")
    elif source:
        parts.append(source)
    return " · ".join(parts)


def excerpt_block(n: int, excerpt: Excerpt, limit: int = EXCERPT_LIMIT, language: str = "en") -> str:
    """One numbered, quoted, cited excerpt."""
    text = emphasise(shorten(excerpt.text, limit), excerpt.matched)
    return f"**[{n}]** « {text} »\n{citation(excerpt, language)}"


def footer_text(answer: Answer, answer_id: str | None = None) -> str:
    """Footer: the corpus version (and the answer id that votes refer to)."""
    text = f"Dépêche · corpus {answer.corpus_version}"
    if not answer_id:
        return text
    return f"{text} · {messages.text('answer', messages.of_question(answer.question))} {answer_id}"


def not_found_text(answer: Answer) -> str:
    """A friendly not-found message in the question's language, with the closest articles."""
    language = messages.of_question(answer.question)
    intro = messages.text("not_found", language)
    reason = messages.not_found_reason(answer.reason, language)
    lines = [f"{intro} {reason}".strip()]
    if answer.suggestions:
        titles = ", ".join(italic(t, 120) for t in answer.suggestions)
        lines.append(messages.text("closest", language, titles=titles))
    lines.append(messages.text("try_other", language))
    return "\n".join(lines)


def answer_embed(answer: Answer, answer_id: str | None = None) -> discord.Embed:
    """The reply embed: numbered excerpts with citations, or a not-found note."""
    title = escape(shorten(answer.question or "Question", TITLE_LIMIT - 30))
    language = messages.of_question(answer.question)
    if not answer.answered:
        embed = discord.Embed(title=title, description=not_found_text(answer), colour=COLOUR_NOT_FOUND)
    else:
        blocks = [f"*{messages.text('unsure', language)}*"] if answer.unsure else []
        budget = DESCRIPTION_LIMIT - sum(len(b) + 2 for b in blocks)
        for n, excerpt in enumerate(answer.results, start=1):
            block = excerpt_block(n, excerpt, language=language)
            if len(block) + 2 > budget:
                block = excerpt_block(n, excerpt, limit=max(budget - 400, 60), language=language)
                if len(block) + 2 > budget:
                    break
            blocks.append(block)
            budget -= len(block) + 2
        colour = COLOUR_UNSURE if answer.unsure else COLOUR_FOUND
        embed = discord.Embed(title=title, description="\n\n".join(blocks), colour=colour)
    embed.set_footer(text=footer_text(answer, answer_id))
    return embed


def answer_text(answer: Answer, answer_id: str | None = None) -> str:
    """Plain-text fallback of `answer_embed` for channels where embeds are not allowed."""
    head = f"> {escape(shorten(answer.question, 200))}\n"
    foot = f"\n-# {footer_text(answer, answer_id)}"
    budget = MESSAGE_LIMIT - len(head) - len(foot)
    if not answer.answered:
        body = shorten(not_found_text(answer), budget)
        return head + body + foot
    language = messages.of_question(answer.question)
    blocks = [f"*{messages.text('unsure', language)}*"] if answer.unsure else []
    budget -= sum(len(b) + 2 for b in blocks)
    for n, excerpt in enumerate(answer.results, start=1):
        block = excerpt_block(n, excerpt, limit=min(EXCERPT_LIMIT, max(budget - 350, 60)), language=language)
        if len(block) + 2 > budget:
            break
        blocks.append(block)
        budget -= len(block) + 2
    return head + "\n\n".join(blocks) + foot


def search_embed(
    query: str, excerpts: Sequence[Excerpt], version: str, language: str = "en"
) -> discord.Embed:
    """Compact ranked matches with their scores."""
    lines = []
    for excerpt in excerpts:
        where = messages.text("summary", language) if excerpt.paragraph == 0 else f"§{excerpt.paragraph}"
        line = (
            f"`{excerpt.score:6.2f}` {emphasise(shorten(excerpt.text, 160), excerpt.matched)} "
            f"— {italic(excerpt.article, 60)} {where}"
        )
        lines.append(line)
    description = "\n".join(lines) if lines else messages.text("no_sentence", language)
    embed = discord.Embed(
        title=escape(shorten(messages.text("search_title", language, query=query), TITLE_LIMIT - 10)),
        description=shorten_lines(description, DESCRIPTION_LIMIT),
        colour=COLOUR_FOUND if lines else COLOUR_NOT_FOUND,
    )
    embed.set_footer(text=f"Dépêche · corpus {version}")
    return embed


def shorten_lines(text: str, limit: int) -> str:
    """Keep whole lines of `text` within `limit` characters."""
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    for line in text.split("\n"):
        if size + len(line) + 1 > limit - 2:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept) + "\n…"


def article_embed(meta: ArticleMeta, version: str, language: str = "en") -> discord.Embed:
    """An article's card: title, source, date, summary, link, size."""
    embed = discord.Embed(
        title=escape(shorten(meta.title, TITLE_LIMIT - 10)),
        url=_safe_url(meta.url),
        description=escape(shorten(meta.summary or messages.text("no_summary", language), 1500)),
        colour=COLOUR_FOUND,
    )
    source = escape(shorten(meta.source, 200)) or "—"
    published = meta.published or messages.text("not_stated", language)
    embed.add_field(name=messages.text("source", language), value=source, inline=True)
    embed.add_field(name=messages.text("published", language), value=published, inline=True)
    embed.add_field(name=messages.text("sentences", language), value=str(meta.sentence_count), inline=True)
    embed.add_field(name="Id", value=f"`{meta.id}`", inline=True)
    embed.set_footer(text=f"Dépêche · corpus {version}")
    return embed
