"""Learn the ranking weights and the "not found" decision on PIAF's tune split; write bot/data/ranker.json.

- Ranking: for every tune question, its candidates (lexical best + nearest by meaning) and their
  feature rows (bot/search/ranking.py); a linear score per row, fitted by maximising the softmax
  probability of the gold sentences among the question's candidates (L2-regularised, L-BFGS).
  Fitted twice: with the embedding features, and lexical-only (for deployments without them).
  The tune questions of our news set (benchmarks/data/news_questions.json, over its own four
  articles) are fitted too, each counting as many PIAF questions as PIAF tune allows
  (`choose_news_weight`).
- "Not found" with embeddings: a logistic model over the signals of `ABSTENTION_FEATURES`
  (coverage, best sentence and paragraph similarity, share of known words, the ranking's
  probability of its first excerpt, share of the question's names in that excerpt's article,
  whether BM25 and embeddings point to the same article), positives = tune questions asked of
  the whole corpus, negatives = the same questions asked of the corpus without their article;
  its intercept is then shifted so that a share of the tune positives get "not found": the
  largest of at most 5% at which the tune "not found" answers are right 95% of the time
  (`choose_operating_point`). Answers just
  above that decision are shown with a "may not answer" caveat: the widest band (in log-odds)
  in which at least two thirds of the answered tune questions had their article removed.
- The second look (bot/second_look.py): the tune questions within SECOND_LOOK_FIT_BAND of that
  decision (either side) are encoded with their first excerpt; a second logistic model over the
  same signals plus `SECOND_LOOK_FEATURES` is fitted on them, and its intercept set so that,
  with it deciding within SECOND_LOOK_BAND and the first model elsewhere, that same share of all
  tune positives get "not found". The caveat band is chosen on these combined margins.
- "Not found" across languages (English questions, French articles): a logistic model over
  `CROSS_LINGUAL_FEATURES` (similarity, paragraph similarity, names in the article), fitted the
  same way on our own English questions about PIAF's tune articles
  (benchmarks/data/english_piaf_questions.json; L2-penalised: 23 questions a side).
The held-out split (sha1(title) ends in 0-3) is only scored, never fitted; the figures of both
go into the file next to the weights.

Usage: .venv/bin/python -m benchmarks.train_ranker [FILE.json] [--out bot/data/ranker.json]
(12 to 37 minutes on 2 cores depending on the machine's load, most of it the second look's encodings)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from bot.articles.models import Corpus
from bot.search import abstention
from bot.search.abstention import ABSTENTION_FEATURES, CROSS_LINGUAL_FEATURES, SECOND_LOOK_FEATURES
from bot.search.answer import Engine
from bot.search.embeddings import MODEL, EmbeddingCache, Encoder
from bot.search.evaluate import EvalQuestion, is_heldout, load_squad, split_questions
from bot.search.ranking import FEATURES
from bot.service import build_engine
from bot.text import clean_text

ROOT = Path(__file__).resolve().parent.parent

REGULARISATION = 1e-4
# The operating point: the largest share of tune answerable questions told "not found" (at most
# TARGET_FALSE_NOT_FOUND, by steps of FALSE_NOT_FOUND_STEP) at which the tune "not found" answers
# are right at least TARGET_PRECISION of the time.
TARGET_FALSE_NOT_FOUND = 0.05
TARGET_PRECISION = 0.95
FALSE_NOT_FOUND_STEP = 0.0025
# The "may not answer" caveat: bands tried above the decision, and the share of answers in the
# band that must come from questions asked without their article.
CAUTION_STEP, CAUTION_STEPS = 0.25, 16
CAUTION_SHARE = 2 / 3
# The second look (bot/second_look.py): taken for questions within SECOND_LOOK_BAND (log-odds) of
# the first model's decision; its model is fitted on the tune questions within SECOND_LOOK_FIT_BAND.
SECOND_LOOK_BAND, SECOND_LOOK_FIT_BAND = 1.5, 3.0
PIAF = ROOT.parent / "shared" / "data" / "piaf-dev.json"
ENGLISH_PIAF = ROOT / "benchmarks" / "data" / "english_piaf_questions.json"
NEWS = ROOT / "benchmarks" / "data" / "news_questions.json"
# How many times a news question counts beside a PIAF one in the ranking fit (chosen on tune).
NEWS_WEIGHTS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
PIAF_TOLERANCE = 0.005

Item = tuple[np.ndarray, np.ndarray]  # feature rows, gold mask


def collect(engine: Engine, questions: list[EvalQuestion]) -> list[Item]:
    """Candidate feature rows and gold masks, one item per question."""
    items = []
    for q in questions:
        found = engine.candidate_features(q.question)
        gold = np.array([engine.index.sentence_id(s) in q.gold for s in found.pool], dtype=bool)
        items.append((found.rows, gold))
    return items


def softmax_loss(w: np.ndarray, items: list[Item], item_weights: np.ndarray) -> tuple[float, np.ndarray]:
    total, grad = 0.0, np.zeros_like(w)
    for (rows, gold), weight in zip(items, item_weights, strict=True):
        z = rows @ w
        p = np.exp(z - z.max())
        p /= p.sum()
        p_gold = p[gold].sum()
        total -= weight * np.log(p_gold + 1e-12)
        grad -= weight * (rows.T @ (p * gold / (p_gold + 1e-12) - p))
    n = item_weights.sum()
    return total / n + REGULARISATION * w @ w, grad / n + 2 * REGULARISATION * w


def fit_ranking(
    items: list[Item], columns: list[int], news: Sequence[Item] = (), news_weight: float = 1.0
) -> np.ndarray:
    """Weights over `columns` maximising the gold sentences' softmax probability; each news item
    counts `news_weight` times (the news set is small beside PIAF)."""
    pairs = [(item, 1.0) for item in items] + [(item, news_weight) for item in news]
    usable = [((rows[:, columns], gold), weight) for (rows, gold), weight in pairs if gold.any()]
    args = ([item for item, _ in usable], np.array([weight for _, weight in usable]))
    fitted = minimize(softmax_loss, np.zeros(len(columns)), args=args, jac=True, method="L-BFGS-B")
    w = np.zeros(len(FEATURES))
    w[columns] = fitted.x
    return w


def choose_news_weight(tune: list[Item], news_tune: list[Item], columns: list[int]) -> float:
    """The news items' weight, chosen on the tune splits only: the largest of `NEWS_WEIGHTS` that
    keeps PIAF tune hit@1 within `PIAF_TOLERANCE` of the fit without news (as much news as PIAF
    allows; the news set is too small to be trusted on its own)."""
    without = hits(tune, fit_ranking(tune, columns))["hit@1"]
    allowed = [
        weight
        for weight in NEWS_WEIGHTS
        if hits(tune, fit_ranking(tune, columns, news_tune, weight))["hit@1"] >= without - PIAF_TOLERANCE
    ]
    return max(allowed, default=0.0)


def hits(items: list[Item], w: np.ndarray) -> dict[str, float]:
    h1 = h5 = 0
    for rows, gold in items:
        order = np.argsort(-(rows @ w), kind="stable")
        h1 += bool(gold[order[:1]].any())
        h5 += bool(gold[order[:5]].any())
    n = max(len(items), 1)
    return {"hit@1": round(h1 / n, 4), "hit@5": round(h5 / n, 4)}


def abstention_values(engine: Engine, question: str) -> tuple[float, ...]:
    """The not-found signals as `Engine.answer` computes them (on the cleaned question)."""
    question = clean_text(question).strip()
    ranking = engine.rank(question)
    coverage = engine.coverage(ranking.query) if ranking.query.candidates else 0.0
    return abstention.abstention_values(engine.index, question, ranking, coverage)


def second_look_rows(w: np.ndarray, b: float, within: float):
    """A `values` function for `abstention_data`: `SECOND_LOOK_FEATURES` of the questions within
    `within` of the first model's (w, b) decision, NaN for the others (not computed: 5 encodings)."""

    def values(engine: Engine, question: str) -> np.ndarray:
        question = clean_text(question).strip()
        ranking = engine.rank(question)
        coverage = engine.coverage(ranking.query) if ranking.query.candidates else 0.0
        first = float(np.dot(w, abstention.abstention_values(engine.index, question, ranking, coverage))) + b
        extra = (
            abstention.first_excerpt_second_look(engine.index, engine.encoder, question, ranking)
            if abs(first) < within
            else None
        )
        return np.full(len(SECOND_LOOK_FEATURES), np.nan) if extra is None else np.array(extra)

    return values


