"""The bot's database, one interface over two engines: SQLite (a file, the embedded default) or
PostgreSQL (shared by several processes on several machines), chosen by `DEPECHE_DATABASE_URL`.

Stores write their SQL once, with `?` placeholders; the few words that differ between the two
engines are named in `Dialect`. Each store's schema is a list of versioned migrations, applied at
start-up in one transaction per step and recorded in `schema_migrations`. Every failure of either
engine surfaces as `StorageError`, which callers catch to keep answering without the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# How long a write waits for another writer (another process on the same file) before failing;
# the callers log the failure and answer anyway, so a member never waits longer than this.
BUSY_TIMEOUT_SECONDS = 2.0
# PostgreSQL: how long to wait for a connection (new, or from the pool) before giving up.
CONNECT_TIMEOUT_SECONDS = 5.0


class StorageError(Exception):
    """The database failed (unreachable, locked, full, corrupt...); the message is the engine's."""


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines in the stores' SQL."""

    name: str
    id_type: str  # a Discord id (64 bits)
    serial: str  # an auto-numbered primary key
    order: str  # a column giving insertion order
    order_column: str  # its definition, where a table must declare it


SQLITE = Dialect("sqlite", "INTEGER", "INTEGER PRIMARY KEY AUTOINCREMENT", "rowid", "")
POSTGRESQL = Dialect("postgresql", "BIGINT", "BIGSERIAL PRIMARY KEY", "seq", ", seq BIGSERIAL")


class Transaction(Protocol):
    """Statements run inside one transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one statement; its rows (empty when it returns none)."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        ...

    @property
    def rowcount(self) -> int:
        """Rows changed by the last `execute`."""
        ...


# A migration: SQL (formatted with the dialect's words) or a function of a transaction.
Migration = str | Callable[[Transaction, Dialect], None]


class Database:
    """What the stores use: transactions, the dialect, migrations."""

    dialect: Dialect

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A transaction, committed when the block ends, rolled back if it raises."""
        raise NotImplementedError
        yield  # pragma: no cover

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """The rows of one statement (in a transaction of its own)."""
        with self.transaction() as tx:
            return tx.execute(sql, params)

    def migrate(self, store: str, migrations: Sequence[Migration]) -> None:
        """Apply the migrations of `store` this database has not had yet, in order."""
        with self.transaction() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(store TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (store, version))"
            )
        for version, migration in enumerate(migrations, start=1):
            with self.transaction() as tx:
                if self.dialect is POSTGRESQL:  # one process migrates at a time; the others wait
                    tx.execute("SELECT pg_advisory_xact_lock(4242)")
                done = tx.execute(
                    "SELECT 1 FROM schema_migrations WHERE store = ? AND version = ?", (store, version)
                )
                if done:
                    continue
                if isinstance(migration, str):
                    for statement in migration.format(d=self.dialect).split(";"):
                        if statement.strip():
                            tx.execute(statement)
                else:
                    migration(tx, self.dialect)
                tx.execute("INSERT INTO schema_migrations (store, version) VALUES (?, ?)", (store, version))

    def leadership(self, name: str) -> Leadership:
        """Who, among the processes sharing this database, runs the work named `name` (feed
        polling, retention): see `Leadership`."""
        return Leadership()

    def close(self) -> None:
        """Release the connection(s)."""


class Leadership:
    """Work that must run in one process only. With SQLite there is one process: it always
    leads. With PostgreSQL, `held` takes a session advisory lock on a connection of its own; the
    lock goes with that connection, so when the leading process dies (or loses the server),
    another one's next `held` takes it over."""

    def held(self) -> bool:
        """Whether this process leads now (trying to become the leader if nobody is)."""
        return True

    def release(self) -> None:
        """Stop leading (at shutdown)."""


