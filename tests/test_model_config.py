"""One home for every default: the CLI's options read the library's (``icdbridge.model.config``)."""

from __future__ import annotations

import inspect
import typing

import pytest
import typer
from typer.models import ArgumentInfo, OptionInfo

from icdbridge.model.config import (
    DEFAULT_MAX_ANCESTORS,
    DEFAULT_OPERATING_POINT,
    DEFAULT_TOP_K,
    LabelTextOptions,
    ModelConfig,
    PipelineConfig,
    TrainConfig,
)


def _option_defaults(command) -> dict[str, object]:
    """Parameter name → default of a Typer command function (required ones left out)."""
    hints = typing.get_type_hints(command, include_extras=True)
    out = {}
    for name, parameter in inspect.signature(command).parameters.items():
        infos = getattr(hints[name], "__metadata__", ())
        assert any(isinstance(m, (OptionInfo, ArgumentInfo)) for m in infos), name
        if parameter.default is not inspect.Parameter.empty:
            out[name] = parameter.default
    return out


def _signature_default(function, name: str) -> object:
    return inspect.signature(function).parameters[name].default


def _train_defaults() -> dict[str, object]:
    from icdbridge.model.config import bases_option
    from icdbridge.model.features.registry import reads_sibling_margins
    from icdbridge.model.lexical.index_choice import index_option
    from icdbridge.model.train.loop import train_model

    pipeline, model, train = PipelineConfig(), ModelConfig(), TrainConfig()
    return {
        "system": pipeline.system,
        "release": pipeline.release,
        "encoder": pipeline.encoder,
        "epochs": train.epochs,
        "patience": train.patience,
        "seed": train.seed,
        "members": train.members,
        "batch_size": train.batch_size,
        "negatives": train.negatives,
        "learning_rate": train.learning_rate,
        "loss": train.loss,
        "hierarchy": model.use_hierarchy,
        "sibling_margins": reads_sibling_margins(model.features),
        "lexical": pipeline.use_lexical,
        "original": pipeline.use_original,
        "gloss_pieces": pipeline.gloss_pieces,
        "index_aliases": pipeline.index_aliases,
        "index_in_original": pipeline.index_in_original,
        "calibration_folds": train.calibration_folds,
        "hidden_codes": train.hidden_codes,
        "calibration_tolerance": train.calibration_map_tolerance,
        "finetune_epochs": train.finetune_epochs,
        "finetune_evidence": train.finetune_evidence,
        "finetune_mined": train.finetune_mined,
        "finetune_labels": train.finetune_labels,
        "pieces": pipeline.pieces,
        "shortlist_k": pipeline.shortlist_k,
        "family_expansion": pipeline.family_expansion,
        "overlap_k": pipeline.overlap_k,
        "index_overlap_k": pipeline.index_overlap_k,
        "label_space": pipeline.label_space,
        "seventh_character_bases": bases_option(pipeline.seventh_character_bases),
        "precision": pipeline.precision,
        "index_phrases": index_option(pipeline.index_phrases),
        "index_source": pipeline.index_source,
        "init": train.init,
        "resume": _signature_default(train_model, "resume"),
        "verbose": _signature_default(train_model, "verbose"),
    }


def test_every_train_option_default_is_the_library_default():
    from icdbridge.cli.train import train_command

    cli = _option_defaults(train_command)
    library = _train_defaults()
    assert set(cli) == set(library), "an option without a library default (or the reverse)"
    for name, value in cli.items():
        assert value == library[name], (
            f"--{name.replace('_', '-')}: CLI {value!r}, library {library[name]!r}"
        )


