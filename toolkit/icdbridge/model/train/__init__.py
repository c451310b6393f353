"""Training (imports pytorch-lightning; prediction never imports this package): the data
module, the Lightning module, the training loop, folds, encoder fine-tuning and warm starts
from a trained model.
"""

from icdbridge.model._exports import lazy_exports

_EXPORTS = {
    "CodingDataModule": ".data",
    "CodingModule": ".module",
    "EncoderTuningModule": ".finetune",
    "FINISHED_KEYS": ".loop",
    "FINISHED_NAME": ".loop",
    "FeaturisedData": ".loop",
    "FinetuneResult": ".finetune",
    "LIGHTNING_LOGGERS": ".quiet",
    "PairDataModule": ".finetune",
    "PiecePair": ".finetune",
    "QUIET_WARNINGS": ".quiet",
    "TrainResult": ".loop",
    "TrainingSetup": ".loop",
    "WarmStart": ".warm_start",
    "batch_average_precision": ".module",
    "calibrate": ".loop",
    "check_training_inputs": ".loop",
    "collate_pairs": ".finetune",
    "extra_codes_of": ".loop",
    "featurise_training_data": ".loop",
    "finetune_encoder": ".finetune",
    "hidden_codes": ".folds",
    "load_documents": ".loop",
    "mine_pairs": ".finetune",
    "out_of_fold_scores": ".folds",
    "prepare_training": ".loop",
    "quiet_lightning": ".quiet",
    "read_warm_start": ".warm_start",
    "seeded_folds": ".folds",
    "train_model": ".loop",
    "train_networks": ".loop",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
