/* Optional compiled speed-up of a question's two steps over CSC score matrices (float32 values,
 * int32 row ids, int64 column pointers): `top` (FoldedMatrix.top) and `scores_at`
 * (Bm25Matrix.scores_at). `bot/search/kernel.py` loads it, checks the arrays and falls back to
 * the numpy code when it is missing; the two give the same rows and the same bits (tests/search/
 * test_kernel.py): values weighted in float32, summed in float64 in posting order, ties broken by
 * row. The GIL is released while the postings are read.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Py_ssize_t count;     /* columns */
    int64_t *start;       /* each column's first posting */
    int64_t *end;         /* and one past its last */
    float *weight;        /* each column's weight, in float32 (1: left as it is) */
} Columns;

static void columns_free(Columns *c) {
    PyMem_Free(c->start);
    PyMem_Free(c->end);
    PyMem_Free(c->weight);
    memset(c, 0, sizeof(*c));  /* (freed again on the way out: harmless) */
}

/* The buffers of one matrix: values, row ids, column pointers. */
typedef struct {
    Py_buffer data, indices, indptr;
    int held;
} Matrix;

/* The columns `ids` (a sequence of ints) of a matrix with `indptr`, and their `weights` (a sequence
 * of floats, or None for all 1). 0 on success; -1 with an exception set. */
static int columns_of(PyObject *ids, PyObject *weights, const Matrix *m, Columns *out) {
    const int64_t *indptr = m->indptr.buf;
    const Py_ssize_t vocab = m->indptr.len / 8 - 1, postings = m->indices.len / 4;
    memset(out, 0, sizeof(*out));
    PyObject *id_seq = PySequence_Fast(ids, "term ids must be a sequence");
    if (id_seq == NULL) return -1;
    PyObject *w_seq = NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(id_seq);
    if (weights != Py_None) {
        w_seq = PySequence_Fast(weights, "weights must be a sequence or None");
        if (w_seq == NULL) goto fail;
        if (PySequence_Fast_GET_SIZE(w_seq) != n) {
            PyErr_SetString(PyExc_ValueError, "one weight per term id");
            goto fail;
        }
    }
    out->count = n;
    out->start = PyMem_Malloc(sizeof(int64_t) * (n ? n : 1));
    out->end = PyMem_Malloc(sizeof(int64_t) * (n ? n : 1));
    out->weight = PyMem_Malloc(sizeof(float) * (n ? n : 1));
    if (!out->start || !out->end || !out->weight) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        Py_ssize_t t = PyNumber_AsSsize_t(PySequence_Fast_GET_ITEM(id_seq, j), PyExc_OverflowError);
        if (t == -1 && PyErr_Occurred()) goto fail;
        if (t < 0 || t >= vocab) {
            PyErr_Format(PyExc_IndexError, "term id %zd out of range", t);
            goto fail;
        }
        out->start[j] = indptr[t];
        out->end[j] = indptr[t + 1];
        if (out->start[j] < 0 || out->start[j] > out->end[j] || out->end[j] > postings) {
            PyErr_Format(PyExc_ValueError, "column %zd's pointers are not within the matrix", t);
            goto fail;
        }
        out->weight[j] = 1.0f;
        if (w_seq != NULL) {
            double w = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(w_seq, j));
            if (w == -1.0 && PyErr_Occurred()) goto fail;
            out->weight[j] = (float)w;
        }
    }
    Py_DECREF(id_seq);
    Py_XDECREF(w_seq);
    return 0;
fail:
    Py_DECREF(id_seq);
    Py_XDECREF(w_seq);
    columns_free(out);
    return -1;
}

static void matrix_release(Matrix *m) {
    if (m->held > 0) PyBuffer_Release(&m->data);
    if (m->held > 1) PyBuffer_Release(&m->indices);
    if (m->held > 2) PyBuffer_Release(&m->indptr);
    m->held = 0;
}

