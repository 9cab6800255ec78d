"""`run_bot.py add`, `remove` and `feedback`: the shell twins of the admins' `/corpus add`,
`/corpus remove` and `/feedback` (the operator's view: every server and direct message)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import json
import sys
from pathlib import Path

from bot.articles import (
    ArticleDraft,
    ArticleError,
    FetchError,
    draft_from_html,
    draft_from_upload,
    fetch_page,
    library,
    load_corpus,
)
from bot.config import Settings
from bot.search import find_duplicate
from bot.service import build_engine
from bot.storage import ArticleStore, FeedbackStore, StorageError, copy_database, open_database


def confirm(prompt: str, assume_yes: bool) -> bool:
    """Whether to go on: `--yes`, or the operator's answer (refused when no one can answer)."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print("Not confirmed: pass --yes to run without a prompt.", file=sys.stderr)
        return False
    return input(f"{prompt} [y/N] ").strip().lower() in ("y", "yes", "o", "oui")


async def _draft(source: str, settings: Settings) -> ArticleDraft:
    if source.lower().startswith(("http://", "https://")) or "://" in source:
        page = await fetch_page(source, settings.fetch_policy())
        return draft_from_html(page.text(), page.final_url)
    path = Path(source)
    if not path.is_file():
        raise ArticleError(f"no such file: {source}")
    if path.stat().st_size > settings.max_article_bytes:
        raise ArticleError(f"the file is too large (limit {settings.max_article_bytes:,} bytes)")
    return draft_from_upload(path.name, path.read_bytes())


def _user() -> str:
    try:
        return f"shell:{getpass.getuser()}"
    except OSError:
        return "shell"


def run_add(source: str, corpus_dir: Path, settings: Settings, *, assume_yes: bool) -> int:
    """Fetch or read an article, print its preview, and add it once confirmed."""
    try:
        draft = asyncio.run(_draft(source, settings))
        prepared = library.prepare(draft, added_by=_user())
    except (FetchError, ArticleError) as exc:
        print(f"error: cannot add this article: {exc}", file=sys.stderr)
        return 1
    index = build_engine(load_corpus(corpus_dir)).index
    duplicate = find_duplicate(index, prepared)
    if duplicate is not None:
        print(f"error: already in the corpus as “{duplicate.title}” ({duplicate.path})", file=sys.stderr)
        return 1
    article = prepared.article
    print(f"Title:      {article.title}")
    print(f"Published:  {draft.published or 'not stated'}")
    print(f"Source:     {draft.source}" + (f" — {draft.url}" if draft.url else ""))
    print(f"Language:   {draft.language}")
    print(f"Sentences:  {article.sentence_count}")
    print(f"First §:    {prepared.first_paragraph[:400]}")
    if not confirm("Add it to the corpus?", assume_yes):
        return 1
    path = library.write_article(corpus_dir, prepared)
    _audit(settings, "add", path.stem, draft.url or source)
    print(f"Added as {path.name}. A running bot serves it after /reload.")
    return 0


def run_remove(name: str, corpus_dir: Path, settings: Settings, *, assume_yes: bool) -> int:
    """Move an article to `.removed/` once confirmed."""
    index = build_engine(load_corpus(corpus_dir)).index
    meta = index.titles.find(name)
    if meta is None:
        print(f"error: no article called {name!r} (use its id or its exact title)", file=sys.stderr)
        return 1
    if not confirm(f"Remove “{meta.title}” ({meta.path})?", assume_yes):
        return 1
    moved = library.remove_article(corpus_dir, meta)
    _audit(settings, "remove", meta.id, meta.path)
    print(f"Removed; the file is kept as {moved.relative_to(Path(corpus_dir).resolve())}.")
    return 0


def _audit(settings: Settings, action: str, target: str, detail: str) -> None:
    store = FeedbackStore(settings.database_address)
    try:
        store.audit(None, action, target, f"{_user()} {detail}")
    finally:
        store.close()


def run_feedback(settings: Settings, guild_id: int | None, *, as_json: bool) -> int:
    """How answers fare and the latest unanswered or unhelpful questions, from the feedback
    database (every server and direct message, or one server)."""
    path = Path(settings.database_path)
    if settings.database_url is None and not path.exists():
        print(f"No feedback recorded yet (no database at {path}).")
        return 0
    try:
        store = FeedbackStore(settings.database_address)
        try:
            summary = store.summary(limit=10, guild_id=guild_id)
        finally:
            store.close()
    except (StorageError, OSError) as exc:
        where = "DEPECHE_DATABASE_URL" if settings.database_url else f"DEPECHE_DATABASE_PATH={path}"
        print(f"error: cannot read the feedback database {where}: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(dataclasses.asdict(summary), ensure_ascii=False))
        return 0
    where = f"server {guild_id}" if guild_id is not None else "all servers and direct messages"
    print(
        f"Feedback ({where}): {summary.answers} answers, {summary.unanswered} not found; "
        f"votes: {summary.helpful} helpful, {summary.not_helpful} not helpful."
    )
    for title, questions in (
        ("Recent unanswered questions", summary.recent_unanswered),
        ("Recent answers voted not helpful", summary.recent_not_helpful),
    ):
        print(f"{title}:")
        for question in questions or ["—"]:
            print(f"  • {question}")
    return 0


def run_db_migrate(source: str, target: str) -> int:
    """Copy the bot's database (answers, votes, audit trail, ask-channels, feeds) into another."""
    if source.removeprefix("sqlite:///") == target.removeprefix("sqlite:///"):
        print("error: the source and the target are the same database", file=sys.stderr)
        return 2
    try:
        with (
            contextlib.closing(open_database(source)) as src,
            contextlib.closing(open_database(target)) as dst,
        ):
            copied = copy_database(src, dst)
    except StorageError as exc:
        print(f"error: the copy failed: {exc}", file=sys.stderr)
        return 1
    for table, count in copied.items():
        print(f"{table}: {count} rows")
    print("Copied. Point DEPECHE_DATABASE_URL at the new database and restart the bot.")
    return 0


def run_corpus_export(address: str, folder: Path) -> int:
    """Write the articles the shared corpus serves (PostgreSQL) into `folder` as files."""
    try:
        with contextlib.closing(open_database(address)) as database:
            store = ArticleStore(database)
            revision, served = store.served()
            folder.mkdir(parents=True, exist_ok=True)
            for name, content in store.contents(sorted(served)).items():
                library.replace_file(folder, name, content)
    except (StorageError, OSError, ArticleError) as exc:
        print(f"error: the export failed: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote {len(served)} articles (corpus revision {revision}) to {folder}.")
    return 0
