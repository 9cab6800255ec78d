"""Article look-up by name for commands and autocomplete: titles folded once per index."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.articles import ArticleMeta
from bot.text import fold


@lru_cache(maxsize=1 << 18)
def folded_title(title: str) -> str:
    """A title folded for look-up, remembered: each reload builds the titles of every article
    again, and most of them are the previous index's."""
    return fold(title)


class ArticleTitles:
    """Exact look-up by id or title (case- and accent-insensitive) and fuzzy title matching.

    Built once per index (off the event loop, by `QAService`), so a keystroke of autocomplete
    only runs the fuzzy matcher."""

    def __init__(self, articles: Sequence[ArticleMeta]) -> None:
        self.articles = tuple(articles)
        self._folded = [folded_title(meta.title) for meta in self.articles]
        self._by_id = {meta.id: meta for meta in self.articles}
        self._by_title: dict[str, ArticleMeta] = {}
        for meta, folded in zip(self.articles, self._folded, strict=True):
            self._by_title.setdefault(folded, meta)  # the first of equal titles, in corpus order

    def find(self, name: str) -> ArticleMeta | None:
        """The article whose id or title is `name`, or None."""
        name = name.strip()
        return self._by_id.get(name) or self._by_title.get(fold(name))

    def match(self, typed: str, limit: int = 25) -> list[ArticleMeta]:
        """Articles whose title resembles what was typed (fuzzy, accent-insensitive), best first."""
        if not typed.strip():
            return list(self.articles[:limit])
        found = process.extract(fold(typed), self._folded, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
        return [self.articles[position] for _, _, position in found]