/* `obj`'s buffer, of items of `itemsize` bytes: floats when `is_float`, else integers. */
static int buffer_of(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, int is_float, int writable,
                     const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    const char *format = view->format ? view->format : "B";
    if (*format == '<' || *format == '=' || *format == '@') format++;
    int floats = strcmp(format, "f") == 0 || strcmp(format, "d") == 0;
    if (view->itemsize != itemsize || floats != is_float || strlen(format) != 1) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "%s: %s of %zd bytes expected", name, is_float ? "floats" : "integers",
                     itemsize);
        return -1;
    }
    return 0;
}

static int matrix_of(PyObject *data, PyObject *indices, PyObject *indptr, Matrix *m) {
    m->held = 0;
    if (buffer_of(data, &m->data, 4, 1, 0, "data") < 0) return -1;
    m->held = 1;
    if (buffer_of(indices, &m->indices, 4, 0, 0, "indices") < 0) goto fail;
    m->held = 2;
    if (buffer_of(indptr, &m->indptr, 8, 0, 0, "indptr") < 0) goto fail;
    m->held = 3;
    if (m->data.len != m->indices.len || m->indptr.len < 8) {
        PyErr_SetString(PyExc_ValueError, "a CSC matrix: as many values as row ids, and column pointers");
        goto fail;
    }
    return 0;
fail:
    matrix_release(m);
    return -1;
}

/* The k best (value, row) seen so far, best first: higher value, then lower row. */
typedef struct {
    Py_ssize_t k, count;
    double *value;
    int64_t *row;
} Best;

static inline void best_offer(Best *b, double v, int64_t s) {
    Py_ssize_t m = b->count;
    if (m == b->k) {
        double lv = b->value[m - 1];
        if (v < lv || (v == lv && s > b->row[m - 1])) return;
        m -= 1;
    } else {
        b->count += 1;
    }
    while (m > 0 && (b->value[m - 1] < v || (b->value[m - 1] == v && b->row[m - 1] > s))) {
        b->value[m] = b->value[m - 1];
        b->row[m] = b->row[m - 1];
        m -= 1;
    }
    b->value[m] = v;
    b->row[m] = s;
}

/* What a row's total must reach to be offered: 0 until k are kept, then the k-th's. */
static inline double best_floor(const Best *b) { return b->count < b->k ? 0.0 : b->value[b->k - 1]; }

static PyObject *best_as_lists(const Best *b) {
    PyObject *rows = PyList_New(b->count), *totals = PyList_New(b->count);
    if (rows == NULL || totals == NULL) goto fail;
    for (Py_ssize_t i = 0; i < b->count; i++) {
        PyObject *r = PyLong_FromLongLong(b->row[i]), *t = PyFloat_FromDouble(b->value[i]);
        if (r == NULL || t == NULL) {
            Py_XDECREF(r);
            Py_XDECREF(t);
            goto fail;
        }
        PyList_SET_ITEM(rows, i, r);
        PyList_SET_ITEM(totals, i, t);
    }
    return Py_BuildValue("(NN)", rows, totals);
fail:
    Py_XDECREF(rows);
    Py_XDECREF(totals);
    return NULL;
}

PyDoc_STRVAR(top_doc,
"top(data, indices, indptr, term_ids, weights, k, scratch, sweep_after, among)\n--\n\n"
"The k best rows (of `among`, int64, when not None) by the weighted sum of the columns\n"
"`term_ids`, and their totals, best first, ties by row, rows scoring 0 left out: two lists.\n"
"`scratch` is float64, one per row, all 0 (and left so). Questions with at least one posting per\n"
"`sweep_after` rows (`kernel.SWEEP_AFTER`) read every row's total in order; the others only the\n"
"rows their postings name.");

