"""Admins grow the corpus from Discord: a link or a file, a preview, Confirm — then members ask."""

from __future__ import annotations

import os
import threading

import pytest

from tests.articles.news_site import news_site
from tests.discord.fixtures import description, is_callback, is_reply, mention, running_bot

MOSSOUL = (
    "Réouverture du musée de Mossoul\n\n"
    "Le musée de Mossoul a rouvert ses portes samedi après huit ans de fermeture et de travaux.\n\n"
    "Plus de trois cents objets restaurés y sont exposés, dont des statues assyriennes."
).encode()
BASSORA_QUESTION = "Combien de navires attendaient au large de Bassora ?"


def is_followup(rec) -> bool:
    return rec.method == "POST" and "/webhooks/" in rec.path


def is_edit(rec) -> bool:
    return rec.method == "PATCH" and rec.path.endswith("/messages/@original")


def corpus_files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
async def env(corpus_dir, tmp_path):
    async with running_bot(
        corpus_dir,
        tmp_path / "db.sqlite3",
        fetch_allow_private=True,
        fetch_timeout_seconds=0.5,
        fetch_max_bytes=2_000_000,
    ) as under_test:
        yield under_test


@pytest.fixture
async def site():
    async with news_site() as base:
        yield base


async def preview(env, admin, **options):
    d = env.double
    mark = len(d.requests)
    await d.slash(admin["user"], "corpus", options, subcommand="add", member=admin)
    return await d.wait_for(is_followup, after=mark)


async def press(env, user, member, message_id: str, label: str):
    d = env.double
    message = d.messages[int(message_id)]
    button = next(b for row in message["components"] for b in row["components"] if b["label"] == label)
    mark = len(d.requests)
    await d.interact(
        user, 3, {"custom_id": button["custom_id"], "component_type": 2}, member=member, message=message
    )
    return mark


async def upload_and_confirm(env, admin) -> tuple:
    """Upload the Mossoul article, press Confirm: the preview, then what it was edited into."""
    d = env.double
    shown = await preview(env, admin, file=d.attachment("mossoul.txt", MOSSOUL))
    mark = await press(env, admin["user"], admin, d.messages[max(d.messages)]["id"], "Confirm")
    return shown, await d.wait_for(is_edit, after=mark)


async def ask_about_mossoul(env) -> str:
    """A member's question about the Mossoul article; the reply's text."""
    d = env.double
    mark = len(d.requests)
    await mention(d, d.user("mo"), "Combien d'objets restaurés sont exposés au musée de Mossoul ?")
    return description(await d.wait_for(is_reply, after=mark)).replace("**", "")


async def test_add_by_link_preview_confirm_then_members_can_ask(env, site):
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    mark = len(d.requests)
    await mention(d, d.user("mo"), BASSORA_QUESTION)
    assert "Je n'ai pas trouvé" in description(await d.wait_for(is_reply, after=mark))

    shown = await preview(env, admin, url=f"{site}/article/bassora")
    embed = shown.json["embeds"][0]
    assert embed["title"] == "Le port de Bassora rouvre après trois jours de grève"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert (
        fields["Published"] == "2024-03-12" and fields["Language"] == "fr" and int(fields["Sentences"]) >= 4
    )
    assert embed["description"].startswith("Le port de Bassora, principal débouché")
    assert shown.json["flags"] & 64  # only the admin sees the preview
    message_id = d.messages[max(d.messages)]["id"]

    mark = await press(env, admin["user"], admin, message_id, "Confirm")
    edit = await d.wait_for(is_edit, after=mark)
    assert "Added “Le port de Bassora" in edit.json["content"]
    written = env.corpus_dir / "le-port-de-bassora-rouvre-apres-trois-jours-de-greve.md"
    text = written.read_text(encoding="utf-8")
    for key in (
        "title:",
        "source: Le Courrier du Golfe",
        "url: http",
        "published:",
        "retrieved:",
        "language: fr",
        f"added_by: discord:{admin['user']['id']}",
    ):
        assert key in text

    mark = len(d.requests)
    await mention(d, d.user("mo"), BASSORA_QUESTION)
    assert "140 navires" in description(await d.wait_for(is_reply, after=mark)).replace("**", "")

    again = await preview(env, admin, url=f"{site}/article/bassora")
    assert "Already in the corpus as “Le port de Bassora" in again.json["content"]


