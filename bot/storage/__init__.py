"""What the bot remembers between restarts: answers, votes and the audit trail (`FeedbackStore`),
the ask-channels admins chose (`AskChannelStore`) and the feeds followed (`FeedStore`), in
one SQLite file."""

from bot.storage.ask_channels import AskChannelStore
from bot.storage.feedback import FeedbackStore
from bot.storage.feeds import Feed, FeedStore

__all__ = ["AskChannelStore", "Feed", "FeedStore", "FeedbackStore"]
