"""Warm start: a trained model's networks initialise the networks of a new training run.

Few labelled notes of a new dataset — possibly coded in another code system — are too few to
train the scoring heads from scratch, but the heads have no label-specific parameter: the
hierarchy mixer, the label-wise attention and the fusion of the pair features score a code from
its embedded text and its features alone. Those weights therefore carry over to any label space.
``TrainConfig.init`` (``icdbridge train --init MODEL_DIR``) starts every new network from them:

* every tensor whose name and shape match is copied; the fusion layers' input columns are
  matched **by feature name** (a feature the new pipeline adds keeps its fresh initial weight, a
  feature it drops is left out); tensors that fit nowhere keep their fresh initialisation and
  are listed in the record;
* network ``i`` of the new ensemble starts from network ``i mod M`` of the ``M`` saved ones;
* what does not carry over is rebuilt from the new data as in any training: the label space is
  the new run's system and release, the training memory is that of the new training documents,
  and the calibration and decision threshold are fitted on the new validation documents.

The encoder must be the one the model was trained with (its label and note embeddings are what
the weights read); with no encoder given, the model's own is used (its fine-tuned ``encoder/``
when it has one). A model whose note side alone was fine-tuned has two: its label texts are
embedded by the untuned encoder it names and its notes by its ``encoder/``
(:attr:`WarmStart.notes_encoder`). The new model records where it started from
(:meth:`WarmStart.record`: the model directory and the SHA-256 of its ``config.json``) under
``"extra"`` → ``"init"`` in its own ``config.json``.

Example:
    >>> columns = fusion_columns(("lexical", "seen"))
    >>> columns
    ('attention', 'max_cosine', 'lexical', 'seen')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.errors import IcdbridgeError, InputFormatError

if TYPE_CHECKING:
    import torch

    from icdbridge.model.config import ModelConfig, PipelineConfig, TrainConfig
    from icdbridge.model.net.network import LabelEmbeddingModel

FUSION_INPUTS = ("fusion.weight", "fusion_mlp.0.weight")
"""Tensors whose input columns are the fusion inputs (:func:`fusion_columns`), matched by name."""


def fusion_columns(features: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Names of the fusion layers' input columns for a network reading ``features``."""
    return ("attention", "max_cosine", *features)


@dataclass
class WarmStart:
    """A trained model's networks, read to initialise new ones (see the module docstring).

    Attributes:
        path: The model directory (resolved).
        config: Its ``config.json``.
        config_sha256: SHA-256 of its ``config.json`` bytes.
        members: Its networks' weights, one state dict per network.
        features: The pair features its networks read (fusion columns).
        copied: After :meth:`apply`: names of the tensors copied whole.
        matched: After :meth:`apply`: fusion tensors copied column by column (name → the
            columns taken from the model).
        fresh: After :meth:`apply`: tensors left at their fresh initialisation.
    """

    path: Path
    config: dict[str, Any]
    config_sha256: str
    members: list[dict[str, torch.Tensor]]
    features: tuple[str, ...]
    copied: list[str] = field(default_factory=list)
    matched: dict[str, list[str]] = field(default_factory=dict)
    fresh: list[str] = field(default_factory=list)

    @property
    def model_config(self) -> ModelConfig:
        """The saved networks' :class:`~icdbridge.model.config.ModelConfig`."""
        from icdbridge.model.config import ModelConfig

        return ModelConfig.from_dict(self.config["model"])

    def encoder_for(self, pipeline: PipelineConfig) -> PipelineConfig:
        """``pipeline`` with the model's encoder (checked against the one it names).

        ``pipeline.encoder`` ``None``: the model's encoder is taken — its fine-tuned
        ``encoder/`` folder when it has one (the new model then saves it too), else the encoder
        it names. A named encoder must be that same one. For a model whose note side alone
        was fine-tuned, the encoder taken is that of its label texts (the untuned one it names);
        its notes' encoder is :attr:`notes_encoder`.

        Raises:
            IcdbridgeError: ``pipeline`` names another encoder than the model's.
        """
        from icdbridge.model.io import ENCODER_DIR

        saved = self.pipeline
        own = str(self.path / ENCODER_DIR) if saved.finetuned_encoder else saved.encoder
        if pipeline.encoder is not None and not _same_encoder(pipeline.encoder, own):
            raise IcdbridgeError(
                f"{self.path}: trained with the encoder {own or 'all-MiniLM-L6-v2 (default)'}, "
                f"not {pipeline.encoder}; a warm start needs the encoder the model was trained "
                "with (leave the encoder out to use the model's)"
            )
        return replace(
            pipeline,
            # with the note side alone tuned, ``encoder`` stays that of the label texts
            encoder=saved.encoder if saved.tuned_notes_only else own,
            finetuned_encoder=saved.finetuned_encoder,
            finetuned_labels=saved.finetuned_labels,
        )

    @property
    def pipeline(self) -> PipelineConfig:
        """The saved model's :class:`~icdbridge.model.config.PipelineConfig`."""
        from icdbridge.model.config import PipelineConfig

        return PipelineConfig.from_dict(self.config["pipeline"])

    @property
    def notes_encoder(self) -> str | None:
        """The model's encoder of notes when it is not that of its label texts (only the note
        side was fine-tuned: its ``encoder/`` folder); else ``None``."""
        from icdbridge.model.io import ENCODER_DIR

        return str(self.path / ENCODER_DIR) if self.pipeline.tuned_notes_only else None

    def check_finetuning(self, train: TrainConfig) -> None:
        """Refuse to fine-tune a fine-tuned model's encoder again on other sides than before.

        A model tuned on both sides has one encoder: tuning its note side alone would leave its
        label texts with an encoder the new model does not save. A model tuned on the note side
        alone has two: tuning both sides needs one.

        Raises:
            IcdbridgeError: ``train`` fine-tunes, the model was fine-tuned, and
                ``finetune_labels`` differs from how it was.
        """
        saved = self.pipeline
        if not saved.finetuned_encoder or train.finetune_epochs <= 0:
            return
        if saved.finetuned_labels != train.finetune_labels:
            before = "both sides" if saved.finetuned_labels else "the note side only"
            flag = "--finetune-labels" if saved.finetuned_labels else "--no-finetune-labels"
            raise IcdbridgeError(
                f"{self.path}: its encoder was fine-tuned on {before}; fine-tuning it again "
                f"must tune the same ({flag}), or start without fine-tuning"
            )

    def check_dim(self, dim: int) -> None:
        """Refuse an encoder of another width than the model's networks read.

        Raises:
            IcdbridgeError: the widths differ (naming the model directory).
        """
        saved = self.model_config.dim
        if dim != saved:
            raise IcdbridgeError(
                f"{self.path}: its networks read {saved}-dimensional embeddings, the encoder "
                f"gives {dim}; a warm start needs the encoder the model was trained with"
            )

    def apply(self, model: LabelEmbeddingModel, member: int = 0) -> None:
        """Copy the saved network ``member mod M``'s compatible weights into ``model`` (a freshly
        initialised network), in place; records what was copied.

        Raises:
            IcdbridgeError: not one tensor of the saved network fits ``model``.
        """
        import torch

        saved = self.members[member % len(self.members)]
        new_columns = fusion_columns(model.config.features)
        old_columns = fusion_columns(self.features)
        state = model.state_dict()
        copied, matched, fresh = [], {}, []
        with torch.no_grad():
            for name, tensor in state.items():
                old = saved.get(name)
                if name in FUSION_INPUTS and old is not None and old.shape[0] == tensor.shape[0]:
                    taken = [c for c in new_columns if c in old_columns]
                    for column in taken:
                        tensor[:, new_columns.index(column)] = old[:, old_columns.index(column)]
                    if taken:
                        matched[name] = taken
                        continue
                elif old is not None and old.shape == tensor.shape:
                    tensor.copy_(old)
                    copied.append(name)
                    continue
                fresh.append(name)
        if not copied and not matched:
            raise IcdbridgeError(
                f"{self.path}: none of its network weights fits the new network (different "
                "encoder width or network settings); it cannot initialise this training"
            )
        self.copied, self.matched, self.fresh = copied, matched, fresh

    def record(self) -> dict[str, Any]:
        """What the new model stores about its start: the model directory, the SHA-256 of its
        ``config.json``, its system, release and networks, and which tensors carried over."""
        return {
            "path": str(self.path),
            "config_sha256": self.config_sha256,
            "system": self.config["system"],
            "release": self.config["release"],
            "members": len(self.members),
            "copied": list(self.copied),
            "matched_columns": dict(self.matched),
            "fresh": list(self.fresh),
        }


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def _same_encoder(given: str, own: str | None) -> bool:
    return own is not None and _resolved(given) == _resolved(own)


