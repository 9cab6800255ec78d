"""The search index: BM25 over sentences, each sentence also scored in its context.

Scoring variant: **Lucene BM25** (bm25s ``method="lucene"``):

    score(q, d) = sum_t idf(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

It is Robertson/Okapi BM25 with an idf that never goes negative. Sentences are short documents,
and a word present in more than half of them (common in a one-article corpus) would get a
*negative* Okapi idf and push the sentences that contain it down; rank_bm25's BM25Okapi patches
that with an epsilon floor, Lucene's idf avoids it by construction. The tests check the scores
against ``rank_bm25.BM25Okapi`` with this idf (same k1 and b): they agree to float precision once
rank_bm25's constant (k1 + 1) factor, which Lucene drops and which changes no ranking, is applied.

Context: a sentence's final lexical score adds its paragraph's BM25 score and its neighbours'
scores (same paragraph), weighted, so a sentence that answers without repeating the question's
words ("Personne n'a été blessé.") can still win from the words around it.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.corpus import corpus_version
from bot.models import Article, Corpus
from bot.text import analyzer
from bot.titles import ArticleTitles


@dataclass(frozen=True)
class RankingParams:
    """Constants of the lexical ranking, chosen on the whole PIAF dev set, never per question."""

    k1: float = 0.9
    b: float = 0.4
    neighbour_weight: float = 0.2
    paragraph_weight: float = 1.0
    fuzzy_min_length: int = 4


@dataclass(frozen=True)
class ArticleMeta:
    """What a citation needs to know about an article."""

    id: str
    title: str
    source: str
    language: str
    url: str | None
    published: str | None
    summary: str | None
    path: str
    checksum: str
    sentence_count: int


@dataclass(frozen=True)
class Candidate:
    """A ranked sentence: its position in the index and its scores."""

    sentence: int
    score: float
    sentence_score: float
    context_score: float


def _repeat_index(lengths: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """For runs of the given lengths: the run number of each position (or, with `offsets`,
    offsets[run] + position within the run). Like `np.repeat(np.arange(n), lengths)`, but built
    from bincount and cumsum, which do not hold the GIL for long: a rebuild in a thread must not
    stall the bot's event loop."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    run = np.cumsum(np.bincount(ends[:-1], minlength=total + 1)[:total])
    if offsets is None:
        return run
    run_start = ends - lengths
    return offsets[run] + (np.arange(total) - run_start[run])


@dataclass
class _Bm25Matrix:
    """bm25s' precomputed term x document score matrix (CSC), queried term by term."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    num_docs: int

    @classmethod
    def build(
        cls, tokens: np.ndarray, lengths: np.ndarray, vocab_size: int, params: RankingParams
    ) -> _Bm25Matrix:
        """The Lucene BM25 matrix of documents given as one flat array of term ids and their lengths.

        Vectorised (no Python loop over documents): the same scores bm25s computes with
        ``method="lucene"`` — the tests check both against bm25s and rank_bm25 — in a fraction of
        the time and memory at a million sentences.
        """
        num_docs = len(lengths)
        if num_docs == 0 or len(tokens) == 0:  # an empty corpus: nothing matches, nothing fails
            return cls(
                np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(vocab_size + 1, np.int64), num_docs
            )
        lengths = lengths.astype(np.int64)
        docs = _repeat_index(lengths)
        # Sort by (term, doc): equal pairs become runs, whose length is the term frequency.
        pair = tokens.astype(np.int64) * num_docs + docs
        pair.sort(kind="stable")
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        tf = np.diff(np.r_[starts, len(pair)]).astype(np.float32)
        unique = pair[starts]
        del pair
        term = (unique // num_docs).astype(np.int64)
        doc = (unique % num_docs).astype(np.int32)
        df = np.bincount(term, minlength=vocab_size)
        idf = np.log1p((num_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = params.k1 * (1 - params.b + params.b * lengths / max(lengths.mean(), 1e-9))
        data = (idf[term] * tf / (tf + norm[doc].astype(np.float32))).astype(np.float32)
        indptr = np.zeros(vocab_size + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        return cls(data, doc, indptr, num_docs)

    def postings(
        self, term_ids: Sequence[int], weights: Sequence[float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(document ids, weighted scores) of every posting of `term_ids` (a doc may repeat)."""
        if not term_ids:
            return np.zeros(0, np.int64), np.zeros(0)
        slices = [slice(self.indptr[t], self.indptr[t + 1]) for t in term_ids]
        idx = np.concatenate([self.indices[s] for s in slices])
        if weights is None:
            val = np.concatenate([self.data[s] for s in slices])
        else:
            val = np.concatenate([self.data[s] * w for s, w in zip(slices, weights, strict=True)])
        return idx, val

    def scores(self, term_ids: Sequence[int], weights: Sequence[float] | None = None) -> np.ndarray:
        """Weighted sum of the rows of `term_ids`, as a dense vector over documents (float64)."""
        idx, val = self.postings(term_ids, weights)
        return np.bincount(idx, weights=val, minlength=self.num_docs)

    def scores_at(
        self, term_ids: Sequence[int], weights: Sequence[float] | None, docs: np.ndarray
    ) -> np.ndarray:
        """Weighted scores of `docs` (sorted or not) for `term_ids`, by look-up in each column."""
        out = np.zeros(len(docs))
        for i, term_id in enumerate(term_ids):
            start = self.indptr[term_id]
            column = self.indices[start : self.indptr[term_id + 1]]
            if not len(column):
                continue
            pos = np.minimum(np.searchsorted(column, docs), len(column) - 1)
            hit = column[pos] == docs
            out[hit] += self.data[start + pos[hit]] * (1.0 if weights is None else weights[i])
        return out

    def contains(self, term_id: int, docs: np.ndarray) -> np.ndarray:
        """Which of `docs` contain `term_id` (bool per doc)."""
        column = self.indices[self.indptr[term_id] : self.indptr[term_id + 1]]
        pos = np.searchsorted(column, docs)
        pos = np.minimum(pos, max(len(column) - 1, 0))
        return (column[pos] == docs) if len(column) else np.zeros(len(docs), dtype=bool)

    def document_frequency(self, term_id: int) -> int:
        """Number of documents holding `term_id`."""
        return int(self.indptr[term_id + 1] - self.indptr[term_id])