static PyObject *top(PyObject *self, PyObject *args) {
    PyObject *data, *indices, *indptr, *ids, *weights, *scratch_obj, *among_obj;
    Py_ssize_t k, sweep_after;
    if (!PyArg_ParseTuple(args, "OOOOOnOnO:top", &data, &indices, &indptr, &ids, &weights, &k,
                          &scratch_obj, &sweep_after, &among_obj))
        return NULL;
    Matrix m;
    if (matrix_of(data, indices, indptr, &m) < 0) return NULL;
    Py_buffer scratch_view, among_view;
    int have_scratch = 0, have_among = 0;
    Columns c = {0};
    PyObject *result = NULL;
    Best best = {0};

    if (buffer_of(scratch_obj, &scratch_view, 8, 1, 1, "scratch") < 0) goto done;
    have_scratch = 1;
    if (among_obj != Py_None) {
        if (buffer_of(among_obj, &among_view, 8, 0, 0, "among") < 0) goto done;
        have_among = 1;
    }
    if (columns_of(ids, weights, &m, &c) < 0) goto done;

    const float *values = m.data.buf;
    const int32_t *rows = m.indices.buf;
    double *scores = scratch_view.buf;
    Py_ssize_t num_docs = scratch_view.len / 8;
    Py_ssize_t postings = 0;
    for (Py_ssize_t j = 0; j < c.count; j++) postings += (Py_ssize_t)(c.end[j] - c.start[j]);
    const int64_t *among = have_among ? among_view.buf : NULL;
    Py_ssize_t among_count = have_among ? among_view.len / 8 : 0;
    if (have_among) {
        for (Py_ssize_t i = 0; i < among_count; i++) {
            if (among[i] < 0 || among[i] >= num_docs) {
                PyErr_SetString(PyExc_IndexError, "a row of `among` is out of range");
                goto done;
            }
        }
    }
    int sweep = !have_among && sweep_after > 0 && postings * sweep_after >= num_docs;
    Py_ssize_t limit = have_among ? among_count : postings;
    best.k = k < limit ? k : limit;
    if (best.k <= 0 || postings == 0) {
        best.k = 0;
        result = best_as_lists(&best);
        goto done;
    }
    best.value = PyMem_Malloc(sizeof(double) * best.k);
    best.row = PyMem_Malloc(sizeof(int64_t) * best.k);
    if (!best.value || !best.row) {
        PyErr_NoMemory();
        goto done;
    }

    Py_ssize_t outside = 0;  /* row ids out of the scratch's range: skipped, then an error */
    Py_BEGIN_ALLOW_THREADS
    /* 1. The sums, in posting order (np.bincount's). */
    for (Py_ssize_t j = 0; j < c.count; j++) {
        const float w = c.weight[j];
        for (int64_t p = c.start[j]; p < c.end[j]; p++) {
            const int32_t s = rows[p];
            if ((uint64_t)(int64_t)s >= (uint64_t)num_docs) {
                outside++;
                continue;
            }
            scores[s] += w == 1.0f ? (double)values[p] : (double)(float)(values[p] * w);
        }
    }
    /* 2. The k best: of `among`, or of every row in order, or of the rows the postings name
     * (each read once: its sum is set back to 0 as it is read). Once k are kept, a row must
     * beat the k-th to be looked at: rarely, so the branch is cheap. */
    double floor = 0.0;
    if (have_among) {
        for (Py_ssize_t i = 0; i < among_count; i++) {
            const double v = scores[among[i]];
            if (v > 0.0 && v >= floor) {
                best_offer(&best, v, among[i]);
                floor = best_floor(&best);
            }
        }
    } else if (sweep) {
        for (Py_ssize_t s = 0; s < num_docs; s++) {
            const double v = scores[s];
            if (v > floor) {  /* (rows in order: a tie with the k-th comes after it) */
                best_offer(&best, v, s);
                floor = best_floor(&best);
            }
        }
    } else {
        for (Py_ssize_t j = 0; j < c.count; j++) {
            for (int64_t p = c.start[j]; p < c.end[j]; p++) {
                const int32_t s = rows[p];
                if ((uint64_t)(int64_t)s >= (uint64_t)num_docs) continue;
                const double v = scores[s];
                scores[s] = 0.0;
                if (v > 0.0 && v >= floor) {
                    best_offer(&best, v, s);
                    floor = best_floor(&best);
                }
            }
        }
    }
    /* 3. The scratch back to 0 (already, for the rows read once). */
    if (have_among || sweep) {
        for (Py_ssize_t j = 0; j < c.count; j++) {
            for (int64_t p = c.start[j]; p < c.end[j]; p++) {
                const int32_t s = rows[p];
                if ((uint64_t)(int64_t)s < (uint64_t)num_docs) scores[s] = 0.0;
            }
        }
    }
    Py_END_ALLOW_THREADS
    if (outside)
        PyErr_SetString(PyExc_IndexError, "a row id is out of the scratch's range");
    else
        result = best_as_lists(&best);
done:
    PyMem_Free(best.value);
    PyMem_Free(best.row);
    columns_free(&c);
    if (have_among) PyBuffer_Release(&among_view);
    if (have_scratch) PyBuffer_Release(&scratch_view);
    matrix_release(&m);
    return result;
}

