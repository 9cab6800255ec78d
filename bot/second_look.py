"""A second look at a doubtful "not found" decision: does the question add to its first excerpt?

The bi-encoder compares the question and a passage separately, so it tells "about the same
subject" better than "answers it". Encoding the excerpt *with the question appended* lets the
model read both at once: when the passage already says what the question asks, appending it
moves the passage's vector little; when the question asks something the passage does not say,
it moves it more. The signals below are those cosines (for the first excerpt alone and with its
neighbours) and the lengths that scale them. They cost five passage encodings (~190 ms), so the
answer path takes them only for questions near the decision (`bot.rerank.SecondLook`).
"""

from __future__ import annotations

import math

import numpy as np

from bot.embeddings import QUESTION_CHARS, Encoder
from bot.index import SearchIndex

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
        f"{title} : {index.texts[sentence]}",
        f"{title} : " + " ".join(index.texts[i] for i in window),
        f"{title}. " + " ".join(index.texts[i] for i in range(first, last + 1)),
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
