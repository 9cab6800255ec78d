"""The search index: BM25 over sentences, each sentence also scored in its context.

A sentence's final lexical score adds its paragraph's BM25 score and its neighbours' scores
(same paragraph), weighted, so a sentence that answers without repeating the question's words
("Personne n'a été blessé.") can still win from the words around it. The BM25 variant and its
matrices are in `bot.search.bm25`.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.articles import Article, ArticleMeta, Corpus, corpus_version, sentence_id
from bot.search.analysis import TermIds, analysed_batches
from bot.search.bm25 import Bm25Matrix, RankingParams, repeat_index
from bot.search.disk_build import Field, build_matrices
from bot.search.disk_update import Splice, fold_files, spliced_matrices
from bot.search.folded import FoldCancelled, FoldedMatrix, best_first, paragraph_starts
from bot.search.garbage import automatic_collections_paused, collect_young
from bot.search.npy_files import NpyWriter, saved
from bot.search.spelling import NearWords
from bot.search.texts import PackedTexts, joined
from bot.search.titles import ArticleTitles
from bot.text import analyzer


class Candidate(NamedTuple):
    """A ranked sentence: its position in the index and its scores. (A named tuple: made ten
    times for each question, in less than half a frozen dataclass's time.)"""

    sentence: int
    score: float
    sentence_score: float
    context_score: float


@dataclass
class _Analysed:
    """Articles analysed into term ids: what a `SearchIndex` is assembled from."""

    vocab: dict[str, int]
    metas: list[ArticleMeta]
    texts: Sequence[str]
    sent_article: np.ndarray
    sent_paragraph: np.ndarray
    sent_para_index: np.ndarray
    sent_position: np.ndarray
    sent_tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    sent_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    para_tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    para_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    # With a folder: the term ids are in these files instead (`sent_tokens`, `para_tokens` empty).
    token_files: tuple[NpyWriter, NpyWriter] | None = None

    @classmethod
    def of(
        cls, articles: Iterable[Article], vocab: dict[str, int], workers: int = 1, folder: Path | None = None
    ) -> _Analysed:
        """Analyse `articles`, adding their new terms to `vocab` (modified in place); with
        `workers` > 1, a large corpus is analysed by that many worker processes. With `folder`,
        the term ids and the texts are written to files there as they come, not held."""
        # (Growing arrays, not lists of per-batch pieces: their memory comes back whole at the
        # end, where pieces would leave holes among the sentence texts — 290 MB more at 1M.)
        sent_tokens: array | NpyWriter = array("i")
        para_tokens: array | NpyWriter = array("i")
        sent_lengths, para_lengths = array("i"), array("i")
        # The sentence texts, packed as UTF-8 (`PackedTexts`: 263 -> ~180 MB at 1M sentences,
        # and what the index cache stores), from each batch's encoded texts.
        text_blob: array | NpyWriter = array("B")
        text_sizes = array("q")
        if folder is not None:
            sent_tokens = NpyWriter(folder / "sentences.tokens.npy", np.int32)
            para_tokens = NpyWriter(folder / "paragraphs.tokens.npy", np.int32)
            text_blob = NpyWriter(folder / "texts.blob.npy", np.uint8)
        sent_article = array("i")
        sent_paragraph = array("i")
        sent_para_index = array("i")
        sent_position = array("i")
        metas: list[ArticleMeta] = []
        with automatic_collections_paused():
            for batch, encoded, ids, lengths in analysed_batches(articles, TermIds(vocab), workers):
                collect_young()
                layout = _BatchLayout.of(batch, lengths)
                sentence_paragraph = repeat_index(layout.sentence_counts)
                _extend(sent_article, len(metas) + layout.article[sentence_paragraph])
                _extend(sent_paragraph, layout.number[sentence_paragraph])
                _extend(sent_para_index, len(para_lengths) + sentence_paragraph)
                _extend(sent_position, layout.positions())
                metas += map(ArticleMeta.of, batch)
                sentences = [text for _, texts in encoded for text in texts[1:]]  # (titles left out)
                text_blob.frombytes(b"".join(sentences))
                text_sizes.extend(map(len, sentences))
                _extend(sent_tokens, ids[~np.repeat(layout.is_title, lengths)])
                _extend(sent_lengths, lengths[~layout.is_title])
                # a paragraph's terms: its article's title's, then its sentences'
                title, body = layout.title_ids, layout.sentence_ids
                _extend(para_lengths, (title[:, 1] - title[:, 0]) + (body[:, 1] - body[:, 0]))
                _extend(para_tokens, _gathered(ids, np.column_stack((title, body)).reshape(-1, 2)))
        token_files = None
        if isinstance(sent_tokens, NpyWriter) and isinstance(para_tokens, NpyWriter):
            token_files = (sent_tokens, para_tokens)
        return cls(
            vocab=vocab,
            metas=metas,
            texts=_packed(text_blob, text_sizes),
            sent_article=_as_array(sent_article),
            sent_paragraph=_as_array(sent_paragraph),
            sent_para_index=_as_array(sent_para_index),
            sent_position=_as_array(sent_position),
            sent_tokens=_held(sent_tokens),
            sent_lengths=_as_array(sent_lengths),
            para_tokens=_held(para_tokens),
            para_lengths=_as_array(para_lengths),
            token_files=token_files,
        )

    def drop_tokens(self) -> None:
        """Let the flat term-id arrays go once the matrices are built from them."""
        empty = np.zeros(0, np.int32)
        self.sent_tokens = self.sent_lengths = self.para_tokens = self.para_lengths = empty

    def matrices(self, params: RankingParams) -> tuple[Bm25Matrix, Bm25Matrix]:
        """The sentence and paragraph BM25 matrices of these articles alone, built side by side
        (numpy's sorts and arithmetic let go of the GIL: 4.5-4.8 s -> 1.7-2.4 s at 1M)."""
        size = len(self.vocab)
        with ThreadPoolExecutor(1, thread_name_prefix="depeche-bm25") as pool:
            paragraphs = pool.submit(Bm25Matrix.build, self.para_tokens, self.para_lengths, size, params)
            sentences = Bm25Matrix.build(self.sent_tokens, self.sent_lengths, size, params)
            return sentences, paragraphs.result()


@dataclass(frozen=True)
class _BatchLayout:
    """Where a batch's texts (per article its title, then each sentence) sit: per paragraph its
    article (counted in the batch), number, sentence count, and its title's and sentences' ranges
    of term ids (start, end); which texts are titles."""

    article: np.ndarray
    number: np.ndarray
    sentence_counts: np.ndarray
    title_ids: np.ndarray
    sentence_ids: np.ndarray
    is_title: np.ndarray

    @classmethod
    def of(cls, articles: list[Article], lengths: np.ndarray) -> _BatchLayout:
        """The layout of `articles`' texts, each text giving `lengths[i]` term ids."""
        article: list[int] = []
        number: list[int] = []
        counts: list[int] = []
        titles: list[int] = []  # each title's text
        firsts: list[int] = []  # each paragraph's first sentence's text
        text = 0
        for a, item in enumerate(articles):
            titles.append(text)
            text += 1
            for paragraph in item.paragraphs:
                article.append(a)
                number.append(paragraph.number)
                counts.append(len(paragraph.sentences))
                firsts.append(text)
                text += counts[-1]
        bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=bounds[1:])
        of_article = np.array(article, dtype=np.int64)
        paragraph_title = np.array(titles, dtype=np.int64)[of_article]
        first, count = np.array(firsts, dtype=np.int64), np.array(counts, dtype=np.int64)
        is_title = np.zeros(len(lengths), dtype=bool)
        is_title[titles] = True
        return cls(
            article=of_article,
            number=np.array(number, dtype=np.int64),
            sentence_counts=count,
            title_ids=np.column_stack((bounds[paragraph_title], bounds[paragraph_title + 1])),
            sentence_ids=np.column_stack((bounds[first], bounds[first + count])),
            is_title=is_title,
        )

    def positions(self) -> np.ndarray:
        """Each sentence's position in its paragraph, from 1."""
        return repeat_index(self.sentence_counts, np.ones(len(self.sentence_counts), dtype=np.int64))


