"""End to end through discord.py and the API double: what members and admins see."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import pytest

from bot.service import QAService
from tests.conftest import write_article
from tests.discord_double import DiscordDouble, Recorded
from tests.discord_fixtures import TOKEN, is_callback, is_reply, running_bot

BALAD = "Combien de roquettes ont frappé la base de Balad ?"


@pytest.fixture
async def env(corpus_dir, tmp_path):
    async with running_bot(corpus_dir, tmp_path / "depeche.sqlite3") as under_test:
        yield under_test


def description(rec: Recorded) -> str:
    body = rec.json.get("data", rec.json) if is_callback(rec) else rec.json
    return "\n".join(e.get("description") or "" for e in body.get("embeds") or []) + (
        body.get("content") or ""
    )


def plain(rec: Recorded) -> str:
    """The reply's text without our bold emphasis of matched words."""
    return description(rec).replace("**", "")


def assert_no_pings(rec: Recorded) -> None:
    body = rec.json.get("data", rec.json) if is_callback(rec) else rec.json
    allowed = body.get("allowed_mentions")
    assert allowed is not None and allowed["parse"] == []
    assert not allowed.get("users") and not allowed.get("roles") and not allowed.get("replied_user")


async def mention(d: DiscordDouble, user: dict, text: str, **kwargs) -> dict:
    return await d.send_message(user, f"<@{d.app_id}> {text}", mentions=[d.bot_user], **kwargs)


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


# -- chat ---------------------------------------------------------------------------------


async def test_mention_is_answered_with_a_cited_excerpt_as_a_reply_without_pings(env):
    d = env.double
    mark = len(d.requests)
    question = await mention(d, d.user("alice"), BALAD)
    reply = await d.wait_for(is_reply, after=mark)
    assert str(reply.json["message_reference"]["message_id"]) == question["id"]
    text = description(reply)
    assert "Au moins sept **roquettes**" in text
    assert "— *Sept roquettes frappent des positions américaines en Irak*, § 1" in text
    assert_no_pings(reply)
    assert any(r.path.endswith("/typing") for r in d.requests[mark:])


async def test_ask_channel_message_is_answered_without_a_mention(env):
    d = env.double
    mark = len(d.requests)
    await d.send_message(d.user("bob"), "Qui est le porte-parole du Pentagone ?", channel_id=d.ask_channel_id)
    reply = await d.wait_for(is_reply, after=mark)
    assert reply.path == f"/api/v10/channels/{d.ask_channel_id}/messages"
    assert "Kirby" in description(reply)


async def test_other_channels_and_bots_are_ignored(env):
    d = env.double
    mark = len(d.requests)
    await d.send_message(d.user("carol"), BALAD)  # general, no mention
    await d.send_message(d.user("robot", bot=True), BALAD, channel_id=d.ask_channel_id)
    await d.send_message(d.bot_user, BALAD, channel_id=d.ask_channel_id)  # itself
    await mention(d, d.user("dave"), "Qui est Jens Stoltenberg ?")  # a marker we wait for
    replies = [await d.wait_for(is_reply, after=mark)]
    await asyncio.sleep(0.2)
    replies = d.sent(mark)
    assert len(replies) == 1 and "Stoltenberg" in description(replies[0])


async def test_discord_markup_in_a_question_is_not_searched(env):
    """Mentions, custom emoji and @here carry no words: their ids must not become search terms."""
    d = env.double
    mark = len(d.requests)
    await mention(
        d, d.user("ivy"), "<@123456789012345678> combien de roquettes ont frappé Balad ? <:roquette:42> @here"
    )
    reply = await d.wait_for(is_reply, after=mark)
    assert "Au moins sept" in plain(reply)
    assert (
        reply.json["embeds"][0]["title"] == "combien de roquettes ont frappé Balad ?"
    )  # the question as read


