"""Copy one database into another (`run_bot.py db migrate --to postgresql://…`): every table of
every store, rows in their order, ids kept; rows already there are left as they are, so a copy
interrupted half-way can be run again."""

from __future__ import annotations

from bot.storage.ask_channels import MIGRATIONS as ASK_CHANNELS
from bot.storage.database import POSTGRESQL, SQLITE, Database
from bot.storage.feedback import MIGRATIONS as FEEDBACK
from bot.storage.feeds import MIGRATIONS as FEEDS

# (table, its columns, its key) in an order that keeps references valid (votes after answers).
TABLES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    (
        "answers",
        (
            "id",
            "question",
            "answered",
            "corpus_version",
            "guild_id",
            "created_at",
            "message_id",
            "channel_id",
            "reply_id",
        ),
        ("id",),
    ),
    ("votes", ("answer_id", "user_id", "helpful", "voted_at"), ("answer_id", "user_id")),
    ("audit", ("id", "at", "user_id", "action", "target", "detail"), ("id",)),
    ("ask_channels", ("channel_id", "guild_id", "added_by", "added_at"), ("channel_id",)),
    (
        "feeds",
        (
            "id",
            "url",
            "title",
            "guild_id",
            "channel_id",
            "interval_minutes",
            "added_by",
            "added_at",
            "etag",
            "last_modified",
            "last_checked",
            "last_success",
            "last_new_item",
            "articles",
            "error",
            "failures",
            "next_check",
        ),
        ("id",),
    ),
    ("feed_items", ("feed_id", "key", "article_id", "outcome", "seen_at"), ("feed_id", "key")),
    ("announcements", ("message_id", "channel_id", "article_id", "posted_at"), ("message_id",)),
]
SERIALS = (("audit", "id"), ("feeds", "id"))
BATCH = 1000


def copy_database(source: Database, target: Database) -> dict[str, int]:
    """Copy every store's rows from `source` to `target` (schemas made first); rows copied per table."""
    for store, migrations in (("feedback", FEEDBACK), ("ask_channels", ASK_CHANNELS), ("feeds", FEEDS)):
        source.migrate(store, migrations)
        target.migrate(store, migrations)
    copied: dict[str, int] = {}
    for table, columns, key in TABLES:
        names = ", ".join(columns)
        # Insertion order where the engine keeps it for every table (SQLite's rowid), else the
        # order column of the tables that have one, else the key.
        ordered = source.dialect is SQLITE or table in ("answers", "votes", "ask_channels")
        order = source.dialect.order if ordered else ", ".join(key)
        rows = source.query(f"SELECT {names} FROM {table} ORDER BY {order}")
        marks = ", ".join("?" * len(columns))
        insert = f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({', '.join(key)}) DO NOTHING"
        for start in range(0, len(rows), BATCH):
            with target.transaction() as tx:
                tx.executemany(insert, rows[start : start + BATCH])
        copied[table] = len(rows)
    if target.dialect is POSTGRESQL:  # the next new row gets the next id, not one already copied
        with target.transaction() as tx:
            for table, column in SERIALS:
                tx.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
                )
    return copied
