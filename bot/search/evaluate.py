"""Sentence-retrieval evaluation on a SQuAD-format file (PIAF): hit@k and MRR@10.

Every sentence of every paragraph is pooled into one corpus; a question's gold sentences are
those whose character span holds one of its answers' `answer_start`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.articles import Article, Corpus, Paragraph, Sentence, corpus_version, sentence_id, slugify
from bot.search.answer import Engine
from bot.search.question_types import QUESTION_TYPES, question_type
from bot.text import guess_language, split_sentences

CUTOFFS = (1, 3, 5)
MRR_DEPTH = 10


@dataclass(frozen=True)
class EvalQuestion:
    """A question and the ids of the sentences that answer it."""

    question: str
    gold: frozenset[str]
    article_id: str


@dataclass
class EvalSet:
    """A SQuAD file turned into a corpus of articles plus questions with gold sentences."""

    corpus: Corpus
    questions: list[EvalQuestion] = field(default_factory=list)
    # SQuAD 2.0 questions without an answer (`is_impossible`): the corpus must say "not found".
    unanswerable: list[EvalQuestion] = field(default_factory=list)


def _sentence_spans(context: str, sentences: list[str]) -> list[tuple[int, int]]:
    """Character span of each sentence in the original context (sentences are in order)."""
    starts: list[int] = []
    cursor = 0
    for sentence in sentences:
        probe = sentence[:25]
        found = context.find(probe, cursor)
        start = found if found >= 0 else cursor
        starts.append(start)
        cursor = start + max(1, len(sentence) // 2) if found >= 0 else cursor
    ends = [*starts[1:], len(context) + 1]
    return list(zip(starts, ends, strict=True))


def load_squad(path: Path | str, language: str = "fr") -> EvalSet:
    """Read a SQuAD JSON file into an `EvalSet` (one article per title)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    articles: list[Article] = []
    questions: list[EvalQuestion] = []
    unanswerable: list[EvalQuestion] = []
    used_ids: set[str] = set()
    for entry in data["data"]:
        title = entry["title"]
        article_id = slugify(title)
        while article_id in used_ids:
            article_id += "-x"
        used_ids.add(article_id)
        paragraphs: list[Paragraph] = []
        for number, para in enumerate(entry["paragraphs"], start=1):
            context = para["context"]
            texts = split_sentences(context, language)
            if not texts:
                continue
            sentences = tuple(
                Sentence(id=sentence_id(article_id, number, i), text=t) for i, t in enumerate(texts, 1)
            )
            paragraphs.append(Paragraph(number=number, text=context, sentences=sentences))
            spans = _sentence_spans(context, texts)
            for qa in para["qas"]:
                gold = frozenset(
                    sentences[i].id
                    for answer in qa.get("answers", [])
                    for i, (start, end) in enumerate(spans)
                    if start <= answer["answer_start"] < end
                )
                if gold and qa["question"].strip():
                    questions.append(EvalQuestion(qa["question"], gold, article_id))
                elif not qa.get("answers") and qa["question"].strip():
                    unanswerable.append(EvalQuestion(qa["question"], frozenset(), article_id))
        if paragraphs:
            raw = json.dumps(entry, sort_keys=True).encode()
            articles.append(
                Article(
                    id=article_id,
                    title=title,
                    source="PIAF",
                    language=language,
                    paragraphs=tuple(paragraphs),
                    path=f"{path}#{article_id}",
                    checksum=hashlib.sha256(raw).hexdigest(),
                )
            )
    corpus = Corpus(articles=tuple(articles), version=corpus_version(articles))
    return EvalSet(corpus=corpus, questions=questions, unanswerable=unanswerable)


