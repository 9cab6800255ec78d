"""Loading articles: each bad file is reported with its reason; the others still load."""

from pathlib import Path
from typing import ClassVar

import pytest

from bot.articles.corpus import load_corpus, strip_comments
from tests.conftest import BUNDLED_CORPUS, ROOT, write_article

GOOD = "Une phrase sur Kirkouk. Une autre phrase."


def problems_of(folder: Path) -> dict[str, str]:
    return {p.path: p.reason for p in load_corpus(folder).problems}


def test_bundled_corpus_loads_cleanly():
    corpus = load_corpus(BUNDLED_CORPUS)
    assert corpus.problems == ()
    [article] = corpus.articles
    assert article.title == "Sept roquettes frappent des positions américaines en Irak"
    assert article.url is None and article.published is None  # the source states neither
    assert article.paragraphs[0].number == 0  # the lede, as summary
    body = " ".join(p.text for p in article.paragraphs)
    assert "photo_camera" not in body and "Atalayar_Ataque" not in body
    assert "Plus dans Politique" not in body
    assert article.sentence_count > 25


def test_ids_are_stable_and_unique():
    first = load_corpus(BUNDLED_CORPUS)
    second = load_corpus(BUNDLED_CORPUS)
    ids = [s.id for a in first.articles for p in a.paragraphs for s in p.sentences]
    assert len(ids) == len(set(ids))
    assert ids == [s.id for a in second.articles for p in a.paragraphs for s in p.sentences]
    assert first.version == second.version
    assert ids[1] == "sept-roquettes-balad#p1s1"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("no-title.md", f"---\nsource: X\n---\n\n{GOOD}\n", "title: missing"),
        ("empty-body.md", "---\ntitle: T\nsource: X\n---\n\n   \n", "empty body"),
        ("bad-yaml.md", f"---\ntitle: [unclosed\nsource: X\n---\n\n{GOOD}\n", "invalid front matter"),
        ("list-yaml.md", f"---\n- a\n- b\n---\n\n{GOOD}\n", "front matter"),
        ("no-front-matter.md", f"{GOOD}\n", "missing front matter"),
        ("bad-url.md", f"---\ntitle: T\nsource: X\nurl: javascript:alert(1)\n---\n\n{GOOD}\n", "url"),
        ("bad-lang.md", f"---\ntitle: T\nsource: X\nlanguage: klingon\n---\n\n{GOOD}\n", "language"),
        ("bad-date.md", f"---\ntitle: T\nsource: X\npublished: yesterday\n---\n\n{GOOD}\n", "published"),
        ("empty.md", "", "empty file"),
        (
            "yaml-tag.md",
            f"---\ntitle: !!python/object/apply:os.system ['true']\nsource: X\n---\n\n{GOOD}\n",
            "invalid front matter",
        ),
    ],
)
def test_bad_article_is_reported_and_the_rest_loads(corpus_dir, name, content, reason):
    (corpus_dir / name).write_text(content, encoding="utf-8")
    corpus = load_corpus(corpus_dir)
    problems = {p.path: p.reason for p in corpus.problems}
    assert reason in problems[name]
    assert [a.id for a in corpus.articles] == ["sept-roquettes-balad"]


def test_not_utf8_is_reported(corpus_dir):
    (corpus_dir / "latin1.md").write_bytes("---\ntitle: Été\nsource: X\n---\n\nÀ Paris.\n".encode("latin-1"))
    assert "not UTF-8" in problems_of(corpus_dir)["latin1.md"]


