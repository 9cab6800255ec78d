"""Command line: the bot or a local chat, `ask`, `check` and `eval` — the same engine as the bot."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import sys
import textwrap
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from bot import messages
from bot.articles import Corpus, load_corpus
from bot.config import ConfigError, Settings, load_settings
from bot.search import Answer, EmbeddingCache, Encoder, Engine, answer_news
from bot.service import QAService
from bot.text import visible

log = logging.getLogger("depeche")


def build_parser() -> argparse.ArgumentParser:
    """The `run_bot.py` argument parser."""
    parser = argparse.ArgumentParser(
        prog="run_bot.py",
        description="Dépêche: answers questions about news articles with cited excerpts.",
    )
    parser.add_argument("--corpus", type=Path, help="article folder (default: settings / corpus/)")
    sub = parser.add_subparsers(dest="command")
    ask = sub.add_parser("ask", help="answer questions and exit")
    ask.add_argument("questions", nargs="+", metavar="QUESTION")
    ask.add_argument("--json", action="store_true", help="one JSON object per question, per line")
    ask.add_argument("--top", type=int, default=None, help="number of excerpts (1-10)")
    ask.add_argument("--corpus", type=Path, default=argparse.SUPPRESS)
    ask.add_argument(
        "--no-embeddings",
        action="store_true",
        help="answer lexically at once (the default first waits until every sentence has its vector)",
    )
    check = sub.add_parser("check", help="validate the corpus; exit 1 if a file is rejected")
    check.add_argument("--corpus", type=Path, default=argparse.SUPPRESS)
    ev = sub.add_parser("eval", help="sentence-retrieval evaluation on a SQuAD-format file")
    ev.add_argument("file", type=Path)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument(
        "--split",
        choices=("all", "tune", "heldout"),
        default="all",
        help="questions to use: all, the tuning part, or the held-out part",
    )
    ev.add_argument(
        "--abstention",
        action="store_true",
        help='also ask each question without its own article, which must get "not found" (slower)',
    )
    ev.add_argument(
        "--answers",
        action="store_true",
        help="also ask each question as a member would: first excerpt right, right among those shown, "
        '"not found" for questions without an answer (SQuAD 2.0 is_impossible)',
    )
    ev.add_argument(
        "--no-embeddings",
        action="store_true",
        help="rank lexically only (the default uses sentence embeddings, cached under the cache folder)",
    )
    sub.add_parser("chat", help="local chat on the corpus, even when a Discord token is set")
    add = sub.add_parser("add", help="add an article from a link or a .md/.txt/.html file")
    add.add_argument("source", metavar="URL_OR_FILE")
    add.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add.add_argument("--corpus", type=Path, default=argparse.SUPPRESS)
    remove = sub.add_parser("remove", help="move an article to corpus/.removed (recoverable)")
    remove.add_argument("name", metavar="NAME", help="article id or exact title")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.add_argument("--corpus", type=Path, default=argparse.SUPPRESS)
    feeds = sub.add_parser("feeds", help="follow RSS/Atom feeds: add, remove, list, poll")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    feeds_add = feeds_sub.add_parser("add", help="preview a feed, then follow it")
    feeds_add.add_argument("url", metavar="URL")
    feeds_add.add_argument("--interval", type=int, default=None, help="minutes between checks (5-1440)")
    feeds_add.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    feeds_remove = feeds_sub.add_parser("remove", help="stop following a feed (its articles stay)")
    feeds_remove.add_argument("name", metavar="FEED", help="its number, address or title")
    feeds_remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    feeds_list = feeds_sub.add_parser("list", help="each feed: last check, articles, errors")
    feeds_list.add_argument("--json", action="store_true", help="print one JSON array")
    feeds_poll = feeds_sub.add_parser("poll", help="poll the feeds until Ctrl-C (the bot does this itself)")
    feeds_poll.add_argument("--once", action="store_true", help="check every feed once now, then exit")
    for feeds_command in (feeds_add, feeds_remove, feeds_list, feeds_poll):
        feeds_command.add_argument("--corpus", type=Path, default=argparse.SUPPRESS)
    db = sub.add_parser("db", help="the bot's database: copy it to PostgreSQL")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    corpus = sub.add_parser("corpus", help="the corpus shared through PostgreSQL")
    corpus_sub = corpus.add_subparsers(dest="corpus_command", required=True)
    corpus_export = corpus_sub.add_parser("export", help="write the articles it serves into a folder")
    corpus_export.add_argument("folder", type=Path, metavar="DIR")
    db_migrate = db_sub.add_parser("migrate", help="copy every table into another database")
    db_migrate.add_argument("--to", required=True, metavar="URL", help="postgresql://… (or sqlite:///path)")
    db_migrate.add_argument(
        "--from", dest="source", metavar="URL", help="default: DEPECHE_DATABASE_URL or _PATH"
    )
    feedback = sub.add_parser("feedback", help="how answers fare; the latest unanswered questions")
    feedback.add_argument("--guild", type=int, default=None, help="one server's only (its id)")
    feedback.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (130 when interrupted by Ctrl-C)."""
    try:
        return _run(argv)
    except KeyboardInterrupt:  # e.g. during a long first load: no traceback for a Ctrl-C
        print("\ninterrupted", file=sys.stderr)
        return 130


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, settings.log_level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    corpus_dir = args.corpus or settings.corpus_dir
    if args.command == "feedback":
        from bot.cli_manage import run_feedback

        return run_feedback(settings, args.guild, as_json=args.json)
    if args.command == "eval":
        vectors = None
        if settings.cache_dir is not None and settings.embeddings and not args.no_embeddings:
            vectors = EmbeddingCache(Path(settings.cache_dir) / "embeddings")
        return run_eval(
            args.file,
            as_json=args.json,
            split=args.split,
            abstention=args.abstention,
            vectors=vectors,
            answers=args.answers,
        )
    if args.command == "db":
        from bot.cli_manage import run_db_migrate

        return run_db_migrate(args.source or settings.database_address, args.to)
    if args.command == "corpus":
        from bot.cli_manage import run_corpus_export

        return run_corpus_export(settings.database_address, args.folder)
    if args.command == "feeds":
        from bot.cli_feeds import run_feeds

        return run_feeds(args.feeds_command, args, settings, Path(corpus_dir))
    if not Path(corpus_dir).is_dir():
        print(f"error: corpus folder not found: {corpus_dir}", file=sys.stderr)
        return 2
    if args.command == "check":
        return run_check(corpus_dir)
    if args.command in ("add", "remove"):
        from bot.cli_manage import run_add, run_remove

        logging.getLogger().setLevel(logging.ERROR)
        if args.command == "add":
            return run_add(args.source, Path(corpus_dir), settings, assume_yes=args.yes)
        return run_remove(args.name, Path(corpus_dir), settings, assume_yes=args.yes)
    service = QAService(
        corpus_dir,
        max_file_bytes=settings.max_article_bytes,
        cache_dir=settings.cache_dir,
        embeddings=settings.embeddings and not getattr(args, "no_embeddings", False),
        parse_workers=os.cpu_count() or 1,
        save_cache_in_background=True,
        title_lookup_on_load=args.command != "ask",
    )
    if args.command is None and settings.discord_token is not None:
        from bot.discord.app import run_discord_bot  # Discord only when it is really used

        return run_discord_bot(settings, service)
    # Keep the console quiet: warnings about skipped files are summarised by us.
    logging.getLogger().setLevel(max(logging.WARNING, getattr(logging, settings.log_level)))
    report = service.load()
    if not report.ok:
        print(f"error: could not load the corpus: {report.error}", file=sys.stderr)
        return 1
    if args.command == "ask":
        top = args.top or settings.excerpts
        if not 1 <= top <= 10:
            print("error: --top must be between 1 and 10", file=sys.stderr)
            return 2
        # A batch command waits for the sentence vectors, so every run answers alike.
        wait_for_embeddings(service, sys.stderr)
        return run_ask(service.engine, args.questions, top=top, as_json=args.json)
    return run_chat(service, settings, sys.stdin, sys.stdout)