@dataclass(frozen=True)
class EvalReport:
    """The figures of one evaluation run."""

    questions: int
    hits: dict[int, float]
    mrr: float
    ms_per_question: float
    by_type: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        """The documented `eval --json` object (the first six keys are the contract)."""
        out: dict[str, object] = {"questions": self.questions}
        for k in CUTOFFS:
            out[f"hit@{k}"] = round(self.hits[k], 4)
        out["mrr@10"] = round(self.mrr, 4)
        out["ms_per_question"] = round(self.ms_per_question, 3)
        if self.by_type:
            out["by_type"] = self.by_type
        return out


RankFunction = Callable[[str], list[str]]  # question -> sentence ids, best first


def engine_ranker(engine: Engine) -> RankFunction:
    """The production ranking (analysis, typo resolution, context scoring, embeddings when the
    engine has them, learned combination) as sentence ids."""

    def rank(question: str) -> list[str]:
        ranked = engine.rank(question).order[:MRR_DEPTH]
        return [engine.index.sentence_id(c.sentence) for c in ranked]

    return rank


def evaluate(ranker: RankFunction, questions: Iterable[EvalQuestion], progress: bool = False) -> EvalReport:
    """Run every question through `ranker` and score its ranking against the gold sentences."""
    items = list(questions)
    hits = dict.fromkeys(CUTOFFS, 0)
    reciprocal = 0.0
    iterator: Iterable[EvalQuestion] = items
    if progress:
        from tqdm import tqdm

        iterator = tqdm(items, desc="questions", unit="q", leave=False)
    per_type: dict[str, list[float]] = {}
    start = time.perf_counter()
    for item in iterator:
        ranked = ranker(item.question)[:MRR_DEPTH]
        first = next((i for i, sid in enumerate(ranked) if sid in item.gold), None)
        stats = per_type.setdefault(question_type(item.question), [0, 0, 0, 0.0])
        stats[0] += 1
        if first is not None:
            reciprocal += 1.0 / (first + 1)
            stats[1] += first < 1
            stats[2] += first < 5
            stats[3] += 1.0 / (first + 1)
            for k in CUTOFFS:
                hits[k] += first < k
    elapsed = time.perf_counter() - start
    n = max(len(items), 1)
    return EvalReport(
        questions=len(items),
        hits={k: hits[k] / n for k in CUTOFFS},
        mrr=reciprocal / n,
        ms_per_question=elapsed * 1000 / n,
        by_type={
            name: {
                "questions": per_type[name][0],
                "hit@1": round(per_type[name][1] / per_type[name][0], 4),
                "hit@5": round(per_type[name][2] / per_type[name][0], 4),
                "mrr@10": round(per_type[name][3] / per_type[name][0], 4),
            }
            for name in QUESTION_TYPES
            if name in per_type
        },
    )


