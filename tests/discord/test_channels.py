"""/ask-channels through discord.py and the API double: admins choose where every message is a question."""

from __future__ import annotations

import asyncio

from bot.storage.ask_channels import AskChannelStore
from tests.discord.double import DiscordDouble
from tests.discord.fixtures import is_callback, is_reply, running_bot

BALAD = "Combien de roquettes ont frappé la base de Balad ?"


async def ask_channels(d: DiscordDouble, subcommand: str, channel_id: int | None = None, **kwargs) -> str:
    """Run /ask-channels as an admin; the private reply's text."""
    admin = kwargs.pop("member", None) or d.member(d.user("editor"), roles=[d.admin_role_id])
    options = {"channel": d.channel(channel_id)} if channel_id is not None else {}
    mark = len(d.requests)
    await d.slash(admin["user"], "ask-channels", options, subcommand=subcommand, member=admin)
    rec = await d.wait_for(is_callback, after=mark)
    assert rec.json["data"]["flags"] & 64  # private
    return rec.json["data"]["content"]


async def answered_without_mention(d: DiscordDouble, channel_id: int) -> bool:
    """Whether a plain message (no mention) in the channel gets an answer."""
    mark = len(d.requests)
    await d.send_message(d.user("reader"), BALAD, channel_id=channel_id)
    try:
        await d.wait_for(is_reply, after=mark, timeout=0.5)
    except TimeoutError:
        return False
    return True


async def test_an_admin_makes_a_channel_an_ask_channel_and_back(env):
    d = env.double
    editor = d.member(d.user("editor"), roles=[d.admin_role_id])
    editor_id = editor["user"]["id"]
    assert not await answered_without_mention(d, d.general_id)
    said = await ask_channels(d, "add", d.general_id, member=editor)
    assert f"<#{d.general_id}> is now an ask-channel" in said and "⚠️" not in said
    assert await answered_without_mention(d, d.general_id)
    listed = await ask_channels(d, "list")
    assert f"<#{d.ask_channel_id}> (bot settings)" in listed
    assert f"• <#{d.general_id}> — added by <@{editor_id}> <t:" in listed
    assert "already" in await ask_channels(d, "add", d.general_id)
    assert "no longer an ask-channel" in await ask_channels(d, "remove", d.general_id)
    assert not await answered_without_mention(d, d.general_id)
    assert "is not an ask-channel" in await ask_channels(d, "remove", d.general_id)
    assert not env.bot.feedback.audit_log()  # a server's own setting, not in the shared corpus trail


async def test_adding_a_channel_the_bot_cannot_write_in_says_what_is_missing(env):
    d = env.double
    said = await ask_channels(d, "add", d.read_only_id)
    assert "is now an ask-channel" in said and "give me Send Messages" in said


async def test_without_the_message_content_intent_adding_warns_that_a_mention_is_still_needed(
    corpus_dir, tmp_path
):
    async with running_bot(corpus_dir, tmp_path / "db.sqlite3", message_content_intent=False) as env:
        said = await ask_channels(env.double, "add", env.double.general_id)
        assert "Message Content intent is off" in said


async def test_a_channel_from_the_settings_is_not_removed_from_discord(env):
    d = env.double
    said = await ask_channels(d, "remove", d.ask_channel_id)
    assert "DEPECHE_ASK_CHANNEL_IDS" in said
    assert await answered_without_mention(d, d.ask_channel_id)


async def test_members_cannot_change_ask_channels(env):
    d = env.double
    said = await ask_channels(d, "add", d.general_id, member=d.member(d.user("member")))
    assert "Only the bot's admins" in said
    assert d.general_id not in env.bot.ask_channels


async def test_a_deleted_channel_stops_being_an_ask_channel(env):
    d = env.double
    await ask_channels(d, "add", d.general_id)
    assert d.general_id in env.bot.ask_channels
    await d.delete_channel(d.general_id)
    for _ in range(100):
        if d.general_id not in env.bot.ask_channels:
            break
        await asyncio.sleep(0.01)
    assert d.general_id not in env.bot.ask_channels


def test_ask_channels_are_kept_across_restarts(tmp_path):
    path = tmp_path / "depeche.sqlite3"
    store = AskChannelStore(path)
    assert store.add(1, 10, 99) and store.add(1, 11, 99) and store.add(2, 20, 98)
    assert not store.add(1, 10, 99)
    store.close()
    reopened = AskChannelStore(path)
    assert sorted(reopened.of_guild(1)) == [10, 11] and 20 in reopened
    assert reopened.remove([11, 12]) == 1
    reopened.close()
    assert AskChannelStore(path).of_guild(1) == [10]
