"""Training (imports pytorch-lightning; prediction never imports this package): the data
module, the Lightning module, the training loop, folds and encoder fine-tuning.
"""

from icdbridge.model._exports import lazy_exports

_EXPORTS = {
    "CodingDataModule": ".data",
    "CodingModule": ".module",
    "EncoderTuningModule": ".finetune",
    "FINISHED_KEYS": ".loop",
    "FINISHED_NAME": ".loop",
    "FinetuneResult": ".finetune",
    "PairDataModule": ".finetune",
    "PiecePair": ".finetune",
    "TrainResult": ".loop",
    "batch_average_precision": ".module",
    "collate_pairs": ".finetune",
    "extra_codes_of": ".loop",
    "finetune_encoder": ".finetune",
    "hidden_codes": ".folds",
    "load_documents": ".loop",
    "mine_pairs": ".finetune",
    "seeded_folds": ".folds",
    "train_model": ".loop",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
