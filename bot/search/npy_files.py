"""One-dimensional `.npy` files written piece by piece, and read back mapped or by slices.

A large index's arrays are written while they are made (`bot.search.disk_build`), in the
format the index cache stores and `np.load` maps: the bytes `np.save` would write.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

HEADER = 128  # bytes of a `.npy` header of one dimension, as `np.save` writes it


class NpyWriter:
    """A one-dimensional `.npy` file written piece by piece (its header once the length is
    known): the same bytes `np.save` writes for the whole array."""

    def __init__(self, path: Path, dtype: np.dtype | type) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.length = 0
        self._file: io.BufferedWriter | None = path.open("wb")
        self._file.write(bytes(HEADER))

    def frombytes(self, data: bytes | memoryview) -> None:
        """Append raw values of this file's type (as `array.array.frombytes`)."""
        assert self._file is not None, "closed"
        self._file.write(data)
        self.length += len(data) // self.dtype.itemsize

    def append(self, values: np.ndarray) -> None:
        """Append `values` (cast to this file's type)."""
        self.frombytes(np.ascontiguousarray(values, dtype=self.dtype).data.cast("B"))

    def close(self) -> None:
        """Write the header; the file is then a complete `.npy`."""
        if self._file is None:
            return
        header = io.BytesIO()
        fields = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False}
        np.lib.format.write_array_header_1_0(header, fields | {"shape": (self.length,)})
        if len(header.getvalue()) != HEADER:
            raise ValueError(f"unexpected .npy header size for {self.path.name}")
        self._file.seek(0)
        self._file.write(header.getvalue())
        self._file.close()
        self._file = None

    def read(self, start: int, stop: int) -> np.ndarray:
        """Values `start` .. `stop` - 1, read (not mapped: they do not stay in this process)."""
        assert self._file is None, "read a closed file"
        return read_slice(self.path, self.dtype, start, stop)

    def mapped(self) -> np.ndarray:
        """The closed file's array, memory-mapped read-only."""
        self.close()
        return mapped(self.path)


def read_slice(path: Path, dtype: np.dtype | type, start: int, stop: int) -> np.ndarray:
    """Values `start` .. `stop` - 1 of a one-dimensional `.npy` file of `dtype` written here,
    read (not mapped: they do not stay in this process)."""
    size = np.dtype(dtype).itemsize
    return np.fromfile(path, dtype=dtype, count=stop - start, offset=HEADER + start * size)


def saved(folder: Path, name: str, values: np.ndarray) -> np.ndarray:
    """`values` written whole to `folder/name.npy`, returned memory-mapped."""
    np.save(folder / f"{name}.npy", np.ascontiguousarray(values))
    return mapped(folder / f"{name}.npy")


def mapped(path: Path) -> np.ndarray:
    """A `.npy` file's array, memory-mapped read-only (a plain ndarray view: slicing a
    `np.memmap` runs Python code on every call)."""
    return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
