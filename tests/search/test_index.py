"""The serving BM25 matrix agrees with rank_bm25 (what the scores mean) and with bm25s (Lucene)."""

import math

import numpy as np
import pytest
from rank_bm25 import BM25Okapi
from rapidfuzz.distance import Levenshtein

from bot.articles.corpus import load_corpus
from bot.articles.models import sentence_id
from bot.search.index import RankingParams, SearchIndex
from bot.text import analyzer
from tests.conftest import BUNDLED_CORPUS


class LuceneBM25(BM25Okapi):
    """rank_bm25's Okapi scorer with Lucene's idf, ln(1 + (N - df + 0.5) / (df + 0.5))."""

    def _calc_idf(self, nd):
        self.idf = {w: math.log(1 + (self.corpus_size - f + 0.5) / (f + 0.5)) for w, f in nd.items()}


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(load_corpus(BUNDLED_CORPUS), RankingParams(k1=1.2, b=0.75))


def sentence_tokens(index: SearchIndex) -> list[list[str]]:
    """Each sentence's terms, from the analyzer exactly as the index saw them."""
    return [analyzer("fr").terms(text) for text in index.texts]


@pytest.mark.parametrize(
    "question",
    [
        "Combien de roquettes ont frappé la base de Balad ?",
        "Qui est le porte-parole du Pentagone ?",
        "sécurité base américaine Irak",
        "OTAN mission Stoltenberg",
    ],
)
def test_sentence_scores_match_rank_bm25(index, question):
    reference = LuceneBM25(sentence_tokens(index), k1=1.2, b=0.75)
    terms = index.query_terms(question)
    ids = [index.vocab[t] for t in terms if t in index.vocab]
    ours = index.sentences.scores(ids)
    theirs = reference.get_scores([t for t in terms if t in index.vocab])
    # bm25s (Lucene) leaves out the constant (k1 + 1) factor of the tf part: same ranking.
    np.testing.assert_allclose(ours * (1.2 + 1), theirs, rtol=1e-5, atol=1e-5)
    assert list(np.argsort(-ours, kind="stable")[:5]) == list(np.argsort(-theirs, kind="stable")[:5])


def test_context_lets_a_neighbour_sentence_score(index):
    # "Personne n'a été blessé." shares only "blessé" with the question; its paragraph names Bagdad.
    terms = index.query_terms("blessés zone verte Bagdad")
    ids = [index.vocab[t] for t in terms]
    candidates = index.rank(ids, 5)
    target = index.texts.index("Personne n'a été blessé.")
    cand = next(c for c in candidates if c.sentence == target)
    assert cand.context_score > 0


def test_unknown_word_is_matched_to_its_closest_spelling(index):
    resolved = index.resolve_terms(index.query_terms("Stoltenbrg roquetes"))
    assert {index.term(t) for t in resolved.values() if t is not None} >= {"stoltenberg", "roquet"}


def closest_by_brute_force(index: SearchIndex, term: str) -> int | None:
    """`_closest`'s rule read over the whole vocabulary: among live terms with the same first
    letter within 1 edit (2 past six letters), the fewest edits, then the most sentences, then
    the first in alphabetical order."""
    max_edits = 1 if len(term) <= 6 else 2
    best = None
    for word, term_id in index.vocab.items():
        if not word or word[0] != term[0] or not index.paragraphs.document_frequency(term_id):
            continue
        edits = Levenshtein.distance(term, word)
        if edits <= max_edits:
            key = (edits, -index.sentences.document_frequency(term_id), word)
            best = key if best is None else min(best, key)
    return None if best is None else index.vocab[best[2]]


def test_the_closest_spelling_is_the_one_a_reading_of_the_whole_vocabulary_finds(index):
    rng = np.random.default_rng(7)
    words = sorted(w for w in index.vocab if len(w) >= 4)
    letters = "abcdeéèfgilmnoprstuz"
    for _ in range(300):
        typo = list(words[rng.integers(len(words))])
        for _ in range(rng.integers(1, 4)):  # (up to three edits: some typos have no close word)
            at = int(rng.integers(len(typo)))
            edit = rng.integers(3)
            if edit == 0 and len(typo) > 1:
                del typo[at]
            elif edit == 1:
                typo.insert(at, str(rng.choice(list(letters))))
            else:
                typo[at] = str(rng.choice(list(letters)))
        term = "".join(typo)
        assert index._closest(term) == closest_by_brute_force(index, term), term