async def test_direct_message_is_answered(env):
    d = env.double
    mark = len(d.requests)
    await d.send_message(
        d.user("erin"), "combien de soldats americains en irak", channel_id=d.dm_channel_id, guild=False
    )
    reply = await d.wait_for(is_reply, after=mark)
    assert reply.path == f"/api/v10/channels/{d.dm_channel_id}/messages"
    assert "2 500 soldats" in plain(reply)


async def test_forum_post_in_an_ask_forum_is_answered_in_its_thread(env):
    d = env.double
    mark = len(d.requests)
    post = await d.open_forum_post(d.user("fay"), "Erbil", "Combien de blessés à Erbil ?")
    reply = await d.wait_for(is_reply, after=mark)
    assert reply.path == f"/api/v10/channels/{post['channel_id']}/messages"
    assert "huit autres" in description(reply)


async def test_follow_up_reply_is_answered_with_the_earlier_question_as_context(env):
    d = env.double
    user = d.user("gus")
    mark = len(d.requests)
    await mention(d, user, "Combien de personnes ont été blessées lors des attaques ?")
    first = await d.wait_for(is_reply, after=mark)
    bot_message = d.messages[max(d.messages)]  # the reply the double stored
    assert bot_message["embeds"] == first.json["embeds"]
    mark = len(d.requests)
    await d.send_message(user, "Et à Erbil ?", reply_to=bot_message)
    second = await d.wait_for(is_reply, after=mark)
    assert "Erbil" in description(second)
    assert "blessé" in description(second)


async def test_empty_mention_gets_a_hint(env):
    d = env.double
    mark = len(d.requests)
    await d.send_message(d.user("hal"), f"<@{d.app_id}>", mentions=[d.bot_user])
    reply = await d.wait_for(is_reply, after=mark)
    assert "Posez-moi une question" in reply.json["content"]  # the double's server speaks French


@pytest.mark.parametrize(
    ("question", "said", "button"),
    [
        ("Quelle est la capitale de l'Australie ?", "Je n'ai pas trouvé de réponse", "Utile"),
        ("What is the capital of Australia?", "I could not find this", "Helpful"),
    ],
)
async def test_question_the_corpus_does_not_answer_gets_a_friendly_not_found_in_its_language(
    env, question, said, button
):
    d = env.double
    mark = len(d.requests)
    await mention(d, d.user("ivy"), question)
    reply = await d.wait_for(is_reply, after=mark)
    text = description(reply)
    assert said in text and "«" not in text
    assert reply.json["components"][0]["components"][0]["label"] == button


async def test_over_long_question_is_refused_with_the_limit(env):
    d = env.double
    mark = len(d.requests)
    await mention(d, d.user("jon"), "roquettes " * 600)
    reply = await d.wait_for(is_reply, after=mark)
    assert "la limite est de 500" in reply.json["content"]
    assert_no_pings(reply)


async def test_cooldown_tells_when_to_retry(corpus_dir, tmp_path):
    async with running_bot(
        corpus_dir, tmp_path / "db.sqlite3", rate_limit_count=2, rate_limit_seconds=60
    ) as env:
        d = env.double
        user = d.user("kim")
        mark = len(d.requests)
        for _ in range(4):
            await mention(d, user, BALAD)
        await d.wait_for(
            lambda r: is_reply(r) and "réessayez dans" in (r.json.get("content") or ""), after=mark
        )
        await mention(d, d.user("lea"), BALAD)  # someone else is not slowed down
        await asyncio.sleep(0.3)
        replies = d.sent(mark)
        notices = [r for r in replies if "réessayez dans" in (r.json.get("content") or "")]
        answers = [r for r in replies if r.json.get("embeds")]
        assert len(notices) == 1  # said once, not once per message
        assert len(answers) == 3
        assert "60 s" in notices[0].json["content"] or "59 s" in notices[0].json["content"]


# -- edited and deleted questions --------------------------------------------------------------


def is_edit_of(reply_id: str):
    return lambda rec: rec.method == "PATCH" and rec.path.endswith(f"/messages/{reply_id}")