@dataclass(frozen=True)
class AbstentionReport:
    """How well "not found" is decided: on questions whose article is removed, and on the rest."""

    answerable: int
    unanswerable: int
    abstained_unanswerable: int
    abstained_answerable: int
    unsure_unanswerable: int = 0  # answered with the "may not answer" caveat, article removed
    unsure_answerable: int = 0  # the same caveat on answerable questions

    @property
    def precision(self) -> float:
        """Share of "not found" answers that were right (the article really was absent)."""
        said = self.abstained_unanswerable + self.abstained_answerable
        return self.abstained_unanswerable / said if said else 0.0

    @property
    def recall(self) -> float:
        """Share of unanswerable questions that got "not found"."""
        return self.abstained_unanswerable / self.unanswerable if self.unanswerable else 0.0

    @property
    def false_not_found(self) -> float:
        """Share of answerable questions that wrongly got "not found"."""
        return self.abstained_answerable / self.answerable if self.answerable else 0.0

    def as_json(self) -> dict[str, float | int]:
        """The `abstention` object of `eval --json --abstention`."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "false_not_found": round(self.false_not_found, 4),
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "unsure_unanswerable": round(self.unsure_unanswerable / self.unanswerable, 4)
            if self.unanswerable
            else 0.0,
            "unsure_answerable": round(self.unsure_answerable / self.answerable, 4)
            if self.answerable
            else 0.0,
        }


def evaluate_abstention(
    evalset: EvalSet,
    questions: list[EvalQuestion],
    build: Callable[[Corpus], Engine],
    full: Engine,
    progress: bool = False,
) -> AbstentionReport:
    """Ask each question of the full corpus, then of the corpus without its own article."""
    by_article: dict[str, list[EvalQuestion]] = {}
    for q in questions:
        by_article.setdefault(q.article_id, []).append(q)
    on_full = [full.answer(q.question) for q in questions]
    abstained_answerable = sum(not a.answered for a in on_full)
    unsure_answerable = sum(a.unsure for a in on_full)
    abstained_unanswerable = unsure_unanswerable = 0
    groups: Iterable[tuple[str, list[EvalQuestion]]] = list(by_article.items())
    if progress:
        from tqdm import tqdm

        groups = tqdm(groups, desc="articles left out", unit="article", leave=False)
    for article_id, items in groups:
        rest = tuple(a for a in evalset.corpus.articles if a.id != article_id)
        engine = build(Corpus(articles=rest, version=f"without-{article_id}"))
        without = [engine.answer(q.question) for q in items]
        abstained_unanswerable += sum(not a.answered for a in without)
        unsure_unanswerable += sum(a.unsure for a in without)
    return AbstentionReport(
        len(questions),
        len(questions),
        abstained_unanswerable,
        abstained_answerable,
        unsure_unanswerable,
        unsure_answerable,
    )


def is_heldout(title: str) -> bool:
    """Held-out articles (about a quarter): sha1(title) ends in 0-3. Never used for tuning."""
    return hashlib.sha1(title.encode("utf-8")).hexdigest()[-1] in "0123"


def split_questions(evalset: EvalSet, split: str, *, unanswerable: bool = False) -> list[EvalQuestion]:
    """Questions of the `all`, `tune` or `heldout` part of an eval set (with `unanswerable`,
    those without an answer)."""
    questions = evalset.unanswerable if unanswerable else evalset.questions
    if split == "all":
        return list(questions)
    titles = {a.id: a.title for a in evalset.corpus.articles}
    want_heldout = split == "heldout"
    return [q for q in questions if is_heldout(titles[q.article_id]) == want_heldout]


@dataclass
class AnswerCounts:
    """How a group of answerable questions fared when asked as a member asks them."""

    questions: int = 0
    first: int = 0  # the first excerpt is an answering sentence
    shown: int = 0  # an answering sentence is among the excerpts shown
    not_found: int = 0  # told "not found" although the corpus answers


@dataclass
class AnswersReport:
    """Answers as members see them (`Engine.answer`, its excerpts and its "not found")."""

    by_language: dict[str, AnswerCounts]
    unanswerable: int
    unanswerable_not_found: int

    def as_json(self) -> dict:
        """Counts, as the news table of docs/quality.md reads them."""
        return {
            "by_language": {lang: vars(c) for lang, c in sorted(self.by_language.items())},
            "unanswerable": {"questions": self.unanswerable, "not_found": self.unanswerable_not_found},
        }


def evaluate_answers(
    engine: Engine, answerable: list[EvalQuestion], unanswerable: list[EvalQuestion], top: int = 3
) -> AnswersReport:
    """Ask every question as a member would, with `top` excerpts, and count what they were shown."""
    by_language: dict[str, AnswerCounts] = {}
    for item in answerable:
        answer = engine.answer(item.question, top)
        counts = by_language.setdefault(guess_language(item.question), AnswerCounts())
        counts.questions += 1
        shown = [r.sentence_id for r in answer.results]
        counts.first += bool(shown) and shown[0] in item.gold
        counts.shown += any(sid in item.gold for sid in shown)
        counts.not_found += not answer.answered
    refused = sum(not engine.answer(item.question, top).answered for item in unanswerable)
    return AnswersReport(by_language, len(unanswerable), refused)
