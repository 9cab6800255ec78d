"""Question -> `Answer`: ranked, cited excerpts, or an honest "not found in the corpus"."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from bot.index import Candidate, SearchIndex
from bot.text import analyzer, clean_text, surface_terms

NOT_FOUND_NO_TERMS = "no_terms"
NOT_FOUND_NO_MATCH = "no_match"
NOT_FOUND_LOW_COVERAGE = "low_coverage"

REASONS = {
    NOT_FOUND_NO_TERMS: "The question has no searchable words.",
    NOT_FOUND_NO_MATCH: "None of the question's words appear in the corpus.",
    NOT_FOUND_LOW_COVERAGE: "The corpus mentions some of these words, but nothing answers the question.",
}


class Excerpt(BaseModel):
    """One cited sentence."""

    model_config = ConfigDict(frozen=True)

    text: str
    article: str
    article_id: str
    paragraph: int
    sentence_id: str
    score: float
    source: str | None
    url: str | None
    matched: list[str]


class Answer(BaseModel):
    """What the engine says about a question: excerpts when it is answered, a reason when not."""

    model_config = ConfigDict(frozen=True)

    question: str
    answered: bool
    results: list[Excerpt]
    reason: str | None = None
    terms: list[str]
    coverage: float
    corpus_version: str
    suggestions: list[str] = []

    @property
    def reason_text(self) -> str:
        """The not-found reason in words (empty when answered)."""
        return REASONS.get(self.reason or "", "")


@dataclass(frozen=True)
class AnswerPolicy:
    """When an answer counts as found, and how many weaker excerpts may follow the best one."""

    min_coverage: float = 0.5
    relative_floor: float = 0.35
    pool: int = 50
    coverage_depth: int = 10
    context_weight: float = 0.5


@dataclass(frozen=True)
class Query:
    """An analysed question: its terms, their vocabulary ids and weights, and the ranked sentences."""

    terms: list[str]
    context_terms: list[str]
    resolved: dict[str, int | None]
    weights: dict[str, float]
    candidates: list[Candidate]

    @property
    def known_ids(self) -> dict[int, None]:
        """Vocabulary ids of the terms found in the index, in question order."""
        return {tid: None for tid in self.resolved.values() if tid is not None}


class Engine:
    """Answers questions from one `SearchIndex` (immutable; a reload builds a new Engine)."""

    def __init__(self, index: SearchIndex, policy: AnswerPolicy | None = None) -> None:
        self.index = index
        self.policy = policy or AnswerPolicy()

    @property
    def version(self) -> str:
        """Version of the corpus this engine serves."""
        return self.index.version

    def ranked(self, question: str, k: int, context: str | None = None) -> Query:
        """Analyse `question` (plus an earlier question as lighter context) and rank `k` sentences."""
        terms = self.index.query_terms(question)
        extra = [t for t in self.index.query_terms(context) if t not in terms] if context else []
        resolved = self.index.resolve_terms(terms + extra)
        weights = {term: (self.policy.context_weight if term in extra else 1.0) for term in resolved}
        id_weights = {tid: max(weights[term], 0.0) for term, tid in resolved.items() if tid is not None}
        candidates = self.index.rank(list(id_weights), k, id_weights) if id_weights else []
        return Query(
            terms=terms, context_terms=extra, resolved=resolved, weights=weights, candidates=candidates
        )

    def answer(self, question: str, top: int = 3, context: str | None = None) -> Answer:
        """Rank sentences for `question`; keep up to `top` excerpts that really match.

        `context` is an earlier question this one follows up ("Et à Erbil ?"): its words help,
        with less weight than the question's own.
        """
        question = clean_text(question).strip()
        query = self.ranked(
            question, max(top * 4, self.policy.pool), clean_text(context) if context else None
        )
        all_terms = query.terms + query.context_terms
        if not query.terms and not (query.context_terms and question):
            return self._not_found(question, all_terms, NOT_FOUND_NO_TERMS)
        if not query.candidates:
            return self._not_found(question, all_terms, NOT_FOUND_NO_MATCH)
        coverage = self._coverage(query)
        if coverage < self.policy.min_coverage:
            return self._not_found(
                question,
                all_terms,
                NOT_FOUND_LOW_COVERAGE,
                coverage,
                self._closest_articles(query.candidates),
            )
        return Answer(
            question=question,
            answered=True,
            results=self._excerpts(query.candidates, top, list(query.known_ids)),
            terms=all_terms,
            coverage=round(coverage, 4),
            corpus_version=self.version,
        )

    def search(self, query_text: str, k: int = 10) -> list[Excerpt]:
        """Ranked matches without the not-found decision (for `/search`)."""
        query = self.ranked(clean_text(query_text).strip(), max(k, 1))
        return self._excerpts(query.candidates, k, list(query.known_ids), floor=0.0)

    def timed_answer(self, question: str, top: int = 3) -> tuple[Answer, float]:
        """`answer` plus the milliseconds it took."""
        start = time.perf_counter()
        result = self.answer(question, top)
        return result, (time.perf_counter() - start) * 1000

    def _coverage(self, query: Query) -> float:
        """Best share of the question's idf weight found around one of the top sentences."""
        weights = {term: self.index.idf(tid) * query.weights[term] for term, tid in query.resolved.items()}
        total = sum(weights.values())
        if not total:
            return 0.0
        known = list(query.known_ids)
        best = 0.0
        for cand in query.candidates[: self.policy.coverage_depth]:
            present = set(self.index.matched_terms(cand.sentence, known))
            matched = sum(weights[term] for term, tid in query.resolved.items() if tid in present)
            best = max(best, matched / total)
        return best

    def _excerpts(
        self, candidates: list[Candidate], top: int, known: list[int], floor: float | None = None
    ) -> list[Excerpt]:
        index = self.index
        if not candidates:
            return []
        if floor is None:
            floor = candidates[0].score * self.policy.relative_floor
        seen_texts: set[str] = set()
        out: list[Excerpt] = []
        for cand in candidates:
            if len(out) >= top or cand.score < floor:
                break
            text = index.texts[cand.sentence]
            if text in seen_texts:
                continue
            seen_texts.add(text)
            meta = index.articles[index.sent_article[cand.sentence]]
            in_sentence = [index.term(t) for t in index.matched_terms(cand.sentence, known, window=False)]
            out.append(
                Excerpt(
                    text=text,
                    article=meta.title,
                    article_id=meta.id,
                    paragraph=int(index.sent_paragraph[cand.sentence]),
                    sentence_id=index.sentence_id(cand.sentence),
                    score=round(cand.score, 4),
                    source=meta.source,
                    url=meta.url,
                    matched=matched_words(text, set(in_sentence), meta.language),
                )
            )
        return out

    def _closest_articles(self, candidates: list[Candidate], limit: int = 3) -> list[str]:
        titles: dict[str, None] = {}
        for cand in candidates:
            titles.setdefault(self.index.articles[self.index.sent_article[cand.sentence]].title, None)
            if len(titles) >= limit:
                break
        return list(titles)

    def _not_found(
        self,
        question: str,
        terms: list[str],
        reason: str,
        coverage: float = 0.0,
        suggestions: list[str] | None = None,
    ) -> Answer:
        return Answer(
            suggestions=suggestions or [],
            question=question,
            answered=False,
            results=[],
            reason=reason,
            terms=terms,
            coverage=round(coverage, 4),
            corpus_version=self.version,
        )


def matched_words(text: str, index_terms: set[str], language: str) -> list[str]:
    """The words of `text` (as written) whose index terms are among `index_terms`."""
    if not index_terms:
        return []
    analyse = analyzer(language).terms
    cleaned = clean_text(text)
    words: dict[str, None] = {}
    for _, start, end in surface_terms(cleaned):
        word = cleaned[start:end]
        if index_terms.intersection(analyse(word)):
            words.setdefault(word, None)
    return list(words)
