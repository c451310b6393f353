"""The label side: label texts of a release, their cached embeddings, the code tree's
structural features, the label space (embeddings + derived ancestor rows) and its faiss index.
"""

from typing import TYPE_CHECKING

from icdbridge.model._exports import lazy_package

if TYPE_CHECKING:  # the public names, imported on first use (see _exports)
    from .cache import (
        CACHE_SUBDIR,
        DEFAULT_LABEL_MAX_LENGTH,
        LOCK_NAME,
        CachedLabelSet,
        LabelEmbeddings,
        cache_key,
        cached_label_sets,
        embed_labels,
        label_cache_folder,
        log,
        remove_label_sets,
        safe_name,
    )
    from .index import (
        INDEX_KINDS,
        SEARCH_BATCH,
        CandidateIndex,
        gpu_available,
        sentence_cosine,
        shortlist_recall,
    )
    from .space import LabelSpace, build_label_space, family_of, label_space_codes
    from .texts import clean_title, label_text, label_texts, nearest_defined
    from .tree import label_features, siblings

__all__, __getattr__, __dir__ = lazy_package(__name__, __file__)
