"""Save and load a trained model as a directory.

Layout of ``MODEL_DIR``::

    config.json          format version, PipelineConfig, ModelConfig, the number of networks
                         (``members``; absent in models saved before ensembles: one),
                         calibration, the terminology system/release trained against,
                         label-space size and the label-embedding cache key it was trained with
    model.safetensors    the network weights (an ensemble's under ``members.<i>.``)
    memory.json          training memory: document ids, their codes (hence seen-code counts
                         for calibration), TF-IDF vocabulary
    memory.safetensors   training memory: TF-IDF matrix and idf
    encoder/             the fine-tuned encoder (Hugging Face layout, safetensors weights and
                         tokenizer), only when the encoder was fine-tuned in training

Label embeddings are not copied into the directory: they are recomputed through the on-disk
label-embedding cache (:mod:`icdbridge.model.label_cache`, keyed by a checksum of the encoder
weights and every label text), so loading against the training release reuses the cache and
loading against another release (``release=``) embeds only the texts that changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.errors import DataNotFoundError, InputFormatError

if TYPE_CHECKING:
    from icdbridge.model.predictor import Predictor

FORMAT_VERSION = 2
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
ENCODER_DIR = "encoder"


def save_pretrained(
    predictor: Predictor, folder: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``predictor`` to ``folder`` (created if needed); returns the folder.

    Args:
        predictor: The trained predictor.
        folder: Target directory.
        extra: More JSON-ready entries stored under ``"extra"`` in ``config.json``.
    """
    from safetensors.torch import save_file

    from icdbridge.environment import software_environment
    from icdbridge.model.network import member_count

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in predictor.model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_NAME))
    if predictor.memory is not None:
        predictor.memory.save(folder)
    if predictor.config.finetuned_encoder:
        predictor.encoder.model.save_pretrained(str(folder / ENCODER_DIR), safe_serialization=True)
        predictor.encoder.tokenizer.save_pretrained(str(folder / ENCODER_DIR))
    terminology = predictor.space.terminology
    config = {
        "format_version": FORMAT_VERSION,
        "system": terminology.system,
        "release": terminology.release,
        "pipeline": predictor.config.to_dict(),
        "model": predictor.model.config.to_dict(),
        "members": member_count(predictor.model),
        "calibration": predictor.calibrator.to_dict(),
        "has_memory": predictor.memory is not None,
        "label_space_size": len(predictor.space),
        "extra": extra or {},
        "environment": software_environment(),
    }
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder


def read_config(folder: str | Path) -> dict[str, Any]:
    """Read and check ``config.json`` of a model directory.

    Raises:
        DataNotFoundError: ``folder`` is not a model directory.
        InputFormatError: its ``config.json`` is unreadable or of an unknown format.
    """
    path = Path(folder) / CONFIG_NAME
    if not path.is_file() or not (Path(folder) / WEIGHTS_NAME).is_file():
        raise DataNotFoundError(
            f"{folder}: not an icdbridge model directory (expected {CONFIG_NAME} and "
            f"{WEIGHTS_NAME}; create one with `icdbridge train`)"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InputFormatError(path, f"invalid JSON: {error}") from None
    if config.get("format_version") != FORMAT_VERSION:
        raise InputFormatError(
            path, "unsupported model format version", value=config.get("format_version")
        )
    return config


def from_pretrained(
    folder: str | Path,
    system: str | None = None,
    release: str | None = None,
    encoder: str | Path | None = None,
    label_codes: list[str] | None = None,
    progress: bool = False,
) -> Predictor:
    """Load a model directory as a :class:`~icdbridge.model.predictor.Predictor`.

    Args:
        folder: Directory written by :func:`save_pretrained`.
        system: Code system to predict in (default: the one trained against).
        release: Release to predict in (default: the one trained against when the system is the
            same, else the system's default release).
        encoder: Override the encoder directory (default: the model's fine-tuned ``encoder/``
            when there is one, else the encoder named in the config).
        label_codes: Restrict the label space to these codes (default: the whole release).
        progress: Show progress bars while embedding labels.
    """
    from safetensors.torch import load_file

    from icdbridge.codes import get_terminology
    from icdbridge.model.calibration import Calibrator
    from icdbridge.model.encoder import TextEncoder
    from icdbridge.model.memory import TrainingMemory
    from icdbridge.model.network import ModelConfig, build_network
    from icdbridge.model.predictor import (
        PipelineConfig,
        Predictor,
        build_label_space,
        build_lexical,
    )

    folder = Path(folder)
    config = read_config(folder)
    pipeline = PipelineConfig.from_dict(config["pipeline"])
    # models saved before ensembles existed hold one network
    model = build_network(ModelConfig.from_dict(config["model"]), config.get("members", 1))
    model.load_state_dict(load_file(str(folder / WEIGHTS_NAME)))
    model.eval()
    target_system = system or config["system"]
    if release is None and target_system == config["system"]:
        release = config["release"]
    terminology = get_terminology(target_system, release)
    if encoder is None and pipeline.finetuned_encoder:
        encoder = folder / ENCODER_DIR
    text_encoder = TextEncoder(encoder or pipeline.encoder)
    space = build_label_space(text_encoder, terminology, pipeline, label_codes, progress)
    memory = TrainingMemory.load(folder) if config.get("has_memory") else None
    lexical = build_lexical(terminology, space.codes) if pipeline.use_lexical else None
    return Predictor(
        model,
        pipeline,
        space,
        text_encoder,
        memory,
        lexical,
        Calibrator.from_dict(config["calibration"]),
    )