def read_warm_start(folder: str | Path) -> WarmStart:
    """Read a model directory's configuration and network weights for a warm start.

    Raises:
        DataNotFoundError: ``folder`` is not a model directory (or lacks a file it needs).
        InputFormatError: a damaged ``config.json`` or ``model.safetensors`` (named).
    """
    from safetensors.torch import load_file

    from icdbridge.model.io import CONFIG_NAME, WEIGHTS_NAME, check_model_dir

    path = Path(folder).expanduser().resolve()
    config = check_model_dir(path)
    digest = hashlib.sha256((path / CONFIG_NAME).read_bytes()).hexdigest()
    try:
        weights = load_file(str(path / WEIGHTS_NAME))
    except Exception as error:  # SafetensorError on a damaged file
        reason = str(error).split("\n")[0][:200]
        raise InputFormatError(
            path / WEIGHTS_NAME, f"weights do not load ({reason}); the model is damaged"
        ) from None
    count = config.get("members", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InputFormatError(path / CONFIG_NAME, "key 'members' is not a positive integer")
    if count == 1:
        members = [weights]
    else:
        prefixes = [f"members.{i}." for i in range(count)]
        members = [
            {k[len(p) :]: v for k, v in weights.items() if k.startswith(p)} for p in prefixes
        ]
    if not all(members):
        raise InputFormatError(
            path / WEIGHTS_NAME, f"expected the weights of {count} networks; the model is damaged"
        )
    features = config["model"].get("features")
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise InputFormatError(path / CONFIG_NAME, "model features are not a list of names")
    return WarmStart(path, config, digest, members, tuple(features))


def check_warm_start(init: str | Path | None, resume: bool, out_dir: str | Path | None) -> None:
    """Refuse, before any work, a warm start that cannot be: with ``resume``, or writing the
    new model onto the model it starts from.

    Raises:
        IcdbridgeError: naming the conflict.
    """
    if init is None:
        return
    if resume:
        raise IcdbridgeError(
            "a warm start (--init) and --resume are exclusive: --resume continues a run from "
            "its own checkpoints, --init starts a new one from a trained model"
        )
    same = out_dir is not None and _resolved(out_dir) == _resolved(init)
    if same:
        raise IcdbridgeError(
            f"{out_dir}: the new model would overwrite the model it starts from (--init); "
            "choose another output folder"
        )
