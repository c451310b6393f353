/* The batch kernel of icdbridge.crosswalk: a list of codes -> the shared Mapping of each.
 *
 * lookup(fast, codes, cache_limit=65536) -> (results, missing)
 *
 * One pass over the list `codes`. For each item that is exactly a `str` (no subclass) and a key
 * of the dict `fast`, results[i] is fast[item] (a new reference to the same object). Every other
 * position -- a string that is not a key, or any value that is not exactly a `str` -- holds None
 * in `results` and its index is listed in `missing` (bytes of native int64), for the caller to
 * resolve in Python. The kernel never hashes anything but exact strings, so it never calls a
 * user's __hash__; the only Python code that can run inside it is a user-defined __eq__ of a
 * non-string key of `fast` whose hash collides with a string's.
 *
 * Two small caches, local to one call, sit in front of the dictionary. Each holds at most
 * `cache_limit` entries (so memory stays bounded whatever the list holds), stops inserting when
 * full, and once full is no longer probed if fewer than 1 in 4 probes of a window hit.
 *
 * - Identity cache, keyed by the object's address: lists built in Python from one vocabulary
 *   (random.choices, [vocabulary[i] for i in ...]) hold the same string objects many times; a
 *   repeated object then costs one probe of a small table and the string is not even read. It
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

typedef struct {
    PyObject *key;   /* strong reference; NULL: empty slot */
    PyObject *value; /* strong reference */
} IdentitySlot;

typedef struct {
    uint64_t text;     /* the characters, first in the low byte, zero-padded */
    Py_ssize_t length; /* number of characters (a string may contain NUL) */
    PyObject *value;   /* strong reference; NULL: empty slot */
} TextSlot;

typedef struct {
    void *slots; /* IdentitySlot or TextSlot array; NULL: no cache */
    uint64_t mask;
    int shift;
    Py_ssize_t used;
    Py_ssize_t limit;
    int probing;     /* 0: full and rarely hits, or no cache: skip it for the rest of the call */
    Py_ssize_t seen; /* probes in the current window, once full */
    Py_ssize_t hits; /* hits in the current window */
} Cache;

static int
cache_init(Cache *cache, Py_ssize_t limit, size_t slot_size)
{
    cache->slots = NULL;
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
    int bits = 1;
    while (((Py_ssize_t)1 << bits) < 2 * limit) { /* load factor at most 1/2 */
        bits++;
    }
    cache->slots = PyMem_Calloc((size_t)1 << bits, slot_size);
    if (cache->slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    cache->mask = ((uint64_t)1 << bits) - 1;
    cache->shift = 64 - bits;
    cache->probing = 1;
    return 0;
}

static inline int
cache_has_room(const Cache *cache)
{
    return cache->probing && cache->used < cache->limit;
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

/* Fibonacci hashing: the top bits of the product pick the first slot to probe. */
static inline uint64_t
cache_home(const Cache *cache, uint64_t key)
{
    return (key * UINT64_C(0x9E3779B97F4A7C15)) >> cache->shift;
}

/* The cached value of `key` (borrowed), or NULL; `*slot` is then where `key` would go. */
static inline PyObject *
identity_get(const Cache *cache, PyObject *key, uint64_t *slot)
{
    IdentitySlot *slots = cache->slots;
    uint64_t s = cache_home(cache, (uint64_t)(uintptr_t)key);
    for (;;) {
        if (slots[s].key == key) {
            return slots[s].value;
        }
        if (slots[s].key == NULL) {
            *slot = s;
            return NULL;
        }
        s = (s + 1) & cache->mask;
    }
}

static inline PyObject *
text_get(const Cache *cache, uint64_t text, Py_ssize_t length, uint64_t *slot)
{
    TextSlot *slots = cache->slots;
    uint64_t s = cache_home(cache, text ^ ((uint64_t)length << 60));
    for (;;) {
        if (slots[s].value == NULL) {
            *slot = s;
            return NULL;
        }
        if (slots[s].text == text && slots[s].length == length) {
            return slots[s].value;
        }
        s = (s + 1) & cache->mask;
    }
}

static void
cache_free(Cache *cache, int identity)
{
    if (cache->slots == NULL) {
        return;
    }
    for (uint64_t s = 0; s <= cache->mask; s++) {
        if (identity) {
            IdentitySlot *slot = &((IdentitySlot *)cache->slots)[s];
            if (slot->key != NULL) {
                Py_DECREF(slot->key);
                Py_DECREF(slot->value);
            }
        }
        else {
            Py_XDECREF(((TextSlot *)cache->slots)[s].value);
        }
    }
    PyMem_Free(cache->slots);
    cache->slots = NULL;
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

/* The value of the exact str `item` in `fast` through the text cache (borrowed, or NULL with or
 * without an exception set). */
static PyObject *
lookup_text(PyObject *fast, PyObject *item, Cache *texts)
{
    uint64_t text = 0, slot = 0;
    Py_ssize_t length = PyUnicode_GET_LENGTH(item);
    int short_ascii = texts->probing && PyUnicode_IS_COMPACT_ASCII(item) && length <= TEXT_MAX;
    if (short_ascii) {
        const Py_UCS1 *data = PyUnicode_1BYTE_DATA(item);
        for (Py_ssize_t k = 0; k < length; k++) { /* a loop: faster than a memcpy call here */
            text |= (uint64_t)data[k] << (8 * k);
        }
        PyObject *value = text_get(texts, text, length, &slot);
        cache_account(texts, value != NULL);
        if (value != NULL) {
            return value;
        }
    }
    Py_INCREF(item); /* keeps the object alive whatever the lookup runs */
    PyObject *value = PyDict_GetItemWithError(fast, item);
    Py_DECREF(item);
    if (value != NULL && short_ascii && cache_has_room(texts)) {
        /* `slot` is still free: nothing but this call touches the caches. Own the value, since
         * an __eq__ run by a later lookup could drop it from `fast`. */
        TextSlot *free_slot = &((TextSlot *)texts->slots)[slot];
        Py_INCREF(value);
        free_slot->text = text;
        free_slot->length = length;
        free_slot->value = value;
        texts->used++;
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
    if (cache_init(&identities, limit, sizeof(IdentitySlot)) < 0) {
        return NULL;
    }
    if (cache_init(&texts, limit, sizeof(TextSlot)) < 0) {
        cache_free(&identities, 1);
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
        uint64_t slot = 0;
        if (identities.probing) {
            value = identity_get(&identities, item, &slot);
            cache_account(&identities, value != NULL);
        }
        if (value == NULL && PyUnicode_CheckExact(item)) {
            value = lookup_text(fast, item, &texts);
            if (value == NULL && PyErr_Occurred()) {
                goto done;
            }
            if (value != NULL && cache_has_room(&identities)) {
                IdentitySlot *free_slot = &((IdentitySlot *)identities.slots)[slot];
                Py_INCREF(item);
                Py_INCREF(value);
                free_slot->key = item;
                free_slot->value = value;
                identities.used++;
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
    cache_free(&identities, 1);
    cache_free(&texts, 0);
    return answer;
}

PyDoc_STRVAR(batch_lookup_doc,
             "lookup(fast, codes, cache_limit=65536) -> (results, missing)\n\n"
             "results[i] is fast[codes[i]] for each exact str that is a key of the dict fast;\n"
             "every other position holds None and is listed in missing (bytes of native int64,\n"
             "read with memoryview(missing).cast('q')). cache_limit bounds each of the two\n"
             "caches (string objects by address, short ASCII strings by text; 0 disables them).");

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
