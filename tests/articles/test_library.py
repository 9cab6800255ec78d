"""Adding articles: safe downloads, clean extraction, atomic writes, duplicates, recoverable removal."""

from __future__ import annotations

import pytest

from bot.articles import library
from bot.articles.corpus import ArticleError, load_corpus
from bot.articles.extract import draft_from_html, draft_from_upload
from bot.articles.fetch import FetchError, FetchPolicy, fetch_page
from bot.search import find_duplicate
from bot.service import build_engine
from tests.articles.news_site import PAGES, news_site

LOOPBACK_OK = FetchPolicy(allow_private=True, timeout_seconds=1.0)
BOILERPLATE = [
    "Accueil",
    "PUBLICITÉ",
    "À lire aussi",
    "Commentaires",
    "Enfin !",
    "Mentions légales",
    "newsletter",
    "conteneurs empilés",
    "Par Claire Dumas",
]


def bassora_draft():
    return draft_from_html(
        (PAGES / "bassora.html").read_text(encoding="utf-8"), "https://courrier.example/bassora"
    )


def test_extraction_keeps_metadata_and_every_paragraph_and_no_boilerplate():
    draft = bassora_draft()
    assert draft.title == "Le port de Bassora rouvre après trois jours de grève"
    assert draft.published == "2024-03-12" and draft.author == "Claire Dumas"
    assert draft.source == "Le Courrier du Golfe" and draft.language == "fr"
    assert len(draft.paragraphs) == 4
    assert draft.paragraphs[0].startswith("Le port de Bassora, principal débouché maritime")
    assert draft.paragraphs[-1].endswith("jusqu'à minuit.")
    for junk in BOILERPLATE:
        assert junk not in draft.body


def test_prepared_article_round_trips_through_the_loader(tmp_path):
    prepared = library.prepare(bassora_draft(), added_by="discord:42")
    path = library.write_article(tmp_path, prepared)
    assert path.name == "le-port-de-bassora-rouvre-apres-trois-jours-de-greve.md"
    corpus = load_corpus(tmp_path)
    assert corpus.problems == ()
    [article] = corpus.articles
    assert article.title == prepared.article.title and article.url == "https://courrier.example/bassora"
    assert str(article.published) == "2024-03-12"
    text = path.read_text(encoding="utf-8")
    assert "retrieved:" in text and "added_by: discord:42" in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_writing_never_overwrites_an_existing_article(tmp_path):
    prepared = library.prepare(bassora_draft(), added_by=None)
    first = library.write_article(tmp_path, prepared)
    before = first.read_bytes()
    second = library.write_article(tmp_path, prepared)
    assert second != first and second.name.endswith("-2.md") and first.read_bytes() == before


def test_duplicates_by_link_and_by_text_are_found(corpus_dir):
    prepared = library.prepare(bassora_draft(), added_by=None)
    library.write_article(corpus_dir, prepared)
    index = build_engine(load_corpus(corpus_dir)).index
    assert find_duplicate(index, prepared).title == prepared.article.title
    same_link = library.prepare(
        draft_from_html(
            (PAGES / "bassora.html").read_text(encoding="utf-8"), "HTTPS://Courrier.example/bassora/#top"
        ),
        added_by=None,
    )
    assert find_duplicate(index, same_link) is not None
    same_text = library.prepare(
        draft_from_upload("copie.txt", ("Autre titre\n\n" + bassora_draft().body).encode()), added_by=None
    )
    assert find_duplicate(index, same_text) is not None
    one_word_changed = library.prepare(
        draft_from_upload(
            "autre.txt", ("Autre titre\n\n" + bassora_draft().body.replace("port", "quai", 1)).encode()
        ),
        added_by=None,
    )
    assert find_duplicate(index, one_word_changed) is None  # as many sentences, other text


def test_remove_moves_the_file_and_restore_brings_it_back(corpus_dir):
    index = build_engine(load_corpus(corpus_dir)).index
    [meta] = index.articles
    moved = library.remove_article(corpus_dir, meta)
    assert moved.parent.name == ".removed" and not (corpus_dir / meta.path).exists()
    assert load_corpus(corpus_dir).articles == ()
    library.restore_article(corpus_dir, moved)
    assert len(load_corpus(corpus_dir).articles) == 1


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("a.pdf", b"%PDF-1.4", "unsupported file type"),
        ("a.txt", b"\x00\x01", "binary"),
        ("a.txt", b"Titre\n\nTrop court.", "too little article text"),
        ("a.md", b"no front matter at all, just text that goes on.", "front matter"),
        ("a.txt", "Été".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(name, content, reason):
    with pytest.raises(ArticleError, match=reason):
        draft_from_upload(name, content)


async def test_fetch_downloads_a_page():
    async with news_site() as base:
        page = await fetch_page(f"{base}/article/bassora", LOOPBACK_OK)
    assert page.content_type == "text/html" and "Bassora" in page.text()


@pytest.mark.parametrize(
    ("path", "policy", "message"),
    [
        ("/huge", LOOPBACK_OK, "too large"),
        ("/report.pdf", LOOPBACK_OK, "not a web page (application/pdf)"),
        ("/loop", LOOPBACK_OK, "too many redirects"),
        ("/hang", FetchPolicy(allow_private=True, timeout_seconds=0.5), "did not answer within 0.5 s"),
        ("/article/bassora", FetchPolicy(), "private or local address"),
    ],
)
async def test_fetch_refuses_hostile_links(path, policy, message):
    async with news_site() as base:
        with pytest.raises(FetchError, match=message.replace("(", r"\(").replace(")", r"\)")):
            await fetch_page(base + path, policy)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "only http"),
        ("ftp://example.org/a", "only http"),
        ("http://localhost:1/", "private or local"),
        ("http://169.254.169.254/latest/meta-data", "private or local"),
        ("http://10.0.0.1/", "private or local"),
        ("http://[::1]:8080/", "private or local"),
        ("http://user:pw@example.org/", "user name or password"),
    ],
)
async def test_fetch_refuses_schemes_and_private_addresses_without_connecting(url, message):
    with pytest.raises(FetchError, match=message):
        await fetch_page(url, FetchPolicy(timeout_seconds=1.0))


def test_removing_the_same_article_three_times_in_a_second_keeps_every_copy(corpus_dir):
    original = (corpus_dir / "sept-roquettes-balad.md").read_text(encoding="utf-8")
    kept = []
    for version in range(3):
        (corpus_dir / "sept-roquettes-balad.md").write_text(
            original + f"\nVersion {version}.\n", encoding="utf-8"
        )
        [meta] = build_engine(load_corpus(corpus_dir)).index.articles
        kept.append(library.remove_article(corpus_dir, meta))
    assert len(set(kept)) == 3
    texts = sorted(path.read_text(encoding="utf-8")[-12:] for path in kept)
    assert texts == ["\nVersion 0.\n", "\nVersion 1.\n", "\nVersion 2.\n"]


def test_temporary_files_left_by_killed_writes_are_swept_and_recent_ones_kept(corpus_dir, tmp_path):
    import os
    import time

    from bot.service import QAService

    old = corpus_dir / ".tmp-0123.md"
    old.write_text("half an article", encoding="utf-8")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    recent = corpus_dir / ".tmp-4567.md"  # a write in progress right now
    recent.write_text("being written", encoding="utf-8")
    assert QAService(corpus_dir).load().ok
    assert not old.exists() and recent.exists()


def test_sweeping_a_folder_that_is_gone_sweeps_nothing(tmp_path):
    from bot.articles import library

    assert library.sweep_temporary(tmp_path / "gone") == 0