async def test_cancel_adds_nothing(env, site):
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    before = corpus_files(env.corpus_dir)
    await preview(env, admin, url=f"{site}/article/bassora")
    mark = await press(env, admin["user"], admin, d.messages[max(d.messages)]["id"], "Cancel")
    rec = await d.wait_for(is_callback, after=mark)
    assert rec.json["type"] == 7 and "Cancelled" in rec.json["data"]["content"]
    assert corpus_files(env.corpus_dir) == before


async def test_add_is_refused_for_a_member(env, site):
    d = env.double
    before = corpus_files(env.corpus_dir)
    mark = len(d.requests)
    await d.slash(d.user("nobody"), "corpus", {"url": f"{site}/article/bassora"}, subcommand="add")
    rec = await d.wait_for(is_callback, after=mark)
    assert "Only the bot's admins" in rec.json["data"]["content"]
    assert corpus_files(env.corpus_dir) == before


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/huge", "too large"),
        ("/report.pdf", "not a web page (application/pdf)"),
        ("/loop", "too many redirects"),
        ("/hang", "did not answer within 0.5 s"),
    ],
)
async def test_hostile_links_are_refused_and_leave_the_corpus_untouched(env, site, path, message):
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    before = corpus_files(env.corpus_dir)
    rec = await preview(env, admin, url=site + path)
    assert message in rec.json["content"] and rec.json["flags"] & 64
    assert corpus_files(env.corpus_dir) == before


async def test_private_address_is_refused_unless_allowed(corpus_dir, tmp_path, site):
    async with running_bot(corpus_dir, tmp_path / "db.sqlite3") as env:
        d = env.double
        admin = d.member(d.user("ed"), roles=[d.admin_role_id])
        before = corpus_files(corpus_dir)
        rec = await preview(env, admin, url=f"{site}/article/bassora")
        assert "private or local address" in rec.json["content"]
        assert corpus_files(corpus_dir) == before


async def test_add_by_file_upload(env):
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    shown, _ = await upload_and_confirm(env, admin)
    assert shown.json["embeds"][0]["title"] == "Réouverture du musée de Mossoul"
    assert "trois cents objets" in await ask_about_mossoul(env)


async def test_remove_makes_the_article_unanswerable_and_moving_it_back_restores_it(env):
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    question = "Combien de roquettes ont frappé la base de Balad ?"
    mark = len(d.requests)
    await d.slash(
        admin["user"], "corpus", {"name": "sept-roquettes-balad"}, subcommand="remove", member=admin
    )
    done = await d.wait_for(is_followup, after=mark)
    assert "Removed “Sept roquettes" in done.json["content"]
    removed = env.corpus_dir / ".removed" / "sept-roquettes-balad.md"
    assert removed.is_file() and not (env.corpus_dir / "sept-roquettes-balad.md").exists()
    mark = len(d.requests)
    await mention(d, d.user("mo"), question)
    reply = await d.wait_for(lambda r: is_reply(r) or is_followup(r), after=mark)
    assert "Au moins sept" not in description(reply).replace("**", "")

    os.rename(removed, env.corpus_dir / "sept-roquettes-balad.md")
    mark = len(d.requests)
    await d.slash(admin["user"], "reload", member=admin)
    await d.wait_for(is_followup, after=mark)
    mark = len(d.requests)
    await mention(d, d.user("mo"), question)
    assert "Au moins sept" in description(await d.wait_for(is_reply, after=mark)).replace("**", "")

    mark = len(d.requests)
    await d.slash(admin["user"], "corpus", subcommand="audit", member=admin)
    audit = description(await d.wait_for(is_callback, after=mark))
    assert "**remove** `sept-roquettes-balad`" in audit