class _AdvisoryLeadership(Leadership):
    def __init__(self, url: str, key: int, errors: tuple[type[Exception], ...]) -> None:
        self._url = url
        self._key = key
        self._errors = errors
        self._connection: Any = None
        self._lock = threading.Lock()

    def held(self) -> bool:
        import psycopg

        with self._lock:
            try:
                if self._connection is not None and not self._connection.closed:
                    self._connection.execute("SELECT 1")  # still connected: still the leader
                    return True
                self._connection = psycopg.connect(
                    self._url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT_SECONDS)
                )
                ((taken,),) = self._connection.execute(
                    "SELECT pg_try_advisory_lock(%s)", (self._key,)
                ).fetchall()
                if not taken:
                    self._connection.close()
                    self._connection = None
                return bool(taken)
            except self._errors:
                with contextlib.suppress(Exception):
                    if self._connection is not None:
                        self._connection.close()
                self._connection = None
                return False

    def release(self) -> None:
        with self._lock:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.close()
                self._connection = None


class _SqliteTransaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._rowcount = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        cursor = self._db.execute(sql, tuple(params))
        rows = cursor.fetchall()
        self._rowcount = cursor.rowcount
        return rows

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, [tuple(r) for r in rows])

    @property
    def rowcount(self) -> int:
        return self._rowcount


class SqliteDatabase(Database):
    """One SQLite file (made with its folder if missing), one connection serialised by a lock,
    usable from worker threads. Write-ahead logging: a reader (an operator's `sqlite3` shell, a
    backup, `run_bot.py feedback`) never blocks the bot's writes, nor the writes the readers."""

    dialect = SQLITE

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_TIMEOUT_SECONDS)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise StorageError(str(exc)) from exc
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            try:
                with self._db:
                    yield _SqliteTransaction(self._db)
            except sqlite3.Error as exc:
                raise StorageError(str(exc)) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()


_PLACEHOLDER = re.compile(r"\?")


class _PostgresTransaction:
    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._rowcount = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._connection.cursor() as cursor:
            cursor.execute(_PLACEHOLDER.sub("%s", sql), tuple(params))
            self._rowcount = cursor.rowcount
            return cursor.fetchall() if cursor.description is not None else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._connection.cursor() as cursor:
            cursor.executemany(_PLACEHOLDER.sub("%s", sql), [tuple(r) for r in rows])

    @property
    def rowcount(self) -> int:
        return self._rowcount


class PostgresDatabase(Database):
    """A PostgreSQL database through psycopg 3's connection pool (thread-safe: the stores are
    called from worker threads). A connection the server dropped (a restart) is checked and
    replaced by the pool before use; while the server is unreachable, calls fail after
    `CONNECT_TIMEOUT_SECONDS` with `StorageError`, and succeed again once it is back."""

    dialect = POSTGRESQL

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 4) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout

        self.url = url
        self._errors: tuple[type[Exception], ...] = (psycopg.Error, PoolTimeout, OSError)
        try:
            self._pool = ConnectionPool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=CONNECT_TIMEOUT_SECONDS,
                kwargs={"connect_timeout": int(CONNECT_TIMEOUT_SECONDS), "autocommit": False},
                check=ConnectionPool.check_connection,
                open=False,
            )
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except Exception as exc:  # PoolTimeout, OperationalError: unreachable, refused, bad password
            with contextlib.suppress(Exception):
                self._pool.close()
            raise StorageError(f"cannot connect to PostgreSQL: {_without_password(str(exc))}") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        try:
            with self._pool.connection() as connection, connection.transaction():
                yield _PostgresTransaction(connection)
        except self._errors as exc:
            raise StorageError(_without_password(str(exc))) from exc

    def leadership(self, name: str) -> Leadership:
        key = int.from_bytes(hashlib.sha256(f"depeche:{name}".encode()).digest()[:8], "big", signed=True)
        return _AdvisoryLeadership(self.url, key, self._errors)

    def close(self) -> None:
        self._pool.close()


def _without_password(text: str) -> str:
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", re.sub(r"password=\S+", "password=***", text))


def open_database(url: str | Path) -> Database:
    """`sqlite:///path`, a bare path (SQLite), or `postgresql://…`; raises `StorageError`."""
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(text)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    elif "://" in text:
        raise StorageError(
            f"unknown database address {text.split('://')[0]}://: use sqlite:/// or postgresql://"
        )
    return SqliteDatabase(text)


def database_of(source: Database | Path | str) -> Database:
    """A store's database: the one given, or one opened from a path or address."""
    return source if isinstance(source, Database) else open_database(source)
