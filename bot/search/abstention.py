"""The "not found" decision: does the corpus answer the question, and how surely?

With embeddings, a logistic model over `ABSTENTION_FEATURES` (coverage, similarities, names,
the ranking's confidence) decides; across languages a smaller one over `CROSS_LINGUAL_FEATURES`.
Both are fitted on PIAF's tune split by `benchmarks/train_ranker.py` (weights in
`bot/data/ranker.json`). Without embeddings the engine uses a coverage threshold instead
(`AnswerPolicy.min_coverage`).

The second look, for same-language questions near the decision: the bi-encoder compares the
question and a passage separately, so it tells "about the same subject" better than "answers it".
Encoding the first excerpt *with the question appended* lets the model read both at once: when
the passage already says what the question asks, appending it moves the passage's vector little;
when the question asks something the passage does not say, it moves it more. Its signals
(`SECOND_LOOK_FEATURES`) cost five passage encodings, so they are taken only within
`SecondLook.band` of the first decision (`benchmarks/query_latency.py` measures the cost).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bot.search.embeddings import (
    QUESTION_CHARS,
    Encoder,
    EncoderUnavailable,
    paragraph_passage,
    sentence_passage,
)
from bot.search.index import SearchIndex
from bot.search.ranking import WEIGHTS_FILE, Ranking, feature_vector, log_total, read_weights_file
from bot.text import analyzer, words

ABSTENTION_FEATURES = (
    "coverage",  # best share of the question's idf weight found around one of the top sentences
    "similarity",  # best sentence similarity to the question
    "paragraph_similarity",  # best paragraph similarity
    "known_words",  # share of the question's idf weight in words the corpus has (not guessed)
    "top_probability",  # the ranking's softmax probability of its first excerpt
    "names_in_article",  # share of the question's names found in the first excerpt's article
    "retrievers_agree",  # best sentence by BM25 and nearest by meaning in the same article
)


# Across languages most of the question's words are not the article's; names spelt alike in both
# ("Balad", "Kirby"), names that `bot/data/aliases.txt` maps ("NATO"/"OTAN"), numbers, and
# meaning carry over: the coverage they give is weighed with the similarities.
CROSS_LINGUAL_FEATURES = ("coverage", "similarity", "paragraph_similarity", "names_in_article")
_CROSS_LINGUAL_COLUMNS = [ABSTENTION_FEATURES.index(name) for name in CROSS_LINGUAL_FEATURES]


SECOND_LOOK_FEATURES = (
    "sentence_moved",  # cos(sentence, sentence + question): how little the question adds
    "question_in_sentence",  # cos(question as a passage, sentence + question)
    "query_to_sentence_joint",  # cos(question as a query, sentence + question)
    "window_moved",  # the same three for the sentence with its neighbours in the paragraph
    "question_in_window",
    "query_to_window_joint",
    "question_tokens",  # log of the tokens of the question, the window and the paragraph
    "window_tokens",
    "paragraph_tokens",
)


def excerpt_texts(index: SearchIndex, sentence: int) -> tuple[str, str, str]:
    """The sentence, the sentence with its neighbours in its paragraph, and the paragraph, each
    with the article's title (as the passages are embedded)."""
    title = index.articles[int(index.sent_article[sentence])].title
    first, last = index.paragraph_bounds(sentence)
    window = range(max(first, sentence - 1), min(last, sentence + 1) + 1)
    return (
        sentence_passage(title, index.texts[sentence]),
        sentence_passage(title, " ".join(index.texts[i] for i in window)),
        paragraph_passage(title, [index.texts[i] for i in range(first, last + 1)]),
    )