async def test_a_bot_whose_corpus_failed_to_load_says_so_and_is_repaired_from_discord(tmp_path):
    """Every article broken at start-up: members are told the articles are unavailable (not
    "still loading", not a generic error), admins see why, and an upload brings answers back."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "casse.md").write_text("---\ntitle: [oops\n---\n\nTexte.\n", encoding="utf-8")
    async with running_bot(folder, tmp_path / "db.sqlite3") as env:
        d = env.double
        question = "Combien d'objets restaurés sont exposés au musée de Mossoul ?"
        mark = len(d.requests)
        await mention(d, d.user("ada"), question)
        assert "n'a pas pu être chargé" in description(await d.wait_for(is_reply, after=mark))
        for name, options, locale, said in (
            ("ask", {"question": question}, "fr", "n'a pas pu être chargé"),
            ("search", {"query": "musée"}, "en-GB", "could not be loaded"),
        ):
            mark = len(d.requests)
            await d.slash(d.user("ada"), name, options, locale=locale)
            assert said in description(await d.wait_for(is_callback, after=mark)), name
        mark = len(d.requests)
        await d.slash(d.user("ada"), "help", locale="en-US")
        assert (
            "No corpus is loaded"
            in (await d.wait_for(is_callback, after=mark)).json["data"]["embeds"][0]["footer"]["text"]
        )

        admin = d.member(d.user("abe"), roles=[d.admin_role_id])
        mark = len(d.requests)
        await d.slash(admin["user"], "corpus", member=admin, subcommand="status")
        status = description(await d.wait_for(is_callback, after=mark))
        assert "No corpus is loaded" in status and "no valid article" in status

        _, outcome = await upload_and_confirm(env, admin)
        assert "members can ask about it" in outcome.json["content"]
        assert "trois cents objets" in await ask_about_mossoul(env)


async def test_adding_works_while_the_audit_database_fails(env):
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    env.bot.database.close()  # the audit trail cannot be written
    _, outcome = await upload_and_confirm(env, admin)
    assert "members can ask about it" in outcome.json["content"]
    assert "trois cents objets" in await ask_about_mossoul(env)


async def test_a_corpus_folder_gone_at_confirm_time_is_reported_without_its_path(env):
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    await preview(env, admin, file=d.attachment("mossoul.txt", MOSSOUL))
    env.corpus_dir.rename(env.corpus_dir.with_name("elsewhere"))  # unmounted, moved...
    mark = await press(env, admin["user"], admin, d.messages[max(d.messages)]["id"], "Confirm")
    said = (await d.wait_for(is_edit, after=mark)).json["content"]
    assert "Could not save the article" in said and "nothing was added" in said
    assert str(env.corpus_dir.parent) not in said
    mark = len(d.requests)
    await mention(d, d.user("mo"), "Combien de roquettes ont frappé la base de Balad ?")  # still serving
    assert "Au moins sept" in description(await d.wait_for(is_reply, after=mark)).replace("**", "")


async def test_an_unanswered_preview_expires_and_says_so(env, monkeypatch):
    from bot.discord.admin import ConfirmAdd

    monkeypatch.setattr(ConfirmAdd, "expires_after", 0.2)
    d = env.double
    admin = d.member(d.user("ed"), roles=[d.admin_role_id])
    before = corpus_files(env.corpus_dir)
    mark = len(d.requests)
    await preview(env, admin, file=d.attachment("mossoul.txt", MOSSOUL))
    expired = await d.wait_for(is_edit, after=mark)
    assert "expired: nothing was added" in expired.json["content"] and not expired.json["components"]
    assert corpus_files(env.corpus_dir) == before


async def test_members_are_answered_while_uploads_are_still_being_parsed(env, monkeypatch):
    # Six uploads whose parsing does not finish (as hostile pages that take minutes): with the
    # parses in the answering threads, a member's question waited behind them.
    from bot.discord import drafts

    release = threading.Event()
    real = drafts.draft_from_upload

    def stuck(filename, raw):
        release.wait(30)
        return real(filename, raw)

    monkeypatch.setattr(drafts, "draft_from_upload", stuck)
    d = env.double
    admin = d.member(d.user("ana"), roles=[d.admin_role_id])
    try:
        for n in range(6):
            await d.slash(
                admin["user"],
                "corpus",
                {"file": d.attachment(f"lent-{n}.txt", MOSSOUL)},
                subcommand="add",
                member=admin,
            )
        mark = len(d.requests)
        await mention(d, d.user("bea"), "Combien de roquettes ont frappé la base de Balad ?")
        answer = await d.wait_for(is_reply, after=mark)
        assert "Au moins sept roquettes" in description(answer).replace("**", "")
    finally:
        release.set()