def test_every_predict_option_default_is_the_library_default():
    from icdbridge.cli.predict import predict_command
    from icdbridge.model.io import from_pretrained
    from icdbridge.model.predict import Predictor
    from icdbridge.model.routed import RoutedPredictor, load_routed, predict_documents
    from icdbridge.model.routes import DEFAULT_ROUTE
    from icdbridge.spark import predict_parquet
    from icdbridge.spark.predict import predict as spark_predict
    from icdbridge.spark.predict import predict_batch
    from icdbridge.spark.session import DEFAULT_ENGINE

    cli = _option_defaults(predict_command)
    library = {
        "system": _signature_default(from_pretrained, "system"),
        "release": _signature_default(from_pretrained, "release"),
        "hierarchy": _signature_default(load_routed, "hierarchy"),
        "route": _signature_default(load_routed, "route"),
        "top_k": _signature_default(Predictor.predict, "top_k"),
        "explain": _signature_default(Predictor.predict, "explain"),
        "engine": DEFAULT_ENGINE,
        "master": _signature_default(predict_parquet, "master"),
        "operating_point": _signature_default(Predictor.predict, "operating_point"),
    }
    assert cli == library
    assert cli["top_k"] == DEFAULT_TOP_K
    assert cli["operating_point"] == DEFAULT_OPERATING_POINT
    for spark_function in (predict_parquet, spark_predict, predict_batch):
        assert _signature_default(spark_function, "operating_point") == DEFAULT_OPERATING_POINT
    # the routed path (what the CLI calls) has the same defaults as the one-call function
    for name in ("system", "release", "hierarchy", "route"):
        assert _signature_default(predict_documents, name) == cli[name], name
    for name in ("top_k", "explain"):
        assert _signature_default(RoutedPredictor.predict, name) == cli[name], name
        assert _signature_default(predict_documents, name) == cli[name], name
    assert cli["route"] == DEFAULT_ROUTE == "auto"
    assert _signature_default(predict_documents, "operating_point") == DEFAULT_OPERATING_POINT
    assert _signature_default(RoutedPredictor.predict, "operating_point") == DEFAULT_OPERATING_POINT


def test_library_defaults_are_the_published_run():
    """The CodiEsp table's model row trained 25 epochs with 192 negatives, 3 networks, the
    contrastive loss, and description-only label texts: ``train_model()`` with defaults does."""
    train = TrainConfig()
    assert (train.epochs, train.negatives, train.members, train.loss) == (25, 192, 3, "contrastive")
    assert (train.batch_size, train.patience, train.seed) == (16, 5, 0)
    options = LabelTextOptions()
    assert PipelineConfig().label_options == {
        "synonyms": options.synonyms,
        "ancestors": options.ancestors,
    }
    assert (options.synonyms, options.ancestors) == (False, False)


def test_max_ancestors_has_one_default():
    import inspect

    from icdbridge.model.labels.space import LabelSpace
    from icdbridge.model.net.hierarchy import HierarchyMixer

    assert PipelineConfig().max_ancestors == ModelConfig().max_ancestors == DEFAULT_MAX_ANCESTORS
    for component in (LabelSpace, HierarchyMixer):
        default = inspect.signature(component).parameters["max_ancestors"].default
        assert default == DEFAULT_MAX_ANCESTORS, component


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        ({}, {"family_expansion": 0, "use_original": False, "overlap_k": 0, "gloss_pieces": False}),
        ({"gloss_pieces": True, "unknown_key": 1}, {"gloss_pieces": True}),
        ({}, {"shortlist_k": 150}),  # the shortlist size of the models before the default of 300
        ({"shortlist_k": 300}, {"shortlist_k": 300}),
    ],
)
def test_old_saved_settings_keep_what_the_model_was_trained_with(saved, expected):
    config = PipelineConfig.from_dict(saved)
    for key, value in expected.items():
        assert getattr(config, key) == value


def test_model_config_round_trips_and_fills_features():
    config = ModelConfig(dim=8, features=("lexical",))
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert ModelConfig.from_dict({"dim": 8}).features == ModelConfig().features


def test_cli_is_a_typer_command():
    from icdbridge.cli.main import build_app

    app = build_app()
    assert isinstance(app, typer.Typer)


def test_new_models_keep_a_faiss_shortlist_of_300_codes():
    assert PipelineConfig().shortlist_k == 300
    assert PipelineConfig.from_dict(PipelineConfig().to_dict()).shortlist_k == 300


def test_precision_default_is_float32_and_older_models_keep_auto():
    from icdbridge.model.config import DEFAULT_PRECISION, PRECISIONS

    assert DEFAULT_PRECISION == PipelineConfig().precision == "fp32"
    assert set(PRECISIONS) == {"fp32", "bf16", "auto"}
    saved = PipelineConfig(precision="bf16").to_dict()
    assert PipelineConfig.from_dict(saved).precision == "bf16"
    del saved["precision"]  # a model saved before the setting existed encoded with "auto"
    assert PipelineConfig.from_dict(saved).precision == "auto"