def abstention_data(
    full: Engine, corpus: Corpus, questions: list[EvalQuestion], build, values=abstention_values
) -> tuple[np.ndarray, np.ndarray]:
    """Signal rows (`values(engine, question)`) of the questions asked of the whole corpus, then
    of the corpus without their article."""
    positives = np.array([values(full, q.question) for q in questions])
    negatives = np.zeros_like(positives)
    by_article: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        by_article.setdefault(q.article_id, []).append(i)
    for article_id, rows in by_article.items():
        rest = Corpus(articles=tuple(a for a in corpus.articles if a.id != article_id), version="rest")
        engine = build(rest)
        for i in rows:
            negatives[i] = values(engine, questions[i].question)
    return positives, negatives


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    design = np.c_[x, np.ones(len(x))]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ w
        p = 1 / (1 + np.exp(-z))
        return float(np.mean(np.logaddexp(0, z) - y * z)), design.T @ (p - y) / len(y)

    w = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B").x
    return w[:-1], float(w[-1])


def fit_regularised_logistic(
    x: np.ndarray, y: np.ndarray, l2: float | np.ndarray
) -> tuple[np.ndarray, float]:
    """Logistic regression on standardised columns with an L2 penalty (one, or one per column;
    for small sets, which a plain fit may separate perfectly); weights returned for the raw
    columns."""
    mean, spread = x.mean(0), x.std(0) + 1e-9
    design = np.c_[(x - mean) / spread, np.ones(len(x))]
    penalty = np.r_[np.broadcast_to(l2, x.shape[1]), 0.0]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ w
        p = 1 / (1 + np.exp(-z))
        value = float(np.mean(np.logaddexp(0, z) - y * z) + penalty @ (w * w))
        return value, design.T @ (p - y) / len(y) + 2 * penalty * w

    w = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B").x
    weights = w[:-1] / spread
    return weights, float(w[-1] - weights @ mean)