def answer_json(answer: Answer, ms: float) -> dict:
    """The documented `ask --json` object for one question."""
    return {
        "question": answer.question,
        "answered": answer.answered,
        "ms": round(ms, 3),
        "results": [r.model_dump() for r in answer.results],
        "reason": answer.reason,
        "terms": answer.terms,
        "coverage": answer.coverage,
        "suggestions": answer.suggestions,
        "similarity": answer.similarity,
        "corpus_version": answer.corpus_version,
        "unsure": answer.unsure,
    }


def format_answer(answer: Answer) -> str:
    """An answer for people: excerpts quoted, citations underneath, or a plain not-found."""
    language = messages.of_question(answer.question)
    if not answer.answered:
        reason = messages.not_found_reason(answer.reason, language)
        lines = [f"{messages.text('not_found', language)} {reason}".strip()]
        if answer.suggestions:
            lines.append(messages.text("closest", language, titles="; ".join(answer.suggestions)))
        return "\n".join(lines)
    lines = [messages.text("unsure", language)] if answer.unsure else []
    for n, r in enumerate(answer.results, start=1):
        quote = textwrap.fill(f"« {r.text} »", width=100, initial_indent=f"[{n}] ", subsequent_indent="    ")
        where = messages.text("summary", language) if r.paragraph == 0 else f"§ {r.paragraph}"
        cite = f"    — {r.article}, {where}"
        if r.published:
            cite += f" · {r.published}"
        if r.source:
            cite += f" · {r.source}"
        if r.url:
            cite += f" · {r.url}"
        lines += [quote, cite]
    return "\n".join(lines)


