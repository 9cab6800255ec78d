"""Question -> `Answer`: ranked, cited excerpts, or an honest "not found in the corpus"."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from bot.search.abstention import Abstention, decision_margin, default_abstention
from bot.search.embeddings import DenseIndex, Encoder, EncoderUnavailable, Similarities
from bot.search.index import Candidate, SearchIndex
from bot.search.question_types import expected_answer, is_yes_no
from bot.search.ranking import (
    Query,
    QuestionSignals,
    Ranking,
    RankingWeights,
    TitleTerms,
    candidate_pool,
    default_weights,
    features,
    log_total,
    story_presence,
)
from bot.text import analyzer, clean_text, fold, guess_language, words

NOT_FOUND_NO_TERMS = "no_terms"
NOT_FOUND_NO_MATCH = "no_match"
NOT_FOUND_LOW_COVERAGE = "low_coverage"

# Why an answer is "not found"; their wording, in French and English, is in `bot.messages`
# (`not_found_reason`).
REASONS = (NOT_FOUND_NO_TERMS, NOT_FOUND_NO_MATCH, NOT_FOUND_LOW_COVERAGE)


class Excerpt(BaseModel):
    """One cited sentence."""

    model_config = ConfigDict(frozen=True)

    text: str
    article: str
    article_id: str
    paragraph: int
    sentence_id: str
    score: float
    bm25: float = 0.0
    source: str | None
    url: str | None
    matched: list[str]
    published: str | None = None  # the article's publication date (ISO)


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
    similarity: float | None = None
    # Answered, but close to "not found": the excerpts are about the subject and may not answer.
    unsure: bool = False


@dataclass(frozen=True)
class AnswerPolicy:
    """When an answer counts as found, and how many weaker excerpts may follow the best one."""

    # Without embeddings: answered when this share of the question's idf weight is found
    # around one of the `coverage_depth` best sentences.
    min_coverage: float = 0.5
    coverage_depth: int = 10
    # A weaker excerpt follows the best one while the ranking gives it at least this chance of
    # being the answer (softmax of the learned scores over the question's candidates, which is
    # what the weights were fitted to). Chosen on PIAF's tune split (docs/quality.md): it drops
    # few answers from the three shown while sparing readers excerpts that are clearly worse.
    min_probability: float = 0.02
    pool: int = 30
    context_weight: float = 0.5


@dataclass(frozen=True)
class CandidateFeatures:
    """A question's candidate sentences (`pool`) and their feature rows (see `bot.search.ranking`)."""

    query: Query
    dense: Similarities | None
    pool: list[int]
    rows: np.ndarray