def test_short_unknown_words_are_not_guessed(index):
    assert index.resolve_terms(["xyz"]) == {"xyz": None}


@pytest.mark.parametrize(
    "question", ["roquettes Balad", "sécurité base américaine Irak", "OTAN Daech mission"]
)
def test_matrix_matches_bm25s_lucene(index, question):
    import bm25s

    model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    model.index(sentence_tokens(index), show_progress=False)
    terms = [t for t in index.query_terms(question) if t in index.vocab]
    ours = index.sentences.scores([index.vocab[t] for t in terms])
    np.testing.assert_allclose(ours, model.get_scores(terms), rtol=1e-5, atol=1e-6)


def brute_force_totals(index: SearchIndex, ids: list[int]) -> np.ndarray:
    """Every sentence's score in three parts, the slow, obvious way: its own BM25, its paragraph
    neighbours' and its paragraph's (what the folded matrix must equal)."""
    sent = index.sentences.scores(ids)
    para = index.paragraphs.scores(ids)[index.sent_para_index]
    first = np.r_[True, index.sent_para_index[1:] != index.sent_para_index[:-1]]
    last = np.r_[index.sent_para_index[1:] != index.sent_para_index[:-1], True]
    prev = np.where(first, 0.0, np.r_[0.0, sent[:-1]])
    nxt = np.where(last, 0.0, np.r_[sent[1:], 0.0])
    p = index.params
    return sent + p.neighbour_weight * (prev + nxt) + p.paragraph_weight * para


def brute_force_top(index: SearchIndex, ids: list[int], k: int, among=None) -> list[int]:
    """The `k` best sentences by `brute_force_totals` (only those of `among`, when given)."""
    total = brute_force_totals(index, ids)
    rows = range(index.size) if among is None else [int(i) for i in among]
    order = sorted((i for i in rows if total[i] > 0), key=lambda i: (-total[i], i))
    return order[:k]


@pytest.mark.parametrize("k", [1, 3, 10])
@pytest.mark.parametrize(
    "question", ["roquettes", "base américaine", "Personne blessé Bagdad", "OTAN mission Daech Irak", "Kirby"]
)
def test_one_pass_ranking_equals_scoring_every_sentence(scoring_path, index, question, k):
    ids = [index.vocab[t] for t in index.query_terms(question) if t in index.vocab]
    assert [c.sentence for c in index.rank(ids, k)] == brute_force_top(index, ids, k)


def random_corpus_index(seed: int, vocabulary_size: int = 60) -> SearchIndex:
    """Many short sentences over a small vocabulary: long postings, where the ranking prunes
    (a tiny vocabulary repeats sentences: many tied scores)."""
    from bot.articles.models import Article, Paragraph, Sentence

    rng = np.random.default_rng(seed)
    vocabulary = [f"mot{i}" for i in range(vocabulary_size)]
    articles = []
    for a in range(40):
        paragraphs = []
        for p in range(1, 6):
            texts = [
                " ".join(rng.choice(vocabulary, size=rng.integers(3, 12))) + "."
                for _ in range(rng.integers(1, 5))
            ]
            sentences = tuple(Sentence(id=sentence_id(f"a{a}", p, i), text=t) for i, t in enumerate(texts, 1))
            paragraphs.append(Paragraph(number=p, text=" ".join(texts), sentences=sentences))
        articles.append(
            Article(
                id=f"a{a}",
                title=f"A{a}",
                source="test",
                language="fr",
                path=f"a{a}.md",
                checksum=f"{a:064d}",
                paragraphs=tuple(paragraphs),
            )
        )
    return SearchIndex.build(articles)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 5, 30])
