"""What the bot remembers between restarts: answers, votes and the audit trail (`FeedbackStore`),
the ask-channels admins chose (`AskChannelStore`) and the feeds followed (`FeedStore`), in one
database: a SQLite file, or PostgreSQL for several processes (`open_database`)."""

from bot.storage.articles import ArticleStore, ServingProcess, listen_for_changes
from bot.storage.ask_channels import AskChannelStore
from bot.storage.copy import copy_database
from bot.storage.database import Database, StorageError, open_database
from bot.storage.feedback import FeedbackStore
from bot.storage.feeds import Feed, FeedStore

__all__ = [
    "ArticleStore",
    "AskChannelStore",
    "Database",
    "Feed",
    "FeedStore",
    "FeedbackStore",
    "ServingProcess",
    "StorageError",
    "copy_database",
    "listen_for_changes",
    "open_database",
]
