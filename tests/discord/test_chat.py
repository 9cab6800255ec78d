"""Questions in chat (mentions, ask-channels, DMs, forum posts, follow-ups): what members see."""

from __future__ import annotations

import pytest

from tests.conftest import write_article
from tests.discord.fixtures import (
    BALAD,
    assert_no_pings,
    description,
    eventually,
    is_reply,
    mention,
    plain,
    quiet_since,
)

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
    assert await quiet_since(d, mark) == []


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


async def test_cooldown_tells_when_to_retry(rate_limited_env):
    env = rate_limited_env
    d = env.double
    user = d.user("kim")
    mark = len(d.requests)
    for _ in range(4):
        await mention(d, user, BALAD)
    await d.wait_for(lambda r: is_reply(r) and "réessayez dans" in (r.json.get("content") or ""), after=mark)
    await mention(d, d.user("lea"), BALAD)  # someone else is not slowed down
    await eventually(lambda: len([r for r in d.sent(mark) if r.json.get("embeds")]) >= 3)
    replies = await quiet_since(d, mark)
    notices = [r for r in replies if "réessayez dans" in (r.json.get("content") or "")]
    answers = [r for r in replies if r.json.get("embeds")]
    assert len(notices) == 1  # said once, not once per message
    assert len(answers) == 3
    assert "60 s" in notices[0].json["content"] or "59 s" in notices[0].json["content"]


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


async def test_small_talk_in_an_ask_channel_gets_no_reply_and_does_not_count(rate_limited_env):
    env = rate_limited_env
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
    replies = await quiet_since(d, mark)
    assert len(replies) == 2 and "Je n'ai pas trouvé" in description(replies[1])
    assert env.bot.feedback.summary().answers == 2


async def test_a_mention_where_the_bot_may_not_write_is_not_answered_nor_recorded(env, caplog):
    caplog.set_level("WARNING")
    d = env.double
    mark = len(d.requests)
    for _ in range(2):
        await mention(d, d.user("rex"), BALAD, channel_id=d.read_only_id)
    assert await quiet_since(d, mark) == []
    assert not [r for r in d.requests[mark:] if r.path.endswith("/typing") and str(d.read_only_id) in r.path]
    assert env.bot.feedback.summary().answers == 0
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


async def test_a_paraphrased_news_question_gets_the_answering_sentence_before_the_topic_sentence(
    corpus_dir, tmp_path, embedded_service
):
    """The paragraph opens with the event ("Le 15 février, un autre tir de roquette a touché la
    base américaine d'Erbil…"); the count is in the next sentence, which does not name Erbil
    ("L'attaque a tué un entrepreneur civil et en a blessé au moins huit autres…"). Asked as a
    member asks, with the bot's default embeddings, the answering sentence comes first."""
    from tests.discord.fixtures import running_bot

    async with running_bot(corpus_dir, tmp_path / "db.sqlite3", service=embedded_service) as env:
        d = env.double
        mark = len(d.requests)
        await mention(
            d, d.user("nadia"), "Combien de personnes le tir de roquette contre Erbil a-t-il blessées ?"
        )
        reply = await d.wait_for(is_reply, after=mark)
        first_excerpt = description(reply).split("\n\n")[0]
        assert "au moins huit autres" in first_excerpt
        assert "Le 15 février" not in first_excerpt
        assert_no_pings(reply)
