"""Save and load a trained model as a directory.

Layout of ``MODEL_DIR``::

    config.json          format version, PipelineConfig, ModelConfig, the number of networks
                         (``members``; absent in models saved before ensembles: one),
                         calibration (the ``balanced`` operating point), every named
                         operating point (``operating_points``; absent in models saved before
                         them: ``balanced`` only), the terminology system/release trained against,
                         label-space size and the label-embedding cache key it was trained with
    model.safetensors    the network weights (an ensemble's under ``members.<i>.``)
    memory.json          training memory: document ids, their codes (hence seen-code counts
                         for calibration), TF-IDF vocabulary
    memory.safetensors   training memory: TF-IDF matrix and idf
    encoder/             the fine-tuned encoder (Hugging Face layout, safetensors weights and
                         tokenizer), only when the encoder was fine-tuned in training; with
                         the note side alone tuned (``finetuned_labels`` false), the encoder of
                         notes, while the label texts keep the untuned encoder named in
                         config.json
    index_phrases.jsonl  the ICD-10-CM Index phrases of the lexical channel, only when it has
                         them; config.json's ``index_phrases`` records the file's SHA-256 and
                         where the phrases come from (:mod:`icdbridge.model.lexical.index_store`)
    index_aliases.jsonl  the label aliases (ICD-10-CM Index paths as more label texts), only
                         when the model has them; config.json's ``index_aliases`` records the
                         file's SHA-256 and count (:mod:`icdbridge.model.labels.aliases`)

Label embeddings are not copied into the directory: they are recomputed through the on-disk
label-embedding cache (:mod:`icdbridge.model.labels.cache`, keyed by a checksum of the encoder
weights and every label text), so loading against the training release reuses the cache and
loading against another release (``release=``) embeds only the texts that changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.errors import DataNotFoundError, InputFormatError
from icdbridge.model.labels.aliases import ALIASES_NAME
from icdbridge.model.lexical.index_store import INDEX_PHRASES_NAME

if TYPE_CHECKING:
    from icdbridge.model.predict import Predictor

FORMAT_VERSION = 2
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
ENCODER_DIR = "encoder"
MEMORY_FILES = ("memory.json", "memory.safetensors")
MODEL_FILES = (CONFIG_NAME, WEIGHTS_NAME, *MEMORY_FILES, INDEX_PHRASES_NAME, ALIASES_NAME)
"""The files of a model directory (those a model has; the ``encoder/`` folder aside)."""
MODEL_ENTRIES = frozenset({*MODEL_FILES, ENCODER_DIR})
"""Everything :func:`save_pretrained` writes into a model directory."""
REQUIRED_CONFIG: dict[str, type | tuple[type, ...]] = {
    "format_version": int,
    "system": str,
    "release": str,
    "pipeline": dict,
    "model": dict,
    "calibration": dict,
}
"""Keys every ``config.json`` holds → their JSON type (checked before any weight is loaded)."""
MAX_SAFETENSORS_HEADER = 100_000_000
"""Largest header a safetensors file may declare (the format's own limit)."""


def save_pretrained(
    predictor: Predictor, folder: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``predictor`` to ``folder`` (created if needed); returns the folder.

    Written atomically: the files are written into a temporary folder beside ``folder``; a
    ``folder`` that holds nothing but a model (or does not exist) is then swapped for it as a
    whole, so an interruption leaves the previous model. When ``folder`` holds other things too
    (``icdbridge train`` keeps its ``checkpoints/`` there), its ``config.json`` is removed first
    and written last, so a reader sees either a complete model or "not a model directory",
    never new weights with an old configuration.

    Args:
        predictor: The trained predictor.
        folder: Target directory.
        extra: More JSON-ready entries stored under ``"extra"`` in ``config.json``.
    """
    import shutil
    import tempfile

    from icdbridge.outputs import TEMP_PREFIX, atomic_dir, check_output

    folder = check_output(folder, kind="dir")
    if not folder.is_dir() or all(p.name in MODEL_ENTRIES for p in folder.iterdir()):
        with atomic_dir(folder) as temp:
            _write_model(predictor, temp, extra)
        return folder
    staged = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}model.", dir=folder))
    try:
        _write_model(predictor, staged, extra)
        (folder / CONFIG_NAME).unlink(missing_ok=True)  # "not a model" until config.json is back
        for name in sorted(MODEL_ENTRIES - {CONFIG_NAME}):
            old = folder / name
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            if (staged / name).exists():
                os.replace(staged / name, old)
            else:
                old.unlink(missing_ok=True)
        os.replace(staged / CONFIG_NAME, folder / CONFIG_NAME)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return folder


def _write_model(predictor: Predictor, folder: Path, extra: dict[str, Any] | None) -> None:
    """Write every file of the model directory into ``folder`` (which exists)."""
    from safetensors.torch import save_file

    from icdbridge.environment import software_environment
    from icdbridge.model.net.network import member_count
    from icdbridge.model.operating_points import points_to_dict

    state = {k: v.detach().contiguous() for k, v in predictor.model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_NAME))
    if predictor.memory is not None:
        predictor.memory.save(folder)
    if predictor.config.finetuned_encoder:
        predictor.encoder.model.save_pretrained(str(folder / ENCODER_DIR), safe_serialization=True)
        predictor.encoder.tokenizer.save_pretrained(str(folder / ENCODER_DIR))
    terminology = predictor.space.terminology
    index_record = None
    carried = getattr(predictor.lexical, "index_phrases", None)
    if carried is not None:
        from icdbridge.model.lexical.index_store import write_index_phrases

        index_record = write_index_phrases(carried, folder)
    alias_record = None
    if predictor.space.label_aliases is not None:
        from icdbridge.model.labels.aliases import write_aliases

        alias_record = write_aliases(predictor.space.label_aliases, folder)
    config = {
        "format_version": FORMAT_VERSION,
        "system": terminology.system,
        "release": terminology.release,
        "pipeline": predictor.config.to_dict(),
        "model": predictor.model.config.to_dict(),
        "members": member_count(predictor.model),
        "calibration": predictor.calibrator.to_dict(),
        "operating_points": points_to_dict(predictor.operating_points),
        "has_memory": predictor.memory is not None,
        "label_space_size": len(predictor.space),
        **({"index_phrases": index_record} if index_record is not None else {}),
        **({"index_aliases": alias_record} if alias_record is not None else {}),
        "extra": extra or {},
        "environment": software_environment(),
    }
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2), encoding="utf-8")


def read_config(folder: str | Path) -> dict[str, Any]:
    """Read and check ``config.json`` of a model directory (nothing else is opened).

    Raises:
        DataNotFoundError: ``folder`` is not a model directory.
        InputFormatError: its ``config.json`` is not UTF-8 JSON, is of an unknown format, or
            lacks a required key (:data:`REQUIRED_CONFIG`); the message names the file.
    """
    from icdbridge.text_input import read_utf8

    path = Path(folder) / CONFIG_NAME
    if not path.is_file() or not (Path(folder) / WEIGHTS_NAME).is_file():
        raise DataNotFoundError(
            f"{folder}: not an icdbridge model directory (expected {CONFIG_NAME} and "
            f"{WEIGHTS_NAME}; create one with `icdbridge train`)"
        )
    try:
        config = json.loads(read_utf8(path))
    except (ValueError, RecursionError) as error:
        if isinstance(error, InputFormatError):
            raise
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "unreadable value"
        raise InputFormatError(path, f"invalid JSON ({reason}); the model is damaged") from None
    if not isinstance(config, dict):
        raise InputFormatError(path, "expected a JSON object; the model is damaged")
    if config.get("format_version") != FORMAT_VERSION:
        raise InputFormatError(
            path, "unsupported model format version", value=config.get("format_version")
        )
    for key, kind in REQUIRED_CONFIG.items():
        if key not in config:
            raise InputFormatError(path, f"missing key {key!r}; the model is damaged")
        if not isinstance(config[key], kind) or isinstance(config[key], bool):
            raise InputFormatError(
                path, f"key {key!r} has the wrong type; the model is damaged", value=config[key]
            )
    return config


def check_safetensors(path: str | Path) -> dict[str, Any]:
    """Check the header of a safetensors file without loading it; return the header.

    Catches what makes loading fail late or crash: a file shorter than its header says, a
    header that is not JSON, or a tensor whose bytes lie beyond the end of the file (a
    truncated download or copy).

    Raises:
        InputFormatError: the file is not a complete safetensors file (named in the message).
    """
    path = Path(path)

    def bad(reason: str) -> InputFormatError:
        return InputFormatError(
            path,
            f"not a complete safetensors file ({reason}); the model "
            "is damaged, train or copy it again",
        )

    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                raise bad("shorter than its 8-byte header length")
            length = int.from_bytes(head, "little")
            if length > min(MAX_SAFETENSORS_HEADER, size - 8):
                raise bad(f"header of {length} bytes in a file of {size}")
            raw = handle.read(length)
    except OSError as error:
        raise InputFormatError(path, f"cannot read the file: {error.strerror or error}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise bad("header is not JSON") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    data_size = size - 8 - length
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            raise bad(f"tensor {name!r} has no valid data offsets")
        if offsets[1] > data_size:
            raise bad(f"tensor {name!r} ends at byte {offsets[1]} of {data_size}: truncated")
    return header


def check_model_dir(folder: str | Path) -> dict[str, Any]:
    """Check a model directory before any weight or encoder is loaded; return its config.

    Reads ``config.json`` (:func:`read_config`) and checks the headers of ``model.safetensors``
    and, when the model has one, of the training memory (:func:`check_safetensors`) — cheap, so
    ``icdbridge predict`` refuses a damaged model in milliseconds, not after loading.

    Raises:
        DataNotFoundError: not a model directory, or a file it needs is missing.
        InputFormatError: a damaged file (named in the message).
    """
    folder = Path(folder)
    config = read_config(folder)
    check_safetensors(folder / WEIGHTS_NAME)
    if config.get("has_memory"):
        for name in MEMORY_FILES:
            if not (folder / name).is_file():
                raise DataNotFoundError(f"{folder / name}: missing; the model is damaged")
        check_safetensors(folder / "memory.safetensors")
    from icdbridge.model.lexical.index_store import check_record

    check_record(folder, config)
    return config


def from_pretrained(
    folder: str | Path,
    system: str | None = None,
    release: str | None = None,
    encoder: str | Path | None = None,
    label_codes: list[str] | None = None,
    progress: bool = False,
    operating_point: str | None = None,
) -> Predictor:
    """Load a model directory as a :class:`~icdbridge.model.predict.Predictor`.

    Args:
        folder: Directory written by :func:`save_pretrained`.
        system: Code system to predict in (default: the one trained against). In another
            system every code is outside the training label space: the training memory is not
            loaded (its features are those of an unseen code) and the calibration treats every
            code as unseen.
        release: Release to predict in (default: the one trained against when the system is the
            same, else the system's default release).
        encoder: Override the encoder directory (default: the model's fine-tuned ``encoder/``
            when there is one, else the encoder named in the config). For a model whose note
            side alone was fine-tuned, this is the notes' encoder; its label texts are always
            embedded by the untuned encoder named in the config.
        label_codes: Restrict the label space to these codes (default: the whole release).
        progress: Show progress bars while embedding labels.
        operating_point: Check, before anything slow is loaded, that the model has this
            operating point (:mod:`~icdbridge.model.operating_points`); ``None``: no check.
            The point itself is chosen at :meth:`~icdbridge.model.predict.Predictor.predict`.

    In another release of the system trained with, the predictor's ``release_changes``
    (:mod:`~icdbridge.model.upgrade`) marks the codes added or changed since the training
    release.

    Raises:
        OperatingPointError: ``operating_point`` is unknown or missing from the model.
    """
    from dataclasses import replace

    from safetensors.torch import load_file

    from icdbridge.codes import get_terminology
    from icdbridge.model.calibration import Calibrator
    from icdbridge.model.config import ModelConfig, PipelineConfig
    from icdbridge.model.features.memory import TrainingMemory
    from icdbridge.model.labels.aliases import read_aliases
    from icdbridge.model.labels.space import build_label_space
    from icdbridge.model.lexical.index_store import model_lexical
    from icdbridge.model.net.network import build_network
    from icdbridge.model.operating_points import check_operating_point, points_from_config
    from icdbridge.model.predict import Predictor
    from icdbridge.model.progress import phase
    from icdbridge.model.text.encoder import TextEncoder

    folder = Path(folder)
    config = check_model_dir(folder)
    try:
        pipeline = PipelineConfig.from_dict(config["pipeline"])
        # models saved before ensembles existed hold one network
        model = build_network(ModelConfig.from_dict(config["model"]), config.get("members", 1))
        calibrator = Calibrator.from_dict(config["calibration"])
        points = points_from_config(config)
    except (TypeError, ValueError, KeyError) as error:
        raise InputFormatError(
            folder / CONFIG_NAME, f"unusable model settings ({error}); the model is damaged"
        ) from None
    if operating_point is not None:
        check_operating_point(operating_point, points)
    try:
        model.load_state_dict(load_file(str(folder / WEIGHTS_NAME)))
    except Exception as error:  # SafetensorError, shape or key mismatch
        reason = str(error).split("\n")[0][:200]
        raise InputFormatError(
            folder / WEIGHTS_NAME, f"weights do not load ({reason}); the model is damaged"
        ) from None
    model.eval()
    target_system = system or config["system"]
    if release is None and target_system == config["system"]:
        release = config["release"]
    terminology = get_terminology(target_system, release)
    if encoder is None and pipeline.finetuned_encoder:
        encoder = folder / ENCODER_DIR
    text_encoder = TextEncoder(encoder or pipeline.encoder, precision=pipeline.precision)
    label_encoder = text_encoder
    if pipeline.tuned_notes_only:  # the label texts keep the untuned encoder
        label_encoder = TextEncoder(pipeline.encoder, precision=pipeline.precision)
    # another code system: its codes are all outside the training label space, so neither the
    # training codes the release lacked (extra_codes, 7th-character bases) nor the training
    # memory apply to them
    other_system = terminology.system != config["system"]
    space_config = (
        replace(pipeline, extra_codes=[], seventh_character_bases=False)
        if other_system
        else pipeline
    )
    with phase(f"label space of {terminology.name} {terminology.release}", progress):
        space = build_label_space(label_encoder, terminology, space_config, label_codes, progress)
    aliases = read_aliases(folder, config)
    if aliases is not None and terminology.system == aliases.provenance.get("system"):
        space = space.with_aliases(aliases, label_encoder, progress)
    memory = None
    if config.get("has_memory") and not other_system:
        try:
            memory = TrainingMemory.load(folder)
        except Exception as error:  # bad JSON or UTF-8, missing key, SafetensorError
            reason = str(error).split("\n")[0][:200]
            raise InputFormatError(
                folder / MEMORY_FILES[0],
                f"training memory does not load ({reason}); the model is damaged",
            ) from None
    lexical = None
    if pipeline.use_lexical:
        with phase(f"lexical channel over {len(space):,} codes", progress):
            lexical = model_lexical(folder, config, pipeline, terminology, space.codes)
    from icdbridge.model.upgrade import changes_since_training

    trained = (config["system"], config["release"])
    changes = changes_since_training(*trained, terminology, space, pipeline)
    return Predictor(
        model,
        pipeline,
        space,
        text_encoder,
        memory,
        lexical,
        calibrator,
        operating_points=points,
        release_changes=changes,
    )


load_model = from_pretrained
"""Load a saved model (the public name of :func:`from_pretrained`)."""
save_model = save_pretrained
"""Save a trained predictor (the public name of :func:`save_pretrained`)."""