def test_one_pass_ranking_is_exact_on_long_postings(scoring_path, seed, k):
    index = random_corpus_index(seed)
    rng = np.random.default_rng(seed + 10)
    for _ in range(5):
        ids = sorted({int(t) for t in rng.integers(0, len(index.vocab), size=rng.integers(1, 6))})
        ranked = index.rank(ids, k)
        assert [c.sentence for c in ranked] == brute_force_top(index, ids, k)
        totals = brute_force_totals(index, ids)
        np.testing.assert_allclose([c.score for c in ranked], totals[[c.sentence for c in ranked]], rtol=1e-6)
        own = index.sentences.scores(ids)
        for cand in ranked:
            assert cand.sentence_score == pytest.approx(own[cand.sentence])
            assert cand.sentence_score + cand.context_score == pytest.approx(cand.score)


@pytest.mark.parametrize("seed", [4, 5])
def test_the_own_scores_of_chosen_sentences_are_each_columns_weighted_values(scoring_path, seed):
    """`scores_at` (the kept sentences' own BM25): per term in order, the column's value where
    the sentence has the term, weighted in float32, summed in float64 — to the bit, for weights
    other than 1, sentences in any order, repeated, or without the terms."""
    index = random_corpus_index(seed)
    matrix = index.sentences
    rng = np.random.default_rng(seed)
    for _ in range(10):
        ids = sorted({int(t) for t in rng.integers(0, len(index.vocab), size=rng.integers(1, 6))})
        weights = [float(w) for w in rng.uniform(0.1, 2.0, size=len(ids))] if rng.random() < 0.5 else None
        docs = rng.integers(0, index.size, size=rng.integers(1, 30))
        expected = np.zeros(len(docs))
        for n, term in enumerate(ids):
            column = np.zeros(index.size, dtype=np.float32)
            span = slice(matrix.indptr[term], matrix.indptr[term + 1])
            weight = np.float32(1.0 if weights is None else weights[n])
            column[matrix.indices[span]] = matrix.data[span] * weight
            expected += column[docs]
        assert np.array_equal(matrix.scores_at(ids, weights, docs), expected)
    assert len(matrix.scores_at([0], None, np.zeros(0, np.int64))) == 0


def test_column_bounds_are_each_columns_start_and_end():
    """A few terms are read one by one, many at once: the same (start, end) pairs either way."""
    from bot.search.bm25 import column_bounds

    indptr = np.cumsum(np.random.default_rng(3).integers(0, 9, size=60), dtype=np.int64)
    for ids in ([], [4], [0, 7, 3], list(range(0, 58, 3)), list(range(40))):
        expected = [(int(indptr[t]), int(indptr[t + 1])) for t in ids]
        assert column_bounds(indptr, ids) == expected
        assert all(type(x) is int for pair in column_bounds(indptr, ids) for x in pair)


@pytest.mark.parametrize("sweep_after", [0, 10**9])  # contenders by their postings / by a sweep
@pytest.mark.parametrize("budget", [1, 40, 4096])
@pytest.mark.parametrize(("seed", "vocabulary_size"), [(11, 60), (12, 4), (13, 2)])
def test_the_bound_on_the_kth_best_never_drops_a_contender(
    monkeypatch, numpy_path, budget, sweep_after, seed, vocabulary_size
):
    """However few postings bound the k-th best total (one column, a few, all), however many
    sentences tie, and whether the contenders are found by their postings or by a sweep of
    every total, the ranking is the one of scoring every sentence."""
    from bot.search import folded as folded_module

    monkeypatch.setattr(folded_module, "_BOUND_BUDGET", budget)
    monkeypatch.setattr(folded_module, "_SWEEP_AFTER", sweep_after)
    index = random_corpus_index(seed, vocabulary_size)
    rng = np.random.default_rng(seed)
    for k in (1, 2, 7, 40, 1000):
        for _ in range(4):
            ids = sorted({int(t) for t in rng.integers(0, len(index.vocab), size=rng.integers(1, 5))})
            weights = {t: float(w) for t, w in zip(ids, rng.choice([0.0, 0.3, 1.0], len(ids)), strict=True)}
            expected = sum(weights[t] * brute_force_totals(index, [t]) for t in ids)
            scored = (i for i in range(index.size) if expected[i] > 1e-9)
            order = sorted(scored, key=lambda i: (-expected[i], i))
            assert [c.sentence for c in index.rank(ids, k, weights)] == order[:k]