def is_delete(rec: Recorded) -> bool:
    return rec.method == "DELETE" and "/messages/" in rec.path


async def asked_and_replied(d: DiscordDouble, user: dict, text: str) -> tuple[dict, dict]:
    """A mention and the reply as the double stored it."""
    mark = len(d.requests)
    question = await mention(d, user, text)
    await d.wait_for(is_reply, after=mark)
    return question, d.messages[max(d.messages)]


async def test_an_edited_question_is_answered_again_in_the_same_reply(env):
    d = env.double
    question, reply = await asked_and_replied(d, d.user("uma"), "Quelle est la capitale de l'Australie ?")
    assert "Je n'ai pas trouvé" in reply["embeds"][0]["description"]
    mark = len(d.requests)
    await d.edit_message(question, f"<@{d.app_id}> {BALAD}")
    edit = await d.wait_for(is_edit_of(reply["id"]), after=mark)
    assert_no_pings(edit)
    assert "Au moins sept" in d.messages[int(reply["id"])]["embeds"][0]["description"].replace("**", "")
    assert d.messages[int(reply["id"])]["components"]  # new vote buttons
    assert not d.sent(mark)  # no second reply
    assert env.bot.feedback.summary().answers == 2  # both versions were answered


async def test_an_edit_that_keeps_the_words_changes_nothing(env):
    d = env.double
    question, _ = await asked_and_replied(d, d.user("vic"), BALAD)
    mark = len(d.requests)
    await d.edit_message(question, question["content"])  # as when Discord adds a link preview
    await d.edit_message(question, f"Rien à voir {question['content']}".replace(f"<@{d.app_id}>", ""))
    await asyncio.sleep(0.3)  # the second edit dropped the mention: no longer asked of the bot
    await mention(d, d.user("wes"), "Qui est Jens Stoltenberg ?")  # a marker we wait for
    await d.wait_for(is_reply, after=mark)
    assert not [r for r in d.requests[mark:] if r.method == "PATCH"]


async def test_a_question_shortened_under_the_limit_by_an_edit_gets_its_answer(env):
    d = env.double
    question, reply = await asked_and_replied(d, d.user("xia"), "roquettes " * 600)
    assert "la limite est de 500" in reply["content"]
    mark = len(d.requests)
    await d.edit_message(question, f"<@{d.app_id}> {BALAD}")
    edit = await d.wait_for(is_edit_of(reply["id"]), after=mark)
    assert edit.json["content"] is None and "Au moins sept" in plain(edit)  # the refusal text is gone


async def test_a_deleted_question_takes_its_reply_and_its_record_away(env):
    d = env.double
    question, reply = await asked_and_replied(d, d.user("yan"), BALAD)
    assert env.bot.feedback.summary().answers == 1
    mark = len(d.requests)
    await d.delete_messages(question)
    deleted = await d.wait_for(is_delete, after=mark)
    assert deleted.path == f"/api/v10/channels/{d.general_id}/messages/{reply['id']}"
    assert int(reply["id"]) not in d.messages
    for _ in range(100):
        if env.bot.feedback.summary().answers == 0:
            break
        await asyncio.sleep(0.01)
    assert env.bot.feedback.summary().answers == 0


async def test_a_purge_of_question_and_reply_deletes_nothing_twice(env):
    d = env.double
    question, reply = await asked_and_replied(d, d.user("zoe"), BALAD)
    mark = len(d.requests)
    await d.delete_messages(question, reply)
    await mention(d, d.user("abe"), "Qui est Jens Stoltenberg ?")  # a marker we wait for
    await d.wait_for(is_reply, after=mark)
    await asyncio.sleep(0.2)
    assert not [r for r in d.requests[mark:] if is_delete(r)]
    assert env.bot.feedback.summary().answers == 1  # the marker's; the purged one is forgotten


