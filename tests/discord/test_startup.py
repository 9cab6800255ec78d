"""Start-up against the API double: commands registered, French descriptions, the token, shards."""

from __future__ import annotations

import json

from tests.discord.fixtures import (
    BALAD,
    TOKEN,
    is_callback,
    is_reply,
    mention,
    plain,
    running_bot,
)

# -- start-up -----------------------------------------------------------------------------


async def test_startup_registers_commands_in_the_configured_guild(env):
    d = env.double
    sync = next(r for r in d.requests if r.method == "PUT")
    assert sync.path == f"/api/v10/applications/{d.app_id}/guilds/{d.guild_id}/commands"
    commands = {c["name"]: c for c in sync.json}
    assert set(commands) >= {
        "ask",
        "search",
        "article",
        "help",
        "reload",
        "corpus",
        "feedback",
        "Find sources",
    }
    ask_options = {o["name"]: o for o in commands["ask"]["options"]}
    assert list(ask_options) == ["question", "count", "public"]
    assert ask_options["question"]["required"] is True
    assert ask_options["count"]["min_value"] == 1 and ask_options["count"]["max_value"] == 10
    assert all(commands[n]["description"] for n in ("ask", "search", "article", "help", "reload"))
    assert commands["article"]["options"][0]["autocomplete"] is True
    manage_guild = str(1 << 5)
    for admin in ("reload", "corpus", "feedback"):
        assert str(commands[admin]["default_member_permissions"]) == manage_guild
    assert commands["ask"].get("default_member_permissions") is None
    assert commands["Find sources"]["type"] == 3
    assert d.identifies == 1
    # the member list shows how to ask, under the bot's name
    status = d.presences[0]["game"]  # discord.py sends the activity at IDENTIFY under "game"
    assert status["type"] == 4 and "/ask" in status["state"]


async def test_members_with_discord_in_french_see_the_commands_described_in_french(env):
    sync = next(r for r in env.double.requests if r.method == "PUT")

    def described(item: dict) -> list[dict]:  # a command, its subcommands and options
        return [item, *(x for option in item.get("options") or [] for x in described(option))]

    slash = [x for c in sync.json if c.get("type", 1) == 1 for x in described(c)]
    assert len(slash) >= 19  # 7 commands, 4 subcommands, 8 options
    for item in slash:  # every description has its French wording, names stay as they are
        french = item.get("description_localizations", {}).get("fr")
        assert french and french != item["description"], item["name"]
        assert not item.get("name_localizations"), item["name"]
    commands = {c["name"]: c for c in sync.json}
    assert commands["ask"]["description_localizations"]["fr"].startswith("Poser une question")
    assert commands["Find sources"]["name_localizations"] == {"fr": "Trouver les sources"}


async def test_the_token_never_appears_in_logs_or_requests(env, caplog):
    d = env.double
    caplog.set_level("DEBUG")
    mark = len(d.requests)
    await mention(d, d.user("dan"), "roquettes")
    await d.slash(d.user("dan"), "reload")
    await d.wait_for(is_callback, after=mark)
    await d.wait_for(is_reply, after=mark)
    assert TOKEN not in caplog.text
    assert all(TOKEN not in json.dumps(r.json) for r in d.requests if r.json and r.method != "GET")


async def test_sharded_bot_connects_and_answers(corpus_dir, tmp_path):
    async with running_bot(corpus_dir, tmp_path / "db.sqlite3", shard_count=1) as env:
        d = env.double
        assert type(env.bot).__name__ == "ShardedDepecheBot"
        mark = len(d.requests)
        await mention(d, d.user("sha"), BALAD)
        assert "Au moins sept" in plain(await d.wait_for(is_reply, after=mark))