@pytest.mark.parametrize("seed", [6, 7])
def test_the_folded_matrix_holds_every_sentences_three_part_score(seed):
    """Column by column, the folded matrix equals the three-part score of every sentence (zero
    where it has no entry), weighted questions included."""
    index = random_corpus_index(seed)
    for term_id in range(len(index.vocab)):
        folded = np.zeros(index.size)
        start, end = index.folded.indptr[term_id], index.folded.indptr[term_id + 1]
        folded[index.folded.indices[start:end]] = index.folded.data[start:end]
        np.testing.assert_allclose(folded, brute_force_totals(index, [term_id]), rtol=1e-6, atol=1e-7)
    rng = np.random.default_rng(seed)
    ids = sorted({int(t) for t in rng.integers(0, len(index.vocab), size=4)})
    weights = {t: float(w) for t, w in zip(ids, rng.uniform(0.2, 1.0, len(ids)), strict=True)}
    ranked = index.rank(ids, 10, weights)
    expected = sum(weights[t] * brute_force_totals(index, [t]) for t in ids)
    order = sorted(range(index.size), key=lambda i: (-expected[i], i))[:10]
    assert [c.sentence for c in ranked] == order
    np.testing.assert_allclose([c.score for c in ranked], expected[order], rtol=1e-6)


@pytest.mark.parametrize("seed", [4, 5])
def test_ranking_within_one_article_equals_scoring_its_sentences(scoring_path, seed):
    index = random_corpus_index(seed)
    rng = np.random.default_rng(seed + 20)
    for _ in range(10):
        ids = sorted({int(t) for t in rng.integers(0, len(index.vocab), size=rng.integers(1, 6))})
        rows = index.article_rows(int(rng.integers(0, len(index.articles))))
        ranked = index.rank(ids, 5, among=rows)
        assert [c.sentence for c in ranked] == brute_force_top(index, ids, 5, among=rows)
        assert all(c.sentence in set(rows.tolist()) for c in ranked)


def test_term_presence_reads_the_sentence_and_its_neighbours(index):
    ids = [index.vocab[t] for t in index.query_terms("roquettes Balad Pentagone")]
    rows = list(range(index.size))
    alone = index.term_presence(rows, ids, window=False)
    around = index.term_presence(rows, ids)
    para = index.sent_para_index
    for j, term in enumerate(ids):
        holders = set(
            index.sentences.indices[index.sentences.indptr[term] : index.sentences.indptr[term + 1]]
        )
        for s in rows:
            assert alone[s, j] == (s in holders)
            near = {s} | {n for n in (s - 1, s + 1) if 0 <= n < index.size and para[n] == para[s]}
            assert around[s, j] == bool(near & holders)
    assert (around > alone).any()


@pytest.mark.parametrize("seed", [8, 9])
def test_while_the_matrix_is_being_folded_the_ranking_is_the_same(scoring_path, seed):
    """An index updated in place is folded in a thread; meanwhile `rank` scores the three parts."""
    index = random_corpus_index(seed)
    rng = np.random.default_rng(seed)
    queries = [
        sorted({int(t) for t in rng.integers(0, len(index.vocab), size=rng.integers(1, 6))}) for _ in range(8)
    ]
    rows = index.article_rows(3)
    folded = [(index.rank(ids, 10), index.rank(ids, 5, among=rows)) for ids in queries]
    index.folded = None
    unfolded = [(index.rank(ids, 10), index.rank(ids, 5, among=rows)) for ids in queries]
    for (a, b), (c, d) in zip(folded, unfolded, strict=True):
        assert [x.sentence for x in a] == [x.sentence for x in c]
        assert [x.sentence for x in b] == [x.sentence for x in d]
        np.testing.assert_allclose([x.score for x in a], [x.score for x in c], rtol=1e-6)


def test_an_updated_index_is_folded_in_the_background(tmp_path):
    index = random_corpus_index(10)
    removed = index.articles[0].id
    updated = index.updated([], [removed])
    assert updated.wait_folded(timeout=10)
    assert updated.folded is not None
    assert updated.size < index.size


