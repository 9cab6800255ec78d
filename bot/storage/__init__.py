"""What the bot remembers between restarts: answers, votes and the audit trail (`FeedbackStore`),
and the ask-channels admins chose (`AskChannelStore`), in one SQLite file."""

from bot.storage.ask_channels import AskChannelStore
from bot.storage.feedback import FeedbackStore

__all__ = ["AskChannelStore", "FeedbackStore"]
