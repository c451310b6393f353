"""Training choices of the label-embedding model, cross-validated over the CodiEsp **train**
split (dev is never read here).

The 500 train documents are cut, seeded, into three folds (167, 167, 166). For each fold the
other 333 or 334 documents are split as the main protocol splits the train split
(``split_train``: 50 *tune* documents for early stopping, calibration and the threshold, the
rest *fit*); the model trains on fit and ranks the held-out fold over the full label space
(every ICD-10-CM 2026 code plus the train spellings it lacks). Each variant reports, over the
500 held-out rankings, MAP and the recall@10/20/50 of codes *unseen* in that fold's training
documents (about ten times the unseen gold pairs the tune slice alone has), and per fold (with
the unseen-code offset and temperature its calibration chose), so that the spread is visible:

- ``default``: one network of the default model (multi-positive contrastive loss, family memory
  features, word-overlap features; the lexical channel also reads the Spanish original of each
  note, and the pieces of its English word gloss join the faiss shortlist and the attention;
  calibration by the harmonic mean of tune MAP and tune unseen recall@20);
- ``no gloss pieces``: the gloss of the original is read by the lexical channel only
  (``PipelineConfig.gloss_pieces = False``, the default before it was measured here);
- ``no original``: the lexical channel reads the English translation only
  (``PipelineConfig.use_original = False``);
- ``family expansion``: the candidates also take in the family (parent, siblings and children)
  of the best 30 shortlist, lexical and neighbour codes (``PipelineConfig.family_expansion =
  30``, the default before the original was read);
- ``no family``: without the family features (``FAMILY_FEATURES``);
- ``no overlap``: without the word-overlap features (``OVERLAP_FEATURES``: the IDF-weighted
  share of a code's title words in the note and in its best sentence);
- ``overlap candidates``: the 50 codes of highest word overlap also join the candidates
  (``PipelineConfig.overlap_k = 50``);
- ``bce``: BCE over positives and sampled negatives instead of the contrastive loss;
- ``shortlist 300``, ``shortlist 600``: faiss shortlists of 300 and 600 codes instead of 150
  (``PipelineConfig.shortlist_k``);
- ``tune slice 100``: tune slices of 100 documents instead of 50 (twice the unseen gold pairs
  the calibration is fitted on, 50 fewer training documents per fold);
- ``hidden codes 0.2``, ``hidden codes 0.4``: 20 % or 40 % of the fit codes hidden from the
  training memory while the network trains (``TrainConfig.hidden_codes``: simulated unseen
  codes); ``cv_hidden_codes.json`` holds them, from ``--variants "hidden codes 0.2" "hidden
  codes 0.4" --train-seeds 13 --out experiments/codiesp_zeroshot/cv_hidden_codes.json``.
- ``index terms``, ``index tables``, ``index terms and tables``: the lexical channel also holds
  the phrases of the ICD-10-CM Index material (``PipelineConfig.index_phrases``: Index to
  Diseases and Injuries; Table of Drugs and Chemicals and Neoplasm Table; both);
  ``cv_index.json`` holds ``default`` and ``index terms and tables`` (seed 13), from
  ``--variants default "index terms and tables" --out
  experiments/codiesp_zeroshot/cv_index.json``.
- ``index aliases``: the Index terms and tables, and the Index paths as label aliases too
  (``PipelineConfig.index_aliases``: more label texts per code in the faiss shortlist, and the
  ``alias_cosine`` pair feature); ``index overlap``: the Index terms and tables, and the word
  overlap of each code's Index phrases with the note and its best sentence as two more pair
  features (``INDEX_OVERLAP_FEATURES``); ``index aliases and overlap``: both. In
  ``cv_aliases.json``, from ``--variants "index aliases" "index overlap" "index aliases and
  overlap" --train-seeds 13 14 15 --out experiments/codiesp_zeroshot/cv_aliases.json`` (one
  variant per run), compared with ``index terms and tables`` of ``cv_index.json``.
- ``index overlap and family expansion 10``, ``... 30``, ``... 60``: the default model
  (``index overlap``) whose candidates also take in the family (parent, siblings, children) of
  the best 10, 30 or 60 shortlist, lexical and neighbour codes
  (``PipelineConfig.family_expansion``): with the Index word overlap the network reads the
  words that set siblings apart. In ``cv_family.json``, from ``--variants "index overlap and
  family expansion 10" --train-seeds 13 14 15 --out
  experiments/codiesp_zeroshot/cv_family.json`` (one variant per run; likewise 30 and 60, and
  ``index overlap`` with seed 13 alone for its candidate ceiling).
- ``index overlap candidates 100``: today's default (``index overlap and family expansion
  60``) whose candidates also take in the 100 codes of highest word overlap with the note's
  Index phrases (``PipelineConfig.index_overlap_k``). In ``cv_index_overlap_candidates.json``.
- ``index overlap, family expansion 60 and external cause index``: today's default whose
  lexical channel also holds the External Cause Index (``index_phrases`` with ``eindex``).
  In ``cv_external_cause.json``.
- ``today, fold label spaces, bases and hidden codes 0.2``: today's default (``today, fold label
  spaces and seventh-character bases``, below) trained with 20 % of the fit codes hidden from the
  training memory (``TrainConfig.hidden_codes``), as ``hidden codes 0.2`` was for the
  titles-alone default. In ``cv_hidden_codes_today.json``.
- ``today, fold label spaces``: today's default (``index overlap and family expansion 60``)
  whose label space in each fold holds the release's codes plus the undefined spellings of that
  fold's **own** training documents (``fold_extras``), as a model trained on them has; every
  other variant takes those of the whole train split, so a held-out note's undefined spelling
  (CodiEsp's ``S62.92X``) is in its label space even when no training note of its fold wrote
  it. ``today, fold label spaces and seventh-character bases``: the same with every
  7th-character base of the release in the label space
  (``PipelineConfig.seventh_character_bases``). Both in ``cv_seventh_character_bases.json``.
- ``index overlap, family expansion 60 and sibling margins``: today's default whose network also
  reads the two sibling margins (``SIBLING_MARGIN_FEATURES``: a code's title and Index word
  overlap with the note minus the best of its siblings'). In ``cv_sibling_margins.json``.

  These, and ``index overlap and family expansion 60`` in ``cv_family.json``, were run with
  ``--objectives``, which also refits the calibration objectives (below) for the variant.

- ``today, bases and weight decay 0.01``, ``... 0.1``: today's default (``today, fold label
  spaces and seventh-character bases``) trained with an AdamW weight decay of 0.01 or 0.1
  instead of the library's 1e-4 (``TrainConfig.weight_decay``; a variant's ``train`` table in
  ``settings.toml`` sets any ``TrainConfig`` field). Screened with seed 13 (2026-12-06,
  ``--variants "today, bases and weight decay 0.01" --train-seeds 13 --out
  experiments/codiesp_zeroshot/cv_training_settings.json``, one variant per run, with the
  negatives below); docs/model.md, *Cross-validated choices*, has the table.
  ``today, bases and negatives 96``, ``... 384``: the same with 96 or 384 sampled negatives per
  training note instead of 192 (``TrainConfig.negatives``).

- ``today, bases and fine-tuning with annotated mentions``: today's default with one epoch of
  encoder fine-tuning (``TrainConfig.finetune_epochs``) on the mined pairs and on the annotated
  mentions of the fold's training notes (their ``evidence``, from CodiEsp's ``trainX.tsv``:
  ``TrainConfig.finetune_evidence``); ``today, bases and fine-tuning``: the mined pairs alone.
  The held-out fold's mentions are never read. Run with ``--train-seeds 13 14 15 --objectives
  --out experiments/codiesp_zeroshot/cv_finetune_evidence.json``.
  ``today, bases and fine-tuning on annotated mentions alone``: the same epoch on the annotated
  mentions only (``TrainConfig.finetune_mined`` off: no mined pairs).
  In ``cv_finetune_annotated.json``, beside today's default rerun on the same code (``--variants
  "today, fold label spaces and seventh-character bases" --train-seeds 13 14 15 --objectives``,
  then the variant with the same flags, one ``--out``). A fine-tuning variant has no ensemble of
  seeds: each seed tunes its own encoder, so the seeds' candidates differ, while the model's
  networks share one tuned encoder.
  ``today, bases and note-side fine-tuning on annotated mentions``: the same epoch on the
  annotated mentions alone, tuning the note side only (``TrainConfig.finetune_labels`` off: the
  label embeddings stay the untuned encoder's and are not embedded again). In
  ``cv_finetune_notes.json``, beside today's default rerun on the same code (same flags).
  With ``--tune-once`` the first seed fine-tunes each fold's encoder and the other seeds'
  networks train on it, as a model's networks share its one tuned encoder, and the seeds'
  ensemble is formed: ``--variants "today, bases and note-side fine-tuning on annotated
  mentions" --train-seeds 13 14 15 --objectives --tune-once --out
  experiments/codiesp_zeroshot/cv_finetune_notes_once.json`` (seed 13 is then the run of
  ``cv_finetune_notes.json``; compare with its default rerun and that rerun's ensemble).

- ``today, bases and family expansion 100``: today's default whose candidates take in the family
  of the 100 best shortlist, lexical and neighbour codes instead of 60
  (``PipelineConfig.family_expansion``). In ``cv_family_today.json``, beside today's default
  rerun on the same code.

- ``today, bases and shortlist 300``: the default of ``today, fold label spaces and
  seventh-character bases`` with a faiss shortlist of 300 codes instead of 150
  (``PipelineConfig.shortlist_k``; the ``shortlist 300`` above was measured with titles alone).
  In ``cv_shortlist_today.json``, from ``--variants "today, bases and shortlist 300"
  --train-seeds 13 14 15 --objectives --out
  experiments/codiesp_zeroshot/cv_shortlist_today.json``; compare with the default rerun of
  ``cv_finetune_notes.json`` (that code scores the default the same: ``--variants "today, fold
  label spaces and seventh-character bases" --train-seeds 13 --objectives --out
  experiments/codiesp_zeroshot/cv_shortlist_today_default.json`` gives seed 13's numbers again).
  Adopted: the library default since is this variant.

- ``today, shortlist 300 and subsumed matches``: today's default whose networks also read the
  subsumed-match flag (``lexical_subsumed``, ``SUBSUMPTION_FEATURES``: every lexical match of the
  code lies inside a longer match of another code). In ``cv_subsumed_matches.json``, from
  ``--variants "today, shortlist 300 and subsumed matches" --train-seeds 13 14 15 --objectives
  --out experiments/codiesp_zeroshot/cv_subsumed_matches.json``; compare with
  ``cv_shortlist_today.json``. Not adopted.

- ``today, shortlist 300 and note-side fine-tuning on annotated mentions``: today's default with
  the note side fine-tuned for one epoch on the annotated mentions alone (as ``today, bases and
  note-side fine-tuning on annotated mentions``, which had the shortlist of 150). In
  ``cv_finetune_notes_today.json``, from ``--variants "today, shortlist 300 and note-side
  fine-tuning on annotated mentions" --train-seeds 13 14 15 --objectives --tune-once --out
  experiments/codiesp_zeroshot/cv_finetune_notes_today.json``; compare with
  ``cv_shortlist_today.json``.

Every variant also reports its **unseen candidate ceiling** (``unseen_ceiling``): the share of
the unseen gold pairs of the held-out folds that reached the candidates at all, whatever their
rank (added with the family-expansion variants; the files written before do not have it).

Every entry written records the software and machine it was produced with (``environment``),
except the calibration-objective tables, which map objective names to results only (the
run they were refitted from carries it).

Each variant is one network (``TrainConfig.members=1``). ``--train-seeds 13 14 15`` trains each
variant once per seed (the folds and tune slices stay those of seed 13; keys ``NAME, seed S``)
and adds the ensemble that averages the seeds' raw logits before the calibration (key ``NAME,
ensemble of seeds 13 14 15``): the spread over seeds says which differences between variants are
noise. That ensemble is what ``train_model`` trains with ``members=3`` and ``seed=13`` (networks
seeded 13, 14, 15, averaged, then calibrated; tested in ``tests/test_model_pipeline.py``): the
default model of that time is the key ``default, ensemble of seeds 13 14 15`` (``default``
keeps the titles alone; today's default model is ``today, bases and shortlist 300``: ``today,
fold label spaces and seventh-character bases`` (``index overlap and family expansion 60`` with
the 7th-character bases, in the fold label spaces that comparison needs, the default before)
with a faiss shortlist of 300 codes).

For the default variant the unseen-code calibration is also refitted on each fold's tune slice
with the other objectives (``Calibrator.map_tolerance``: pure MAP and MAP tolerances 0.01, 0.05,
0.1 against the default harmonic mean) and each is scored on the held-out folds, for every seed
and for the ensemble (keys ``..., calibration objectives``; key ``calibration`` is seed 13's);
``--objectives`` does the same for every variant it runs.
Each of its runs (every seed, and the ensemble) is also
calibrated **out of fold** (key ``..., out-of-fold calibration``): fold ``k`` takes the offset,
temperature and threshold fitted on the held-out rankings of the *other* folds, each document
with the codes its own fold's network saw — the proxy, on these folds, of
``TrainConfig.calibration_folds`` (calibration on out-of-fold scores of every labelled document
instead of the tune slice). ``cv_out_of_fold.json`` holds that comparison, from ``--variants
default --train-seeds 13 14 15 --out experiments/codiesp_zeroshot/cv_out_of_fold.json``.

    python experiments/codiesp_zeroshot/cv_choices.py [--variants NAME ...] [--train-seeds S ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from harness import SETTINGS

from icdbridge.model import mean_scores

HERE = Path(__file__).resolve().parent

_SETTINGS = SETTINGS["cv_choices"]
FOLDS: int = _SETTINGS["folds"]
SEED: int = SETTINGS["protocol"]["seed"]

_DEFAULT: dict = _SETTINGS["default"]


def resolve_variants(default: dict, table: dict[str, dict]) -> dict[str, dict]:
    """Each variant's full settings: ``default`` with the variant's changes, or, where the
    variant names another under ``from``, that variant's settings with the changes (a
    ``train`` table is merged the same way).

    Example:
        >>> table = {"b": {"from": "a", "y": 3}, "a": {"x": 2}}
        >>> resolve_variants({"x": 0, "y": 0}, table)["b"]
        {'x': 2, 'y': 3}
    """
    where = "settings.toml [cv_choices.variants]"

    def resolve(name: str, chain: tuple[str, ...]) -> dict:
        changes = table[name]
        unknown = set(changes) - set(default) - {"from", "train"}
        if unknown:
            raise ValueError(
                f"{where} {name!r}: unknown settings {sorted(unknown)} "
                f"(known: {sorted(default)}, from, train)"
            )
        base = changes.get("from")
        if base is None:
            start = default
        elif base not in table:
            raise ValueError(f"{where} {name!r}: from = {base!r} names no variant")
        elif base in chain:
            raise ValueError(f"{where} {name!r}: from = {base!r} makes a cycle: {chain}")
        else:
            start = resolve(base, (*chain, base))
        own = {k: v for k, v in changes.items() if k != "from"}
        settings = start | own
        if "train" in start and "train" in own:
            settings["train"] = start["train"] | own["train"]
        return settings

    return {name: resolve(name, (name,)) for name in table}


VARIANTS: dict[str, dict] = resolve_variants(_DEFAULT, _SETTINGS["variants"])
"""Variant name → settings (``settings.toml``, ``[cv_choices]``): the default's settings, or
those of the variant named by ``from``, with the variant's changes; the first is the
default."""

OBJECTIVES: dict[str, float | None] = {
    name: None if tolerance == "default" else tolerance
    for name, tolerance in _SETTINGS["objectives"]
}
"""Calibration objectives compared on the default variant (``Calibrator.map_tolerance``)."""


def label_of(name: str, seed: int) -> str:
    """Result key of a variant trained with ``seed`` (the variant's name for :data:`SEED`)."""
    return name if seed == SEED else f"{name}, seed {seed}"


def ensemble_label(name: str, seeds: list[int]) -> str:
    """Result key of a variant's ensemble over the training ``seeds``."""
    return f"{name}, ensemble of seeds {' '.join(map(str, seeds))}"


def oof_label(label: str) -> str:
    """Result key of ``label``'s rankings calibrated out of fold (see :func:`main`)."""
    return f"{label}, out-of-fold calibration"


def objectives_label(label: str) -> str:
    """Result key of ``label``'s rankings calibrated by each objective of :data:`OBJECTIVES`."""
    return f"{label}, calibration objectives"


def variant_of(key: str) -> str | None:
    """The variant a result key belongs to (the keys :func:`label_of`, :func:`ensemble_label`,
    :func:`oof_label` and :func:`objectives_label` make from it), ``None`` for a variant that
    no longer exists or the ``calibration`` table."""
    return next((v for v in VARIANTS if key == v or key.startswith(f"{v}, ")), None)


def result_order(key: str) -> tuple:
    """Sort key of the output: variants in :data:`VARIANTS` order, each followed by its
    calibration table (the default), its other seeds and its ensemble."""
    if key == "calibration":
        return (0, 1, "")
    variant = variant_of(key)
    rest = key[len(variant) + 2 :] if variant is not None else key
    position = list(VARIANTS).index(variant) if variant is not None else len(VARIANTS)
    return (position, 0 if not rest else 3 if rest.startswith("ensemble") else 2, rest)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=HERE / "cv_choices.json")
    parser.add_argument(
        "--train-seeds",
        nargs="+",
        type=int,
        default=[SEED],
        help="training seeds of each variant (folds and tune slices keep seed 13); with several, "
        "also the ensemble that averages the seeds' raw logits (calibrated on the tune slices)",
    )
    parser.add_argument(
        "--objectives",
        action="store_true",
        help="refit the calibration objectives for every variant run (always done for default)",
    )
    parser.add_argument(
        "--tune-once",
        action="store_true",
        help="fine-tuning variants: the first training seed fine-tunes each fold's encoder and "
        "the other seeds' networks train on that encoder, as the networks of a model share one "
        "tuned encoder; the seeds' ensemble is then formed (without it each seed tunes its own "
        "encoder and there is no ensemble)",
    )
    parser.add_argument(
        "--save-raw",
        type=Path,
        help="also pickle each variant's raw scores (per seed, per fold: tune and held-out "
        "rankings, codes seen in fit) to this file, for calibration studies without retraining",
    )
    args = parser.parse_args(argv)
    with_objectives = {"default", *(args.variants if args.objectives else ())}

    import torch

    torch.set_num_threads(2)
    from harness import ExperimentContext, split_train
    from metrics import mean_ap, recall_at_k_by_bucket, train_frequency, unseen_candidate_recall

    from icdbridge.data import load_codiesp
    from icdbridge.environment import software_environment
    from icdbridge.eval import harmonic_mean
    from icdbridge.model import (
        Calibrator,
        LabelTextOptions,
        ModelConfig,
        PipelineConfig,
        TrainConfig,
        extra_codes_of,
        seeded_folds,
        train_model,
    )
    from icdbridge.model.features import FAMILY_FEATURES, OVERLAP_FEATURES, PAIR_FEATURES
    from icdbridge.model.features.registry import (
        INDEX_OVERLAP_FEATURES,
        SIBLING_MARGIN_FEATURES,
        SUBSUMPTION_FEATURES,
    )
    from icdbridge.outputs import write_bytes, write_text

    train = load_codiesp(split="train")
    ctx = ExperimentContext.for_codiesp(train, fit=train, tune=[], dev=[])
    terminology = ctx.terminology
    options = LabelTextOptions(synonyms=False, ancestors=False)
    space = ctx.label_space(options)
    known = ctx.release_codes()
    ctx.lexical()  # built once, before the folds
    window_cache: dict = {}
    parts = seeded_folds(train, FOLDS, SEED)
    stored = json.loads(args.out.read_text()) if args.out.is_file() else {}
    produced = {label_of(name, seed) for name in args.variants for seed in args.train_seeds}
    if len(args.train_seeds) > 1:
        produced |= {ensemble_label(name, args.train_seeds) for name in args.variants}
    tables = set()  # calibration-objective tables: objective name -> result, nothing else
    if "default" in args.variants:
        defaults = {k for k in produced if variant_of(k) == "default"}
        if SEED in args.train_seeds:
            tables.add("calibration")
        produced |= {oof_label(k) for k in defaults}
    tables |= {objectives_label(k) for k in produced if variant_of(k) in with_objectives}
    produced |= tables
    # results of variants that no longer exist are dropped; those not rerun now are kept
    results = {
        k: v
        for k, v in stored.items()
        if k not in produced and (k == "calibration" or variant_of(k) is not None)
    }

    environment = software_environment()

    def write(results: dict) -> None:
        # what this run produced, not the kept entries; an objectives table's environment is
        # on the entry of the run it was refitted from
        for key in (produced - tables) & results.keys():
            results[key].setdefault("environment", environment)
        ordered = {key: results[key] for key in sorted(results, key=result_order)}
        write_text(args.out, json.dumps(ordered, indent=2) + "\n")

    fold_spaces: dict[tuple, tuple] = {}

    def fold_label_space(k: int, training: list, bases: bool, index_phrases: list[str]) -> tuple:
        """Fold ``k``'s label space (built once per fold, bases and Index documents): the
        release's codes (``bases``: and its 7th-character bases) plus the undefined spellings
        of its ``training`` documents; its lexical channel; those spellings."""
        key = (k, bases, tuple(index_phrases))
        if key not in fold_spaces:
            fold_spaces[key] = ctx.fold_label_space(training, options, bases, index_phrases)
        return fold_spaces[key]

    def folds_with(tune_size: int) -> list[tuple]:
        """Per fold: fit and tune documents, held-out documents, training documents."""
        folds = []
        for k, held in enumerate(parts):
            rest = [d for j, part in enumerate(parts) if j != k for d in part]
            folds.append((*split_train(rest, SEED, tune_size), held, rest))
        return folds

    def evaluate(
        raw: list[tuple[list, list, frozenset]],
        folds: list[tuple],
        tolerance: float | None = None,
        out_of_fold: bool = False,
    ):
        """Calibrate each fold on its tune slice (``out_of_fold``: on the held-out rankings of
        the other folds, each with the codes its own network saw), score its held-out fold;
        pooled + per fold."""
        gold, scores, buckets, per_fold, reached = [], [], [], [], []
        for k, ((raw_tune, raw_held, seen), (_, tune, held, rest)) in enumerate(
            zip(raw, folds, strict=True)
        ):
            if out_of_fold:
                others = [j for j in range(len(folds)) if j != k]
                calibrator = Calibrator(map_tolerance=tolerance).fit(
                    [s for j in others for s in raw[j][1]],
                    [set(d.codes) for j in others for d in folds[j][2]],
                    [raw[j][2] for j in others for _ in raw[j][1]],
                )
            else:
                calibrator = Calibrator(map_tolerance=tolerance).fit(
                    raw_tune, [set(d.codes) for d in tune], seen
                )
            fold_scores = [calibrator.apply(r, seen) for r in raw_held]
            fold_gold = [set(d.codes) for d in held]
            # unseen relative to each fold's own training documents
            frequency = train_frequency(rest)
            bucket = recall_at_k_by_bucket(fold_gold, fold_scores, frequency)["unseen"]
            # the candidate ceiling: unseen gold pairs that reached the held-out candidates
            fold_reached = unseen_candidate_recall([set(r) for r in raw_held], fold_gold, frequency)
            reached.append(fold_reached * bucket["n"])
            per_fold.append(
                {
                    "map": round(mean_ap(fold_gold, fold_scores), 4),
                    "unseen_recall@20": round(bucket["recall@20"], 4),
                    "unseen_ceiling": round(fold_reached, 4),
                    "unseen_pairs": bucket["n"],
                    "unseen_offset": calibrator.unseen_offset_,
                    "unseen_temperature": calibrator.unseen_temperature_,
                }
            )
            gold += fold_gold
            scores += fold_scores
            buckets.append(bucket)
        n = sum(b["n"] for b in buckets)
        return {
            "map": round(mean_ap(gold, scores), 4),
            **{
                f"unseen_recall@{k}": round(sum(b[f"recall@{k}"] * b["n"] for b in buckets) / n, 4)
                for k in (10, 20, 50)
            },
            "unseen_ceiling": round(sum(reached) / n, 4),
            "unseen_pairs": n,
            "folds": per_fold,
        }

    def objectives(raw: list[tuple[list, list, frozenset]], folds: list[tuple]) -> dict:
        """Pooled MAP, unseen R@20 and their harmonic mean under each calibration objective."""
        out = {}
        for objective, tolerance in OBJECTIVES.items():
            scored = evaluate(raw, folds, tolerance)
            out[objective] = {
                "map": scored["map"],
                "unseen_recall@20": scored["unseen_recall@20"],
                "harmonic_mean": round(harmonic_mean(scored["map"], scored["unseen_recall@20"]), 4),
            }
        return out

    for name in args.variants:
        variant = VARIANTS[name]
        folds = folds_with(variant["tune_size"])
        features = tuple(
            f
            for f in PAIR_FEATURES
            if (variant["family_features"] or f not in FAMILY_FEATURES)
            and (variant["overlap_features"] or f not in OVERLAP_FEATURES)
            and (variant["index_overlap_features"] or f not in INDEX_OVERLAP_FEATURES)
            and (variant["sibling_margin_features"] or f not in SIBLING_MARGIN_FEATURES)
            and (variant["subsumption_features"] or f not in SUBSUMPTION_FEATURES)
        )
        runs = []  # per seed, per fold: (tune raw scores, held-out raw scores, codes seen in fit)
        tuned: dict[int, tuple] = {}  # --tune-once: fold → (its tuned encoder, label space)
        tunes = variant.get("train", {}).get("finetune_epochs", 0) > 0
        for seed in args.train_seeds:
            raw, epochs = [], []
            started = time.perf_counter()
            for k, (fit, tune, held, _) in enumerate(folds):
                fold_space, fold_lexical, fold_extra = space, None, extra_codes_of(train, known)
                if variant["fold_extras"]:
                    fold_space, fold_lexical, fold_extra = fold_label_space(
                        k, fit + tune, variant["seventh_character_bases"], variant["index_phrases"]
                    )
                pipeline = PipelineConfig(
                    release=terminology.release,
                    encoder=str(ctx.encoder_path),
                    extra_codes=fold_extra,
                    seventh_character_bases=variant["seventh_character_bases"],
                    label_options=options.to_dict(),
                    family_expansion=variant["family_expansion"],
                    overlap_k=variant["overlap_k"],
                    index_overlap_k=variant["index_overlap_k"],
                    shortlist_k=variant["shortlist_k"],
                    use_original=variant["original"],
                    gloss_pieces=variant["gloss_pieces"],
                    index_phrases=list(variant["index_phrases"]),
                    index_aliases=variant["index_aliases"],
                )
                settings = dict(variant.get("train", {}))  # e.g. another weight decay
                encoder = ctx.encoder
                if k in tuned:  # --tune-once: the encoder the first seed tuned for this fold
                    encoder, fold_space = tuned[k]
                    settings["finetune_epochs"] = 0
                result = train_model(
                    fit,
                    tune,
                    pipeline,
                    ModelConfig(features=features),
                    TrainConfig(  # the library's defaults but for these
                        seed=seed,
                        loss=variant["loss"],
                        hidden_codes=variant["hidden_codes"],
                        members=1,  # the ensembles are formed below, from the seeds' runs
                        **settings,
                    ),
                    encoder=encoder,
                    space=fold_space,
                    lexical=fold_lexical or ctx.lexical(tuple(variant["index_phrases"])),
                    window_cache=window_cache,
                    progress=False,
                )
                predictor = result.predictor
                if args.tune_once and result.finetune is not None:
                    tuned[k] = (predictor.encoder, predictor.space)
                predictor.window_cache = window_cache
                seen = frozenset(predictor.seen)
                raw.append((predictor.raw_scores(tune), predictor.raw_scores(held), seen))
                epochs.append(len(result.history))
                print(name, seed, len(raw) - 1, "trained", epochs[-1], "epochs", flush=True)
            runs.append(raw)
            if args.save_raw:
                import pickle

                saved = pickle.loads(args.save_raw.read_bytes()) if args.save_raw.is_file() else {}
                saved[label_of(name, seed)] = raw
                write_bytes(args.save_raw, pickle.dumps(saved))
            summary = evaluate(raw, folds)
            for fold, n in zip(summary["folds"], epochs, strict=True):
                fold["epochs"] = n
            label = label_of(name, seed)
            results[label] = {
                **variant,
                "seed": seed,
                **summary,
                "seconds": round(time.perf_counter() - started, 1),
            }
            if args.tune_once and tunes:
                # the seed whose run fine-tuned the encoder this seed's networks trained on
                results[label]["encoder_tuned_with_seed"] = args.train_seeds[0]
            print(label, {k: v for k, v in results[label].items() if k != "folds"}, flush=True)
            if name == "default":
                results[oof_label(label)] = {"seed": seed, **evaluate(raw, folds, out_of_fold=True)}
                print(oof_label(label), results[oof_label(label)]["map"], flush=True)
            if name in with_objectives:
                results[objectives_label(label)] = objectives(raw, folds)
                # the key the docs have quoted since it was introduced
                if name == "default" and seed == SEED:
                    results["calibration"] = results[objectives_label(label)]
                print("calibration", results[objectives_label(label)], flush=True)
            write(results)
        if len(runs) > 1 and tunes and not args.tune_once:
            # each seed fine-tuned its own encoder, so the seeds rank different candidates; the
            # model's networks share one tuned encoder, which these runs do not reproduce
            print(f"{name}: no ensemble of seeds (each seed fine-tuned its own encoder)")
        elif len(runs) > 1:
            averaged = [
                (
                    [mean_scores(docs) for docs in zip(*(r[k][0] for r in runs), strict=True)],
                    [mean_scores(docs) for docs in zip(*(r[k][1] for r in runs), strict=True)],
                    runs[0][k][2],
                )
                for k in range(len(folds))
            ]
            label = ensemble_label(name, args.train_seeds)
            results[label] = {
                **variant,
                "seeds": list(args.train_seeds),
                **evaluate(averaged, folds),
            }
            print(label, {k: v for k, v in results[label].items() if k != "folds"}, flush=True)
            if name == "default":
                results[oof_label(label)] = {
                    "seeds": list(args.train_seeds),
                    **evaluate(averaged, folds, out_of_fold=True),
                }
                print(oof_label(label), results[oof_label(label)]["map"], flush=True)
            if name in with_objectives:
                results[objectives_label(label)] = objectives(averaged, folds)
                print("calibration", results[objectives_label(label)], flush=True)
            write(results)


if __name__ == "__main__":
    main()
