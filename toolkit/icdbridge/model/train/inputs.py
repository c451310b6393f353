"""Training inputs: reading labelled documents and checking them before any work."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.model.config import TrainConfig
from icdbridge.model.train.checkpoints import (
    FINISHED_KEYS as FINISHED_KEYS,
)
from icdbridge.model.train.checkpoints import (
    _best_state_callback as _best_state_callback,
)
from icdbridge.model.train.checkpoints import (
    _check_checkpoint as _check_checkpoint,
)
from icdbridge.model.train.checkpoints import (
    _load_checkpoint as _load_checkpoint,
)
from icdbridge.model.train.checkpoints import (
    _read_finished as _read_finished,
)

if TYPE_CHECKING:
    from icdbridge.data import Document


def check_training_inputs(
    train_docs: Sequence[Document], dev_docs: Sequence[Document], train_config: TrainConfig
) -> None:
    """Refuse, before any work, documents and settings training cannot use.

    Raises:
        IcdbridgeError: no training or validation document, ``members`` < 1, ``hidden_codes``
            outside [0, 1), ``calibration_folds`` neither 0 nor in [2, labelled documents], or
            fine-tuning without mined pairs (``finetune_mined``) and with no annotated mention
            to train on.
    """
    from icdbridge.errors import IcdbridgeError

    if not train_docs or not dev_docs:
        raise IcdbridgeError("training needs at least one training and one validation document")
    if train_config.members < 1:
        raise IcdbridgeError(f"members must be at least 1, got {train_config.members}")
    if not 0.0 <= train_config.hidden_codes < 1.0:
        raise IcdbridgeError(
            f"hidden_codes must be a share in [0, 1), got {train_config.hidden_codes}"
        )
    n_labelled = len(train_docs) + len(dev_docs)
    folds = train_config.calibration_folds
    if folds != 0 and not 2 <= folds <= n_labelled:
        raise IcdbridgeError(
            f"calibration_folds must be 0 or between 2 and the {n_labelled} training and "
            f"validation documents, got {folds}"
        )
    if train_config.finetune_epochs > 0 and not train_config.finetune_mined:
        if not train_config.finetune_evidence:
            raise IcdbridgeError(
                "fine-tuning without mined pairs trains on the annotated mentions alone: "
                "finetune_evidence must be on"
            )
        if not any(doc.evidence for doc in train_docs):
            raise IcdbridgeError(
                "fine-tuning without mined pairs trains on the annotated mentions alone, and "
                "no training document has any (its 'evidence')"
            )


def extra_codes_of(docs: Sequence[Document], known: set[str]) -> list[str]:
    """Training codes outside ``known`` (the release's label-space codes), kept as extra labels."""
    return sorted({c for d in docs for c in d.codes if c not in known})


def load_documents(path: str | Path, terminology: Any) -> list[Document]:
    """Read a JSONL dataset and normalise its codes in ``terminology``.

    Codes with valid syntax but not defined in the release are kept as given (their label text
    falls back to the longest defined prefix).

    Raises:
        InputFormatError: bad rows, a document of another system, or a code with invalid syntax
            (naming the file, the document and the code).
    """
    from icdbridge.data import read_jsonl
    from icdbridge.errors import InputFormatError

    docs = read_jsonl(path)
    for doc in docs:
        if doc.system != terminology.system:
            raise InputFormatError(
                path,
                f"document {doc.id!r} is coded in {doc.system!r}, not {terminology.system!r}",
                value=doc.system,
            )
        codes = []
        for code in doc.codes:
            if not terminology.is_valid_syntax(code):
                raise InputFormatError(
                    path, f"document {doc.id!r}: invalid {terminology.system} code", value=code
                )
            node = terminology.get(code)
            codes.append(node.code if node is not None else code.strip().upper())
        doc.codes = list(dict.fromkeys(codes))
    return docs
