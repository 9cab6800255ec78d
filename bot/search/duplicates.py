"""Is an article already served? The same link, or the same body text (case, accents and spacing
aside), as one of the index's articles."""

from __future__ import annotations

import numpy as np

from bot.articles import ArticleMeta, PreparedArticle, normalise_url, text_fingerprint
from bot.search.index import SearchIndex


def find_duplicate(index: SearchIndex, prepared: PreparedArticle) -> ArticleMeta | None:
    """The served article with the same link or the same text, if any."""
    draft = prepared.draft
    if draft.url:
        wanted = normalise_url(draft.url)
        for meta in index.articles:
            if meta.url and normalise_url(meta.url) == wanted:
                return meta
    body = [s.text for p in prepared.article.paragraphs if p.number > 0 for s in p.sentences]
    fingerprint = text_fingerprint(body)
    # Only articles with as many body sentences can match: one pass over the sentences finds
    # them, instead of one pass per article (seconds at a million sentences).
    is_body = np.asarray(index.sent_paragraph) > 0
    counts = np.bincount(np.asarray(index.sent_article)[is_body], minlength=len(index.articles))
    for a_idx in np.flatnonzero(counts == len(body)):
        rows = index.article_rows(int(a_idx))
        rows = rows[is_body[rows]]
        if text_fingerprint([index.texts[i] for i in rows]) == fingerprint:
            return index.articles[int(a_idx)]
    return None
