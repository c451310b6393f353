"""Featurisation: a note's pieces, candidates and pair features (the feature registry, the
training memory, and the padded batch of featurised documents).
"""

from icdbridge.model._exports import lazy_exports

_EXPORTS = {
    "BACKGROUND": ".featurize",
    "DEFAULT_FEATURES": ".registry",
    "DocumentFeatures": ".batch",
    "FAMILY_FEATURES": ".registry",
    "FeatureInputs": ".featurize",
    "GOLD_SIBLING": ".featurize",
    "HIERARCHY_FEATURES": ".registry",
    "LABEL_FEATURES": ".registry",
    "LEXICAL_FEATURES": ".registry",
    "MEMORY_FEATURES": ".registry",
    "OVERLAP_FEATURES": ".registry",
    "PAIR_FEATURES": ".registry",
    "RETRIEVED": ".featurize",
    "TrainingMemory": ".memory",
    "collate": ".batch",
    "encode_documents": ".featurize",
    "feature_columns": ".registry",
    "featurize": ".featurize",
    "model_features": ".registry",
    "needs_overlap_features": ".registry",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
