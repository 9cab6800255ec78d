"""Feeds from Discord: an admin previews and follows a feed, a new item is brought in and
announced as a forum post, and a member's question in that post is answered from it, dated."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.discord.fixtures import BALAD, description, eventually, is_callback, is_reply, plain, running_bot
from tests.discord.test_articles import is_followup, press
from tests.feeds.feed_site import FeedSite, Story, serve

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def old_story() -> Story:
    return Story(
        "digue",
        "La digue du Sillon consolidée",
        [
            "Les travaux de consolidation de la digue du Sillon se sont achevés vendredi.",
            "Le chantier a coûté quatre millions d'euros, financés par la région et la ville.",
        ],
        published=NOW - dt.timedelta(days=2),
        guid="digue",
    )


def new_story() -> Story:
    return Story(
        "ferry",
        "Un nouveau ferry pour l'île de Batz",
        [
            "La compagnie maritime a mis en service lundi un ferry électrique entre Roscoff et Batz.",
            "Le navire peut transporter deux cent cinquante passagers et traverse en quinze minutes.",
            "Ses batteries sont rechargées au quai de Roscoff pendant l'embarquement.",
        ],
        published=NOW - dt.timedelta(minutes=5),
        summary="Un ferry électrique relie désormais Roscoff à l'île de Batz.",
        guid="ferry",
    )


@pytest.fixture
async def env(corpus_dir, tmp_path):
    async with running_bot(
        corpus_dir, tmp_path / "db.sqlite3", fetch_allow_private=True, fetch_timeout_seconds=2
    ) as under_test:
        yield under_test


def is_forum_post(forum_id: int):
    return lambda r: r.method == "POST" and r.path.endswith(f"/channels/{forum_id}/threads")


async def follow(env, site: FeedSite, admin: dict, **options) -> tuple:
    """/feeds add, then Follow: the preview and what it became."""
    d = env.double
    mark = len(d.requests)
    await d.slash(
        admin["user"], "feeds", {"url": f"{site.base}/rss.xml", **options}, subcommand="add", member=admin
    )
    shown = await d.wait_for(is_followup, after=mark)
    mark = await press(env, admin["user"], admin, d.messages[max(d.messages)]["id"], "Follow")
    done = await d.wait_for(is_callback, after=mark)
    return shown, done


async def test_a_feed_followed_from_discord_announces_in_a_forum_and_members_ask_in_the_post(env):
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    async with serve(FeedSite(stories=[old_story()])) as site:
        shown, done = await follow(env, site, admin, channel=d.channel(d.forum_id), interval=5)
        embed = shown.json["embeds"][0]
        assert (
            embed["title"] == "Le Courrier du Port"
            and "La digue du Sillon consolidée" in embed["description"]
        )
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert fields["Items"] == "1" and fields["Checked every"] == "5 min"
        assert fields["Announced in"] == f"<#{d.forum_id}>"
        assert "Following “Le Courrier du Port”" in done.json["data"]["content"]

        # The first check brings the feed's current items in, without announcing them.
        await eventually(lambda: env.bot.service.engine.index.titles.find("la-digue-du-sillon-consolidee"))
        assert not [r for r in d.requests if is_forum_post(d.forum_id)(r)]

        site.publish(new_story())
        mark = len(d.requests)
        await d.slash(admin["user"], "feeds", {}, subcommand="check", member=admin)
        post = await d.wait_for(is_forum_post(d.forum_id), after=mark)
        report = await d.wait_for(is_followup, after=mark)
    assert "1 new articles" in report.json["content"]
    announced = post.json["message"]
    assert post.json["name"] == "Un nouveau ferry pour l'île de Batz"
    assert announced["allowed_mentions"]["parse"] == []
    card = announced["embeds"][0]
    assert card["url"] == f"{site.base}/news/ferry"
    assert {f["name"]: f["value"] for f in card["fields"]}[
        "Published"
    ] == new_story().published.date().isoformat()

    thread_id = next(
        int(m["id"]) for m in d.messages.values() if m["embeds"] and m["embeds"][0].get("url") == card["url"]
    )
    await eventually(lambda: env.bot.feed_store.announcement(thread_id) is not None)
    mark = len(d.requests)
    await d.send_message(d.user("mo"), "Combien de passagers peut-il transporter ?", channel_id=thread_id)
    answer = await d.wait_for(is_reply, after=mark)
    text = plain(answer)
    assert answer.path.endswith(f"/channels/{thread_id}/messages")
    assert "deux cent cinquante passagers" in text.split("\n")[0]
    assert new_story().published.date().isoformat() in text  # the excerpt's article date
    # /ask in the post: the same, by command.
    mark = len(d.requests)
    member = d.member(d.user("mo"))
    await d.slash(member["user"], "ask", {"question": "Combien de passagers peut-il transporter ?"},
                  member=member, channel_id=thread_id)  # fmt: skip
    asked = await d.wait_for(is_callback, after=mark)
    assert "deux cent cinquante passagers" in description(asked).replace("**", "")
    # A question the article does not answer is answered from the rest of the corpus.
    mark = len(d.requests)
    await d.send_message(d.user("mo"), BALAD, channel_id=thread_id)
    assert "Balad" in plain(await d.wait_for(is_reply, after=mark))


async def test_a_reply_to_an_announcement_in_a_text_channel_is_answered_from_its_article(env):
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    async with serve(FeedSite(stories=[old_story()])) as site:
        await follow(env, site, admin, channel=d.channel(d.general_id))
        await eventually(lambda: env.bot.service.engine.index.titles.find("la-digue-du-sillon-consolidee"))
        site.publish(new_story())
        mark = len(d.requests)
        await d.slash(admin["user"], "feeds", {}, subcommand="check", member=admin)
        card = await d.wait_for(
            lambda r: r.method == "POST" and r.path.endswith(f"/channels/{d.general_id}/messages"), after=mark
        )
    assert card.json["embeds"][0]["title"] == "Un nouveau ferry pour l'île de Batz"
    assert card.json["allowed_mentions"]["parse"] == []
    announcement = max(
        (m for m in d.messages.values() if m["embeds"] and m["channel_id"] == str(d.general_id)),
        key=lambda m: int(m["id"]),
    )
    await eventually(lambda: env.bot.feed_store.announcement(int(announcement["id"])) is not None)
    mark = len(d.requests)
    # In reply, without a mention: the reply to the bot's announcement is the question.
    await d.send_message(d.user("mo"), "Où ses batteries sont-elles rechargées ?", reply_to=announcement)
    assert "quai de Roscoff" in plain(await d.wait_for(is_reply, after=mark))


async def test_only_admins_follow_feeds_and_a_bad_address_is_refused_clearly(env):
    d = env.double
    member = d.member(d.user("mo"))
    mark = len(d.requests)
    await d.slash(
        member["user"], "feeds", {"url": "http://127.0.0.1:9/rss.xml"}, subcommand="add", member=member
    )
    refused = await d.wait_for(is_callback, after=mark)
    assert "Only the bot's admins" in refused.json["data"]["content"]
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await d.slash(admin["user"], "feeds", {"url": "file:///etc/passwd"}, subcommand="add", member=admin)
    said = await d.wait_for(is_followup, after=mark)
    assert "Cannot follow this feed: only http:// and https:// links" in said.json["content"]
    mark = len(d.requests)
    await d.slash(admin["user"], "feeds", {}, subcommand="list", member=admin)
    listed = await d.wait_for(is_callback, after=mark)
    assert "No feeds followed yet" in listed.json["data"]["embeds"][0]["description"]
