"""The vocabulary's words that may be a few edits from a misspelt term, found without comparing
every word.

A typo is looked up among the words of the same first letter and a close length (`SearchIndex`
weighs them by edit distance, then frequency). Those are still hundreds or thousands, so each
word also keeps the set of its characters as a 64-bit mask: an edit adds or removes at most one
character of a word's set, a substitution both, so two words `d` edits apart have at most `2 d`
characters in one set and not the other. Masks that differ in more bits than that rule a word
out before its distance is computed (about seven in eight of them for the unknown words of
PIAF questions at 100k sentences). Characters share a bit by code point modulo 64: a shared
bit can only hide a difference, never invent one, so no word within reach is ruled out.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

_MASK_BLOCK = 4096  # words whose masks are made at once (a temporary of 8 bytes x letters each)


def letter_mask(word: str) -> int:
    """The set of `word`'s characters, one bit per code point modulo 64 (NUL left out)."""
    mask = 0
    for char in word:
        if char != "\0":
            mask |= 1 << (ord(char) & 63)
    return mask


def letter_masks(words: list[str]) -> np.ndarray:
    """`letter_mask` of each of `words` (uint64), by numpy over their code points."""
    masks = np.zeros(len(words), dtype=np.uint64)
    for start in range(0, len(words), _MASK_BLOCK):
        block = words[start : start + _MASK_BLOCK]
        codes = np.array(block, dtype=str)  # (fixed width: shorter words padded with NUL)
        codes = codes.view(np.uint32).reshape(len(block), -1)
        bits = np.left_shift(np.uint64(1), (codes & 63).astype(np.uint64))
        bits[codes == 0] = 0
        masks[start : start + len(block)] = np.bitwise_or.reduce(bits, axis=1)
    return masks


@dataclass(frozen=True)
class _Initial:
    """The words of one first letter, shortest first, with their lengths and letter masks."""

    words: list[str]
    lengths: list[int]
    masks: np.ndarray


class NearWords:
    """Words grouped by first letter, for `candidates`."""

    def __init__(self, words: Iterable[str]) -> None:
        by_initial: dict[str, list[str]] = {}
        for word in words:
            if word:
                by_initial.setdefault(word[0], []).append(word)
        self._initials: dict[str, _Initial] = {}
        for initial, group in by_initial.items():
            group.sort(key=len)
            self._initials[initial] = _Initial(group, [len(w) for w in group], letter_masks(group))

    def candidates(self, term: str, max_edits: int) -> list[str]:
        """The words that may be within `max_edits` edits of `term` among those of its first
        letter: a length within `max_edits` of its length and letter sets close enough (a
        superset of those within reach, in order of length)."""
        group = self._initials.get(term[:1])
        if group is None:
            return []
        low = bisect_left(group.lengths, len(term) - max_edits)
        high = bisect_right(group.lengths, len(term) + max_edits)
        differing = np.bitwise_count(group.masks[low:high] ^ np.uint64(letter_mask(term)))
        words = group.words
        return [words[low + i] for i in np.flatnonzero(differing <= 2 * max_edits).tolist()]