def test_binary_file_is_reported(corpus_dir):
    (corpus_dir / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "binary" in problems_of(corpus_dir)["image.md"]


def test_duplicate_ids_and_titles_are_reported(corpus_dir):
    write_article(corpus_dir, "a.md", GOOD, title="Premier", source="X", id="meme-id")
    write_article(corpus_dir, "b.md", GOOD, title="Second", source="X", id="meme-id")
    write_article(corpus_dir, "c.md", GOOD, title="PREMIER", source="X")
    problems = problems_of(corpus_dir)
    assert "duplicate id 'meme-id'" in problems["b.md"] and "a.md" in problems["b.md"]
    assert "duplicate title" in problems["c.md"]
    assert "a.md" not in problems


def test_oversized_file_is_reported(corpus_dir):
    write_article(corpus_dir, "big.md", "Mot. " * 2000, title="Gros", source="X")
    corpus = load_corpus(corpus_dir, max_file_bytes=4096)
    assert "too large" in {p.path: p.reason for p in corpus.problems}["big.md"]


def test_symlink_outside_the_corpus_is_not_read(corpus_dir, tmp_path):
    secret = write_article(tmp_path, "secret.md", "Le mot de passe est hunter2.", title="S", source="X")
    (corpus_dir / "link.md").symlink_to(secret)
    corpus = load_corpus(corpus_dir)
    assert "outside the corpus folder" in {p.path: p.reason for p in corpus.problems}["link.md"]
    assert all("hunter2" not in p.text for a in corpus.articles for p in a.paragraphs)


def test_other_files_and_hidden_folders_are_ignored(corpus_dir):
    (corpus_dir / "notes.txt").write_text("pas un article", encoding="utf-8")
    (corpus_dir / ".removed").mkdir()
    write_article(corpus_dir / ".removed", "old.md", GOOD, title="Ancien", source="X")
    corpus = load_corpus(corpus_dir)
    assert corpus.problems == () and len(corpus.articles) == 1


def test_markdown_headings_are_not_paragraphs(corpus_dir):
    write_article(
        corpus_dir, "h.md", "# Titre\n\nPremier paragraphe.\n\n---\n\nSecond.", title="H", source="X"
    )
    article = next(a for a in load_corpus(corpus_dir).articles if a.id == "h")
    assert [p.text for p in article.paragraphs] == ["Premier paragraphe.", "Second."]


def test_version_changes_with_content(corpus_dir):
    before = load_corpus(corpus_dir).version
    write_article(corpus_dir, "new.md", GOOD, title="Nouveau", source="X")
    assert load_corpus(corpus_dir).version != before


def test_a_file_that_vanishes_during_the_load_is_reported(corpus_dir):
    (corpus_dir / "parti.md").symlink_to(corpus_dir / "supprime-entre-temps.md")  # listed, then gone
    corpus = load_corpus(corpus_dir)
    assert "parti.md" in {p.path for p in corpus.problems}
    assert len(corpus.articles) == 1


def test_a_50_mb_file_is_refused_without_being_read(corpus_dir):
    big = corpus_dir / "enorme.md"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: costs no disk
    reason = problems_of(corpus_dir)["enorme.md"]
    assert "too large" in reason and "52,428,800" in reason


def test_front_matter_that_builds_python_objects_is_refused(corpus_dir):
    (corpus_dir / "objet.md").write_text(
        "---\ntitle: !!python/object:os.system {}\nsource: X\n---\n\nTexte.\n", encoding="utf-8"
    )
    assert "invalid front matter" in problems_of(corpus_dir)["objet.md"]


def test_many_new_files_are_split_by_worker_processes_with_the_same_result(corpus_dir, tmp_path, monkeypatch):
    from bot.articles import corpus as corpus_module
    from bot.articles.corpus import ParsedArticleCache, iter_articles

    count = corpus_module.PARALLEL_MIN_FILES + 6
    for i in range(count):
        write_article(
            corpus_dir,
            f"depeche-{i:03d}.md",
            f"Le conseil {i} a voté. M. Dupont a parlé à 10 h.\n\nUn second paragraphe {i}.",
            title=f"Dépêche {i}",
            source="AFP",
        )
    (corpus_dir / "cassee.md").write_text("---\ntitle: [\n---\n\nTexte.\n", encoding="utf-8")
    (corpus_dir / "vide.md").write_text("", encoding="utf-8")
    before = len(load_corpus(corpus_dir).articles) - count  # what the fixture folder already holds
    pools = []

    class CountedPool(corpus_module.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(corpus_module, "ProcessPoolExecutor", CountedPool)
    parallel_problems: list = []
    parsed = ParsedArticleCache(tmp_path / "parsed")
    parallel = list(iter_articles(corpus_dir, parallel_problems, parsed=parsed, workers=2))
    assert len(pools) == 1
    serial_problems: list = []
    serial = list(iter_articles(corpus_dir, serial_problems))

    assert len(pools) == 1  # one worker allowed (the default): no processes
    assert parallel == serial
    assert len(parallel) == before + count
    assert parallel_problems == serial_problems
    assert sorted(p.path for p in parallel_problems) == ["cassee.md", "vide.md"]
    # The worker-split articles went into the cache: a second load reads them back.
    again = list(iter_articles(corpus_dir, [], parsed=ParsedArticleCache(tmp_path / "parsed"), workers=2))
    assert again == parallel
    assert len(pools) == 1  # nothing new to split: no processes started


class InlinePool:
    """The parse workers' interface, run in this process; `handed` records each window's size
    when it is handed over."""

    handed: ClassVar[list[int]] = []

    def __init__(self, *args, **kwargs):
        pass

    def map(self, fn, *iterables, chunksize=1):
        self.handed.append(len(iterables[0]))
        return iter([fn(*args) for args in zip(*iterables, strict=True)])

    def shutdown(self, cancel_futures=False):
        pass


def test_the_next_window_is_parsed_while_the_previous_one_is_indexed(corpus_dir, tmp_path, monkeypatch):
    """Workers get window k + 1 before the caller receives window k's articles (no idle wait)."""
    from bot.articles import corpus as corpus_module
    from bot.articles.corpus import ParsedArticleCache, iter_articles

    handed = InlinePool.handed
    handed.clear()
    monkeypatch.setattr(corpus_module, "ProcessPoolExecutor", InlinePool)
    monkeypatch.setattr(corpus_module, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(corpus_module, "_WINDOW", 4)
    for i in range(10):
        write_article(corpus_dir, f"d{i:02d}.md", f"Phrase {i}. Autre phrase.", title=f"D {i}", source="AFP")
    parsed = ParsedArticleCache(tmp_path / "parsed")
    stream = iter_articles(corpus_dir, [], parsed=parsed, workers=2)
    first = next(stream)
    assert len(handed) == 2  # the first window, and the second already handed over
    rest = list(stream)
    assert [first, *rest] == list(iter_articles(corpus_dir, []))
    again = list(iter_articles(corpus_dir, [], parsed=ParsedArticleCache(tmp_path / "parsed"), workers=2))
    assert again == [first, *rest]  # the entries the workers made are read back


def test_workers_that_cannot_write_the_cache_still_return_every_article(corpus_dir, tmp_path, monkeypatch):
    from bot.articles import corpus as corpus_module
    from bot.articles.corpus import ParsedArticleCache, iter_articles

    monkeypatch.setattr(corpus_module, "ProcessPoolExecutor", InlinePool)
    monkeypatch.setattr(corpus_module, "PARALLEL_MIN_FILES", 2)
    for i in range(6):
        write_article(corpus_dir, f"d{i}.md", f"Phrase {i}. Autre phrase.", title=f"D {i}", source="AFP")
    blocked = tmp_path / "parsed"
    blocked.write_text("a file where the cache folder should be", encoding="utf-8")
    parsed = ParsedArticleCache(blocked)
    articles = list(iter_articles(corpus_dir, [], parsed=parsed, workers=2))
    assert articles == list(iter_articles(corpus_dir, []))
    assert not parsed.writable and not parsed.used


def test_a_window_cancelled_when_the_workers_fail_later_is_parsed_here(corpus_dir, monkeypatch):
    """The pool fails while the next window is handed over: the window it was still parsing is
    cancelled, and parsed in this process instead (nothing lost, no crash)."""
    from concurrent.futures import CancelledError

    from bot.articles import corpus as corpus_module
    from bot.articles.corpus import iter_articles

    class FailingLater(InlinePool):
        calls = 0

        def map(self, fn, *iterables, chunksize=1):
            FailingLater.calls += 1
            if FailingLater.calls == 1:

                def cancelled():
                    raise CancelledError
                    yield

                return cancelled()
            raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(corpus_module, "ProcessPoolExecutor", FailingLater)
    monkeypatch.setattr(corpus_module, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(corpus_module, "_WINDOW", 3)
    for i in range(7):
        write_article(corpus_dir, f"d{i}.md", f"Phrase {i}. Autre phrase.", title=f"D {i}", source="AFP")
    problems: list = []
    assert list(iter_articles(corpus_dir, problems, workers=2)) == list(iter_articles(corpus_dir, []))
    assert not problems and FailingLater.calls == 2


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_fifo_or_a_folder_named_like_an_article_is_refused_without_hanging(corpus_dir, kind):
    import os

    if kind == "fifo":
        os.mkfifo(corpus_dir / "tube.md")
    else:
        (corpus_dir / "tube.md").mkdir()
    assert "not a regular file" in problems_of(corpus_dir)["tube.md"]


@pytest.mark.parametrize("failure", ["killed", "cannot start"])
def test_when_worker_processes_die_the_files_are_split_here(corpus_dir, monkeypatch, failure):
    from concurrent.futures.process import BrokenProcessPool

    from bot.articles import corpus as corpus_module
    from bot.articles.corpus import iter_articles

    class DeadPool(corpus_module.ProcessPoolExecutor):
        def map(self, *args, **kwargs):
            if failure == "killed":
                raise BrokenProcessPool("a worker was killed")
            raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(corpus_module, "ProcessPoolExecutor", DeadPool)
    monkeypatch.setattr(corpus_module, "PARALLEL_MIN_FILES", 3)
    for i in range(5):
        write_article(corpus_dir, f"d{i}.md", f"Phrase {i}. Autre phrase.", title=f"D {i}", source="AFP")
    problems: list = []
    articles = list(iter_articles(corpus_dir, problems, workers=2))
    assert {f"d{i}" for i in range(5)} <= {a.id for a in articles}
    assert not problems


def test_comment_markers_in_the_text_never_swallow_paragraphs(corpus_dir):
    body = (
        "Pour masquer un bloc, on écrit <!-- devant le code à cacher.\n\n"
        "Le deuxième paragraphe parle de la base de Balad.\n\n"
        "Le trajet Paris --> Lyon a pris deux heures.\n\n"
        "Un commentaire <!-- retiré --> dans la phrase, qui reste entière."
    )
    write_article(corpus_dir, "balises.md", body, title="Balises HTML", source="X")
    article = next(a for a in load_corpus(corpus_dir).articles if a.title == "Balises HTML")
    texts = [p.text for p in article.paragraphs]
    assert len(texts) == 4
    assert "devant le code à cacher" in texts[0] and "base de Balad" in texts[1]
    assert "Lyon a pris deux heures" in texts[2] and "Lyon" not in texts[0]
    assert "retiré" not in texts[3] and "qui reste entière" in texts[3]


def test_unclosed_comment_markers_are_kept_as_text():
    assert strip_comments("Début. " + "<!--" * 1000) == "Début. " + "<!--" * 1000
    assert strip_comments("a <!-- b --> c <!-- d") == "a  c <!-- d"


def test_a_symlink_loop_is_rejected_and_the_rest_loads(corpus_dir):
    (corpus_dir / "a.md").symlink_to(corpus_dir / "b.md")
    (corpus_dir / "b.md").symlink_to(corpus_dir / "a.md")
    corpus = load_corpus(corpus_dir)
    assert [a.id for a in corpus.articles] == ["sept-roquettes-balad"]
    reasons = {p.path: p.reason for p in corpus.problems}
    assert "loop" in reasons["a.md"] and "loop" in reasons["b.md"]


def test_an_article_with_no_word_is_rejected(corpus_dir):
    write_article(corpus_dir, "ponctuation.md", "... !!! ???\n\n— « » …", title="Ponctuation", source="X")
    assert "no words" in problems_of(corpus_dir)["ponctuation.md"]


def test_file_names_with_control_characters_are_reported_escaped(corpus_dir):
    (corpus_dir / "evil\nfake.md").write_text("", encoding="utf-8")
    problems = problems_of(corpus_dir)
    assert "evil\\nfake.md" in problems and not any("\n" in name for name in problems)


@pytest.mark.slow  # spawns processes
def test_parse_workers_exit_when_their_parent_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from bot.articles.corpus import PARALLEL_MIN_FILES, _Parser\n"
        "raw = b'---\\ntitle: T\\nsource: X\\n---\\n\\nUne phrase. Une autre.\\n'\n"
        "parser = _Parser(None, 2)\n"
        "parser.window([(Path(f'a{i}.md'), raw) for i in range(PARALLEL_MIN_FILES)])\n"
        "print(*parser._pool._processes, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # a zombie is gone too
            return stat.read().split()[2] != "Z"

    for _ in range(300):
        if not any(alive(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)
