/* pkttables.sets._keyset: a set of fixed-length byte keys, stored inline.
 *
 * Why this exists (docs/sets.md, "hash: the floor"): a CPython set of bytes answers a
 * present key with two dependent memory reads -- the table slot, then the stored key
 * object the equality test reads.  In a set of a million keys both are cache (and TLB)
 * misses, and a lookup costs ~2.1x the lookup in a 100-key set although the algorithm
 * is O(1).  Here the key bytes sit in the slot itself, like the kernel's nft_hash_fast
 * keeps a 4-byte key in its element: one read for any key.  The type takes the
 * packet's key as it is (``bytes`` of the set's key length), so a lookup costs no more
 * interpreter work than ``key in set`` does.
 *
 * Layout: open addressing, linear probing, ``cap`` slots of ``stride = 1 + klen``
 * bytes: a state byte (EMPTY, FULL, GONE) then the key.  The slot index is the top
 * bits of a 64-bit multiplicative hash of the key mixed with a per-set seed (the
 * caller passes random bytes, as the kernel seeds jhash at boot), so crafted keys cannot
 * pile up on one slot across runs.  The table is grown (x2) or rebuilt (tombstones)
 * when FULL + GONE slots pass half of ``cap``.
 *
 * API: KeySet(klen, seed=0); add(key) -> bool (new), discard(key) -> bool (was there),
 * ``key in s`` (False for anything that is not bytes of klen bytes), len(s),
 * update(iterable), clear().  Keys must be bytes of exactly klen bytes for add/discard
 * (ValueError otherwise).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { EMPTY = 0, FULL = 1, GONE = 2 };

typedef struct {
    PyObject_HEAD
    uint8_t *slots;
    Py_ssize_t klen, stride;
    Py_ssize_t cap;          /* power of two */
    int shift;               /* 64 - log2(cap) */
    Py_ssize_t used;         /* FULL slots */
    Py_ssize_t fill;         /* FULL + GONE slots */
    uint64_t seed;
} KeySet;

static inline uint64_t
mix(const uint8_t *k, Py_ssize_t n, uint64_t seed)
{
    uint64_t h = seed ^ ((uint64_t)n * 0x9E3779B97F4A7C15ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, k, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
        k += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, k, (size_t)n);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
    }
    return h * 0x94D049BB133111EBULL;
}

/* The slot holding ``k``, or the first free slot of its probe run (FULL never). */
static Py_ssize_t
find(const KeySet *s, const uint8_t *k, int *found)
{
    Py_ssize_t mask = s->cap - 1;
    Py_ssize_t i = (Py_ssize_t)(mix(k, s->klen, s->seed) >> s->shift);
    Py_ssize_t free_at = -1;
    for (;;) {
        const uint8_t *p = s->slots + i * s->stride;
        if (p[0] == EMPTY) {
            *found = 0;
            return free_at >= 0 ? free_at : i;
        }
        if (p[0] == FULL) {
            if (memcmp(p + 1, k, (size_t)s->klen) == 0) {
                *found = 1;
                return i;
            }
        } else if (free_at < 0) {
            free_at = i;
        }
        i = (i + 1) & mask;
    }
}

static int
rebuild(KeySet *s, Py_ssize_t cap)
{
    uint8_t *old = s->slots;
    Py_ssize_t oldcap = s->cap;
    uint8_t *slots = PyMem_Calloc((size_t)cap, (size_t)s->stride);
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int shift = 64;
    for (Py_ssize_t c = cap; c > 1; c >>= 1)
        shift--;
    s->slots = slots;
    s->cap = cap;
    s->shift = shift;
    s->fill = s->used;
    for (Py_ssize_t j = 0; j < oldcap; j++) {
        const uint8_t *p = old + j * s->stride;
        if (p[0] == FULL) {
            int found;
            Py_ssize_t i = find(s, p + 1, &found);
            memcpy(s->slots + i * s->stride, p, (size_t)s->stride);
        }
    }
    PyMem_Free(old);
    return 0;
}