class Engine:
    """Answers questions from one `SearchIndex` (immutable; a reload builds a new Engine)."""

    def __init__(
        self,
        index: SearchIndex,
        policy: AnswerPolicy | None = None,
        dense: DenseIndex | None = None,
        encoder: Encoder | None = None,
        weights: RankingWeights | None = None,
        abstention: Abstention | None = None,
    ) -> None:
        self.index = index
        self.policy = policy or AnswerPolicy()
        self.dense = dense if encoder is not None else None
        self.encoder = encoder
        self.weights = weights or default_weights()
        self.abstention = abstention or default_abstention()
        self._titles = TitleTerms(index)
        self._positions: dict[str, int] | None = None

    @property
    def version(self) -> str:
        """Version of the corpus this engine serves."""
        return self.index.version

    def rows_of(self, articles: str | Sequence[str] | None) -> np.ndarray | None:
        """The sentence rows of the articles with these ids (None when none of them is served)."""
        if articles is None:
            return None
        if self._positions is None:
            self._positions = {meta.id: n for n, meta in enumerate(self.index.articles)}
        wanted = [articles] if isinstance(articles, str) else articles
        positions = sorted({self._positions[a] for a in wanted if a in self._positions})
        if not positions:
            return None
        return np.concatenate([self.index.article_rows(p) for p in positions])

    def lexical_query(
        self, question: str, k: int, context: str | None = None, among: np.ndarray | None = None
    ) -> Query:
        """Analyse `question` (plus an earlier question as lighter context); the `k` best
        sentences by BM25 with context (of the rows `among` only, when given)."""
        terms = self.index.query_terms(question)
        extra = [t for t in self.index.query_terms(context) if t not in terms] if context else []
        resolved = self.index.resolve_terms(terms + extra)
        weights = {term: (self.policy.context_weight if term in extra else 1.0) for term in resolved}
        id_weights = {tid: max(weights[term], 0.0) for term, tid in resolved.items() if tid is not None}
        candidates = self.index.rank(list(id_weights), k, id_weights, among) if id_weights else []
        idf = {term: self.index.idf(tid) * weights[term] for term, tid in resolved.items()}
        return Query(
            terms=terms,
            context_terms=extra,
            resolved=resolved,
            idf=idf,
            candidates=candidates,
        )

    def candidate_features(
        self, question: str, context: str | None = None, within: str | Sequence[str] | None = None
    ) -> CandidateFeatures:
        """Lexical candidates plus the nearest sentences by meaning, with their feature rows
        (among the sentences of the article `within` only, when given).

        The texts are cleaned here, so that training, evaluation and answers see the same question."""
        question = clean_text(question).strip()
        context = clean_text(context) if context else None
        among = self.rows_of(within)
        query = self.lexical_query(question, self.policy.pool, context, among)
        dense = self._similarities(question, query.candidates, among) if self._embedded_for(query) else None
        if dense is not None and among is not None:
            dense = dense.restricted_to(among)
        pool = candidate_pool(query.candidates, dense, self.policy.pool)
        idf_weights = {tid: query.idf[term] for term, tid in query.resolved.items() if tid is not None}
        signals = QuestionSignals(
            idf_weights, frozenset(query.terms), expected_answer(question), question, is_yes_no(question)
        )
        rows = features(self.index, pool, query.candidates, signals, dense, self._titles)
        return CandidateFeatures(query, dense, pool, rows)

    def rank(
        self, question: str, context: str | None = None, within: str | Sequence[str] | None = None
    ) -> Ranking:
        """The whole ranking: lexical candidates, nearest sentences by meaning, learned scores."""
        found = self.candidate_features(question, context, within)
        if not found.pool:
            return Ranking(found.query, [], found.dense)
        scores = self.weights.scores(found.rows, found.dense is not None)
        lexical = {c.sentence: c for c in found.query.candidates}
        ranked = [
            Candidate(
                s,
                float(score),
                lexical[s].sentence_score if s in lexical else 0.0,
                lexical[s].context_score if s in lexical else 0.0,
            )
            for s, score in zip(found.pool, scores, strict=True)
        ]
        ranked.sort(key=lambda c: (-c.score, c.sentence))
        return Ranking(found.query, ranked, found.dense)

    def answer(
        self,
        question: str,
        top: int = 3,
        context: str | None = None,
        within: str | Sequence[str] | None = None,
    ) -> Answer:
        """Rank sentences for `question`; keep up to `top` excerpts that really match.

        `context` is an earlier question this one follows up ("Et à Erbil ?"): its words help,
        with less weight than the question's own. `within` is an article id (or several): only
        their sentences are searched; unknown ids are ignored, and with none served, all are.
        """
        question = clean_text(question).strip()
        ranking = self.rank(question, context, within)
        query = ranking.query
        all_terms = query.terms + query.context_terms
        if not query.terms and not (query.context_terms and question):
            return self._not_found(question, all_terms, NOT_FOUND_NO_TERMS)
        coverage = self.coverage(query) if query.candidates else 0.0
        answered, unsure = self._decide(ranking, coverage, question)
        if not answered:
            if not query.candidates and ranking.dense is None:
                return self._not_found(question, all_terms, NOT_FOUND_NO_MATCH)
            return self._not_found(
                question,
                all_terms,
                NOT_FOUND_LOW_COVERAGE,
                coverage,
                self._closest_articles(ranking.order),
                ranking.similarity,
            )
        return Answer(
            question=question,
            answered=True,
            results=self._excerpts(ranking.order, top, list(query.known_ids)),
            terms=all_terms,
            coverage=round(coverage, 4),
            similarity=_rounded(ranking.similarity),
            corpus_version=self.version,
            unsure=unsure,
        )

    def _decide(self, ranking: Ranking, coverage: float, question: str) -> tuple[bool, bool]:
        """Whether the corpus answers, and whether only just (an answer to show with a caveat):
        learned from coverage and similarity with embeddings, a coverage threshold without."""
        if not ranking.order:
            return False, False
        if ranking.dense is None:
            return coverage >= self.policy.min_coverage, False
        cross_lingual = guess_language(question) not in self.index.languages
        margin = decision_margin(
            self.abstention, self.index, self.encoder, question, ranking, coverage, cross_lingual
        )
        return margin >= 0.0, self.abstention.unsure(margin, cross_lingual)

    def _embedded_for(self, query: Query) -> bool:
        """Whether this question can use the sentence vectors: not when its best lexical sentence
        has none yet (an article added moments ago): its signals would then compare the question
        with every article but the one that answers it, and refuse it. Such a question is ranked
        and decided as with embeddings off until the article's vectors arrive."""
        if self.dense is None:
            return False
        return not query.candidates or self.dense.covers(query.candidates[0].sentence)

    def _similarities(
        self, question: str, lexical: list[Candidate], among: np.ndarray | None = None
    ) -> Similarities | None:
        """Similarity of the question to the embedded sentences (all of them, or on corpora too
        large for a full scan the lexical candidates, or the rows `among` when given)."""
        if self.dense is None or self.encoder is None or not question:
            return None
        try:
            vector = self.encoder.query(question)
        except EncoderUnavailable:  # a broken install: answer with BM25 rather than not at all
            return None
        if among is None:
            among = np.array(sorted(c.sentence for c in lexical), dtype=np.int64)
        return self.dense.similarities(vector, among)

    def search(self, query_text: str, k: int = 10) -> list[Excerpt]:
        """Ranked matches without the not-found decision (for `/search`)."""
        ranking = self.rank(clean_text(query_text).strip())
        return self._excerpts(ranking.order, k, list(ranking.query.known_ids), floor=-math.inf)

    def timed_answer(self, question: str, top: int = 3) -> tuple[Answer, float]:
        """`answer` plus the milliseconds it took."""
        start = time.perf_counter()
        result = self.answer(question, top)
        return result, (time.perf_counter() - start) * 1000

    def coverage(self, query: Query) -> float:
        """Best share of the question's idf weight found around one of the top sentences (its
        neighbours, its article's title and lede included)."""
        total = sum(query.idf.values())
        known = list(query.known_ids)
        if not total or not known or not query.candidates:
            return 0.0
        weight_of: dict[int, float] = dict.fromkeys(known, 0.0)
        for term, tid in query.resolved.items():
            if tid is not None:
                weight_of[tid] += query.idf[term]
        top = np.array([cand.sentence for cand in query.candidates[: self.policy.coverage_depth]])
        # The sentence, its neighbours, and its article's title and lede: a news question names
        # the story ("... à Kerbrat ?") and asks about one sentence of it.
        presence = self.index.term_presence(top, known) | story_presence(self.index, top, known)
        return float((presence @ np.array(list(weight_of.values()))).max() / total)

    def _excerpts(
        self, candidates: list[Candidate], top: int, known: list[int], floor: float | None = None
    ) -> list[Excerpt]:
        index = self.index
        if not candidates:
            return []
        if floor is None:  # softmax probability >= min_probability
            floor = log_total(candidates) + math.log(self.policy.min_probability)
        newest = self._newest_of_each_text(candidates)
        seen_texts: set[str] = set()
        out: list[Excerpt] = []
        for ranked in candidates:
            if len(out) >= top or ranked.score < floor:
                break
            key = _same_text_key(index.texts[ranked.sentence])
            if key in seen_texts:
                continue
            seen_texts.add(key)
            cand = newest[key]  # the same words in several articles: the newest is cited
            text = index.texts[cand.sentence]
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
                    bm25=round(cand.sentence_score + cand.context_score, 4),
                    source=meta.source,
                    url=meta.url,
                    matched=matched_words(text, set(in_sentence), meta.language),
                    published=meta.published,
                )
            )
        return out

    def _newest_of_each_text(self, candidates: list[Candidate]) -> dict[str, Candidate]:
        """For each distinct text (case, accents and spacing aside) among the candidates, the
        candidate from the most recently published article (the best ranked among equals)."""
        index = self.index
        chosen: dict[str, Candidate] = {}
        for cand in candidates:
            key = _same_text_key(index.texts[cand.sentence])
            held = chosen.get(key)
            if held is None or _published(index, cand) > _published(index, held):
                chosen[key] = cand
        return chosen

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
        similarity: float | None = None,
    ) -> Answer:
        return Answer(
            suggestions=suggestions or [],
            question=question,
            answered=False,
            results=[],
            reason=reason,
            terms=terms,
            coverage=round(coverage, 4),
            similarity=_rounded(similarity),
            corpus_version=self.version,
        )


def _same_text_key(text: str) -> str:
    return " ".join(fold(text).split())


def _published(index: SearchIndex, cand: Candidate) -> str:
    """The candidate's article date as sortable text ("" when undated: oldest)."""
    return index.articles[index.sent_article[cand.sentence]].published or ""


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def matched_words(text: str, index_terms: set[str], language: str) -> list[str]:
    """The words of `text` (as written) whose index terms are among `index_terms`."""
    if not index_terms:
        return []
    word_terms = analyzer(language).word_terms
    found: dict[str, None] = {}
    for word in words(text):
        if index_terms.intersection(word_terms(word)):
            found.setdefault(word, None)
    return list(found)