def cross_lingual_data(
    full: Engine, evalset, build
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, float]]:
    """`CROSS_LINGUAL_FEATURES` rows of our English questions about PIAF articles, asked of the
    whole corpus and without their article, for each split; and the ranking's hit@3 on them
    (the answer's text in one of the three best sentences)."""
    items = json.loads(ENGLISH_PIAF.read_text(encoding="utf-8"))["questions"]
    ids = {a.title: a.id for a in evalset.corpus.articles}
    columns = [ABSTENTION_FEATURES.index(name) for name in CROSS_LINGUAL_FEATURES]
    rows, hit3 = {}, {}
    for split, wanted in (("tune", False), ("heldout", True)):
        chosen = [item for item in items if is_heldout(item["article"]) == wanted]
        questions = [EvalQuestion(item["question"], frozenset(), ids[item["article"]]) for item in chosen]
        pos, neg = abstention_data(full, evalset.corpus, questions, build)
        rows[split] = (pos[:, columns], neg[:, columns])
        texts = full.index.texts
        hits = [
            any(item["answer"] in texts[c.sentence] for c in full.rank(item["question"]).order[:3])
            for item in chosen
        ]
        hit3[split] = round(float(np.mean(hits)), 4)
    return rows, hit3


def abstention_figures(positives: np.ndarray, negatives: np.ndarray) -> dict:
    """Precision, recall and false not-found from the decision margins of both sides."""
    said_pos = positives < 0
    said_neg = negatives < 0
    said = said_pos.sum() + said_neg.sum()
    return {
        "precision": round(float(said_neg.sum() / said) if said else 0.0, 4),
        "recall": round(float(said_neg.mean()), 4),
        "false_not_found": round(float(said_pos.mean()), 4),
    }


def caution_margin(above_pos: np.ndarray, above_neg: np.ndarray) -> float:
    """The widest band just above the decision (log-odds, by steps of `CAUTION_STEP`) in which at
    least `CAUTION_SHARE` of the answered tune questions had been asked without their article:
    answers in it are shown with a "may not answer" caveat. 0 when no band qualifies."""
    widest = 0.0
    for band in np.arange(1, CAUTION_STEPS + 1) * CAUTION_STEP:
        pos = int(((above_pos >= 0) & (above_pos < band)).sum())
        neg = int(((above_neg >= 0) & (above_neg < band)).sum())
        if pos + neg and neg / (pos + neg) >= CAUTION_SHARE:
            widest = float(band)
    return widest