# Piped questions wait this long for the sentence vectors, then are answered with what exists.
PIPED_WAIT_SECONDS = 15.0


def wait_for_embeddings(service: QAService, out: TextIO, timeout: float | None = None) -> bool:
    """Wait until every sentence has its vector (or `timeout` seconds), saying on `out` what it
    waits for, with a progress bar on a terminal; True when they all have one."""
    if service.embedding_done.wait(0.5):
        return True
    total = service.engine.index.size
    print(
        f"waiting for the sentence vectors of {total:,} sentences (once per article; "
        "--no-embeddings answers at once)...",
        file=out,
    )
    from tqdm import tqdm

    deadline = None if timeout is None else time.monotonic() + timeout
    with tqdm(total=total, unit="sentence", file=out, disable=not out.isatty(), leave=False) as bar:
        while not service.embedding_done.wait(0.5):
            dense = service.engine.dense
            bar.update((dense.coverage if dense is not None else 0) - bar.n)
            if deadline is not None and time.monotonic() > deadline:
                return False
    return True


def run_ask(engine: Engine, questions: Iterable[str], *, top: int, as_json: bool) -> int:
    """Answer each question on stdout."""
    for question in questions:
        start = time.perf_counter()
        answer = answer_news(engine, question, top, today=dt.datetime.now(dt.UTC).date())
        ms = (time.perf_counter() - start) * 1000
        if as_json:
            print(json.dumps(answer_json(answer, ms), ensure_ascii=False))
        else:
            print(f"? {answer.question}")
            print(format_answer(answer))
            print()
    return 0


def run_check(corpus_dir: Path) -> int:
    """Validate every article; list problems; exit 1 when any file is rejected."""
    corpus = load_corpus(corpus_dir)
    for article in corpus.articles:
        print(
            f"ok      {visible(article.path)}: {article.title!r}, {len(article.paragraphs)} paragraphs, "
            f"{article.sentence_count} sentences"
        )
    for problem in corpus.problems:
        print(f"error   {problem.path}: {problem.reason}")
    print(
        f"{len(corpus.articles)} articles, {corpus.sentence_count} sentences, "
        f"{len(corpus.problems)} rejected, version {corpus.version}"
    )
    return 1 if corpus.problems or not corpus.articles else 0