async def test_a_question_deleted_after_a_restart_still_takes_its_reply_and_record(corpus_dir, tmp_path):
    double = DiscordDouble()
    await double.start()
    try:
        async with running_bot(corpus_dir, tmp_path / "db.sqlite3", double=double) as env:
            question, reply = await asked_and_replied(double, double.user("gil"), BALAD)
            for _ in range(100):  # the reply's id is recorded just after it is sent
                if _reply_recorded(tmp_path, reply):
                    break
                await asyncio.sleep(0.01)
        async with running_bot(corpus_dir, tmp_path / "db.sqlite3", double=double) as env:
            assert env.bot.feedback.summary().answers == 1
            mark = len(double.requests)
            await double.delete_messages(question)
            deleted = await double.wait_for(is_delete, after=mark)
            assert deleted.path == f"/api/v10/channels/{double.general_id}/messages/{reply['id']}"
            assert env.bot.feedback.summary().answers == 0
    finally:
        await double.stop()


def _reply_recorded(tmp_path, reply: dict) -> bool:
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        return (
            db.execute("SELECT 1 FROM answers WHERE reply_id = ?", (int(reply["id"]),)).fetchone() is not None
        )


async def test_editing_a_question_whose_reply_a_moderator_deleted_is_harmless(env, caplog):
    caplog.set_level("WARNING")
    d = env.double
    question, reply = await asked_and_replied(d, d.user("bea"), BALAD)
    await d.delete_messages(reply)
    mark = len(d.requests)
    await d.edit_message(question, f"<@{d.app_id}> Qui est Jens Stoltenberg ?")
    failed = await d.wait_for(is_edit_of(reply["id"]), after=mark)
    assert failed.path.endswith(reply["id"])
    mark = len(d.requests)
    await d.edit_message(question, f"<@{d.app_id}> Combien de blessés à Erbil ?")  # forgotten now
    await mention(d, d.user("cal"), BALAD)
    await d.wait_for(is_reply, after=mark)
    await asyncio.sleep(0.2)
    assert not [r for r in d.requests[mark:] if r.method == "PATCH"]
    assert "could not update the reply" in caplog.text
    env.check_alive()


async def test_small_talk_in_an_ask_channel_gets_no_reply_and_does_not_count(corpus_dir, tmp_path):
    async with running_bot(
        corpus_dir, tmp_path / "db.sqlite3", rate_limit_count=2, rate_limit_seconds=60
    ) as env:
        d = env.double
        user = d.user("pia")
        mark = len(d.requests)
        for chatter in ("Merci !", "ok", "lol 😄", "bonjour à tous"):
            await d.send_message(user, chatter, channel_id=d.ask_channel_id)
        await d.send_message(user, "roquettes Balad", channel_id=d.ask_channel_id)  # short, but found
        answer = await d.wait_for(is_reply, after=mark)
        assert "Au moins sept" in plain(answer)
        await mention(d, user, "merci")  # asked of the bot by name: it says it found nothing
        await d.wait_for(lambda r: is_reply(r) and r is not answer, after=mark)
        await asyncio.sleep(0.2)
        replies = d.sent(mark)
        assert len(replies) == 2 and "Je n'ai pas trouvé" in description(replies[1])
        assert env.bot.feedback.summary().answers == 2


async def test_a_mention_where_the_bot_may_not_write_is_not_answered_nor_recorded(env, caplog):
    caplog.set_level("WARNING")
    d = env.double
    mark = len(d.requests)
    for _ in range(2):
        await mention(d, d.user("rex"), BALAD, channel_id=d.read_only_id)
    await mention(d, d.user("rex"), BALAD)  # a marker we wait for
    await d.wait_for(is_reply, after=mark)
    await asyncio.sleep(0.2)
    assert [r.path for r in d.sent(mark)] == [f"/api/v10/channels/{d.general_id}/messages"]
    assert not [r for r in d.requests[mark:] if r.path.endswith("/typing") and str(d.read_only_id) in r.path]
    assert env.bot.feedback.summary().answers == 1
    assert caplog.text.count("missing Send Messages") == 1  # once per channel, not per message