def second_look_values(
    index: SearchIndex, encoder: Encoder, question: str, query_vector: np.ndarray, sentence: int
) -> tuple[float, ...]:
    """The values of `SECOND_LOOK_FEATURES` for `question` and its first excerpt `sentence`
    (`query_vector`: the question encoded as a query). May raise `EncoderUnavailable`."""
    question = question[:QUESTION_CHARS]
    text, window, paragraph = excerpt_texts(index, sentence)
    vectors = encoder.passages(
        [text, f"{text} {question}", question, window, f"{window} {question}"], for_question=True
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    alone, joint, as_passage, window_alone, window_joint = vectors
    query = query_vector / (np.linalg.norm(query_vector) + 1e-9)
    return (
        float(alone @ joint),
        float(as_passage @ joint),
        float(query @ joint),
        float(window_alone @ window_joint),
        float(as_passage @ window_joint),
        float(query @ window_joint),
        math.log(encoder.tokens(question)),
        math.log(encoder.tokens(window)),
        math.log(encoder.tokens(paragraph)),
    )


@dataclass(frozen=True)
class SecondLook:
    """The not-found decision for questions near it (same language only): a logistic model over
    `ABSTENTION_FEATURES` + `SECOND_LOOK_FEATURES` (see `second_look_values`), taken when the
    first model's margin is within `band` of its decision; intercept at its own decision."""

    weights: np.ndarray
    intercept: float
    band: float

    def wanted(self, first_margin: float) -> bool:
        """Whether a question with this margin from the first model deserves the second look."""
        return abs(first_margin) < self.band

    def margin(self, values: Sequence[float], extra: Sequence[float]) -> float:
        """Log-odds past the decision of the values of both feature lists (answered when >= 0)."""
        return float(np.dot(self.weights, np.r_[values, extra])) + self.intercept


@dataclass(frozen=True)
class Abstention:
    """Whether the corpus answers, with embeddings: a logistic model over `ABSTENTION_FEATURES`
    whose intercept puts the decision at the threshold chosen on PIAF's tune split; across
    languages, a second one over `CROSS_LINGUAL_FEATURES` (fitted on our English questions
    about PIAF's tune articles)."""

    weights: np.ndarray
    intercept: float
    cross_lingual_weights: np.ndarray
    cross_lingual_intercept: float
    # Answers whose margin is below this are shown with a caveat ("may not answer"): in that band
    # most of PIAF tune's accepted questions were asked without their article (same language only).
    caution_margin: float = 0.0
    second_look: SecondLook | None = None

    def margin(self, values: Sequence[float], cross_lingual: bool) -> float:
        """How far past the not-found decision the values of `ABSTENTION_FEATURES` (in that order)
        are, in log-odds: answered when >= 0."""
        if cross_lingual:
            chosen = np.asarray(values, dtype=float)[_CROSS_LINGUAL_COLUMNS]
            return float(np.dot(self.cross_lingual_weights, chosen)) + self.cross_lingual_intercept
        return float(np.dot(self.weights, values)) + self.intercept

    def unsure(self, margin: float, cross_lingual: bool) -> bool:
        """Answered with this margin, but within the caution margin of "not found" (never across
        languages: that model is fitted on too few questions to calibrate a band)."""
        return not cross_lingual and 0.0 <= margin < self.caution_margin

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Abstention:
        """Read the "not found" part of the weights file."""
        data = read_weights_file(path)["abstention"]
        cross = data["cross_lingual"]
        second = data.get("second_look")
        return cls(
            feature_vector(data["weights"], ABSTENTION_FEATURES),
            float(data["intercept"]),
            feature_vector(cross["weights"], CROSS_LINGUAL_FEATURES),
            float(cross["intercept"]),
            float(data.get("caution_margin", 0.0)),
            SecondLook(
                feature_vector(second["weights"], ABSTENTION_FEATURES + SECOND_LOOK_FEATURES),
                float(second["intercept"]),
                float(second["band"]),
            )
            if second
            else None,
        )


@cache
def default_abstention() -> Abstention:
    """The shipped "not found" model, read once."""
    return Abstention.load()


def first_excerpt_second_look(
    index: SearchIndex, encoder: Encoder | None, question: str, ranking: Ranking
) -> tuple[float, ...] | None:
    """The values of `SECOND_LOOK_FEATURES` for the first excerpt (None without the model)."""
    if encoder is None or not ranking.order:
        return None
    try:
        vector = encoder.query(question)
        return second_look_values(index, encoder, question, vector, ranking.order[0].sentence)
    except EncoderUnavailable:
        return None


def abstention_values(
    index: SearchIndex, question: str, ranking: Ranking, coverage: float
) -> tuple[float, ...]:
    """The signals of the not-found decision, in the order of `ABSTENTION_FEATURES`."""
    idf = ranking.query.idf
    total = sum(idf.values())
    known_words = sum(w for term, w in idf.items() if term in index.vocab) / total if total else 0.0
    top_probability = 0.0
    if ranking.order:  # ranked best first: the first excerpt's softmax probability
        top_probability = math.exp(ranking.order[0].score - log_total(ranking.order))
    return (
        coverage,
        ranking.similarity or 0.0,
        ranking.paragraph_similarity,
        known_words,
        top_probability,
        _names_in_article(index, question, ranking.order[0].sentence) if ranking.order else 0.0,
        _retrievers_agree(index, ranking),
    )


def _retrievers_agree(index: SearchIndex, ranking: Ranking) -> float:
    """1 when the best sentence by BM25 and the nearest by meaning are in the same article."""
    dense = ranking.dense
    if not ranking.query.candidates or dense is None or not len(dense.rows):
        return 0.0
    lexical_best = ranking.query.candidates[0].sentence
    nearest = int(dense.rows[int(np.argmax(dense.sentence))])
    return float(index.sent_article[lexical_best] == index.sent_article[nearest])


def _names_in_article(index: SearchIndex, question: str, sentence: int) -> float:
    """Share of the question's names (capitalised words after the first, acronyms) found in
    the article of `sentence` (title included); 1 when the question names nothing."""
    found = words(question)
    names = {w for i, w in enumerate(found) if len(w) > 1 and (w.isupper() or (i and w[0].isupper()))}
    if not names:
        return 1.0
    article = int(index.sent_article[sentence])
    paragraphs = np.unique(index.sent_para_index[index.article_rows(article)])
    paragraphs = paragraphs.astype(index.paragraphs.indices.dtype)
    word_terms = analyzer(index.articles[article].language).word_terms
    present = 0
    for name in names:
        ids = [t for t in index.resolve_terms(word_terms(name)).values() if t is not None]
        present += any(index.paragraphs.contains(t, paragraphs).any() for t in ids)
    return present / len(names)


def decision_margin(
    model: Abstention,
    index: SearchIndex,
    encoder: Encoder | None,
    question: str,
    ranking: Ranking,
    coverage: float,
    cross_lingual: bool,
) -> float:
    """How far past the not-found decision the question is, in log-odds (answered when >= 0):
    the first model's margin, or the second look's for a same-language question near it."""
    values = abstention_values(index, question, ranking, coverage)
    margin = model.margin(values, cross_lingual)
    second = model.second_look
    if cross_lingual or second is None or not second.wanted(margin):
        return margin
    extra = first_excerpt_second_look(index, encoder, question, ranking)
    return margin if extra is None else second.margin(values, extra)
