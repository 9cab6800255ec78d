"""What the bot needs in a channel to answer there, and which of it is missing."""

from __future__ import annotations

import discord


def missing_to_answer(channel: object, me: discord.Member) -> list[str]:
    """Names of the permissions the bot lacks to answer in `channel` (a text or forum channel, or
    a thread): seeing it, reading its history (replies quote the question) and sending there.
    Embed Links is not needed: answers fall back to plain text."""
    permissions_for = getattr(channel, "permissions_for", None)
    if permissions_for is None:  # a direct message, or a channel the cache does not know
        return []
    try:
        allowed = permissions_for(me)
    except discord.ClientException:  # a thread whose parent channel is not cached: try anyway
        return []
    in_threads = isinstance(channel, discord.Thread | discord.ForumChannel)
    needed = {
        "View Channel": allowed.view_channel,
        "Read Message History": allowed.read_message_history,
        "Send Messages in Threads" if in_threads else "Send Messages": (
            allowed.send_messages_in_threads if in_threads else allowed.send_messages
        ),
    }
    return [name for name, ok in needed.items() if not ok]
