"""`run_bot.py feeds …` from the shell: preview and follow, list, poll once, stop following."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.cli import main
from tests.feeds.feed_site import FeedSite, Story, serve_in_thread


@pytest.fixture(autouse=True)
def _shell(monkeypatch, tmp_path):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("DEPECHE_EMBEDDINGS", "false")
    monkeypatch.setenv("DEPECHE_FETCH_ALLOW_PRIVATE", "true")  # the feed site is on 127.0.0.1
    monkeypatch.setenv("DEPECHE_DATABASE_PATH", str(tmp_path / "db.sqlite3"))
    monkeypatch.setenv("DEPECHE_CACHE_DIR", "")
    monkeypatch.chdir(tmp_path)


def lighthouse() -> Story:
    return Story(
        "phare",
        "Le phare de Penmarc'h rallumé",
        [
            "Le phare de Penmarc'h a été rallumé samedi soir après dix-huit mois de restauration.",
            "La lanterne porte désormais à trente-sept kilomètres, selon le service des phares et balises.",
        ],
        published=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        guid="phare-1",
    )


def test_follow_a_feed_poll_it_and_ask_about_its_article(corpus_dir, capsys):
    with serve_in_thread(FeedSite(stories=[lighthouse()])) as site:
        url = f"{site.base}/rss.xml"
        assert main(["feeds", "add", url, "--corpus", str(corpus_dir)]) == 1  # no terminal: needs --yes
        assert main(["feeds", "add", url, "--interval", "2", "--yes"]) == 2
        assert "5 to 1440 minutes" in capsys.readouterr().err
        assert main(["feeds", "add", url, "--yes", "--corpus", str(corpus_dir)]) == 0
        out = capsys.readouterr().out
        assert "Feed:      Le Courrier du Port" in out and "Le phare de Penmarc'h rallumé" in out
        assert main(["feeds", "add", url, "--yes", "--corpus", str(corpus_dir)]) == 1
        assert "followed already" in capsys.readouterr().err
        assert main(["feeds", "poll", "--once", "--corpus", str(corpus_dir)]) == 0
        assert "Le Courrier du Port: 1 new" in capsys.readouterr().out
    assert (
        main(["ask", "--json", "--corpus", str(corpus_dir), "À quelle distance porte la lanterne du phare ?"])
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert answer["answered"] and "trente-sept kilomètres" in answer["results"][0]["text"]
    assert main(["feeds", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["articles"] == 1 and listed["error"] is None
    assert main(["feeds", "remove", "Le Courrier du Port", "--yes"]) == 0
    assert "its 1 articles stay" in capsys.readouterr().out
    assert main(["feeds", "list"]) == 0
    assert "No feeds followed" in capsys.readouterr().out


def test_a_page_that_is_not_a_feed_is_refused_with_its_reason(capsys):
    site = FeedSite()
    site.raw["/index.html"] = (
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml">'
        b"</head><body>Accueil</body></html>",
        "text/html",
    )
    with serve_in_thread(site):
        assert main(["feeds", "add", f"{site.base}/index.html", "--yes"]) == 1
    assert "web page, not a feed — its feed may be /rss.xml" in capsys.readouterr().err
