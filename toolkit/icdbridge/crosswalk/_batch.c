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
 * Identity cache: lists built from one vocabulary (random.choices, a deduplicated pandas or
 * pyarrow column, codes read once and repeated) hold the same string objects many times. An
 * open-addressing table keyed by the object's address remembers each string object seen with
 * its result, so a repeated object costs one probe of a small table instead of a dictionary
 * lookup that reads the string. It keeps a strong reference to both key and value, so an address
 * cannot be reused by another object during the call (whatever an __eq__ does). It holds at most
 * `cache_limit` objects (2 MiB of slots at the default): when full it stops inserting, and once
 * full it is no longer probed if it rarely hits, so a list of millions of distinct string objects
 * costs about a dictionary lookup each and no extra memory.
 *
 * CPython C API only (no numpy, no Cython). Built as an optional extension: when it is missing,
 * icdbridge.crosswalk.chain uses the pure-Python path, with the same results.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define DEFAULT_CACHE_LIMIT 65536
#define CACHE_WINDOW 4096

typedef struct {
    PyObject *key;   /* strong reference; NULL: empty slot */
    PyObject *value; /* strong reference */
} Slot;

typedef struct {
    Slot *slots;
    uint64_t mask;
    int shift;
    Py_ssize_t used;
    Py_ssize_t limit;
    int probing;      /* 0: the cache is full and rarely hits; skip it for the rest of the call */
    Py_ssize_t seen;  /* probes in the current window, once full */
    Py_ssize_t hits;  /* hits in the current window */
} Cache;

static int
cache_init(Cache *cache, Py_ssize_t limit)
{
    cache->slots = NULL;
    cache->used = 0;
    cache->limit = limit;
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
        if (cache->slots[s].key != NULL) {
            Py_DECREF(cache->slots[s].key);
            Py_DECREF(cache->slots[s].value);
        }
    }
    PyMem_Free(cache->slots);
    cache->slots = NULL;
}

/* First slot to probe for an address (Fibonacci hashing of the pointer). */
static inline uint64_t
cache_home(const Cache *cache, PyObject *key)
{
    return ((uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> cache->shift;
}

/* The cached value of `key` (borrowed), or NULL; `*slot` is where `key` would be inserted. */
static inline PyObject *
cache_get(const Cache *cache, PyObject *key, uint64_t *slot)
{
    uint64_t s = cache_home(cache, key);
    for (;;) {
        PyObject *k = cache->slots[s].key;
        if (k == key) {
            return cache->slots[s].value;
        }
        if (k == NULL) {
            *slot = s;
            return NULL;
        }
        s = (s + 1) & cache->mask;
    }
}

/* Once the cache is full, stop probing it when fewer than 1 in 4 probes of a window hit: the list
 * then holds mostly objects the cache has not seen, and each probe only adds a miss. */
static inline void
cache_account(Cache *cache, int hit)
{
    cache->hits += hit;
    if (++cache->seen == CACHE_WINDOW) {
        if (4 * cache->hits < CACHE_WINDOW) {
            cache->probing = 0;
        }
        cache->seen = 0;
        cache->hits = 0;
    }
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
    Cache cache;
    if (cache_init(&cache, cache_limit < n ? cache_limit : n) < 0) {
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
        if (cache.probing) {
            value = cache_get(&cache, item, &slot);
            if (cache.used >= cache.limit) {
                cache_account(&cache, value != NULL);
            }
        }
        if (value == NULL && PyUnicode_CheckExact(item)) {
            Py_INCREF(item); /* keeps the object alive whatever the lookup runs */
            value = PyDict_GetItemWithError(fast, item);
            if (value == NULL) {
                Py_DECREF(item);
                if (PyErr_Occurred()) {
                    goto done;
                }
            }
            else if (cache.used < cache.limit) {
                /* `slot` is still free: nothing but this call touches the cache. Own the value,
                 * since an __eq__ run by the lookup could drop it from `fast`. */
                Py_INCREF(value);
                cache.slots[slot].key = item; /* takes the reference above */
                cache.slots[slot].value = value;
                cache.used++;
            }
            else {
                Py_INCREF(value);
                PyList_SET_ITEM(results, i, value);
                Py_DECREF(item);
                continue;
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
    cache_free(&cache);
    return answer;
}

PyDoc_STRVAR(batch_lookup_doc,
             "lookup(fast, codes, cache_limit=65536) -> (results, missing)\n\n"
             "results[i] is fast[codes[i]] for each exact str that is a key of the dict fast;\n"
             "every other position holds None and is listed in missing (bytes of native int64,\n"
             "read with memoryview(missing).cast('q')). cache_limit bounds the identity cache\n"
             "(distinct string objects remembered by address; 0 disables it).");

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
