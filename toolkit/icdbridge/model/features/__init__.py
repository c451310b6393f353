"""Featurisation: a note's pieces, candidates and pair features (the feature registry, the
training memory, and the padded batch of featurised documents).

The function that featurises documents is ``icdbridge.model.features.featurize.featurize``:
``icdbridge.model.features.featurize`` is its module (a package attribute named like one of its
modules is that module once anything imports it, so the function is not exported here).
"""

from typing import TYPE_CHECKING

from icdbridge.model._exports import lazy_package

if TYPE_CHECKING:  # the public names, imported on first use (see _exports)
    from .batch import DocumentFeatures, collate
    from .featurize import (
        BACKGROUND,
        GOLD_SIBLING,
        RETRIEVED,
        FeatureInputs,
        encode_documents,
    )
    from .memory import TrainingMemory
    from .registry import (
        DEFAULT_FEATURES,
        FAMILY_FEATURES,
        HIERARCHY_FEATURES,
        LABEL_FEATURES,
        LEXICAL_FEATURES,
        MEMORY_FEATURES,
        OVERLAP_FEATURES,
        PAIR_FEATURES,
        feature_columns,
        model_features,
        needs_overlap_features,
    )

__all__, __getattr__, __dir__ = lazy_package(__name__, __file__)