def test_a_fold_stopped_half_way_leaves_an_exact_unfolded_index():
    """A superseded index's fold stops at its next block; the index still ranks exactly."""
    import threading

    from bot.search import folded as folded_module

    index = random_corpus_index(11)
    stop = threading.Event()
    stop.set()
    with pytest.raises(folded_module.FoldCancelled):
        folded_module.FoldedMatrix.fold(
            index.sentences, index.paragraphs, index.sent_para_index, index._para_start, index.params, stop
        )
    updated = index.updated([], [index.articles[0].id])
    updated.stop_folding()
    updated.wait_folded(timeout=10)  # stopped, or done before the stop was seen
    ids = sorted({int(t) for t in np.random.default_rng(11).integers(0, len(updated.vocab), size=4)})
    assert [c.sentence for c in updated.rank(ids, 10)] == brute_force_top(updated, ids, 10)


def test_a_stopped_fold_never_sets_the_matrix(monkeypatch):
    index = random_corpus_index(12)
    late = index.updated([], [index.articles[1].id])
    late.wait_folded(timeout=10)  # (the corpus is small: its own fold may already be done)
    monkeypatch.setattr(late, "folded", None)
    late._folded.clear()
    late.stop_folding()
    late._fold_now()  # what the background thread runs: the stop is seen at the first block
    assert late.folded is None and not late.wait_folded(timeout=0)


def _index_arrays(index: SearchIndex) -> list:
    return [
        list(index.vocab.items()),
        list(index.texts),
        index.articles,
        *(
            getattr(matrix, name).tolist()
            for matrix in (index.sentences, index.paragraphs, index.folded)
            for name in ("data", "indices", "indptr")
        ),
        index.sent_para_index.tolist(),
        index.sent_position.tolist(),
    ]


def _many_articles():
    from bot.articles.models import Article, Paragraph, Sentence

    rng = np.random.default_rng(5)
    vocabulary = [f"mot{i}" for i in range(400)] + ["l'armée", "F-16", "2 500", "a-t-il", "Élysée"]
    for a in range(60):
        paragraphs = []
        for p in range(1, int(rng.integers(1, 4)) + 1):
            texts = [
                " ".join(rng.choice(vocabulary, size=rng.integers(2, 9))) + "."
                for _ in range(rng.integers(0, 4))
            ]
            sentences = tuple(Sentence(id=sentence_id(f"a{a}", p, i), text=t) for i, t in enumerate(texts, 1))
            paragraphs.append(Paragraph(number=p, text=" ".join(texts), sentences=sentences))
        yield Article(
            id=f"a{a}",
            title=f"Titre {vocabulary[a]} {a}",
            source="test",
            language="fr" if a % 5 else "en",
            path=f"a{a}.md",
            checksum=f"{a:064d}",
            paragraphs=tuple(paragraphs),
        )


def test_worker_processes_build_the_same_index_as_one_process(monkeypatch):
    """Analysed by two spawned workers (each with its own vocabulary), the index is the one-process
    index to the bit: same term ids, matrices and folded scores."""
    from bot.search import analysis

    alone = SearchIndex.build(_many_articles())
    monkeypatch.setattr(analysis, "PARALLEL_AFTER", 20)
    monkeypatch.setattr(analysis, "BATCH_SENTENCES", 15)
    together = SearchIndex.build(_many_articles(), workers=2)
    assert _index_arrays(together) == _index_arrays(alone)
    # The texts it keeps are its own packed bytes, not the strings sent to the workers (pickle
    # would have left a UTF-8 copy inside each non-ASCII one: 140 MB at 1M sentences).
    from bot.search.texts import PackedTexts

    assert isinstance(together.texts, PackedTexts)


def _with_tf(index: SearchIndex) -> list:
    return [*_index_arrays(index), *(m.tf.tolist() for m in (index.sentences, index.paragraphs))]


@pytest.mark.parametrize("block", [1, 3, 7])
def test_the_build_in_small_blocks_makes_the_same_index(monkeypatch, block):
    """The matrices, their scores and the fold are made block by block (to bound their memory):
    blocks of a few postings, cutting through terms (the fold's: between terms, in two threads),
    paragraphs and documents, give the index of one block to the bit, and so does an update
    (rescored from terms it is given)."""
    from bot.search import bm25, folded

    articles = list(_many_articles())
    whole = SearchIndex.build(articles)
    # (an update needs every paragraph to hold a sentence)
    full = [a for a in articles if all(p.sentences for p in a.paragraphs)]
    grown = SearchIndex.build(full[:25]).updated(full[25:], [full[3].id])
    assert grown.wait_folded(timeout=30)
    monkeypatch.setattr(bm25, "_BLOCK", block)
    monkeypatch.setattr(folded, "_FOLD_BLOCK", block + 1)
    monkeypatch.setattr(folded, "_PARAGRAPH_BLOCK", block)
    assert _with_tf(SearchIndex.build(articles)) == _with_tf(whole)
    small = SearchIndex.build(full[:25]).updated(full[25:], [full[3].id])
    assert small.wait_folded(timeout=30)
    assert _with_tf(small) == _with_tf(grown)


