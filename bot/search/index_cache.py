"""The on-disk index cache: a built index saved next to a manifest, reused when nothing changed.

Key: the exact article files (names and SHA-256 of their bytes, rejected ones included), the
engine version and the ranking constants. Arrays are `.npy` files loaded memory-mapped, so shard
processes on one machine share their pages. Every array's SHA-256 is in the manifest and checked
on load unless the file's stat (size, modification and change times, inode) is the one recorded
when it was last checked: a corrupt or truncated cache is detected, discarded and rebuilt, never
served, and a restart does not read a gigabyte of arrays to find them unchanged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.articles import ArticleMeta, LoadProblem, is_article_file
from bot.search.bm25 import Bm25Matrix, RankingParams
from bot.search.folded import FoldedMatrix
from bot.search.index import SearchIndex
from bot.search.texts import PackedTexts

log = logging.getLogger(__name__)

ENGINE_VERSION = "depeche-index-3"  # bump when analysis or the index layout changes
_ARRAYS = ("sent_article", "sent_paragraph", "sent_para_index", "sent_position")
_MATRICES = ("sentences", "paragraphs")
FOLD_WAIT_SECONDS = 300.0  # past this, the index is saved unfolded (a restart folds it)
_VERIFIED = "verified.json"  # the arrays' stats when their checksums were last verified
_TEMPORARY = ".tmp-"  # a folder being written: an entry once renamed to its key
STAGING_GRACE_SECONDS = 3600.0  # a staging folder younger than this may be in use


@dataclass(frozen=True)
class CachedIndex:
    """An index read back from the cache, with the problems of the load that built it."""

    index: SearchIndex
    problems: list[LoadProblem]


# What identifies a file's version without reading it: size, modification and change times (to
# the nanosecond), inode. A write changes the change time, whatever else it keeps. (Kept modulo
# 2**64, so that they fit the stat cache's unsigned array whatever their sign or size.)
Stat = tuple[int, int, int, int]
StatCache = dict[str, tuple[Stat, str]]
_WORD = (1 << 64) - 1


def _stat_of(status: os.stat_result) -> Stat:
    return (
        status.st_size & _WORD,
        status.st_mtime_ns & _WORD,
        status.st_ctime_ns & _WORD,
        status.st_ino & _WORD,
    )


def scan_files(corpus_dir: Path, max_bytes: int, known: StatCache | None = None) -> dict[str, str]:
    """Name -> SHA-256 of every article file (the cache key's raw material).

    With `known` (name -> (stat, SHA-256) of an earlier scan, updated here), a file whose stat
    is unchanged is not read again: a restart or a reload of a large corpus costs a `stat` per
    file, and hashes only the files that changed."""
    out: dict[str, str] = {}
    seen: StatCache = {}
    remembered = known if known is not None else {}
    with os.scandir(corpus_dir) as entries:  # one directory read, one stat per file
        found = {entry.name: entry for entry in entries if is_article_file(entry.name)}
    for name in sorted(found):
        entry = found[name]
        try:
            status = entry.stat()
            if status.st_size > max_bytes:
                out[name] = f"size:{status.st_size}"
                continue
            stat = _stat_of(status)
            before = remembered.get(name)
            checksum = (
                before[1]
                if before is not None and before[0] == stat
                else hashlib.sha256(Path(entry.path).read_bytes()).hexdigest()
            )
            out[name] = checksum
            seen[name] = (stat, checksum)
        except OSError:
            out[name] = "unreadable"
    if known is not None:
        known.clear()
        known.update(seen)
    return out


def read_stat_cache(path: Path) -> StatCache:
    """A stat cache saved by `write_stat_cache` (empty when absent or unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            stats = saved["stats"]
            if not len(stats):
                return {}
            names = saved["names"].tobytes().decode("utf-8", "surrogateescape").split("\0")
            sums = saved["sums"].tobytes().decode("ascii").split("\0")
        if stats.shape != (len(names), 4) or len(sums) != len(names):
            raise ValueError("stat cache of inconsistent lengths")
        rows: list[Stat] = [(a, b, c, d) for a, b, c, d in stats.tolist()]
        return dict(zip(names, zip(rows, sums, strict=True), strict=True))
    except (OSError, ValueError, KeyError, EOFError, UnicodeError, zipfile.BadZipFile):
        return {}


def write_stat_cache(path: Path, known: StatCache) -> None:
    """Keep a stat cache for the next start (atomically; a failure only costs hashing again).

    Three arrays (names and checksums NUL-separated, stats as unsigned 64-bit): a restart reads
    30,000 files' stats in milliseconds, where a JSON list took a fifth of a second."""
    names = list(known)
    tmp = path.with_name(f"{_TEMPORARY}{uuid.uuid4().hex}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            np.savez(
                handle,
                names=np.frombuffer("\0".join(names).encode("utf-8", "surrogateescape"), dtype=np.uint8),
                sums=np.frombuffer("\0".join(known[n][1] for n in names).encode("ascii"), dtype=np.uint8),
                stats=np.array([known[n][0] for n in names], dtype=np.uint64).reshape(-1, 4),
            )
        os.replace(tmp, path)
        legacy = path.with_suffix(".json")  # (the JSON list earlier versions kept)
        if legacy != path:
            legacy.unlink(missing_ok=True)
        for left in path.parent.glob(f"{_TEMPORARY}*"):  # (by processes stopped half-way)
            if not _in_progress(left):
                left.unlink(missing_ok=True)
    except OSError:
        log.info("could not keep the file list in %s", path.parent)
    finally:
        with contextlib.suppress(OSError):  # (its folder may be unusable)
            tmp.unlink(missing_ok=True)


def cache_key(files: dict[str, str], params: RankingParams) -> str:
    """The key naming one exact corpus under one engine version and ranking."""
    digest = hashlib.sha256(ENGINE_VERSION.encode())
    digest.update(json.dumps(dataclasses.asdict(params), sort_keys=True).encode())
    digest.update("".join(f"{name}\0{checksum}\n" for name, checksum in sorted(files.items())).encode())
    return digest.hexdigest()[:24]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def staging_folder(cache_dir: Path) -> Path:
    """A new folder to build an index into (`SearchIndex.build(folder=...)`), which `save` then
    makes the cache's entry without writing the arrays again. The caller removes it on failure."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    folder = cache_dir / f"{_TEMPORARY}{uuid.uuid4().hex}"
    folder.mkdir()
    return folder


def discard_staged(index: SearchIndex) -> None:
    """Remove the staging folder `index` was built into, when it will not be saved (its mapped
    arrays stay readable until the index is let go)."""
    if index.folder is not None and index.folder.name.startswith(_TEMPORARY):
        shutil.rmtree(index.folder, ignore_errors=True)


def save(cache_dir: Path, key: str, index: SearchIndex, problems: list[LoadProblem]) -> Path:
    """Write the index under `cache_dir/key` atomically (temp folder, then rename); keep only it.
    An index built into a staging folder of `cache_dir` becomes the entry itself (its files are
    hashed, not written again). Raises `OSError` when the folder cannot take it (nothing
    half-written is left)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    index.wait_folded(FOLD_WAIT_SECONDS)  # an index updated in place is being folded in a thread
    staged = index.folder
    if staged is None or staged.parent != cache_dir or not staged.name.startswith(_TEMPORARY):
        staged = None
    tmp = staged or cache_dir / f"{_TEMPORARY}{uuid.uuid4().hex}"
    try:
        final = _write(cache_dir, tmp, key, index, problems, written=staged is not None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # (gone once renamed; its mapped files still serve)
    if staged is not None:
        index.folder = final
    return final


def _write(
    cache_dir: Path, tmp: Path, key: str, index: SearchIndex, problems: list[LoadProblem], written: bool
) -> Path:
    hashes = {}
    if not written:
        tmp.mkdir()
    for name, array in index.arrays().items():
        if not written:
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array))
        hashes[name] = _sha256(tmp / f"{name}.npy")
    if written and {path.name for path in tmp.iterdir()} != {f"{name}.npy" for name in hashes}:
        raise OSError(f"the index built in {tmp.name} is not the index's arrays, file for file")
    terms = [""] * len(index.vocab)
    for term, tid in index.vocab.items():
        terms[tid] = term
    manifest = {
        "engine": ENGINE_VERSION,
        "key": key,
        "version": index.version,
        "params": dataclasses.asdict(index.params),
        "num_docs": {name: getattr(index, name).num_docs for name in _MATRICES},
        "articles": [dataclasses.asdict(a) for a in index.articles],
        "languages": list(index.languages),
        "terms": terms,
        "problems": [p.model_dump() for p in problems],
        "arrays": hashes,
    }
    encoded_manifest = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    (tmp / "manifest.json").write_bytes(encoded_manifest)
    (tmp / "manifest.sha256").write_text(hashlib.sha256(encoded_manifest).hexdigest(), encoding="ascii")
    final = cache_dir / key
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    _write_verified(final, list(hashes))
    for other in cache_dir.iterdir():  # one corpus is served: older entries are dead weight
        if other != final and not _in_progress(other):
            shutil.rmtree(other, ignore_errors=True)
    return final


def _in_progress(folder: Path) -> bool:
    """A staging folder that an index may still be being built or saved into (one left by an
    interrupted process is removed by the first save after an hour)."""
    try:
        return (
            folder.name.startswith(_TEMPORARY)
            and time.time() - folder.stat().st_mtime < STAGING_GRACE_SECONDS
        )
    except OSError:
        return False


def adopt_saved(folder: Path, index: SearchIndex) -> bool:
    """After `save`: `index` (which may be serving) takes the saved arrays, memory-mapped, in
    place of its own copies (`SearchIndex.adopt_arrays`), so a build leaves the process holding
    what a restart would. False, and nothing changed, when the saved entry cannot be read back."""
    if index.folder == folder:  # built into the folder that became the entry: mapped already
        return True
    cached = load(folder.parent, folder.name)
    return cached is not None and index.adopt_arrays(cached.index)


def _read_verified(folder: Path) -> dict[str, list[int]]:
    """The stat of each array when its checksum was last verified (empty when unknown)."""
    try:
        return dict(json.loads((folder / _VERIFIED).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return {}


def _write_verified(folder: Path, names: list[str]) -> None:
    """Remember the arrays' stats as verified: while a file's size, times and inode stay as they
    are, its bytes are those that were checked (any write changes the change time), so a restart
    maps the arrays without reading them all first. A failure only costs checking them again."""
    try:
        stats = {name: list(_stat_of((folder / f"{name}.npy").stat())) for name in names}
        tmp = folder / f".tmp-{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(stats), encoding="utf-8")
        os.replace(tmp, folder / _VERIFIED)
    except OSError:
        log.info("could not record the verified index cache in %s", folder)


def load(cache_dir: Path, key: str) -> CachedIndex | None:
    """The cached index for `key`, or None when absent, stale or damaged (then it is removed)."""
    folder = Path(cache_dir) / key
    if not (folder / "manifest.json").is_file():
        return None
    try:
        encoded_manifest = (folder / "manifest.json").read_bytes()
        if (
            hashlib.sha256(encoded_manifest).hexdigest()
            != (folder / "manifest.sha256").read_text("ascii").strip()
        ):
            raise ValueError("manifest.json does not match its checksum")
        manifest = json.loads(encoded_manifest)
        if manifest.get("engine") != ENGINE_VERSION or manifest.get("key") != key:
            raise ValueError("manifest of another engine or key")
        arrays: dict[str, np.ndarray] = {}
        verified = _read_verified(folder)
        for name, expected in manifest["arrays"].items():
            path = folder / f"{name}.npy"
            if verified.get(name) != list(_stat_of(path.stat())) and _sha256(path) != expected:
                raise ValueError(f"{name}.npy does not match its checksum")
            # Plain ndarray views of the mapping: slicing a np.memmap runs Python code on every call.
            arrays[name] = np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
        texts = PackedTexts(arrays["texts.blob"], arrays["texts.offsets"])
        terms = manifest["terms"]
        matrices = {
            name: Bm25Matrix(
                arrays[f"{name}.data"],
                arrays[f"{name}.indices"],
                arrays[f"{name}.indptr"],
                int(manifest["num_docs"][name]),
                arrays.get(f"{name}.tf"),
                arrays.get(f"{name}.lengths"),
            )
            for name in _MATRICES
        }
        index = SearchIndex(
            version=manifest["version"],
            params=RankingParams(**manifest["params"]),
            articles=tuple(ArticleMeta(**a) for a in manifest["articles"]),
            languages=tuple(manifest["languages"]),
            texts=texts,
            sent_article=arrays["sent_article"],
            sent_paragraph=arrays["sent_paragraph"],
            sent_para_index=arrays["sent_para_index"],
            sent_position=arrays["sent_position"],
            vocab={term: tid for tid, term in enumerate(terms)},
            sentences=matrices["sentences"],
            paragraphs=matrices["paragraphs"],
            folded=FoldedMatrix(
                arrays["folded.data"], arrays["folded.indices"], arrays["folded.indptr"], len(texts)
            )
            if "folded.data" in arrays
            else None,
        )
        if len(texts) != index.size or len(index.sent_article) != len(texts):
            raise ValueError("arrays of different lengths")
        problems = [LoadProblem(**p) for p in manifest["problems"]]
        _write_verified(folder, list(manifest["arrays"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("index cache %s is unusable (%s); rebuilding", key, exc)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return CachedIndex(index, problems)
