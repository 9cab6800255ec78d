"""Reading feed documents: the three formats, hostile and sloppy documents, links and dates."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.feeds import FeedError, canonical_link, clean_link, parse_feed
from bot.feeds.parse import MAX_ITEMS, paragraphs_of_html
from tests.feeds.feed_site import FeedSite, Story

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def site_with_stories() -> FeedSite:
    site = FeedSite(base="https://port.example")
    site.publish(
        Story(
            "quai",
            "Le quai Est rouvre",
            ["Le quai Est a rouvert lundi après six mois de travaux.", "Les ferries reprennent mardi."],
            published=dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC),
            summary="Après six mois de travaux, le quai rouvre.",
            guid="story-1",
        )
    )
    site.publish(
        Story(
            "greve",
            "Grève des grutiers",
            ["Les grutiers ont cessé le travail jeudi.", "Le port est à l'arrêt."],
            published=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
            summary="Le port est à l'arrêt.",
            guid="story-2",
        )
    )
    return site


@pytest.mark.parametrize("kind", ["rss", "atom", "rdf"])
def test_the_three_formats_give_the_same_items(kind):
    site = site_with_stories()
    feed = parse_feed(getattr(site, kind)(), now=NOW)
    assert feed.title == "Le Courrier du Port"
    assert [i.title for i in feed.items] == ["Grève des grutiers", "Le quai Est rouvre"]
    assert [i.link for i in feed.items] == [
        "https://port.example/news/greve",
        "https://port.example/news/quai",
    ]
    assert len({i.key for i in feed.items}) == 2


def test_rss_dates_are_utc_and_the_summary_is_plain_text():
    site = site_with_stories()
    site.stories[0].summary = "<p>Le port est <b>à l'arrêt</b>.</p><p>Deuxième paragraphe.</p>"
    item = parse_feed(site.rss(), now=NOW).items[0]
    assert item.published == dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    assert item.summary == "Le port est à l'arrêt. Deuxième paragraphe."
    assert item.key == "id:story-2"


def test_atom_content_is_read_as_paragraphs():
    item = parse_feed(site_with_stories().atom(), now=NOW).items[0]
    assert item.content == ["Les grutiers ont cessé le travail jeudi.", "Le port est à l'arrêt."]


def test_a_date_in_the_future_is_not_trusted_and_said_so():
    site = site_with_stories()
    site.stories[0].published = NOW + dt.timedelta(days=3)
    item = parse_feed(site.rss(), now=NOW).items[0]
    assert item.published is None and item.future_date


def test_items_without_link_title_or_date_are_kept_with_what_they_have():
    doc = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><description>Only a summary here, with enough words.</description></item>"
        b"<item><title>Only a title</title></item>"
        b"<item><link>https://a.example/x</link></item>"
        b"</channel></rss>"
    )
    items = parse_feed(doc, now=NOW).items
    assert [(i.title, i.link, i.published) for i in items] == [
        (None, None, None),
        ("Only a title", None, None),
        (None, "https://a.example/x", None),
    ]
    assert items[0].key.startswith("text:") and items[2].key == "link:https://a.example/x"
    assert len({i.key for i in items}) == 3


def test_duplicate_guids_in_one_document_count_once():
    site = site_with_stories()
    for story in site.stories:
        story.guid = "same"
    items = parse_feed(site.rss(), now=NOW).items
    assert len(items) == 1 and items[0].title == "Grève des grutiers"


def test_malformed_xml_is_read_leniently_when_items_can_be_found():
    doc = b'<rss version="2.0"><channel><title>T & co</title><item><title>A & B</title></item>'
    items = parse_feed(doc, now=NOW).items
    assert [i.title for i in items] == ["A & B"]


@pytest.mark.parametrize("body", [b"\x00\x01garbage", b"{}", b"", b"<<<>>>"])
def test_what_is_not_a_feed_is_refused_clearly(body):
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_feed(body, now=NOW)


def test_a_web_page_is_refused_and_its_announced_feed_suggested():
    page = (
        b'<html><head><link rel="alternate" type="application/rss+xml" href="https://s.example/rss">'
        b"</head><body><p>Hello</p></body></html>"
    )
    with pytest.raises(FeedError, match=r"web page, not a feed — its feed may be https://s.example/rss"):
        parse_feed(page, now=NOW)


def test_a_feed_of_100000_items_is_read_up_to_the_bound():
    items = "".join(f"<item><guid>g{i}</guid><title>t{i}</title></item>" for i in range(100_000))
    doc = f'<rss version="2.0"><channel><title>x</title>{items}</channel></rss>'.encode()
    feed = parse_feed(doc, now=NOW)
    assert feed.truncated and len(feed.items) == MAX_ITEMS
    assert feed.items[0].title == "t0" and feed.items[-1].title == f"t{MAX_ITEMS - 1}"


def test_tracking_parameters_and_fragments_leave_the_link():
    link = "HTTPS://News.Example/a/b?id=7&utm_source=rss&utm_medium=feed&fbclid=x&xtor=RSS-1#top"
    assert clean_link(link) == "https://news.example/a/b?id=7"
    assert clean_link("https://news.example") == "https://news.example/"


def test_the_canonical_link_is_read_from_the_page_and_made_absolute():
    page = b'<html><head><link href="/story/42" rel="canonical"></head></html>'
    assert canonical_link(page, "https://news.example/amp/42?utm_source=x") == "https://news.example/story/42"
    assert canonical_link(b"<html><head></head></html>", "https://news.example/") is None
    assert canonical_link(b'<link rel="canonical" href="javascript:alert(1)">', "https://n.example/") is None


def test_html_fragments_become_paragraphs_and_scripts_do_not_leak():
    text = paragraphs_of_html("<div>Un<br>deux</div><p>Trois &amp; quatre</p><script>x()</script>plain")
    assert text == ["Un deux", "Trois & quatre", "plain"]
    assert paragraphs_of_html("") == []