async def test_article_with_everyone_and_markdown_gives_no_ping_and_no_broken_formatting(env):
    write_article(
        env.corpus_dir,
        "piege.md",
        "Le maire a crié @everyone et @here à <@123456789012345678> devant les **journalistes "
        "de [Kirkouk](http://evil.example) ` ``` _tous_ ~~présents~~ || spoiler.",
        title="Le *maire* de Kirkouk",
        source="Test",
    )
    d = env.double
    admin = d.member(d.user("admin"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "reload", member=admin)
    await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
    mark = len(d.requests)
    await mention(d, d.user("max"), "Qu'a crié le maire de Kirkouk devant les journalistes ?")
    reply = await d.wait_for(is_reply, after=mark)
    text = description(reply)
    assert_no_pings(reply)
    assert "@\u200beveryone" in text and "@\u200bhere" in text
    assert "\\<@123456789012345678\\>" in text
    assert "\\[" in text and "\\](http://evil.example)" in text and "](http" not in text.replace("\\]", "")
    assert "\\*\\*journalistes" in text or "\\*\\***journalistes" in text
    assert "```" not in text and "\\|\\|" in text and "\\~\\~" in text and "\\_tous\\_" in text


# -- slash commands ------------------------------------------------------------------------


async def test_slash_ask_answers_through_the_interaction_callback(env):
    d = env.double
    mark = len(d.requests)
    await d.slash(d.user("nina"), "ask", {"question": BALAD, "count": 2})
    rec = await d.wait_for(is_callback, after=mark)
    assert rec.json["type"] == 4
    assert rec.json["data"]["flags"] & 64  # private unless public:True
    text = description(rec)
    assert "Au moins sept" in text and "[3]" not in text
    assert_no_pings(rec)
    mark = len(d.requests)
    await d.slash(d.user("nina"), "ask", {"question": BALAD, "public": True})
    rec = await d.wait_for(is_callback, after=mark)
    assert not (rec.json["data"].get("flags") or 0) & 64


async def test_slash_search_lists_scored_matches(env):
    d = env.double
    mark = len(d.requests)
    await d.slash(d.user("otto"), "search", {"query": "roquettes"})
    rec = await d.wait_for(is_callback, after=mark)
    text = description(rec)
    lines = [line for line in text.splitlines() if line.startswith("`")]
    assert len(lines) >= 3
    scores = [float(line.split("`")[1]) for line in lines]
    assert scores == sorted(scores, reverse=True)
    assert rec.json["data"]["embeds"][0]["title"] == "Recherche : roquettes"  # the member's Discord is French


async def test_search_article_and_errors_speak_the_members_discord_language(env):
    d = env.double
    said: dict[str, list[str]] = {}
    for locale in ("fr", "en-US"):
        texts = said.setdefault(locale, [])
        for name, options in (
            ("search", {"query": "zzzqqq"}),
            ("article", {"name": "Un article qui n'existe pas"}),
            ("article", {"name": "sept-roquettes-balad"}),
        ):
            mark = len(d.requests)
            await d.slash(d.user("ode"), name, options, locale=locale)
            rec = await d.wait_for(is_callback, after=mark)
            data = rec.json["data"]
            embed = (data.get("embeds") or [{}])[0]
            fields = " ".join(f["name"] for f in embed.get("fields") or [])
            texts.append(
                " ".join([data.get("content") or "", embed.get("title") or "", description(rec), fields])
            )
    assert "Aucune phrase ne correspond" in said["fr"][0] and "No sentence matches" in said["en-US"][0]
    assert "Aucun article ne s'appelle" in said["fr"][1] and "No article is called" in said["en-US"][1]
    assert "Publié le" in said["fr"][2] and "Published" in said["en-US"][2]


async def test_article_autocomplete_and_card(env):
    d = env.double
    command = d.command("article")
    mark = len(d.requests)
    await d.interact(
        d.user("pia"),
        4,
        {
            "id": command["id"],
            "name": "article",
            "type": 1,
            "options": [{"name": "name", "type": 3, "value": "roquetes", "focused": True}],
        },
    )
    rec = await d.wait_for(is_callback, after=mark)
    assert rec.json["type"] == 8
    choices = rec.json["data"]["choices"]
    assert choices[0] == {
        "name": "Sept roquettes frappent des positions américaines en Irak",
        "value": "sept-roquettes-balad",
    }
    mark = len(d.requests)
    await d.slash(d.user("pia"), "article", {"name": "sept-roquettes-balad"})
    rec = await d.wait_for(is_callback, after=mark)
    embed = rec.json["data"]["embeds"][0]
    assert embed["title"] == "Sept roquettes frappent des positions américaines en Irak"
    assert "milices pro-iraniennes" in embed["description"]


async def test_find_sources_on_a_message(env):
    d = env.double
    claim = await d.send_message(
        d.user("quinn"), "Il paraît que dix roquettes sont tombées sur al-Assad le 3 mars"
    )
    command = d.command("Find sources")
    mark = len(d.requests)
    await d.interact(
        d.user("rita"),
        2,
        {
            "id": command["id"],
            "name": "Find sources",
            "type": 3,
            "target_id": claim["id"],
            "resolved": {"messages": {claim["id"]: claim}},
        },
    )
    rec = await d.wait_for(is_callback, after=mark)
    assert "10 roquettes" in plain(rec) and "al-Assad" in plain(rec)
    assert rec.json["data"]["flags"] & 64


async def test_help_is_private_and_in_the_members_language(env):
    d = env.double
    for locale, said in (("fr", "Posez vos questions"), ("en-US", "Ask in French or English")):
        mark = len(d.requests)
        await d.slash(d.user("sam"), "help", locale=locale)
        rec = await d.wait_for(is_callback, after=mark)
        assert rec.json["data"]["flags"] & 64 and "/ask" in description(rec) and said in description(rec)
        fields = rec.json["data"]["embeds"][0]["fields"]
        # this server's ask-channels (a forum is one too), so members know where to ask
        assert fields[0]["value"] == f"<#{d.ask_channel_id}> <#{d.forum_id}>"


# -- feedback ------------------------------------------------------------------------------


async def test_feedback_vote_is_recorded_and_can_be_changed(env):
    d = env.double
    user = d.user("tom")
    mark = len(d.requests)
    await mention(d, user, BALAD)
    reply = await d.wait_for(is_reply, after=mark)
    buttons = reply.json["components"][0]["components"]
    helpful, unhelpful = (b["custom_id"] for b in buttons)
    answer_id = helpful.split(":")[2]
    bot_message = d.messages[max(d.messages)]
    # The acknowledgement speaks the language of the voter's Discord client.
    for custom_id, expected, locale, said in (
        (helpful, (1, 0), "fr", "Noté comme utile"),
        (unhelpful, (0, 1), "en-US", "Recorded as not helpful"),
    ):
        mark = len(d.requests)
        await d.interact(
            user, 3, {"custom_id": custom_id, "component_type": 2}, message=bot_message, locale=locale
        )
        rec = await d.wait_for(is_callback, after=mark)
        assert said in rec.json["data"]["content"] and rec.json["data"]["flags"] & 64
        assert env.bot.feedback.votes(answer_id) == expected
    summary = env.bot.feedback.summary()
    assert summary.helpful == 0 and summary.not_helpful == 1


async def test_feedback_shows_a_server_its_own_questions_and_the_operator_everything(corpus_dir, tmp_path):
    async with running_bot(corpus_dir, tmp_path / "db.sqlite3") as env:
        d = env.double
        operator = d.user("ops")
        env.settings.admin_user_ids.append(int(operator["id"]))
        mark = len(d.requests)
        await mention(d, d.user("ann"), "Quelle est la capitale de l'Australie ?")
        await d.send_message(
            d.user("ben"), "Quel temps fera-t-il demain ?", channel_id=d.dm_channel_id, guild=False
        )
        for _ in range(2):
            await d.wait_for(is_reply, after=mark)
            mark = len(d.requests)
        env.bot.feedback.record_answer("c" * 12, "Question d'un autre serveur ?", False, "v1", 42)

        def unanswered(rec: Recorded) -> str:
            embed = rec.json["data"]["embeds"][0]
            return next(f["value"] for f in embed["fields"] if f["name"] == "Recent unanswered questions")

        admin = d.member(d.user("adi"), roles=[d.admin_role_id])
        await d.slash(admin["user"], "feedback", member=admin)
        here = unanswered(await d.wait_for(is_callback, after=mark))
        assert "Australie" in here and "temps" not in here and "autre serveur" not in here
        mark = len(d.requests)
        await d.slash(operator, "feedback", guild=False)
        everywhere = unanswered(await d.wait_for(is_callback, after=mark))
        assert all(q in everywhere for q in ("Australie", "temps", "autre serveur"))
        mark = len(d.requests)
        await d.slash(d.user("ben"), "feedback", guild=False)  # a member in a DM
        refused = await d.wait_for(is_callback, after=mark)
        assert "Only the bot's admins" in refused.json["data"]["content"]


# -- admin -----------------------------------------------------------------------------------


async def test_reload_is_refused_for_a_member(env):
    d = env.double
    write_article(
        env.corpus_dir, "nouveau.md", "Le port de Bassora a rouvert mardi.", title="Bassora", source="T"
    )
    mark = len(d.requests)
    await d.slash(d.user("uma"), "reload")
    rec = await d.wait_for(is_callback, after=mark)
    assert "Only the bot's admins" in rec.json["data"]["content"] and rec.json["data"]["flags"] & 64
    assert str(env.corpus_dir) not in rec.json["data"]["content"]
    assert len(env.bot.service.engine.index.articles) == 1


async def test_reload_by_an_admin_serves_a_new_article(env):
    d = env.double
    write_article(
        env.corpus_dir,
        "bassora.md",
        "Le port de Bassora a rouvert mardi après trois jours de grève.",
        title="Le port de Bassora rouvre",
        source="Test",
    )
    admin = d.member(d.user("vic"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "reload", member=admin)
    followup = await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
    text = description(followup)
    assert "Corpus reloaded" in followup.json["embeds"][0]["title"]
    assert "Added: `bassora`" in text and "2" in text
    mark = len(d.requests)
    await mention(d, d.user("wes"), "Quand le port de Bassora a-t-il rouvert ?")
    reply = await d.wait_for(is_reply, after=mark)
    assert "rouvert mardi" in plain(reply)


async def test_manage_server_permission_also_allows_reload(env):
    d = env.double
    owner = d.member(d.user("xena"), admin=True)
    mark = len(d.requests)
    await d.slash(owner["user"], "reload", member=owner)
    followup = await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
    assert "nothing changed" in followup.json["embeds"][0]["title"]


async def test_manage_server_elsewhere_manages_that_server_but_not_the_shared_articles(corpus_dir, tmp_path):
    """The articles are shared by every server the bot is in: another server's owner may choose
    its ask-channels and read its feedback, not reload, add or remove articles."""
    home = 123456789012345678  # DEPECHE_GUILD_IDS names another server than the double's
    async with running_bot(corpus_dir, tmp_path / "db.sqlite3", guild_ids=[home]) as env:
        d = env.double
        owner = d.member(d.user("yara"), admin=True)
        said = {}
        for name, options, subcommand in (
            ("reload", {}, None),
            ("corpus", {"name": "sept-roquettes-balad"}, "remove"),
            ("feedback", {}, None),
            ("ask-channels", {"channel": d.channel(d.general_id)}, "add"),
        ):
            mark = len(d.requests)
            await d.slash(owner["user"], name, options, subcommand=subcommand, member=owner)
            rec = await d.wait_for(
                lambda r: is_callback(r) or (r.method == "POST" and "/webhooks/" in r.path), after=mark
            )
            said[subcommand or name] = description(rec) + str(rec.json)
        assert "shared with the bot's other servers" in said["reload"]
        assert "shared with the bot's other servers" in said["remove"]
        assert (corpus_dir / "sept-roquettes-balad.md").exists()
        assert "Feedback" in said["feedback"] and "is now an ask-channel" in said["add"]
        admin = d.member(d.user("zed"), roles=[d.admin_role_id])  # the operator's admin role
        mark = len(d.requests)
        await d.slash(admin["user"], "reload", member=admin)
        followup = await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
        assert "Corpus reloaded" in followup.json["embeds"][0]["title"]


async def test_reload_with_a_broken_article_keeps_serving_and_reports_the_file(env):
    d = env.double
    (env.corpus_dir / "casse.md").write_text("---\ntitle: [oops\n---\n\nTexte.\n", encoding="utf-8")
    (env.corpus_dir / "sept-roquettes-balad.md").unlink()  # the only good article is gone too
    admin = d.member(d.user("yan"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "reload", member=admin)
    followup = await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark)
    assert "previous index keeps serving" in followup.json["embeds"][0]["title"]
    assert "casse.md" in description(followup) and "invalid front matter" in description(followup)
    mark = len(d.requests)
    await mention(d, d.user("zoe"), BALAD)
    assert "Au moins sept" in description(await d.wait_for(is_reply, after=mark))


async def test_corpus_command_shows_the_state(env):
    d = env.double
    admin = d.member(d.user("abe"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "corpus", member=admin, subcommand="status")
    rec = await d.wait_for(is_callback, after=mark)
    text = description(rec)
    assert "1** articles" in text and env.bot.service.engine.version in text
    assert "Search by meaning (embeddings): off" in text


async def test_corpus_status_shows_how_far_the_embeddings_have_come(corpus_dir, tmp_path):
    service = QAService(corpus_dir, cache_dir=tmp_path / "cache", embeddings=True)
    async with running_bot(corpus_dir, tmp_path / "db.sqlite3", service=service) as env:
        d = env.double
        assert await asyncio.to_thread(service.embedding_done.wait, 120)
        admin = d.member(d.user("abe"), roles=[d.admin_role_id])
        mark = len(d.requests)
        await d.slash(admin["user"], "corpus", member=admin, subcommand="status")
        text = description(await d.wait_for(is_callback, after=mark))
        size = service.engine.index.size
        assert f"Search by meaning (embeddings): {size} of {size} sentences" in text


async def test_twenty_questions_in_flight_during_a_reload_are_all_answered(env):
    d = env.double
    for n in range(30):
        write_article(
            env.corpus_dir,
            f"depeche-{n}.md",
            f"Le convoi numéro {n} est arrivé à Mossoul. Il transportait des vivres.",
            title=f"Convoi {n}",
            source="Test",
        )
    admin = d.member(d.user("ben"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "reload", member=admin)
    users = [d.user(f"u{n}") for n in range(20)]
    questions = await asyncio.gather(*(mention(d, u, BALAD) for u in users))
    await d.wait_for(lambda r: r.method == "POST" and "/webhooks/" in r.path, after=mark, timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(d.sent(mark)) < 20:
        await asyncio.sleep(0.05)
    replies = d.sent(mark)
    assert len(replies) == 20
    assert {str(r.json["message_reference"]["message_id"]) for r in replies} == {q["id"] for q in questions}
    assert all("Au moins sept" in description(r) for r in replies)


async def test_channel_without_embed_permission_gets_plain_text_within_limits(env):
    d = env.double
    mark = len(d.requests)
    await mention(d, d.user("cid"), BALAD, channel_id=d.no_embeds_id)
    reply = await d.wait_for(is_reply, after=mark)
    assert not reply.json.get("embeds")
    content = reply.json["content"]
    assert len(content) <= 2000
    assert "Au moins sept" in content.replace("**", "") and "§ 1" in content
    assert_no_pings(reply)


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