@dataclass
class SearchIndex:
    """Sentences of a corpus, their BM25 matrices (sentence and paragraph) and their metadata."""

    version: str
    params: RankingParams
    articles: tuple[ArticleMeta, ...]
    languages: tuple[str, ...]
    texts: list[str]
    sent_article: np.ndarray  # article index of each sentence
    sent_paragraph: np.ndarray  # paragraph number (0 = summary) of each sentence
    sent_para_index: np.ndarray  # global paragraph index of each sentence
    sent_position: np.ndarray  # 1-based position of each sentence in its paragraph
    vocab: dict[str, int]
    sentences: _Bm25Matrix
    paragraphs: _Bm25Matrix
    _first_in_para: np.ndarray = field(init=False, repr=False)
    _para_start: np.ndarray = field(init=False, repr=False)
    _article_start: np.ndarray = field(init=False, repr=False)
    _last_in_para: np.ndarray = field(init=False, repr=False)
    _vocab_buckets: dict[tuple[int, str], list[str]] = field(default_factory=dict, repr=False)
    _terms: list[str] | None = field(default=None, repr=False)
    _titles: ArticleTitles | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        para_index = self.sent_para_index
        self._first_in_para = np.ones(len(para_index), dtype=bool)
        self._first_in_para[1:] = para_index[1:] != para_index[:-1]
        self._last_in_para = np.ones(len(para_index), dtype=bool)
        self._last_in_para[:-1] = para_index[1:] != para_index[:-1]
        # Sentences of paragraph p are para_start[p] .. para_start[p + 1] - 1 (they are contiguous).
        per_article = np.bincount(self.sent_article, minlength=len(self.articles))
        self._article_start = np.zeros(len(per_article) + 1, dtype=np.int64)
        np.cumsum(per_article, out=self._article_start[1:])
        counts = np.bincount(para_index, minlength=self.paragraphs.num_docs)
        self._para_start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._para_start[1:])

    @property
    def size(self) -> int:
        """Number of sentences."""
        return len(self.texts)

    @classmethod
    def build(cls, corpus: Corpus | Iterable[Article], params: RankingParams | None = None) -> SearchIndex:
        """Analyse every sentence and build both BM25 matrices.

        `corpus` may be a stream of articles (see `corpus.iter_articles`): each is indexed and
        dropped, so a large corpus never sits in memory twice.
        """
        articles = corpus.articles if isinstance(corpus, Corpus) else corpus
        params = params or RankingParams()
        vocab: dict[str, int] = {}
        sent_tokens, sent_lengths = array("i"), array("i")
        para_tokens, para_lengths = array("i"), array("i")
        texts: list[str] = []
        sent_article = array("i")
        sent_paragraph = array("i")
        sent_para_index = array("i")
        sent_position = array("i")
        metas: list[ArticleMeta] = []
        for a_idx, article in enumerate(articles):
            terms_of = analyzer(article.language).terms
            title_ids = [vocab.setdefault(t, len(vocab)) for t in terms_of(article.title)]
            for paragraph in article.paragraphs:
                para_length = len(title_ids)
                para_tokens.extend(title_ids)
                for position, sentence in enumerate(paragraph.sentences, start=1):
                    ids = [vocab.setdefault(t, len(vocab)) for t in terms_of(sentence.text)]
                    sent_tokens.extend(ids)
                    sent_lengths.append(len(ids))
                    para_tokens.extend(ids)
                    para_length += len(ids)
                    texts.append(sentence.text)
                    sent_article.append(a_idx)
                    sent_paragraph.append(paragraph.number)
                    sent_para_index.append(len(para_lengths))
                    sent_position.append(position)
                para_lengths.append(para_length)
            metas.append(
                ArticleMeta(
                    id=article.id,
                    title=article.title,
                    source=article.source,
                    language=article.language,
                    url=article.url,
                    published=article.published.isoformat() if article.published else None,
                    summary=article.summary,
                    path=article.path,
                    checksum=article.checksum,
                    sentence_count=article.sentence_count,
                )
            )

        def as_array(values: array) -> np.ndarray:
            return np.frombuffer(values, dtype=np.int32).copy() if len(values) else np.zeros(0, np.int32)

        return cls(
            version=corpus_version(metas),
            params=params,
            articles=tuple(metas),
            languages=tuple(sorted({m.language for m in metas})),
            texts=texts,
            sent_article=as_array(sent_article),
            sent_paragraph=as_array(sent_paragraph),
            sent_para_index=as_array(sent_para_index),
            sent_position=as_array(sent_position),
            vocab=vocab,
            sentences=_Bm25Matrix.build(as_array(sent_tokens), as_array(sent_lengths), len(vocab), params),
            paragraphs=_Bm25Matrix.build(as_array(para_tokens), as_array(para_lengths), len(vocab), params),
        )

    # -- queries ---------------------------------------------------------------------------

    def term(self, term_id: int) -> str:
        """The vocabulary term of an id."""
        if self._terms is None:
            self._terms = [""] * len(self.vocab)
            for word, tid in self.vocab.items():
                self._terms[tid] = word
        return self._terms[term_id]

    def query_terms(self, question: str) -> list[str]:
        """The question's terms, analysed for each language of the corpus, without repeats."""
        seen: dict[str, None] = {}
        for language in self.languages or ("fr",):
            for term in analyzer(language).terms(question):
                seen.setdefault(term, None)
        return list(seen)

    def resolve_terms(self, terms: Sequence[str]) -> dict[str, int | None]:
        """Map each query term to a vocabulary id; unknown terms go to their closest spelling."""
        resolved: dict[str, int | None] = {}
        for term in terms:
            term_id = self.vocab.get(term)
            if term_id is None and len(term) >= self.params.fuzzy_min_length and not term.isdigit():
                term_id = self._closest(term)
            resolved[term] = term_id
        return resolved

    def _closest(self, term: str) -> int | None:
        """The most frequent vocabulary term within 1 edit (2 for long words) of `term`.

        Only words of a close length and the same first letter are compared: typos rarely touch
        the first letter, and this keeps the look-up in the sub-millisecond range at 1M sentences.
        """
        max_edits = 1 if len(term) <= 6 else 2
        if not self._vocab_buckets:
            for word in self.vocab:
                if word:
                    self._vocab_buckets.setdefault((len(word), word[0]), []).append(word)
        best: tuple[int, int, str] | None = None
        for length in range(len(term) - max_edits, len(term) + max_edits + 1):
            words = self._vocab_buckets.get((length, term[0]))
            if not words:
                continue
            for word, dist, _ in process.extract(
                term, words, scorer=Levenshtein.distance, score_cutoff=max_edits, limit=5
            ):
                df = self.sentences.document_frequency(self.vocab[word])
                key = (dist, -df, word)
                if best is None or key < best:
                    best = key
        return self.vocab[best[2]] if best else None

    def idf(self, term_id: int | None) -> float:
        """Lucene idf of a term over sentences; an unknown term counts as the rarest possible."""
        n = self.size
        df = 0 if term_id is None else self.sentences.document_frequency(term_id)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def rank(
        self, term_ids: Sequence[int], k: int, weights: dict[int, float] | None = None
    ) -> list[Candidate]:
        """The `k` best sentences for known term ids (optionally weighted), by sentence + context score."""
        ids = sorted(set(term_ids))
        if not ids:
            return []
        w = [weights.get(t, 1.0) for t in ids] if weights else None
        # Exact top-k without scoring every sentence. A sentence scores through its own terms
        # and its neighbours' ("near" part) and through its paragraph. A sentence with no near
        # part scores paragraph_weight * P(its paragraph), which the sentences of the k best
        # paragraphs ("seeds") already match or beat; a sentence with one is kept only if its
        # near part plus the best paragraph's share can reach the seeds' k-th best total.
        p = self.params
        s_idx, s_val = self.sentences.postings(ids, w)
        p_idx, p_val = self.paragraphs.postings(ids, w)
        if len(p_idx) == 0:
            return []
        para_scores = np.bincount(p_idx, weights=p_val, minlength=self.paragraphs.num_docs)
        has_next = ~self._last_in_para[s_idx]
        has_prev = ~self._first_in_para[s_idx]
        reached = np.concatenate((s_idx, s_idx[has_next] + 1, s_idx[has_prev] - 1))
        near_scores = np.bincount(
            reached,
            weights=np.concatenate(
                (s_val, p.neighbour_weight * s_val[has_next], p.neighbour_weight * s_val[has_prev])
            ),
            minlength=self.size,
        )
        # A paragraph appears at most once per term in the postings: the best k x terms postings
        # include the k best paragraphs.
        # (Ties with the last one are kept, so that equal scores fall back to sentence order.)
        m = min(len(p_idx), k * len(ids))
        posted = para_scores[p_idx]
        paras = np.unique(p_idx[posted >= -np.partition(-posted, m - 1)[m - 1]])
        starts = self._para_start[paras]
        seeds = _repeat_index(self._para_start[paras + 1] - starts, starts)
        kth_best = -math.inf
        if len(seeds) >= k:
            seed_totals = near_scores[seeds] + p.paragraph_weight * para_scores[self.sent_para_index[seeds]]
            # (less a hair, so float rounding never drops a sentence tied with the k-th)
            kth_best = np.partition(seed_totals, len(seeds) - k)[len(seeds) - k]
            kth_best -= 1e-9 * (1 + abs(kth_best))
        # Cheap bound first (near part + the best paragraph's share), exact total on the few left.
        reachable = reached[near_scores[reached] >= kth_best - p.paragraph_weight * para_scores.max()]
        reachable_totals = (
            near_scores[reachable] + p.paragraph_weight * para_scores[self.sent_para_index[reachable]]
        )
        cand = np.unique(np.concatenate((reachable[reachable_totals >= kth_best], seeds)))
        near = near_scores[cand]
        total = near + p.paragraph_weight * para_scores[self.sent_para_index[cand]]
        k = min(k, len(total))
        top = np.flatnonzero(total >= -np.partition(-total, k - 1)[k - 1])
        top = top[np.lexsort((cand[top], -total[top]))][:k]
        top = top[total[top] > 0]
        own = self.sentences.scores_at(ids, w, cand[top])
        return [
            Candidate(int(cand[j]), float(total[j]), float(sent), float(total[j] - sent))
            for j, sent in zip(top, own, strict=True)
        ]

    @property
    def titles(self) -> ArticleTitles:
        """Look-up of articles by id or title (built on first use; `QAService` builds it off the loop)."""
        if self._titles is None:
            self._titles = ArticleTitles(self.articles)
        return self._titles

    def article_rows(self, article: int) -> np.ndarray:
        """Sentence ids of one article (they are contiguous)."""
        return np.arange(self._article_start[article], self._article_start[article + 1])

    def paragraph_bounds(self, sentence: int) -> tuple[int, int]:
        """The first and last sentence of `sentence`'s paragraph."""
        paragraph = int(self.sent_para_index[sentence])
        return int(self._para_start[paragraph]), int(self._para_start[paragraph + 1]) - 1

    def sentence_id(self, sentence: int) -> str:
        """The stable id of a sentence: `<article>#p<paragraph>s<position>`."""
        article = self.articles[self.sent_article[sentence]]
        return f"{article.id}#p{self.sent_paragraph[sentence]}s{self.sent_position[sentence]}"

    def matched_terms(self, sentence: int, term_ids: Sequence[int], *, window: bool = True) -> list[int]:
        """Which of `term_ids` occur in the sentence (and, with `window`, its paragraph neighbours)."""
        found = self.term_presence([sentence], term_ids, window=window)[0]
        return [t for t, present in zip(term_ids, found, strict=True) if present]

    def term_presence(
        self, sentences: Sequence[int], term_ids: Sequence[int], *, window: bool = True
    ) -> np.ndarray:
        """(len(sentences), len(term_ids)) booleans: term in the sentence (or, with `window`,
        in a neighbour of the same paragraph). One sorted look-up per term, not per pair."""
        rows = np.asarray(sentences, dtype=np.int64)
        out = np.zeros((len(rows), len(term_ids)), dtype=bool)
        if not len(rows) or not len(term_ids):
            return out
        docs = [rows]
        if window:
            docs.append(np.where(self._first_in_para[rows], rows, rows - 1))
            docs.append(np.where(self._last_in_para[rows], rows, rows + 1))
        looked_up = np.concatenate(docs).astype(self.sentences.indices.dtype)
        for j, term_id in enumerate(term_ids):
            out[:, j] = self.sentences.contains(term_id, looked_up).reshape(len(docs), len(rows)).any(axis=0)
        return out