def caution_figures(positives: np.ndarray, negatives: np.ndarray, band: float) -> dict:
    """Shares of the unanswerable and of the answerable questions answered with the caveat."""

    def share(above: np.ndarray) -> float:
        return round(float(((above >= 0) & (above < band)).mean()), 4)

    return {"unsure_unanswerable": share(negatives), "unsure_answerable": share(positives)}


def fit_second_look(
    positives: np.ndarray,
    negatives: np.ndarray,
    extra: tuple[np.ndarray, np.ndarray],
    w: np.ndarray,
    b: float,
    false_not_found: float,
) -> tuple[np.ndarray, float]:
    """The second look's model, fitted on the tune rows whose second-look values were computed
    (those near the first decision); its intercept then set so that, with the first model deciding
    outside `SECOND_LOOK_BAND`, `false_not_found` of all tune positives get "not found"."""
    extra_pos, extra_neg = extra
    near_pos, near_neg = ~np.isnan(extra_pos[:, 0]), ~np.isnan(extra_neg[:, 0])
    x = np.r_[np.c_[positives, extra_pos][near_pos], np.c_[negatives, extra_neg][near_neg]]
    y = np.r_[np.ones(near_pos.sum()), np.zeros(near_neg.sum())]
    w2, b2 = fit_regularised_logistic(x, y, REGULARISATION)
    first = positives @ w + b
    looked = np.abs(first) < SECOND_LOOK_BAND
    refused_by_first = int(((~looked) & (first < 0)).sum())
    second = np.sort(np.c_[positives, extra_pos][looked] @ w2 + b2)
    # The k-th lowest second-look score as the decision: k of those positives fall below it.
    k = int(np.clip(np.floor(false_not_found * len(positives)) - refused_by_first, 0, len(second) - 1))
    return w2, b2 - float(second[k]) if len(second) else b2


