"""The search engine: a question in, cited excerpts or an honest "not found" out.

Layers, each using the ones before: `bm25` (sparse-matrix BM25) -> `index` (sentences in their
paragraphs, context scoring) and `index_cache` (on disk) -> `embeddings` (sentence vectors) ->
`ranking` (features and learned weights) -> `abstention` (the "not found" model) -> `answer`
(the `Engine`) -> `news` (the announced article, the dates a question names, the latest first;
`dates` reads them). `evaluate` (imported on its own) measures it on SQuAD-format files;
`duplicates` tells whether an article is already served. Depends on `bot.articles` and
`bot.text`, never on Discord.
"""

import importlib
from typing import TYPE_CHECKING

from bot.search import embeddings, index_cache
from bot.search.answer import Answer, Engine, Excerpt
from bot.search.bm25 import RankingParams
from bot.search.duplicates import find_duplicate
from bot.search.embeddings import EmbeddingCache, Encoder, EncoderUnavailable
from bot.search.index import SearchIndex
from bot.search.news import answer_news

if TYPE_CHECKING:
    from bot.search import evaluate


def __getattr__(name: str) -> object:
    if name == "evaluate":  # (on first use: a question or a load does not need it)
        return importlib.import_module("bot.search.evaluate")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Answer",
    "EmbeddingCache",
    "Encoder",
    "EncoderUnavailable",
    "Engine",
    "Excerpt",
    "RankingParams",
    "SearchIndex",
    "answer_news",
    "embeddings",
    "evaluate",
    "find_duplicate",
    "index_cache",
]