class _BrokenPool:
    """A process pool whose workers died: every batch handed over fails."""

    def __init__(self, *args, **kwargs) -> None:
        self.shut = False

    def submit(self, *args):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        future: Future = Future()
        future.set_exception(BrokenProcessPool("a worker died"))
        return future

    def shutdown(self, **kwargs) -> None:
        self.shut = True


def test_when_the_analysis_workers_die_the_rest_is_analysed_here(monkeypatch, caplog):
    from bot.search import analysis

    alone = SearchIndex.build(_many_articles())
    monkeypatch.setattr(analysis, "PARALLEL_AFTER", 20)
    monkeypatch.setattr(analysis, "BATCH_SENTENCES", 15)
    monkeypatch.setattr(analysis, "ProcessPoolExecutor", _BrokenPool)
    with caplog.at_level("WARNING", logger="bot.search.analysis"):
        rebuilt = SearchIndex.build(_many_articles(), workers=2)
    assert _index_arrays(rebuilt) == _index_arrays(alone)
    assert sum("analysis workers failed" in r.getMessage() for r in caplog.records) == 1


def test_each_sentence_and_paragraph_is_indexed_where_it_stands():
    """Positions, paragraph and article of every sentence, and every paragraph's terms (its
    article's title's and its sentences'), as the articles give them — empty paragraphs and
    English articles included."""
    from bot.text import analyzer

    articles = list(_many_articles())
    index = SearchIndex.build(articles)
    expected_rows, paragraph_terms = [], []
    for a, article in enumerate(articles):
        terms = analyzer(article.language).terms
        for paragraph in article.paragraphs:
            words = list(terms(article.title))
            for position, sentence in enumerate(paragraph.sentences, start=1):
                expected_rows.append((sentence.text, a, paragraph.number, len(paragraph_terms), position))
                words += terms(sentence.text)
            paragraph_terms.append(sorted(words))
    rows = list(
        zip(
            index.texts,
            index.sent_article.tolist(),
            index.sent_paragraph.tolist(),
            index.sent_para_index.tolist(),
            index.sent_position.tolist(),
            strict=True,
        )
    )
    assert rows == expected_rows
    para = index.paragraphs
    found: list[list[str]] = [[] for _ in range(para.num_docs)]
    for term_id in range(len(index.vocab)):
        for k in range(para.indptr[term_id], para.indptr[term_id + 1]):
            found[para.indices[k]] += [index.term(term_id)] * int(para.tf[k])
    assert [sorted(f) for f in found] == paragraph_terms
    assert para.lengths.tolist() == [len(t) for t in paragraph_terms]


@pytest.mark.parametrize("seed", range(5))
def test_each_postings_term_is_its_columns(seed):
    from bot.search.bm25 import term_of

    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 4, size=30) * (rng.random(30) < 0.7)  # (empty columns too)
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    every = np.repeat(np.arange(30), lengths)
    for begin in range(int(indptr[-1]) + 1):
        for end in range(begin, int(indptr[-1]) + 1):
            assert term_of(indptr, begin, end).tolist() == every[begin:end].tolist()


def test_the_compiled_sums_are_built_where_a_c_compiler_is():
    """`make` builds the optional compiled module (`bot.search.kernel`) on a machine with a C
    compiler: a build that broke would otherwise leave every question on the slower numpy code
    with the suite still green."""
    import shutil
    import sysconfig

    from bot.search import kernel

    if shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0]) is None:
        pytest.skip("no C compiler here: the numpy code answers")
    assert kernel.enabled(), "bot/search/_kernel.c did not build: see pip's output (make clean; make test)"