static int
key_arg(KeySet *s, PyObject *key, const uint8_t **k)
{
    if (s->slots == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "KeySet: not initialised");
        return -1;
    }
    if (!PyBytes_Check(key) || PyBytes_GET_SIZE(key) != s->klen) {
        PyErr_Format(PyExc_ValueError, "KeySet: a key is bytes of %zd bytes", s->klen);
        return -1;
    }
    *k = (const uint8_t *)PyBytes_AS_STRING(key);
    return 0;
}

static int
add_key(KeySet *s, const uint8_t *k)
{
    if ((s->fill + 1) * 2 > s->cap) {
        /* mostly tombstones: rebuild at the same size, else double */
        Py_ssize_t cap = (s->used + 1) * 2 > s->cap / 2 ? s->cap * 2 : s->cap;
        if (rebuild(s, cap) < 0)
            return -1;
    }
    int found;
    Py_ssize_t i = find(s, k, &found);
    if (found)
        return 0;
    uint8_t *p = s->slots + i * s->stride;
    if (p[0] == EMPTY)
        s->fill++;
    p[0] = FULL;
    memcpy(p + 1, k, (size_t)s->klen);
    s->used++;
    return 1;
}

static PyObject *
KeySet_add(KeySet *s, PyObject *key)
{
    const uint8_t *k;
    if (key_arg(s, key, &k) < 0)
        return NULL;
    int r = add_key(s, k);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static PyObject *
KeySet_discard(KeySet *s, PyObject *key)
{
    const uint8_t *k;
    if (key_arg(s, key, &k) < 0)
        return NULL;
    int found;
    Py_ssize_t i = find(s, k, &found);
    if (!found)
        Py_RETURN_FALSE;
    s->slots[i * s->stride] = GONE;
    s->used--;
    Py_RETURN_TRUE;
}

static PyObject *
KeySet_update(KeySet *s, PyObject *it)
{
    if (s->slots == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "KeySet: not initialised");
        return NULL;
    }
    /* size the table once for what is coming (a bulk load of a million keys would
     * otherwise rebuild it ~18 times and leave the freed tables in the heap) */
    Py_ssize_t n = PyObject_LengthHint(it, 0);
    if (n < 0)
        return NULL;
    Py_ssize_t cap = s->cap;
    while ((s->used + n + 1) * 2 > cap)
        cap *= 2;
    if (cap != s->cap && rebuild(s, cap) < 0)
        return NULL;
    PyObject *iter = PyObject_GetIter(it), *key;
    if (iter == NULL)
        return NULL;
    while ((key = PyIter_Next(iter)) != NULL) {
        const uint8_t *k;
        int bad = key_arg(s, key, &k) < 0 || add_key(s, k) < 0;
        Py_DECREF(key);
        if (bad) {
            Py_DECREF(iter);
            return NULL;
        }
    }
    Py_DECREF(iter);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
KeySet_clear(KeySet *s, PyObject *Py_UNUSED(ignored))
{
    if (s->slots == NULL)
        Py_RETURN_NONE;
    memset(s->slots, 0, (size_t)(s->cap * s->stride));
    s->used = s->fill = 0;
    Py_RETURN_NONE;
}

static int
KeySet_contains(KeySet *s, PyObject *key)
{
    if (s->slots == NULL || !PyBytes_Check(key) || PyBytes_GET_SIZE(key) != s->klen)
        return 0;
    int found;
    find(s, (const uint8_t *)PyBytes_AS_STRING(key), &found);
    return found;
}

static Py_ssize_t
KeySet_len(KeySet *s)
{
    return s->used;
}

static int
KeySet_init(KeySet *s, PyObject *args, PyObject *kw)
{
    static char *names[] = {"klen", "seed", NULL};
    Py_ssize_t klen;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "n|K", names, &klen, &seed))
        return -1;
    if (klen < 1 || klen > 4096) {
        PyErr_SetString(PyExc_ValueError, "KeySet: klen must be 1..4096");
        return -1;
    }
    PyMem_Free(s->slots);
    s->klen = klen;
    s->stride = 1 + klen;
    s->cap = 8;
    s->shift = 61;
    s->used = s->fill = 0;
    s->seed = (uint64_t)seed;
    s->slots = PyMem_Calloc((size_t)s->cap, (size_t)s->stride);
    if (s->slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void
KeySet_dealloc(KeySet *s)
{
    PyMem_Free(s->slots);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyObject *
KeySet_sizeof(KeySet *s, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t((Py_ssize_t)sizeof(KeySet) + s->cap * s->stride);
}

/* copy, deepcopy and pickle (workers, snapshots of a ruleset): the keys as one blob */
static PyObject *
KeySet_reduce(KeySet *s, PyObject *Py_UNUSED(ignored))
{
    PyObject *blob = PyBytes_FromStringAndSize(NULL, s->used * s->klen);
    if (blob == NULL)
        return NULL;
    char *out = PyBytes_AS_STRING(blob);
    for (Py_ssize_t j = 0; s->slots != NULL && j < s->cap; j++) {
        const uint8_t *p = s->slots + j * s->stride;
        if (p[0] == FULL) {
            memcpy(out, p + 1, (size_t)s->klen);
            out += s->klen;
        }
    }
    return Py_BuildValue("(O(nK)N)", (PyObject *)Py_TYPE(s), s->klen,
                         (unsigned long long)s->seed, blob);
}

static PyObject *
KeySet_setstate(KeySet *s, PyObject *blob)
{
    if (s->slots == NULL || !PyBytes_Check(blob) || PyBytes_GET_SIZE(blob) % s->klen) {
        PyErr_SetString(PyExc_ValueError, "KeySet: bad state");
        return NULL;
    }
    const uint8_t *k = (const uint8_t *)PyBytes_AS_STRING(blob);
    Py_ssize_t n = PyBytes_GET_SIZE(blob) / s->klen;
    Py_ssize_t cap = s->cap;
    while ((s->used + n + 1) * 2 > cap)
        cap *= 2;
    if (cap != s->cap && rebuild(s, cap) < 0)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++, k += s->klen)
        if (add_key(s, k) < 0)
            return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef KeySet_methods[] = {
    {"__reduce__", (PyCFunction)KeySet_reduce, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)KeySet_setstate, METH_O, NULL},
    {"add", (PyCFunction)KeySet_add, METH_O, "add(key) -> True if it was new"},
    {"discard", (PyCFunction)KeySet_discard, METH_O, "discard(key) -> True if it was there"},
    {"update", (PyCFunction)KeySet_update, METH_O, "update(iterable of keys)"},
    {"clear", (PyCFunction)KeySet_clear, METH_NOARGS, "remove every key"},
    {"__sizeof__", (PyCFunction)KeySet_sizeof, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods KeySet_as_sequence = {
    .sq_length = (lenfunc)KeySet_len,
    .sq_contains = (objobjproc)KeySet_contains,
};

static PyTypeObject KeySetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pkttables.sets._keyset.KeySet",
    .tp_doc = "A set of fixed-length byte keys stored inline (one memory read a lookup).",
    .tp_basicsize = sizeof(KeySet),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)KeySet_init,
    .tp_dealloc = (destructor)KeySet_dealloc,
    .tp_methods = KeySet_methods,
    .tp_as_sequence = &KeySet_as_sequence,
};

static struct PyModuleDef keyset_module = {
    PyModuleDef_HEAD_INIT, "_keyset", "Inline fixed-length byte-key sets (see KeySet).", -1, NULL,
};

PyMODINIT_FUNC
PyInit__keyset(void)
{
    if (PyType_Ready(&KeySetType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&keyset_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&KeySetType);
    if (PyModule_AddObject(m, "KeySet", (PyObject *)&KeySetType) < 0) {
        Py_DECREF(&KeySetType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
