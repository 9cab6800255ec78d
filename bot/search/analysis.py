"""Articles analysed into vocabulary term ids, in batches, here or in worker processes.

Indexing a large corpus is mostly analysis (cleaning, word splitting, folding, stemming: Python
on one core). Above `PARALLEL_AFTER` sentences, batches of articles go to spawned worker
processes, each with a vocabulary of its own; their term ids are mapped to the index's
vocabulary here, batch by batch in the articles' order, so every term gets the id a one-process
build gives it (the same index to the bit). Should the workers fail, the rest is analysed here.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain

import numpy as np

from bot.articles import Article, exit_with_parent
from bot.text import analyzer

log = logging.getLogger(__name__)

# Sentences analysed here before worker processes are started (small corpora never start them).
PARALLEL_AFTER = 40_000
# Sentences per batch handed to a worker.
BATCH_SENTENCES = 4_000

# Texts to analyse: per article, its language and its texts (title first, then each sentence).
Texts = list[tuple[str, list[str]]]
# One batch as handed over: the same, its texts encoded as UTF-8 once (the index keeps the
# sentences' bytes; a worker decodes them, where pickle would have encoded them again).
Batch = list[tuple[str, list[bytes]]]


# Pieces of text (cut at white space) remembered per language before the memo starts again.
MAX_PIECES = 500_000  # (as many as `Analyzer` keeps words: tens of MB at most)


class TermIds:
    """Texts -> vocabulary ids of their terms (new terms added, and listed in `added`): the same
    terms as `Analyzer.terms`, without making them again for every text. Each piece of text
    between spaces ("l'armée,") is searched for words once, each word analysed once."""

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        self.added: list[str] = []
        self._of_word: dict[str, dict[str, tuple[int, ...]]] = {}  # language -> word -> ids
        self._of_piece: dict[str, dict[str, tuple[int, ...]]] = {}  # language -> piece -> ids

    def id_of(self, term: str) -> int:
        """The id of `term`, a new one if it is new."""
        term_id = self.vocab.get(term)
        if term_id is None:
            term_id = self.vocab[term] = len(self.vocab)
            self.added.append(term)
        return term_id

    def batch(self, batch: Texts) -> tuple[np.ndarray, np.ndarray]:
        """The term ids of every text of `batch`, one after the other, and each text's count."""
        ids: list[int] = []
        lengths: list[int] = []
        for language, texts in batch:
            pieces_of = analyzer(language).pieces
            of_piece = self._of_piece.setdefault(language, {})
            if len(of_piece) > MAX_PIECES:
                of_piece.clear()
            for text in texts:
                pieces = pieces_of(text)
                known = list(map(of_piece.get, pieces))  # (one C-level pass: most pieces are known)
                if None in known:
                    self._learn(language, pieces, known)
                before = len(ids)
                ids += chain.from_iterable(known)  # type: ignore[arg-type]
                lengths.append(len(ids) - before)
        return np.array(ids, dtype=np.int32), np.array(lengths, dtype=np.int32)

    def _learn(self, language: str, pieces: list[str], known: list[tuple[int, ...] | None]) -> None:
        """Fill in `known` for the pieces seen for the first time (their new words analysed, the
        new terms given ids)."""
        of_piece = self._of_piece[language]
        of_word = self._of_word.setdefault(language, {})
        language_analyzer = analyzer(language)
        for n, piece in enumerate(pieces):
            if known[n] is not None:
                continue
            ids = of_piece.get(piece)
            if ids is None:
                piece_ids: list[int] = []
                for word in language_analyzer.piece_words(piece):
                    word_ids = of_word.get(word)
                    if word_ids is None:
                        word_ids = of_word[word] = tuple(map(self.id_of, language_analyzer.word_terms(word)))
                    piece_ids += word_ids
                ids = of_piece[piece] = tuple(piece_ids)
            known[n] = ids


_WORKER_TERMS: TermIds | None = None
# Workers yield to the process that started them (which may be serving questions meanwhile).
WORKER_NICENESS = 5


def _start_worker(parent: int) -> None:
    exit_with_parent(parent)
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