def decision_margins(
    positives: np.ndarray,
    negatives: np.ndarray,
    extra: tuple[np.ndarray, np.ndarray],
    w: np.ndarray,
    b: float,
    w2: np.ndarray,
    b2: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The margins the answer path uses: the second look's near the first decision, else the first's."""

    def margins(rows: np.ndarray, rows_extra: np.ndarray) -> np.ndarray:
        first = rows @ w + b
        looked = np.abs(first) < SECOND_LOOK_BAND
        second = np.c_[rows, np.nan_to_num(rows_extra)] @ w2 + b2
        return np.where(looked, second, first)

    return margins(positives, extra[0]), margins(negatives, extra[1])


def choose_operating_point(
    positives: np.ndarray,
    negatives: np.ndarray,
    extra: tuple[np.ndarray, np.ndarray],
    w: np.ndarray,
    intercept,
) -> tuple[float, float, np.ndarray, float, tuple[np.ndarray, np.ndarray]]:
    """The largest false not-found share (from TARGET_FALSE_NOT_FOUND down, tune only) whose tune
    "not found" answers reach TARGET_PRECISION, with the first model's intercept, the second look's
    model and the tune margins there. The second-look rows were computed within
    SECOND_LOOK_FIT_BAND of the widest decision, so the decision moves at most by the difference
    of the two bands; TARGET_FALSE_NOT_FOUND is kept (with a warning) when no share qualifies."""
    widest = intercept(TARGET_FALSE_NOT_FOUND)
    shares = np.arange(TARGET_FALSE_NOT_FOUND, 0, -FALSE_NOT_FOUND_STEP)
    chosen = None
    for share in (round(float(s), 4) for s in shares):
        b = intercept(share)
        if b - widest > SECOND_LOOK_FIT_BAND - SECOND_LOOK_BAND:
            break
        w2, b2 = fit_second_look(positives, negatives, extra, w, b, share)
        margins = decision_margins(positives, negatives, extra, w, b, w2, b2)
        figures = abstention_figures(*margins)
        print(f"operating point: false not-found {share:.4f} → tune {figures}", file=sys.stderr)
        chosen = chosen or (share, b, w2, b2, margins)
        if figures["precision"] >= TARGET_PRECISION:
            return share, b, w2, b2, margins
    print(f"no operating point reaches precision {TARGET_PRECISION} on tune: widest kept", file=sys.stderr)
    assert chosen is not None
    return chosen


ABLATION_GROUPS = {
    "BM25 with context": ("bm25", "bm25_context", "bm25_rank"),
    "sentence coverage": ("sentence_coverage",),
    "title match": ("title",),
    "answer types": ("quantity", "date", "name"),
    "length": ("length",),
    "first in paragraph": ("first_in_paragraph",),
    "previous sentence": ("previous_coverage",),
    "title and lede": ("story_coverage",),
    "negation for yes/no": ("says_no",),
    "all four news features": ("first_in_paragraph", "previous_coverage", "story_coverage", "says_no"),
    "sentence embedding": ("dense_sentence", "dense_gap", "dense_rank"),
    "paragraph embedding": ("dense_paragraph",),
}


def print_ablation(sets: dict[str, list[Item]], news_weight: float) -> None:
    """Hit@1 / hit@5 of the model refitted without each group (and some groups alone) on every set."""
    everything = list(range(len(FEATURES)))
    rows = [("all features", everything)]
    for group, names in ABLATION_GROUPS.items():
        rows.append((f"without {group}", [i for i in everything if FEATURES[i] not in names]))
    for group in ("BM25 with context", "sentence embedding"):
        rows.append((f"{group} alone", [FEATURES.index(n) for n in ABLATION_GROUPS[group]]))
    print("| features | " + " | ".join(f"{name} hit@1 | {name} hit@5" for name in sets) + " |")
    print("|---|" + "---|---|" * len(sets))
    for name, columns in rows:
        w = fit_ranking(sets["PIAF tune"], columns, sets["news tune"], news_weight)
        cells = [f"{h['hit@1']:.3f} | {h['hit@5']:.3f}" for h in (hits(items, w) for items in sets.values())]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path, nargs="?", default=PIAF)
    parser.add_argument("--out", type=Path, default=ROOT / "bot" / "data" / "ranker.json")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "embeddings")
    parser.add_argument("--news", type=Path, default=NEWS, help="our news questions (tune part fitted too)")
    parser.add_argument(
        "--ablation", action="store_true", help="also refit without each feature group and print a table"
    )
    parser.add_argument(
        "--ablation-only", action="store_true", help="print the ablation table, write nothing"
    )
    args = parser.parse_args()

    evalset = load_squad(args.file)
    vectors, encoder = EmbeddingCache(args.cache), Encoder()
    print("embedding articles not cached yet...", file=sys.stderr)
    full = build_engine(evalset.corpus, vectors, encoder)
    lexical = Engine(full.index)
    tune, held = split_questions(evalset, "tune"), split_questions(evalset, "heldout")
    news = load_squad(args.news)
    news_full = build_engine(news.corpus, vectors, encoder)
    news_tune, news_held = split_questions(news, "tune"), split_questions(news, "heldout")

    lexical_columns = [i for i, name in enumerate(FEATURES) if not name.startswith("dense_")]
    report: dict[str, dict] = {}
    weights: dict[str, dict[str, float]] = {}
    news_weights: dict[str, float] = {}
    for name, engine, news_engine, columns in (
        ("lexical", lexical, Engine(news_full.index), lexical_columns),
        ("dense", full, news_full, list(range(len(FEATURES)))),
    ):
        tune_items, held_items = collect(engine, tune), collect(engine, held)
        news_tune_items, news_held_items = collect(news_engine, news_tune), collect(news_engine, news_held)
        news_weights[name] = choose_news_weight(tune_items, news_tune_items, columns)
        w = fit_ranking(tune_items, columns, news_tune_items, news_weights[name])
        weights[name] = {FEATURES[i]: round(float(w[i]), 4) for i in columns}
        w = np.array([weights[name].get(f, 0.0) for f in FEATURES])
        report[name] = {
            "tune": hits(tune_items, w),
            "heldout": hits(held_items, w),
            "news_weight": news_weights[name],
            "news_tune": hits(news_tune_items, w),
            "news_heldout": hits(news_held_items, w),
        }
        print(name, report[name], file=sys.stderr)
    if args.ablation:
        sets = {
            "PIAF tune": tune_items,
            "PIAF held-out": held_items,
            "news tune": news_tune_items,
            "news held-out": news_held_items,
        }
        print_ablation(sets, news_weights["dense"])
        if args.ablation_only:
            return

    def build(corpus: Corpus) -> Engine:
        return build_engine(corpus, vectors, encoder)

    tune_pos, tune_neg = abstention_data(full, evalset.corpus, tune, build)
    held_pos, held_neg = abstention_data(full, evalset.corpus, held, build)
    w, b0 = fit_logistic(np.r_[tune_pos, tune_neg], np.r_[np.ones(len(tune_pos)), np.zeros(len(tune_neg))])

    def intercept(false_not_found: float) -> float:
        """The intercept putting the decision where `false_not_found` of the tune positives fall below it."""
        return b0 - float(np.quantile(tune_pos @ w + b0, false_not_found))

    print("second look: encoding the questions near the decision...", file=sys.stderr)
    widest = intercept(TARGET_FALSE_NOT_FOUND)
    fit_rows = second_look_rows(w, widest, SECOND_LOOK_FIT_BAND)
    tune_extra = abstention_data(full, evalset.corpus, tune, build, fit_rows)
    false_not_found, b, w2, b2, tune_margins = choose_operating_point(
        tune_pos, tune_neg, tune_extra, w, intercept
    )
    held_extra = abstention_data(full, evalset.corpus, held, build, second_look_rows(w, b, SECOND_LOOK_BAND))
    held_margins = decision_margins(held_pos, held_neg, held_extra, w, b, w2, b2)
    band = caution_margin(*tune_margins)
    abstention = {
        "tune": {**abstention_figures(*tune_margins), **caution_figures(*tune_margins, band)},
        "heldout": {**abstention_figures(*held_margins), **caution_figures(*held_margins, band)},
        "first_model_only": {
            "tune": abstention_figures(tune_pos @ w + b, tune_neg @ w + b),
            "heldout": abstention_figures(held_pos @ w + b, held_neg @ w + b),
        },
        "second_look_share": {
            split: {
                "answerable": round(float(np.mean(np.abs(pos @ w + b) < SECOND_LOOK_BAND)), 4),
                "unanswerable": round(float(np.mean(np.abs(neg @ w + b) < SECOND_LOOK_BAND)), 4),
            }
            for split, pos, neg in (("tune", tune_pos, tune_neg), ("heldout", held_pos, held_neg))
        },
    }
    print("abstention", abstention, file=sys.stderr)

    # Across languages: a small model over the signals that carry over, fitted on our English
    # questions about the tune articles (46 questions in all, so a penalty keeps it tame).
    english, english_hit3 = cross_lingual_data(full, evalset, build)
    pos, neg = english["tune"]
    cw, cb = fit_regularised_logistic(np.r_[pos, neg], np.r_[np.ones(len(pos)), np.zeros(len(neg))], l2=0.01)
    cb -= float(np.quantile(pos @ cw + cb, TARGET_FALSE_NOT_FOUND))
    cross_lingual = {
        split: {
            **abstention_figures(english[split][0] @ cw + cb, english[split][1] @ cw + cb),
            "ranking_hit@3": english_hit3[split],
        }
        for split in ("tune", "heldout")
    }
    print("abstention across languages", cross_lingual, file=sys.stderr)

    out = {
        "about": "Learned by benchmarks/train_ranker.py on PIAF dev's tune split and our news questions' "
        "tune split; see its docstring.",
        "command": "python -m benchmarks.train_ranker ../shared/data/piaf-dev.json",
        "embedding_model": MODEL,
        "features": list(FEATURES),
        "weights": weights,
        "abstention": {
            "weights": {name: round(float(v), 4) for name, v in zip(ABSTENTION_FEATURES, w, strict=True)},
            "intercept": round(b, 4),
            "target_false_not_found": false_not_found,
            "target_precision": TARGET_PRECISION,
            "caution_margin": band,
            "second_look": {
                "about": "Same-language questions within `band` of the first decision: a logistic "
                "model over the features above and SECOND_LOOK_FEATURES (bot/search/abstention.py), "
                f"fitted on the tune questions within {SECOND_LOOK_FIT_BAND} of it.",
                "weights": {
                    name: round(float(v), 4)
                    for name, v in zip(ABSTENTION_FEATURES + SECOND_LOOK_FEATURES, w2, strict=True)
                },
                "intercept": round(b2, 4),
                "band": SECOND_LOOK_BAND,
            },
            "cross_lingual": {
                "about": "English questions over French articles; fitted on "
                "benchmarks/data/english_piaf_questions.json (tune articles).",
                "weights": {
                    name: round(float(v), 4) for name, v in zip(CROSS_LINGUAL_FEATURES, cw, strict=True)
                },
                "intercept": round(cb, 4),
            },
        },
        "figures": {"ranking": report, "abstention": abstention, "abstention_cross_lingual": cross_lingual},
    }
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