def _gathered(values: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """`values[start:end]` for each (start, end) row of `ranges`, one after the other."""
    starts, ends = ranges[:, 0], ranges[:, 1]
    return values[repeat_index(ends - starts, starts)]


def _extend(values: array | NpyWriter, more: np.ndarray) -> None:
    values.frombytes(np.ascontiguousarray(more, dtype=np.int32).data.cast("B"))


def _packed(blob: array | NpyWriter, sizes: array) -> PackedTexts:
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(sizes, dtype=np.int64), out=offsets[1:])
    if isinstance(blob, NpyWriter):
        return PackedTexts(blob.mapped(), offsets)
    return PackedTexts(np.frombuffer(blob, dtype=np.uint8), offsets)


def _held(values: array | NpyWriter) -> np.ndarray:
    """The values held in memory (none when they went to a file)."""
    return _as_array(values) if isinstance(values, array) else np.zeros(0, np.int32)


def _as_array(values: array) -> np.ndarray:
    return np.frombuffer(values, dtype=np.int32).copy() if len(values) else np.zeros(0, np.int32)


@dataclass
class SearchIndex:
    """Sentences of a corpus, their BM25 matrices (sentence and paragraph) and their metadata."""

    version: str
    params: RankingParams
    articles: tuple[ArticleMeta, ...]
    languages: tuple[str, ...]
    texts: Sequence[str]  # `PackedTexts` when built or read back from the cache
    sent_article: np.ndarray  # article index of each sentence
    sent_paragraph: np.ndarray  # paragraph number (0 = summary) of each sentence
    sent_para_index: np.ndarray  # global paragraph index of each sentence
    sent_position: np.ndarray  # 1-based position of each sentence in its paragraph
    vocab: dict[str, int]
    sentences: Bm25Matrix
    paragraphs: Bm25Matrix
    # Both matrices and the context weights folded into one (`bot.search.folded`): what `rank`
    # reads. Folded when the index is made, unless given (the cache) or deferred (a step of an
    # update that is not served).
    folded: FoldedMatrix | None = None
    defer_fold: InitVar[bool] = False
    # The folder its arrays were built into (`build(folder=...)`): the index cache then keeps
    # that folder as its entry instead of writing the arrays again.
    folder: Path | None = None
    _first_in_para: np.ndarray = field(init=False, repr=False)
    _para_start: np.ndarray = field(init=False, repr=False)
    _article_start: np.ndarray = field(init=False, repr=False)
    _last_in_para: np.ndarray = field(init=False, repr=False)
    _near_words: NearWords | None = field(default=None, repr=False)
    _terms: list[str] | None = field(default=None, repr=False)
    _titles: ArticleTitles | None = field(default=None, init=False, repr=False)
    _folded: threading.Event = field(init=False, repr=False)
    _stop_fold: threading.Event = field(init=False, repr=False)

    def __post_init__(self, defer_fold: bool) -> None:
        para_index = self.sent_para_index
        self._first_in_para = np.ones(len(para_index), dtype=bool)
        self._first_in_para[1:] = para_index[1:] != para_index[:-1]
        self._last_in_para = np.ones(len(para_index), dtype=bool)
        self._last_in_para[:-1] = para_index[1:] != para_index[:-1]
        per_article = np.bincount(self.sent_article, minlength=len(self.articles))
        self._article_start = np.zeros(len(per_article) + 1, dtype=np.int64)
        np.cumsum(per_article, out=self._article_start[1:])
        self._para_start = paragraph_starts(para_index, self.paragraphs.num_docs)
        self._folded = threading.Event()
        self._stop_fold = threading.Event()
        if self.folded is None and not defer_fold:
            self.folded = self._fold()

    def _fold(self, stop: threading.Event | None = None) -> FoldedMatrix:
        if self.folder is not None:  # (an update written into a folder: folded into it, range by range)
            return fold_files(
                self.folder, self.sentences, self.paragraphs, self.sent_para_index, self.params, stop
            )
        return FoldedMatrix.fold(
            self.sentences, self.paragraphs, self.sent_para_index, self._para_start, self.params, stop
        )

    @property
    def size(self) -> int:
        """Number of sentences."""
        return len(self.texts)

    @classmethod
    def build(
        cls,
        corpus: Corpus | Iterable[Article],
        params: RankingParams | None = None,
        workers: int = 1,
        folder: Path | None = None,
    ) -> SearchIndex:
        """Analyse every sentence and build both BM25 matrices (a large corpus analysed by
        `workers` processes, when more than one: `bot.search.analysis`).

        `corpus` may be a stream of articles (see `corpus.iter_articles`): each is indexed and
        dropped, so a large corpus never sits in memory twice. With `folder` (new or empty), the
        index is built in bounded memory straight into `.npy` files there, the index cache's
        arrays (`bot.search.disk_build`), and serves from them memory-mapped: the same arrays.
        """
        articles = corpus.articles if isinstance(corpus, Corpus) else corpus
        params = params or RankingParams()
        if folder is not None:
            return cls._built_in(Path(folder), articles, params, workers)
        part = _Analysed.of(articles, {}, workers)
        matrices = part.matrices(params)
        part.drop_tokens()  # (hundreds of MB at 1M sentences, not needed by the fold that follows)
        return cls._assembled(part, matrices, params)

    @classmethod
    def _built_in(
        cls, folder: Path, articles: Iterable[Article], params: RankingParams, workers: int
    ) -> SearchIndex:
        folder.mkdir(parents=True, exist_ok=True)
        part = _Analysed.of(articles, {}, workers, folder)
        assert part.token_files is not None
        for tokens in part.token_files:
            tokens.close()
        sentences, paragraphs, folded = build_matrices(
            Field(part.token_files[0], part.sent_lengths),
            Field(part.token_files[1], part.para_lengths),
            len(part.vocab),
            part.sent_para_index,
            params,
            folder,
        )
        for tokens in part.token_files:
            tokens.path.unlink()
        texts = PackedTexts.pack(part.texts)
        return cls(
            version=corpus_version(part.metas),
            params=params,
            articles=tuple(part.metas),
            languages=tuple(sorted({m.language for m in part.metas})),
            texts=PackedTexts(texts.blob, saved(folder, "texts.offsets", texts.offsets)),
            sent_article=saved(folder, "sent_article", part.sent_article),
            sent_paragraph=saved(folder, "sent_paragraph", part.sent_paragraph),
            sent_para_index=saved(folder, "sent_para_index", part.sent_para_index),
            sent_position=saved(folder, "sent_position", part.sent_position),
            vocab=part.vocab,
            sentences=sentences,
            paragraphs=paragraphs,
            folded=folded,
            folder=folder,
        )

    @classmethod
    def _assembled(
        cls,
        part: _Analysed,
        matrices: tuple[Bm25Matrix, Bm25Matrix],
        params: RankingParams,
        defer_fold: bool = False,
    ) -> SearchIndex:
        return cls(
            version=corpus_version(part.metas),
            params=params,
            articles=tuple(part.metas),
            languages=tuple(sorted({m.language for m in part.metas})),
            texts=part.texts,
            sent_article=part.sent_article,
            sent_paragraph=part.sent_paragraph,
            sent_para_index=part.sent_para_index,
            sent_position=part.sent_position,
            vocab=part.vocab,
            sentences=matrices[0],
            paragraphs=matrices[1],
            defer_fold=defer_fold,
        )

    def updated(
        self, added: Iterable[Article], removed: Iterable[str], folder: Path | None = None
    ) -> SearchIndex:
        """A new index: this one without the articles of ids `removed`, with `added` after the
        rest. Only the added articles are analysed; the matrices are spliced and rescored, so
        every score equals a full build's of the same articles (their order aside: the added
        ones come last). This index is left as it is (it may be serving).

        Spliced in memory, the new index is folded in a thread (it serves meanwhile). With
        `folder` (new or empty), its matrices are written there range of terms by range and
        serve memory-mapped at once, folded there in a thread (`bot.search.disk_update`): the
        same arrays in bounded memory. Nothing to change: this index itself is returned (and
        `folder` left unused)."""
        gone = set(removed)
        keep_article = np.array([meta.id not in gone for meta in self.articles], dtype=bool)
        if folder is not None:
            return self._updated_in(Path(folder), added, keep_article)
        kept = self if keep_article.all() else self._without(keep_article)
        part = _Analysed.of(added, dict(kept.vocab))
        if not part.metas:
            kept.fold_in_background()
            return kept
        sentences, paragraphs = part.matrices(self.params)
        if kept.sentences.tf is None or kept.paragraphs.tf is None:  # an index saved before they were kept
            raise ValueError("this index cannot be updated in place; build it again")
        offset_articles, offset_paragraphs = len(kept.articles), kept.paragraphs.num_docs
        merged = _Analysed(
            vocab=part.vocab,
            metas=[*kept.articles, *part.metas],
            texts=joined(kept.texts, part.texts),
            sent_article=np.concatenate(
                (kept.sent_article, part.sent_article + offset_articles), dtype=np.int32
            ),
            sent_paragraph=np.concatenate((kept.sent_paragraph, part.sent_paragraph)),
            sent_para_index=np.concatenate(
                (kept.sent_para_index, part.sent_para_index + offset_paragraphs), dtype=np.int32
            ),
            sent_position=np.concatenate((kept.sent_position, part.sent_position)),
        )
        updated = self._assembled(
            merged,
            (kept.sentences.merged(sentences, self.params), kept.paragraphs.merged(paragraphs, self.params)),
            self.params,
            defer_fold=True,
        )
        updated.fold_in_background()
        return updated

    def _updated_in(self, folder: Path, added: Iterable[Article], keep_article: np.ndarray) -> SearchIndex:
        if self.sentences.tf is None or self.paragraphs.tf is None:
            raise ValueError("this index cannot be updated in place; build it again")
        part = _Analysed.of(added, dict(self.vocab))
        if not part.metas and keep_article.all():
            return self
        kept, keep_sentence, keep_paragraph = self._kept_rows(keep_article)
        folder.mkdir(parents=True, exist_ok=True)
        offsets, pieces = PackedTexts.pack(self.texts).pieces(np.flatnonzero(keep_sentence))
        blob = NpyWriter(folder / "texts.blob.npy", np.uint8)
        extra = PackedTexts.pack(part.texts)
        for piece in (*pieces, extra.blob):
            blob.append(piece)
        offsets = np.concatenate((offsets, extra.offsets[1:] + offsets[-1]))
        sentences, paragraphs = part.matrices(self.params)
        sent_para_index = np.concatenate(
            (kept.sent_para_index, part.sent_para_index + int(keep_paragraph.sum())), dtype=np.int32
        )
        vocab_size = len(part.vocab)
        matrices = spliced_matrices(
            Splice(self.sentences, keep_sentence, sentences, vocab_size),
            Splice(self.paragraphs, keep_paragraph, paragraphs, vocab_size),
            sent_para_index,
            self.params,
            folder,
        )
        metas = [*kept.metas, *part.metas]
        updated = SearchIndex(
            version=corpus_version(metas),
            params=self.params,
            articles=tuple(metas),
            languages=tuple(sorted({m.language for m in metas})),
            texts=PackedTexts(blob.mapped(), saved(folder, "texts.offsets", offsets)),
            sent_article=saved(
                folder,
                "sent_article",
                np.concatenate((kept.sent_article, part.sent_article + len(kept.metas)), dtype=np.int32),
            ),
            sent_paragraph=saved(
                folder, "sent_paragraph", np.concatenate((kept.sent_paragraph, part.sent_paragraph))
            ),
            sent_para_index=saved(folder, "sent_para_index", sent_para_index),
            sent_position=saved(
                folder, "sent_position", np.concatenate((kept.sent_position, part.sent_position))
            ),
            vocab=part.vocab,
            sentences=matrices[0],
            paragraphs=matrices[1],
            defer_fold=True,
            folder=folder,
        )
        updated.fold_in_background()
        return updated

    def fold_in_background(self) -> None:
        """Fold this index's matrices in a thread (a feed's update serves seconds sooner): until
        the folded matrix is there, `rank` scores the three parts directly, with the same results."""
        if self.folded is None:
            threading.Thread(target=self._fold_now, name="depeche-fold", daemon=True).start()

    def _fold_now(self) -> None:
        try:
            self.folded = self._fold(self._stop_fold)
        except FoldCancelled:
            pass
        finally:
            self._folded.set()

    def stop_folding(self) -> None:
        """This index is no longer served (a newer one replaced it): a fold still running in the
        background stops at its next block instead of competing with the new index's, and lets
        this index's memory go. Its `rank` stays exact (the three parts, scored directly)."""
        self._stop_fold.set()

    def wait_folded(self, timeout: float | None = None) -> bool:
        """Wait until the folded matrix is there (for the index cache: a restart then maps it);
        False when the wait timed out or the fold was stopped."""
        if self.folded is None:
            self._folded.wait(timeout)
        return self.folded is not None

    def adopt_arrays(self, saved: SearchIndex) -> bool:
        """Serve from `saved`'s arrays — this index as the cache wrote it, memory-mapped — and let
        this index's own copies go: a process that built an index then holds what a restart
        holds (pages of files, read on demand and evictable), not a second copy in its own
        memory. Only an index of the same articles, constants, term ids and array shapes is
        adopted (False otherwise, nothing changed)."""
        mine, theirs = self.arrays(), saved.arrays()
        if (
            saved.version != self.version
            or saved.params != self.params
            or saved.vocab != self.vocab  # (term ids index the matrices' columns)
            or mine.keys() != theirs.keys()
            or any((a.shape, a.dtype) != (theirs[k].shape, theirs[k].dtype) for k, a in mine.items())
        ):
            return False
        # (Attribute by attribute: a question answered meanwhile may read some old, some new
        # arrays, which hold the same values.)
        self.texts = saved.texts
        self.sent_article, self.sent_paragraph = saved.sent_article, saved.sent_paragraph
        self.sent_para_index, self.sent_position = saved.sent_para_index, saved.sent_position
        self.sentences, self.paragraphs = saved.sentences, saved.paragraphs
        if saved.folded is not None:  # (else neither has it: a fold running here keeps its result)
            self.folded = saved.folded
        return True

    def arrays(self) -> dict[str, np.ndarray]:
        """The index's arrays by the names the index cache stores them under (term frequencies
        and lengths only when the matrix keeps both; the folded matrix only once folded)."""
        texts = PackedTexts.pack(self.texts)
        found = {
            "sent_article": self.sent_article,
            "sent_paragraph": self.sent_paragraph,
            "sent_para_index": self.sent_para_index,
            "sent_position": self.sent_position,
        }
        for name, matrix in (("sentences", self.sentences), ("paragraphs", self.paragraphs)):
            found |= {
                f"{name}.data": matrix.data,
                f"{name}.indices": matrix.indices,
                f"{name}.indptr": matrix.indptr,
            }
            if matrix.tf is not None and matrix.lengths is not None:  # what an update in place needs
                found |= {f"{name}.tf": matrix.tf, f"{name}.lengths": matrix.lengths}
        if self.folded is not None:
            found |= {f"folded.{part}": getattr(self.folded, part) for part in ("data", "indices", "indptr")}
        return found | {"texts.offsets": texts.offsets, "texts.blob": texts.blob}

    def _without(self, keep_article: np.ndarray) -> SearchIndex:
        """This index with only the articles where `keep_article` is True."""
        if self.sentences.tf is None or self.paragraphs.tf is None:
            raise ValueError("this index cannot be updated in place; build it again")
        part, keep_sentence, keep_paragraph = self._kept_rows(keep_article)
        part.texts = PackedTexts.pack(self.texts).taken(np.flatnonzero(keep_sentence))
        matrices = (
            self.sentences.without(keep_sentence, self.params),
            self.paragraphs.without(keep_paragraph, self.params),
        )
        return self._assembled(part, matrices, self.params, defer_fold=True)

    def _kept_rows(self, keep_article: np.ndarray) -> tuple[_Analysed, np.ndarray, np.ndarray]:
        """The articles where `keep_article` is True and their sentences' arrays (renumbered; the
        texts left out), and which sentences and paragraphs are kept."""
        keep_sentence = keep_article[self.sent_article]
        if np.bincount(self.sent_para_index, minlength=self.paragraphs.num_docs).min(initial=1) == 0:
            raise ValueError("a paragraph without sentences: its article is unknown; build it again")
        para_article = np.zeros(self.paragraphs.num_docs, dtype=np.int64)
        para_article[self.sent_para_index] = self.sent_article
        keep_paragraph = keep_article[para_article]
        renumber_article = np.cumsum(keep_article) - 1
        renumber_paragraph = np.cumsum(keep_paragraph) - 1
        rows = np.flatnonzero(keep_sentence)
        part = _Analysed(
            vocab=self.vocab,
            metas=[meta for meta, keep in zip(self.articles, keep_article, strict=True) if keep],
            texts=[],
            sent_article=renumber_article[self.sent_article[rows]].astype(np.int32),
            sent_paragraph=self.sent_paragraph[rows],
            sent_para_index=renumber_paragraph[self.sent_para_index[rows]].astype(np.int32),
            sent_position=self.sent_position[rows],
        )
        return part, keep_sentence, keep_paragraph

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
            if term_id is not None and not self.paragraphs.document_frequency(term_id):
                term_id = None  # a term of removed articles only: as if never seen
            if term_id is None and len(term) >= self.params.fuzzy_min_length and not term.isdigit():
                term_id = self._closest(term)
            resolved[term] = term_id
        return resolved

    def _closest(self, term: str) -> int | None:
        """The most frequent vocabulary term within 1 edit (2 for long words) of `term`.

        Every such word is weighed (not the first few found), so the choice does not depend on
        the vocabulary's order. Only words of a close length and the same first letter are
        compared (typos rarely touch the first letter), and of those only the ones whose letters
        are close enough (`bot.search.spelling`).
        """
        max_edits = 1 if len(term) <= 6 else 2
        best: tuple[int, int, str] | None = None
        if self._near_words is None:  # (made whole, then shown: a thread never sees it half made)
            live = np.diff(self.paragraphs.indptr) > 0  # not the terms of removed articles only
            self._near_words = NearWords(word for word, term_id in self.vocab.items() if live[term_id])
        for word, dist, _ in process.extract(
            term,
            self._near_words.candidates(term, max_edits),
            scorer=Levenshtein.distance,
            score_cutoff=max_edits,
            limit=None,
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
        self,
        term_ids: Sequence[int],
        k: int,
        weights: dict[int, float] | None = None,
        among: np.ndarray | None = None,
    ) -> list[Candidate]:
        """The `k` best sentences for known term ids (optionally weighted), by sentence + context
        score; only sentences of `among` (rows, e.g. one article's) when given. One pass over the
        folded matrix's columns gives the totals; the sentences' own share is read for the `k` kept."""
        ids = sorted(set(term_ids))
        if not ids:
            return []
        w = [weights.get(t, 1.0) for t in ids] if weights else None
        folded = self.folded
        if folded is None:  # being folded: the three parts, scored directly (tens of ms at 1M)
            rows, totals = self._top_unfolded(ids, w, k, among)
        else:
            rows, totals = folded.top(ids, w, k, among)
        own = self.sentences.scores_at(ids, w, rows).tolist()
        return [Candidate(s, t, o, t - o) for s, t, o in zip(rows, totals, own, strict=True)]

    def _top_unfolded(
        self, ids: list[int], w: list[float] | None, k: int, among: np.ndarray | None
    ) -> tuple[list[int], list[float]]:
        """`FoldedMatrix.top`'s answer from the sentence and paragraph matrices, every sentence
        scored: own score, neighbours' within the paragraph, paragraph's."""
        p = self.params
        own = self.sentences.scores(ids, w)
        total = own + p.paragraph_weight * self.paragraphs.scores(ids, w)[self.sent_para_index]
        total[1:] += p.neighbour_weight * np.where(self._first_in_para[1:], 0.0, own[:-1])
        total[:-1] += p.neighbour_weight * np.where(self._last_in_para[:-1], 0.0, own[1:])
        cand = np.asarray(among, dtype=np.int64) if among is not None else np.flatnonzero(total > 0)
        return best_first(cand, total[cand], k)

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

    def previous_in_paragraph(self, sentences: np.ndarray) -> np.ndarray:
        """The sentence before each of `sentences` in its paragraph (-1 for a paragraph's first)."""
        rows = np.asarray(sentences, dtype=np.int64)
        return np.where(self._first_in_para[rows], -1, rows - 1)

    def lede_paragraph(self, article: int) -> int:
        """The global index of an article's first paragraph (its summary, when it has one)."""
        return int(self.sent_para_index[self._article_start[article]])

    def sentence_id(self, sentence: int) -> str:
        """The stable id of a sentence: `<article>#p<paragraph>s<position>`."""
        article = self.articles[self.sent_article[sentence]]
        return sentence_id(article.id, int(self.sent_paragraph[sentence]), int(self.sent_position[sentence]))

    def matched_terms(self, sentence: int, term_ids: Sequence[int], *, window: bool = True) -> list[int]:
        """Which of `term_ids` occur in the sentence (and, with `window`, its paragraph neighbours)."""
        found = self.term_presence([sentence], term_ids, window=window)[0]
        return [t for t, present in zip(term_ids, found, strict=True) if present]

    def term_presence(
        self, sentences: Sequence[int] | np.ndarray, term_ids: Sequence[int], *, window: bool = True
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
