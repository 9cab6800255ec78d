"""Settings: every environment / `.env` value, validated once at start-up, with defaults.

Names are upper-case with a `DEPECHE_` prefix (the token is plain `DISCORD_TOKEN`). A bad value
stops start-up with one line naming the variable; the token is a `SecretStr` and never printed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:  # (the fetcher, and its HTTP client, load only when a link is fetched)
    from bot.articles import FetchPolicy

IdList = Annotated[list[int], NoDecode]


class Settings(BaseSettings):
    """Dépêche's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="DEPECHE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "DEPECHE_DISCORD_TOKEN")
    )
    guild_ids: IdList = Field(default_factory=list, description="guilds for instant command sync")
    ask_channel_ids: IdList = Field(
        default_factory=list, description="channels where every message is a question"
    )
    admin_role_ids: IdList = Field(default_factory=list)
    admin_user_ids: IdList = Field(default_factory=list)
    corpus_dir: Path = Path("corpus")
    excerpts: int = Field(default=3, ge=1, le=10)
    max_question_length: int = Field(default=500, ge=10, le=4000)
    rate_limit_count: int = Field(default=5, ge=1, le=1000)
    rate_limit_seconds: float = Field(default=30.0, gt=0, le=86400)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_message_content: bool = False
    shard_count: int | None = Field(default=None, ge=1, le=1024)
    # This process's shards, "0-3" or "4,5,6,7" (with DEPECHE_SHARD_COUNT); empty: all of them.
    shard_ids: IdList = Field(default_factory=list)
    database_path: Path = Path("data/depeche.sqlite3")
    # sqlite:///path or postgresql://user:password@host/db (several processes); unset: the path above.
    database_url: SecretStr | None = None
    feedback_retention_days: int = Field(default=90, ge=1, le=3650)
    cache_dir: Path | None = Path(".cache")
    embeddings: bool = True
    message_content_intent: bool = True
    max_article_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    fetch_max_bytes: int = Field(default=3 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    fetch_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    fetch_max_redirects: int = Field(default=3, ge=0, le=10)
    fetch_allow_private: bool = False
    # Feeds: polled by the running bot; a feed document's size cap; how long feed articles stay
    # served (None: for ever).
    feeds: bool = True
    feed_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    feed_retention_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("guild_ids", "ask_channel_ids", "admin_role_ids", "admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            ids: list[int] = []
            for part in parts:
                if not part:
                    continue
                if not part.isdigit():  # the value is not echoed: it may be a secret pasted there
                    raise ValueError(
                        f"entry {len(ids) + 1} is not a Discord id (ids are digits only, comma-separated)"
                    )
                ids.append(int(part))
            return ids
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ranges(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        ids: list[int] = []
        for part in value.replace(" ", "").split(","):
            if not part:
                continue
            first, _, last = part.partition("-")
            if not first.isdigit() or (last and not last.isdigit()):
                raise ValueError(f"{part!r} is not a shard number or range (write 0-3 or 4,5,6,7)")
            start, end = int(first), int(last or first)
            if end < start:
                raise ValueError(f"the range {part!r} ends before it starts")
            ids.extend(range(start, end + 1))
        return sorted(set(ids))

    @model_validator(mode="after")
    def _shards_within_count(self) -> Settings:
        if self.shard_ids:
            if self.shard_count is None:
                raise ValueError("DEPECHE_SHARD_IDS needs DEPECHE_SHARD_COUNT (the total number of shards)")
            if self.shard_ids[-1] >= self.shard_count:
                last, count = self.shard_ids[-1], self.shard_count
                raise ValueError(f"DEPECHE_SHARD_IDS: shard {last} is not below DEPECHE_SHARD_COUNT={count}")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("feed_retention_days", "shard_count", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _empty_path_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("discord_token", "database_url", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def database_address(self) -> str:
        """Where the stores keep their state: `DEPECHE_DATABASE_URL`, else the SQLite file."""
        return self.database_url.get_secret_value() if self.database_url else str(self.database_path)

    def fetch_policy(self) -> FetchPolicy:
        """The limits for downloading articles from links."""
        from bot.articles import FetchPolicy

        return FetchPolicy(
            max_bytes=self.fetch_max_bytes,
            timeout_seconds=self.fetch_timeout_seconds,
            max_redirects=self.fetch_max_redirects,
            allow_private=self.fetch_allow_private,
        )


class ConfigError(Exception):
    """A setting with a bad value; the message names the variable, never the secret."""


def env_file_problems(path: Path) -> list[str]:
    """What stops `path` (a `.env` file) from being read as intended: bytes that are not UTF-8,
    lines that are not KEY=VALUE (python-dotenv would skip them with a warning, and a token
    written `DISCORD_TOKEN: ...` would silently start the local chat instead of the bot)."""
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [f"{path.name} is not UTF-8 text (invalid byte at offset {exc.start})"]
    except OSError as exc:
        return [f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})"]
    from dotenv.parser import parse_stream

    return [
        f"{path.name} line {binding.original.line} is not KEY=VALUE"
        for binding in parse_stream(io.StringIO(text))
        if binding.error
    ]


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation error into one readable `ConfigError`."""
    env_file = overrides.get("_env_file", Settings.model_config.get("env_file"))
    if isinstance(env_file, str | Path):
        problems = env_file_problems(Path(env_file))
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            if not err["loc"]:  # a rule between settings: its message names them
                lines.append(message)
                continue
            name = str(err["loc"][0])
            variable = "DISCORD_TOKEN" if name == "discord_token" else f"DEPECHE_{name.upper()}"
            lines.append(f"{variable}: {message}")
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None
