"""Sentence texts packed as one UTF-8 blob and its offsets, decoded one at a time when read.

An index read back from the cache maps the blob instead of decoding a million strings at start-up
(a restart then costs what it reads); a question reads the few dozen texts it ranks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np


class PackedTexts(Sequence[str]):
    """A read-only sequence of strings over `blob` (uint8) cut at `offsets` (len + 1 int64)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) < 0):
            raise ValueError("text offsets do not fit the text blob")
        self.blob = blob
        self.offsets = offsets

    @classmethod
    def pack(cls, texts: Sequence[str]) -> PackedTexts:
        """The texts, packed (a `PackedTexts` is returned as it is)."""
        if isinstance(texts, PackedTexts):
            return texts
        encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def taken(self, rows: np.ndarray) -> PackedTexts:
        """The texts at `rows` (in that order), packed: their bytes copied a run of consecutive
        rows at a time (an index keeps whole articles: a few runs), none decoded."""
        offsets, pieces = self.pieces(rows)
        blob = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint8)
        return PackedTexts(blob, offsets)

    def pieces(self, rows: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The offsets of the texts at `rows` (in that order) packed, and their bytes as views of
        this blob, one per run of consecutive rows (to be put end to end)."""
        rows = np.asarray(rows, dtype=np.int64)
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(self.offsets[rows + 1] - self.offsets[rows], out=offsets[1:])
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        firsts = rows[np.concatenate(([0], breaks))] if len(rows) else rows
        lasts = rows[np.concatenate((breaks - 1, [len(rows) - 1]))] if len(rows) else rows
        starts, ends = self.offsets[firsts].tolist(), self.offsets[lasts + 1].tolist()
        return offsets, [self.blob[start:end] for start, end in zip(starts, ends, strict=True)]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, item: int) -> str: ...

    @overload
    def __getitem__(self, item: slice) -> list[str]: ...

    def __getitem__(self, item: int | slice) -> str | list[str]:
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        size = len(self)
        position = int(item) + size if int(item) < 0 else int(item)
        if not 0 <= position < size:
            raise IndexError("text index out of range")
        start, end = self.offsets[position], self.offsets[position + 1]
        return self.blob[start:end].tobytes().decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        data = self.blob.tobytes()
        offsets = self.offsets.tolist()
        for start, end in itertools.pairwise(offsets):
            yield data[start:end].decode("utf-8", "surrogatepass")


def joined(first: Sequence[str], second: Sequence[str]) -> Sequence[str]:
    """`first` then `second`: packed bytes put end to end when `first` is packed (no decoding)."""
    if not isinstance(first, PackedTexts):
        return [*first, *second]
    extra = PackedTexts.pack(second)
    return PackedTexts(
        np.concatenate((first.blob, extra.blob)),
        np.concatenate((first.offsets, extra.offsets[1:] + first.offsets[-1])),
    )