PyDoc_STRVAR(scores_at_doc,
"scores_at(data, indices, indptr, term_ids, weights, rows)\n--\n\n"
"Each of `rows`' (a sequence of ints) weighted score for the columns `term_ids`, found by\n"
"binary search in each column (row ids sorted): a list of floats, the terms added in order.");

static PyObject *scores_at(PyObject *self, PyObject *args) {
    PyObject *data, *indices, *indptr, *ids, *weights, *rows_obj;
    if (!PyArg_ParseTuple(args, "OOOOOO:scores_at", &data, &indices, &indptr, &ids, &weights, &rows_obj))
        return NULL;
    Matrix m;
    if (matrix_of(data, indices, indptr, &m) < 0) return NULL;
    Columns c = {0};
    PyObject *row_seq = NULL, *result = NULL;
    int64_t *keys = NULL;
    double *out = NULL;
    if (columns_of(ids, weights, &m, &c) < 0) goto done;
    row_seq = PySequence_Fast(rows_obj, "rows must be a sequence");
    if (row_seq == NULL) goto done;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(row_seq);
    keys = PyMem_Malloc(sizeof(int64_t) * (n ? n : 1));
    out = PyMem_Malloc(sizeof(double) * (n ? n : 1));
    if (!keys || !out) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long long key = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(row_seq, i));
        if (key == -1 && PyErr_Occurred()) goto done;
        keys[i] = key;
    }
    const float *values = m.data.buf;
    const int32_t *row_ids = m.indices.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const int64_t key = keys[i];
        double total = 0.0;
        for (Py_ssize_t j = 0; j < c.count; j++) {
            int64_t lo = c.start[j], hi = c.end[j];
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (row_ids[mid] < key) lo = mid + 1;
                else hi = mid;
            }
            if (lo < c.end[j] && row_ids[lo] == key) {
                const float w = c.weight[j];
                total += w == 1.0f ? (double)values[lo] : (double)(float)(values[lo] * w);
            }
        }
        out[i] = total;
    }
    Py_END_ALLOW_THREADS
    result = PyList_New(n);
    if (result == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyFloat_FromDouble(out[i]);
        if (v == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, i, v);
    }
done:
    PyMem_Free(keys);
    PyMem_Free(out);
    Py_XDECREF(row_seq);
    columns_free(&c);
    matrix_release(&m);
    return result;
}

static PyMethodDef methods[] = {
    {"top", top, METH_VARARGS, top_doc},
    {"scores_at", scores_at, METH_VARARGS, scores_at_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "bot.search._kernel",
    "Compiled speed-up of a question's sums over score matrices (see bot/search/kernel.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }
