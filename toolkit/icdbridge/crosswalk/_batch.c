/* The batch kernel of icdbridge.crosswalk: a list of codes -> the shared Mapping of each.
 *
 * lookup(fast, codes, cache_limit=65536) -> (results, missing)
 *
 * One pass over the list `codes`. For each item that is a key of the dict `fast` and a plain
 * value -- exactly a `str`, `int`, `float` or `bool` (no subclass), or None -- results[i] is
 * fast[item] (a new reference to the same object). Every other position -- a plain value that is
 * not a key, or any other value (a str subclass, a tuple, a list...) -- holds None in `results`
 * and its index is listed in `missing` (bytes of native int64), for the caller to resolve in
 * Python. Plain values hash without running Python code, so the kernel never calls a user's
 * __hash__; the only Python code that can run inside it is a user-defined __eq__ of a key of
 * `fast` whose hash collides with the item's.
 *
 * Two small caches, local to one call, sit in front of the dictionary. Each holds at most
 * `cache_limit` entries (2 MiB of slots at the default, whatever the list holds), stops inserting
 * when full, and once full is no longer probed if fewer than 1 in 4 probes of a window hit.
 *
 * - Identity cache, keyed by the object's address: lists built in Python from one vocabulary
 *   (random.choices, [vocabulary[i] for i in ...]) hold the same string objects many times; a
 *   repeated object then costs one probe of a small table and the object is not even read. It
 *   keeps a strong reference to key and value, so an address cannot be reused by another object
 *   during the call, whatever an __eq__ does.
 * - Text cache, keyed by the characters of short ASCII strings (at most 8, which covers every
 *   ICD-9-CM and ICD-10-CM spelling): a list read from a file, or from pandas or pyarrow, holds a
 *   new string object per row, and a dictionary lookup would hash each of them (SipHash) and
 *   compare it with the key. A text hit reads the string's few bytes instead. Equal ASCII strings
 *   have equal bytes and length, so a hit returns what the dictionary would.
 *
 * CPython C API only (no numpy, no Cython). Built as an optional extension: when it is missing,
 * icdbridge.crosswalk.chain uses the pure-Python path, with the same results.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define DEFAULT_CACHE_LIMIT 65536
#define CACHE_WINDOW 4096
#define TEXT_MAX 8

/* One slot of either cache. Identity cache: `key` is the object's address and the slot owns a
 * reference to that object. Text cache: `key` is the text of a short ASCII string (text_key). */
typedef struct {
    uint64_t key;
    PyObject *value; /* strong reference; NULL: empty slot */
} Slot;

typedef struct {
    Slot *slots; /* NULL: no cache */
    uint64_t mask;
    int shift;
    int owns_keys;   /* identity cache: each key is an object the slot holds a reference to */
    Py_ssize_t used;
    Py_ssize_t limit;
    int probing;     /* 0: full and rarely hits, or no cache: skip it for the rest of the call */
    Py_ssize_t seen; /* probes in the current window, once full */
    Py_ssize_t hits; /* hits in the current window */
} Cache;

static int
cache_init(Cache *cache, Py_ssize_t limit, int owns_keys)
{
    cache->slots = NULL;
    cache->owns_keys = owns_keys;
    cache->used = 0;
    cache->limit = limit > 0 ? limit : 0;
    cache->mask = 0;
    cache->shift = 64;
    cache->probing = 0;
    cache->seen = 0;
    cache->hits = 0;
    if (limit <= 0) {
        return 0;
    }
    /* At least twice as many slots as entries. Not grown on demand: a fuller table means longer,
     * less predictable probes, which cost more than the (lazily zeroed) memory. */
    int bits = 1;
    while (((Py_ssize_t)1 << bits) < 2 * limit) {
        bits++;
    }
    cache->slots = PyMem_Calloc((size_t)1 << bits, sizeof(Slot));
    if (cache->slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    cache->mask = ((uint64_t)1 << bits) - 1;
    cache->shift = 64 - bits;
    cache->probing = 1;
    return 0;
}

static void
cache_free(Cache *cache)
{
    if (cache->slots == NULL) {
        return;
    }
    for (uint64_t s = 0; s <= cache->mask; s++) {
        Slot *slot = &cache->slots[s];
        if (slot->value != NULL) {
            if (cache->owns_keys) {
                Py_DECREF((PyObject *)(uintptr_t)slot->key);
            }
            Py_DECREF(slot->value);
        }
    }
    PyMem_Free(cache->slots);
    cache->slots = NULL;
}

/* Fibonacci hashing: the top bits of the product pick the first slot to probe. */
static inline uint64_t
cache_home(const Cache *cache, uint64_t key)
{
    return (key * UINT64_C(0x9E3779B97F4A7C15)) >> cache->shift;
}

/* The cached value of `key` (borrowed), or NULL. */
static inline PyObject *
cache_get(const Cache *cache, uint64_t key)
{
    uint64_t s = cache_home(cache, key);
    for (;;) {
        Slot *slot = &cache->slots[s];
        if (slot->value == NULL) {
            return NULL;
        }
        if (slot->key == key) {
            return slot->value;
        }
        s = (s + 1) & cache->mask;
    }
}

static inline int
cache_has_room(const Cache *cache)
{
    return cache->probing && cache->used < cache->limit;
}

/* Adds `key` (not cached yet) -> `value`, taking new references to the value and, for the
 * identity cache, to the key object. The caller checked cache_has_room. */
static void
cache_insert(Cache *cache, uint64_t key, PyObject *value)
{
    uint64_t s = cache_home(cache, key);
    while (cache->slots[s].value != NULL) {
        s = (s + 1) & cache->mask;
    }
    if (cache->owns_keys) {
        Py_INCREF((PyObject *)(uintptr_t)key);
    }
    Py_INCREF(value);
    cache->slots[s].key = key;
    cache->slots[s].value = value;
    cache->used++;
}

/* Once a cache is full, stop probing it when fewer than 1 in 4 probes of a window hit: the list
 * then holds mostly keys the cache has not seen, and each probe only adds a miss. */
static inline void
cache_account(Cache *cache, int hit)
{
    if (cache->used < cache->limit) {
        return;
    }
    cache->hits += hit;
    if (++cache->seen == CACHE_WINDOW) {
        if (4 * cache->hits < CACHE_WINDOW) {
            cache->probing = 0;
        }
        cache->seen = 0;
        cache->hits = 0;
    }
}

/* Text-cache key of a compact ASCII string of at most 8 characters: the characters, first in the
 * low byte, with the top bit of the last one set. ASCII leaves that bit free, so the key also
 * encodes the length (a string may contain NUL) and equal keys mean equal strings. */
static inline uint64_t
text_key(PyObject *item, Py_ssize_t length)
{
    const Py_UCS1 *data = PyUnicode_1BYTE_DATA(item);
    uint64_t key = 0;
    for (Py_ssize_t k = 0; k < length; k++) { /* a loop: faster than a memcpy call here */
        key |= (uint64_t)data[k] << (8 * k);
    }
    return length ? key | (UINT64_C(0x80) << (8 * (length - 1))) : 0;
}

typedef struct {
    int64_t *items;
    Py_ssize_t size;
    Py_ssize_t capacity;
} Positions;

static int
positions_append(Positions *positions, Py_ssize_t i)
{
    if (positions->size == positions->capacity) {
        Py_ssize_t capacity = positions->capacity ? 2 * positions->capacity : 1024;
        int64_t *items = PyMem_Realloc(positions->items, (size_t)capacity * sizeof(int64_t));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        positions->items = items;
        positions->capacity = capacity;
    }
    positions->items[positions->size++] = (int64_t)i;
    return 0;
}

/* Exactly a str, int, float or bool, or None: hashing it runs no Python code. */
static inline int
is_plain(PyObject *item)
{
    return PyUnicode_CheckExact(item) || PyLong_CheckExact(item) || PyFloat_CheckExact(item) ||
           PyBool_Check(item) || item == Py_None;
}

/* The value of the plain `item` in `fast`, through the text cache for a short ASCII string
 * (borrowed, or NULL with or without an exception set). */
static PyObject *
lookup_plain(PyObject *fast, PyObject *item, Cache *texts)
{
    uint64_t key = 0;
    int short_ascii = texts->probing && PyUnicode_CheckExact(item) &&
                      PyUnicode_IS_COMPACT_ASCII(item) && PyUnicode_GET_LENGTH(item) <= TEXT_MAX;
    if (short_ascii) {
        key = text_key(item, PyUnicode_GET_LENGTH(item));
        PyObject *value = cache_get(texts, key);
        cache_account(texts, value != NULL);
        if (value != NULL) {
            return value;
        }
    }
    Py_INCREF(item); /* keeps the object alive whatever the lookup runs */
    PyObject *value = PyDict_GetItemWithError(fast, item);
    Py_DECREF(item);
    /* The cache owns its reference to the value: an __eq__ run by a later lookup could drop it
     * from `fast`. */
    if (value != NULL && short_ascii && cache_has_room(texts)) {
        cache_insert(texts, key, value);
    }
    return value;
}

static PyObject *
batch_lookup(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"fast", "codes", "cache_limit", NULL};
    PyObject *fast, *codes;
    Py_ssize_t cache_limit = DEFAULT_CACHE_LIMIT;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!|n:lookup", keywords, &PyDict_Type, &fast,
                                     &PyList_Type, &codes, &cache_limit)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(codes);
    Py_ssize_t limit = cache_limit < n ? cache_limit : n;
    Cache identities, texts;
    if (cache_init(&identities, limit, 1) < 0) {
        return NULL;
    }
    if (cache_init(&texts, limit, 0) < 0) {
        cache_free(&identities);
        return NULL;
    }
    Positions missing = {NULL, 0, 0};
    PyObject *raw = NULL, *answer = NULL;
    PyObject *results = PyList_New(n);
    if (results == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyList_GET_SIZE(codes) != n) { /* only possible if an __eq__ changed the list */
            PyErr_SetString(PyExc_RuntimeError, "the list of codes changed size during mapping");
            goto done;
        }
        PyObject *item = PyList_GET_ITEM(codes, i);
        PyObject *value = NULL;
        if (identities.probing) {
            value = cache_get(&identities, (uint64_t)(uintptr_t)item);
            cache_account(&identities, value != NULL);
        }
        if (value == NULL && is_plain(item)) {
            value = lookup_plain(fast, item, &texts);
            if (value == NULL && PyErr_Occurred()) {
                goto done;
            }
            if (value != NULL && cache_has_room(&identities)) {
                cache_insert(&identities, (uint64_t)(uintptr_t)item, value);
            }
        }
        if (value == NULL) {
            if (positions_append(&missing, i) < 0) {
                goto done;
            }
            value = Py_None;
        }
        Py_INCREF(value);
        PyList_SET_ITEM(results, i, value);
    }
    raw = PyBytes_FromStringAndSize((const char *)missing.items,
                                    missing.size * (Py_ssize_t)sizeof(int64_t));
    if (raw == NULL) {
        goto done;
    }
    answer = PyTuple_Pack(2, results, raw);
done:
    Py_XDECREF(raw);
    Py_XDECREF(results); /* unfilled slots are NULL, which list deallocation skips */
    PyMem_Free(missing.items);
    cache_free(&identities);
    cache_free(&texts);
    return answer;
}

PyDoc_STRVAR(batch_lookup_doc,
             "lookup(fast, codes, cache_limit=65536) -> (results, missing)\n\n"
             "results[i] is fast[codes[i]] for each exact str, int, float or bool, or None, that\n"
             "is a key of the dict fast; every other position holds None and is listed in\n"
             "missing (bytes of native int64, read with memoryview(missing).cast('q')).\n"
             "cache_limit bounds each of the two caches (objects by address, short ASCII\n"
             "strings by text; 0 disables them).");

static PyMethodDef batch_methods[] = {
    {"lookup", (PyCFunction)(void (*)(void))batch_lookup, METH_VARARGS | METH_KEYWORDS,
     batch_lookup_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef batch_module = {
    PyModuleDef_HEAD_INIT,
    "icdbridge.crosswalk._batch",
    "C kernel of Crosswalk.map_many: one pass over a list of codes (see lookup).",
    0,
    batch_methods,
    NULL, /* m_slots */
    NULL, /* m_traverse */
    NULL, /* m_clear */
    NULL, /* m_free */
};

PyMODINIT_FUNC
PyInit__batch(void)
{
    return PyModuleDef_Init(&batch_module);
}
