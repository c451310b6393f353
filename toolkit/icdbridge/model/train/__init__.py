"""Training (imports pytorch-lightning; prediction never imports this package): the data
module, the Lightning module, the training loop, folds, encoder fine-tuning and warm starts
from a trained model.
"""

from typing import TYPE_CHECKING

from icdbridge.model._exports import lazy_package

if TYPE_CHECKING:  # the public names, imported on first use (see _exports)
    from .data import CodingDataModule
    from .finetune import (
        EncoderTuningModule,
        FinetuneResult,
        PairDataModule,
        PiecePair,
        collate_pairs,
        finetune_encoder,
        mine_pairs,
    )
    from .folds import hidden_codes, out_of_fold_scores, seeded_folds
    from .loop import (
        FINISHED_KEYS,
        FeaturisedData,
        Prebuilt,
        TrainingSetup,
        TrainResult,
        calibrate,
        check_training_inputs,
        extra_codes_of,
        featurise_training_data,
        load_documents,
        prepare_training,
        train_model,
    )
    from .module import CodingModule, batch_average_precision
    from .networks import FINISHED_NAME, train_networks
    from .quiet import LIGHTNING_LOGGERS, QUIET_WARNINGS, quiet_lightning
    from .warm_start import WarmStart, read_warm_start

__all__, __getattr__, __dir__ = lazy_package(__name__, __file__)