def _decoded(batch: Batch) -> Texts:
    return [
        (language, [text.decode("utf-8", "surrogatepass") for text in texts]) for language, texts in batch
    ]


def _analyse_in_worker(batch: Batch) -> tuple[int, list[str], np.ndarray, np.ndarray]:
    """In a worker: the batch's ids in this worker's own vocabulary, with the terms it added."""
    global _WORKER_TERMS
    if _WORKER_TERMS is None:
        _WORKER_TERMS = TermIds({})
    terms = _WORKER_TERMS
    terms.added = []
    ids, lengths = terms.batch(_decoded(batch))
    return os.getpid(), terms.added, ids, lengths


def _batches(articles: Iterable[Article]) -> Iterator[tuple[list[Article], Batch, int]]:
    """`articles` in batches of about `BATCH_SENTENCES` sentences, with their texts and count."""
    batch: list[Article] = []
    size = 0
    for article in articles:
        batch.append(article)
        size += article.sentence_count
        if size >= BATCH_SENTENCES:
            yield batch, _texts(batch), size
            batch, size = [], 0
    if batch:
        yield batch, _texts(batch), size


def _texts(articles: list[Article]) -> Batch:
    batch: Batch = []
    for article in articles:
        texts = [article.title, *(s.text for p in article.paragraphs for s in p.sentences)]
        batch.append((article.language, [text.encode("utf-8", "surrogatepass") for text in texts]))
    return batch


def analysed_batches(
    articles: Iterable[Article], term_ids: TermIds, workers: int
) -> Iterator[tuple[list[Article], Batch, np.ndarray, np.ndarray]]:
    """Batches of `articles`, in order, with their texts (UTF-8) and the ids (in `term_ids`'
    vocabulary) of those texts — per article its title, then each sentence — and each text's
    count of ids."""
    analysis = _Analysis(term_ids, workers)
    pending: deque[tuple[list[Article], Batch, Future | None]] = deque()
    seen = 0
    try:
        for batch_articles, batch, size in _batches(articles):
            seen += size
            pending.append((batch_articles, batch, analysis.submit(batch, start=seen > PARALLEL_AFTER)))
            # (a window of batches at the workers; one analysed here is done in its turn)
            while pending and (len(pending) > 2 * analysis.workers or pending[0][2] is None):
                yield analysis.collect(*pending.popleft())
        while pending:
            yield analysis.collect(*pending.popleft())
    finally:
        analysis.close()


class _Analysis:
    """Batches analysed by worker processes (started on demand) or here, in the caller's vocabulary."""

    def __init__(self, term_ids: TermIds, workers: int) -> None:
        self.term_ids = term_ids
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._remaps: dict[int, np.ndarray] = {}  # worker pid -> the ids here of its ids

    def submit(self, batch: Batch, start: bool) -> Future | None:
        """Hand `batch` to a worker (starting them if `start`), or None: to analyse here."""
        if self._pool is None and start and self.workers > 1:
            # spawn, not fork: the bot has threads running, which fork would copy half-way
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
        if self._pool is None:
            return None
        try:
            return self._pool.submit(_analyse_in_worker, batch)
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            self._without_workers(exc)
            return None

    def collect(
        self, articles: list[Article], batch: Batch, future: Future | None
    ) -> tuple[list[Article], Batch, np.ndarray, np.ndarray]:
        """A batch's ids here: read from its worker (mapped to this vocabulary), or analysed now.
        Once a worker has failed, every batch left is analysed here (a lost result would leave
        its worker's later ids unmapped)."""
        if future is not None and self._pool is not None:
            try:
                pid, added, ids, lengths = future.result()
            except (BrokenProcessPool, OSError, CancelledError) as exc:
                self._without_workers(exc)
            else:
                new = np.fromiter(map(self.term_ids.id_of, added), dtype=np.int32, count=len(added))
                remap = np.concatenate((self._remaps.get(pid, np.zeros(0, np.int32)), new))
                self._remaps[pid] = remap
                return articles, batch, remap[ids], lengths
        return articles, batch, *self.term_ids.batch(_decoded(batch))

    def _without_workers(self, exc: BaseException) -> None:
        log.warning("index: analysis workers failed (%s); analysing the rest here", exc)
        self.close()
        self.workers = 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
