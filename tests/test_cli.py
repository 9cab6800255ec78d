"""The command line: the `ask --json` contract, `check`, `eval`, and the piped local chat."""

import json
import os
import subprocess
import sys

import pytest

from bot.cli import main
from bot.storage.feedback import FeedbackStore
from tests.conftest import ROOT, write_article

REQUIRED_RESULT_KEYS = {"text": str, "article": str, "paragraph": int, "score": float}


@pytest.fixture(autouse=True)
def _no_token(monkeypatch, tmp_path):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    # Lexical unless a test asks for the model (slow tier): loading it takes seconds a test.
    monkeypatch.setenv("DEPECHE_EMBEDDINGS", "false")
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout


@pytest.mark.parametrize(
    "embeddings", ["false", pytest.param("true", marks=pytest.mark.slow)], ids=["lexical", "embeddings"]
)
def test_ask_json_contract(capsys, monkeypatch, embeddings):
    monkeypatch.setenv("DEPECHE_EMBEDDINGS", embeddings)
    corpus = str(ROOT / "corpus")
    code = main(["ask", "--json", "--corpus", corpus, "Combien de roquettes à Balad ?", "bonjour"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    found, missing = (json.loads(line) for line in lines)
    assert found["question"] == "Combien de roquettes à Balad ?"
    assert found["answered"] is True
    assert isinstance(found["ms"], float) and found["ms"] >= 0
    assert found["results"]
    for result in found["results"]:
        for key, kind in REQUIRED_RESULT_KEYS.items():
            assert isinstance(result[key], kind), key
        assert "source" in result and (result["source"] is None or isinstance(result["source"], str))
    assert any("sept roquettes" in r["text"].lower() for r in found["results"])
    assert missing["answered"] is False and missing["results"] == []
    assert found["unsure"] is False and missing["unsure"] is False  # the caveat flag (an extension)


def test_ask_top_limits_results(capsys):
    main(["ask", "--json", "--top", "1", "--corpus", str(ROOT / "corpus"), "roquettes Balad"])
    assert len(json.loads(capsys.readouterr().out)["results"]) == 1


def test_ask_for_people_quotes_and_cites(capsys):
    main(["ask", "--corpus", str(ROOT / "corpus"), "Qui est le porte-parole du Pentagone ?"])
    out = capsys.readouterr().out
    assert "« " in out and "Kirby" in out
    assert "— Sept roquettes frappent des positions américaines en Irak, §" in out


def test_check_lists_problems_and_fails(corpus_dir, capsys):
    assert main(["check", "--corpus", str(corpus_dir)]) == 0
    write_article(corpus_dir, "broken.md", "Texte.", source="X")
    assert main(["check", "--corpus", str(corpus_dir)]) == 1
    out = capsys.readouterr().out
    assert "broken.md: invalid front matter: title: missing" in out


def test_eval_json_on_a_small_squad_file(tmp_path, capsys):
    context = "Le chat dort sur le canapé. Le chien aboie dans le jardin. La pluie tombe sur Lyon."
    data = {
        "data": [
            {
                "title": "Animaux",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "question": "Où le chien aboie-t-il ?",
                                "id": "1",
                                "answers": [{"text": "jardin", "answer_start": context.index("jardin")}],
                            },
                            {
                                "question": "Où tombe la pluie ?",
                                "id": "2",
                                "answers": [{"text": "Lyon", "answer_start": context.index("Lyon")}],
                            },
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["eval", "--json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"questions", "hit@1", "hit@3", "hit@5", "mrr@10", "ms_per_question"}
    assert report["by_type"]["où"]["questions"] == 2
    assert report["questions"] == 2
    assert report["hit@1"] == 1.0 and report["mrr@10"] == 1.0


def test_bad_setting_stops_with_one_line_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("DEPECHE_EXCERPTS", "lots")
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    assert main(["ask", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "DEPECHE_EXCERPTS" in err and "secret-token-value" not in err


@pytest.mark.slow  # spawns run_bot.py
def test_piped_chat_answers_one_question_per_line_and_exits():
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), "--corpus", str(ROOT / "corpus")],
        input=(
            "Combien de roquettes à Balad ?\n\nWhat is the capital of Australia?\n"
            "Quelle est la capitale de l'Australie ?\n" + "roquettes " * 100 + "\n"
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("? ") == 3  # the over-long line is refused before it is echoed
    assert "Au moins sept roquettes" in proc.stdout
    assert "I could not find this" in proc.stdout  # each not-found in its question's language
    assert "Je n'ai pas trouvé de réponse" in proc.stdout
    assert "Votre question fait 999 caractères ; la limite est de 500" in proc.stdout


def test_add_and_remove_from_the_shell(corpus_dir, capsys):
    page = ROOT / "tests" / "pages" / "bassora.html"
    assert main(["add", str(page), "--corpus", str(corpus_dir)]) == 1  # stdin is no terminal: needs --yes
    assert "--yes" in capsys.readouterr().err
    assert main(["add", str(page), "--yes", "--corpus", str(corpus_dir)]) == 0
    out = capsys.readouterr().out
    assert "Title:      Le port de Bassora rouvre" in out and "Sentences:" in out
    assert (corpus_dir / "le-port-de-bassora-rouvre-apres-trois-jours-de-greve.md").is_file()
    assert main(["add", str(page), "--yes", "--corpus", str(corpus_dir)]) == 1
    assert "already in the corpus" in capsys.readouterr().err
    main(["ask", "--json", "--corpus", str(corpus_dir), "Combien de navires attendaient au large ?"])
    assert "140 navires" in json.loads(capsys.readouterr().out)["results"][0]["text"]
    assert (
        main(
            [
                "remove",
                "le-port-de-bassora-rouvre-apres-trois-jours-de-greve",
                "--yes",
                "--corpus",
                str(corpus_dir),
            ]
        )
        == 0
    )
    assert (corpus_dir / ".removed" / "le-port-de-bassora-rouvre-apres-trois-jours-de-greve.md").is_file()
    assert main(["remove", "nothing-like-this", "--yes", "--corpus", str(corpus_dir)]) == 1


def test_a_malformed_env_file_value_stops_start_up_with_one_clear_line(tmp_path, capsys):
    (tmp_path / ".env").write_text(
        "DISCORD_TOKEN=abc.secret.token\nDEPECHE_GUILD_IDS=12,not-an-id\n", encoding="utf-8"
    )
    assert main(["ask", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "DEPECHE_GUILD_IDS" in err and "entry 2" in err
    assert "abc.secret.token" not in err


def test_a_token_pasted_into_an_id_list_is_not_printed(tmp_path, capsys):
    (tmp_path / ".env").write_text("DEPECHE_ADMIN_USER_IDS=MTk4.secret-token-value.xyz\n", encoding="utf-8")
    assert main(["ask", "x"]) == 2
    err = capsys.readouterr().err
    assert "DEPECHE_ADMIN_USER_IDS" in err and "secret-token-value" not in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"DISCORD_TOKEN: abc.secret.token\n", ".env line 1 is not KEY=VALUE"),
        (b"DEPECHE_EXCERPTS=3\nthis line is not KEY=VALUE\n", ".env line 2 is not KEY=VALUE"),
        (b"DEPECHE_EXCERPTS=3\nDEPECHE_LOG_LEVEL=\xe9\xff\n", ".env is not UTF-8 text"),
    ],
    ids=["colon", "free-text", "not-utf8"],
)
def test_an_env_file_that_cannot_be_read_as_written_stops_start_up(tmp_path, capsys, content, expected):
    (tmp_path / ".env").write_bytes(content)
    assert main(["chat"]) == 2  # not a local chat that exits 0 as if all were well
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and expected in err and "secret" not in err


def _terminal_chat(tmp_path, keys: bytes) -> tuple[int, str]:
    """Run `run_bot.py chat` on a pseudo-terminal, ask one question, then press `keys`."""
    import pty
    import select
    import signal
    import time

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DEPECHE_") and k != "DISCORD_TOKEN"},
        "DEPECHE_CORPUS_DIR": str(ROOT / "corpus"),
        "DEPECHE_CACHE_DIR": str(tmp_path / "cache"),
        "DEPECHE_EMBEDDINGS": "false",
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real entry point on a terminal, started as a shell starts it
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # not what the test process happens to have
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, str(ROOT / "run_bot.py"), "chat"], env)
    output = b""

    def read_until(marker: bytes, count: int = 1, timeout: float = 60) -> None:
        nonlocal output
        deadline = time.monotonic() + timeout
        while output.count(marker) < count and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    output += os.read(fd, 65536)
                except OSError:  # the child has exited
                    return

    try:
        read_until(b"\n? ")
        os.write(fd, b"combien de roquettes a balad\r")
        read_until(b"\n? ", count=2)  # the answer, then the next prompt
        # Python's readline prints the prompt, then waits in select(): a Ctrl-C landing between
        # the two is lost (its signal comes before the wait; CPython's readline only looks at
        # signals when select() is interrupted). A person then presses it again; so does the
        # test, at most three times, a moment after the prompt and then a second apart.
        done, status = 0, 0
        for _ in range(3):
            time.sleep(0.3)
            try:
                os.write(fd, keys)
            except OSError:  # the terminal is gone: the child has exited
                break
            read_until(b"\x00", timeout=1)  # until the child exits (or a second passes)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
        deadline = time.monotonic() + 5
        while not done and time.monotonic() < deadline:
            time.sleep(0.05)
            done, status = os.waitpid(pid, os.WNOHANG)
        if not done:  # never wait for ever: a chat that ignores the keys fails the test
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            printed = output.decode("utf-8", "replace")
            pytest.fail(f"the chat did not exit after {keys!r}; it printed:\n{printed}")
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


@pytest.mark.slow  # spawns run_bot.py in a terminal
@pytest.mark.parametrize("keys", [b"\x03", b"\x04"], ids=["ctrl-c", "ctrl-d"])
def test_terminal_chat_answers_and_quits_cleanly(tmp_path, keys):
    code, output = _terminal_chat(tmp_path, keys)
    assert "Au moins sept roquettes" in output
    assert code == 0, output
    assert "Traceback" not in output


@pytest.mark.parametrize("kind", ["not-sqlite", "no-folder"])
def test_an_unusable_feedback_database_stops_start_up_with_one_clear_line(
    tmp_path, monkeypatch, capsys, kind
):
    if kind == "not-sqlite":
        database = tmp_path / "feedback.sqlite3"
        database.write_text("these are notes, not a database\n", encoding="utf-8")
    else:
        blocker = tmp_path / "a-file"
        blocker.write_text("x", encoding="utf-8")
        database = blocker / "feedback.sqlite3"  # its folder cannot be created
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    monkeypatch.setenv("DEPECHE_DATABASE_PATH", str(database))
    monkeypatch.setenv("DEPECHE_CORPUS_DIR", str(ROOT / "corpus"))
    monkeypatch.setenv("DEPECHE_CACHE_DIR", "")
    assert main([]) == 2  # before any connection to Discord
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert "DEPECHE_DATABASE_PATH" in err and "secret-token-value" not in err


def test_feedback_command_gives_the_operator_every_server_or_one(tmp_path, monkeypatch, capsys):
    database = tmp_path / "depeche.sqlite3"
    monkeypatch.setenv("DEPECHE_DATABASE_PATH", str(database))
    assert main(["feedback"]) == 0
    assert "No feedback recorded yet" in capsys.readouterr().out
    store = FeedbackStore(database)
    store.record_answer("a" * 12, "Question ici ?", False, "v1", 1)
    store.record_answer("b" * 12, "Question ailleurs ?", False, "v1", 2)
    store.record_answer("c" * 12, "Question trouvée ?", True, "v1", 1)
    store.vote("c" * 12, 7, False)
    store.close()
    assert main(["feedback", "--json"]) == 0
    everywhere = json.loads(capsys.readouterr().out)
    assert (everywhere["answers"], everywhere["unanswered"], everywhere["not_helpful"]) == (3, 2, 1)
    assert main(["feedback", "--guild", "1"]) == 0
    text = capsys.readouterr().out
    assert "server 1): 2 answers, 1 not found" in text and "Question ici ?" in text
    assert "ailleurs" not in text and "• Question trouvée ?" in text


def test_ask_without_embeddings_answers_lexically_at_once(capsys, monkeypatch):
    code = main(["ask", "--json", "--no-embeddings", "--corpus", str(ROOT / "corpus"), "roquettes Balad"])
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert code == 0 and answer["answered"] and answer["similarity"] is None
    assert "waiting" not in err


def test_waiting_for_sentence_vectors_says_what_it_waits_for(capsys):
    import threading
    from types import SimpleNamespace

    from bot.cli import wait_for_embeddings

    service = SimpleNamespace(
        embedding_done=threading.Event(), engine=SimpleNamespace(index=SimpleNamespace(size=1234), dense=None)
    )
    assert wait_for_embeddings(service, sys.stderr, timeout=0.2) is False  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "sentence vectors of 1,234 sentences" in err and "--no-embeddings" in err
