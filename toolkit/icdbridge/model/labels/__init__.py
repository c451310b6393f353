"""The label side: label texts of a release, their cached embeddings, the code tree's
structural features, the label space (embeddings + derived ancestor rows) and its faiss index.
"""

from icdbridge.model._exports import lazy_exports

_EXPORTS = {
    "CACHE_SUBDIR": ".cache",
    "CachedLabelSet": ".cache",
    "CandidateIndex": ".index",
    "DEFAULT_LABEL_MAX_LENGTH": ".cache",
    "INDEX_KINDS": ".index",
    "LOCK_NAME": ".cache",
    "LabelEmbeddings": ".cache",
    "LabelSpace": ".space",
    "SEARCH_BATCH": ".index",
    "build_label_space": ".space",
    "cache_key": ".cache",
    "cached_label_sets": ".cache",
    "clean_title": ".texts",
    "embed_labels": ".cache",
    "family_of": ".space",
    "gpu_available": ".index",
    "label_cache_folder": ".cache",
    "label_features": ".tree",
    "label_space_codes": ".space",
    "label_text": ".texts",
    "label_texts": ".texts",
    "log": ".cache",
    "nearest_defined": ".texts",
    "remove_label_sets": ".cache",
    "safe_name": ".cache",
    "sentence_cosine": ".index",
    "shortlist_recall": ".index",
    "siblings": ".tree",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