def run_eval(
    path: Path,
    *,
    as_json: bool,
    split: str,
    abstention: bool = False,
    vectors: EmbeddingCache | None = None,
    answers: bool = False,
) -> int:
    """Evaluate sentence retrieval (and, optionally, "not found") on a SQuAD-format file."""
    from bot.search import evaluate as evaluation
    from bot.service import build_engine

    if not path.is_file():
        print(f"error: file not found: {path}", file=sys.stderr)
        return 2
    evalset = evaluation.load_squad(path)
    questions = evaluation.split_questions(evalset, split)
    encoder = Encoder() if vectors is not None else None
    if vectors is not None and not as_json:
        print("embedding the articles not cached yet (a few minutes the first time)...", file=sys.stderr)

    def build(corpus: Corpus) -> Engine:
        return build_engine(corpus, vectors, encoder)

    engine = build(evalset.corpus)
    progress = not as_json and sys.stderr.isatty()
    report = evaluation.evaluate(evaluation.engine_ranker(engine), questions, progress=progress)
    abstained = (
        evaluation.evaluate_abstention(evalset, questions, build, engine, progress) if abstention else None
    )
    asked = None
    if answers:
        impossible = evaluation.split_questions(evalset, split, unanswerable=True)
        asked = evaluation.evaluate_answers(engine, questions, impossible)
    if as_json:
        out = report.as_json()
        if abstained is not None:
            out["abstention"] = abstained.as_json()
        if asked is not None:
            out["answers"] = asked.as_json()
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"{report.questions} questions ({split}), {engine.index.size} sentences")
    for k, value in report.hits.items():
        print(f"hit@{k:<2}  {value:.3f}")
    print(f"MRR@10  {report.mrr:.3f}")
    print(f"time    {report.ms_per_question:.2f} ms/question")
    print("\nby question type:   n  hit@1  hit@5  MRR@10")
    for name, row in report.by_type.items():
        print(
            f"  {name:<14} {row['questions']:>5}  {row['hit@1']:.3f}  {row['hit@5']:.3f}  {row['mrr@10']:.3f}"
        )
    if abstained is not None:
        print(
            f"\nabstention: precision {abstained.precision:.3f}, recall {abstained.recall:.3f}, "
            f"false not-found on answerable {abstained.false_not_found:.3f}"
        )
        shares = abstained.as_json()
        print(
            f'answered with the "may not answer" caveat: {shares["unsure_unanswerable"]:.3f} of the '
            f"unanswerable, {shares['unsure_answerable']:.3f} of the answerable"
        )
    if asked is not None:
        print("\nasked as a member asks (3 excerpts):")
        for language, c in sorted(asked.by_language.items()):
            print(
                f"  {language}: {c.questions} questions, first excerpt right {c.first}, right among "
                f"those shown {c.shown}, told not found {c.not_found}"
            )
        refused = asked.unanswerable_not_found
        print(f"  without an answer: {asked.unanswerable} questions, told not found {refused}")
    return 0


def run_chat(service: QAService, settings: Settings, stdin: TextIO, stdout: TextIO) -> int:
    """Local chat: a prompt with line editing on a terminal (Ctrl-D or Ctrl-C quits), one answer
    per line when input is piped."""
    interactive = stdin.isatty()
    if not interactive and not wait_for_embeddings(service, sys.stderr, PIPED_WAIT_SECONDS):
        print(
            "answering now: lexically for the articles whose vectors are not ready yet "
            "(they keep coming in the background)",
            file=sys.stderr,
        )
    engine = service.engine
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (arrow keys and history for input())
        print(
            f"Dépêche — local chat on {service.corpus_dir}/ ({len(engine.index.articles)} articles, "
            f"{engine.index.size} sentences).\n"
            "No DISCORD_TOKEN is set: put it in .env to connect to Discord (see README).\n"
            "Ask a question; Ctrl-D or Ctrl-C to quit.",
            file=stdout,
        )
    while True:
        try:
            line = _read_question(stdin, stdout, interactive)
        except KeyboardInterrupt:
            print(file=stdout)
            break
        if line is None:
            break
        question = line.strip()
        if not question:
            continue
        if len(question) > settings.max_question_length:
            limit = settings.max_question_length
            language = messages.of_question(question)
            print(messages.text("too_long", language, length=len(question), limit=limit), file=stdout)
            continue
        if not interactive:
            print(f"? {question}", file=stdout)
        today = dt.datetime.now(dt.UTC).date()
        answer = answer_news(service.engine, question, settings.excerpts, today=today)
        print(format_answer(answer), file=stdout)
        if not interactive:
            print(file=stdout)
    return 0


def _read_question(stdin: TextIO, stdout: TextIO, interactive: bool) -> str | None:
    """The next line typed or piped; None at the end of input."""
    if not interactive:
        return stdin.readline() or None
    try:
        return input("\n? ")  # input() itself reads the terminal, with line editing
    except EOFError:
        print(file=stdout)
        return None
