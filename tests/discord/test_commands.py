"""Slash commands, the message menu and the vote buttons: what members see."""

from __future__ import annotations

from tests.discord.double import Recorded
from tests.discord.fixtures import (
    BALAD,
    assert_no_pings,
    description,
    is_callback,
    is_reply,
    mention,
    plain,
    running_bot,
)

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
        # Both replies, in whichever order they come (waiting for one, then "one more after it",
        # misses the second when both land before the first wait wakes).
        await d.wait_for(lambda rec: is_reply(rec) and len(d.sent(mark)) >= 2, after=mark)
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
