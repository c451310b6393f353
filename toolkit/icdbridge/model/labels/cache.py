"""Label embeddings for a whole terminology release, cached on disk.

:func:`embed_labels` encodes the label text (:mod:`icdbridge.model.labels.texts`) of every code with
a :class:`~icdbridge.model.text.encoder.TextEncoder` and returns :class:`LabelEmbeddings` — the
codes in
order and an ``(N, dim)`` L2-normalised float32 matrix.

Cache: results are stored under ``cache_dir()/label_embeddings/`` as a safetensors matrix plus a
JSON sidecar (codes, texts, options). The cache key is a SHA-256 of the encoder identity
(:meth:`TextEncoder.identity`: a hash of its weights, plus its inference precision), the
``max_length`` used, and every
``(code, label text)`` pair — so the cache is reused as long as the label texts are the same and
rebuilt when they change (new release, other options, fine-tuned encoder). When it is rebuilt,
texts already encoded by the same encoder in any other cache file are reused, so a new release
only encodes its new or changed texts. Every cache hit marks the set as used (the matrix file's
modification time), so :func:`cached_label_sets` can tell which sets are stale and
:func:`remove_label_sets` (``icdbridge cache clear``) can free them: a fine-tuned encoder, another
release or other label-text options each add a set of about 150 MB for ICD-10-CM. Building a
set and removing sets hold the folder's lock file (``.lock``, :mod:`filelock`), so a removal
waits for a build in progress, and two processes that need the same new set encode it once.

Speed (see ``experiments/bench_predict.py``): identical texts are encoded once, batches are
length-sorted (little padding), encoding runs under ``torch.inference_mode`` (and bfloat16
autocast on CPUs with AMX / AVX512-BF16, see :func:`~icdbridge.model.text.encoder.bf16_supported`),
and
labels are truncated at ``max_length`` tokens (default 64: the description and its nearest
ancestors fit; about 5% of full label texts lose the end of their last ancestor title).

Example:
    >>> from icdbridge.codes import get_terminology
    >>> from icdbridge.model.text.encoder import TextEncoder
    >>> labels = embed_labels(TextEncoder(), get_terminology("icd10cm"))  # doctest: +SKIP
    >>> labels.matrix.shape  # doctest: +SKIP
    torch.Size([74719, 384])
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from filelock import FileLock

from icdbridge.model.labels.texts import LabelTextOptions, label_texts
from icdbridge.outputs import atomic_file, write_text

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.model.text.encoder import TextEncoder

log = logging.getLogger(__name__)

CACHE_SUBDIR = "label_embeddings"
LOCK_NAME = ".lock"
DEFAULT_LABEL_MAX_LENGTH = 64


@dataclass
class LabelEmbeddings:
    """Embeddings of a label space.

    Attributes:
        codes: Codes in row order.
        matrix: ``(len(codes), dim)`` float32 tensor, rows L2-normalised.
        texts: The label text of each code (same order).
        key: Cache key (SHA-256 hex) of this set; ``""`` when not cached.
        encoded: Distinct texts the encoder embedded to make this set (0: all from the cache).
    """

    codes: list[str]
    matrix: torch.Tensor
    texts: list[str] = field(default_factory=list)
    key: str = ""
    encoded: int = 0

    def __post_init__(self) -> None:
        if len(self.codes) != self.matrix.shape[0]:
            raise ValueError(f"{len(self.codes)} codes but {self.matrix.shape[0]} rows")
        self._index = {code: i for i, code in enumerate(self.codes)}

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.matrix.shape[1])

    def index_of(self, code: str) -> int:
        """Row of ``code`` (raises ``KeyError`` when absent)."""
        return self._index[code]

    def __contains__(self, code: object) -> bool:
        return code in self._index

    def subset(self, codes: Sequence[str]) -> LabelEmbeddings:
        """The embeddings of ``codes`` only, in that order."""
        rows = torch.tensor([self._index[c] for c in codes], dtype=torch.long)
        texts = [self.texts[i] for i in rows.tolist()] if self.texts else []
        return LabelEmbeddings(list(codes), self.matrix[rows], texts)


def label_cache_folder(cache_folder: str | Path | None = None) -> Path:
    """The folder of the label-embedding cache: ``cache_folder``, or by default
    ``cache_dir()/label_embeddings`` (:func:`icdbridge.paths.cache_dir`, ``$ICDBRIDGE_CACHE``)."""
    from icdbridge.paths import cache_dir

    return Path(cache_folder) if cache_folder is not None else cache_dir() / CACHE_SUBDIR


def _folder_lock(folder: Path) -> FileLock:
    """The lock held while a set is written into ``folder`` or sets are removed from it."""
    return FileLock(str(folder / LOCK_NAME))


def cache_key(encoder_id: str, max_length: int, codes: Sequence[str], texts: Sequence[str]) -> str:
    """SHA-256 over the encoder identity, ``max_length`` and every (code, text) pair."""
    digest = hashlib.sha256()
    digest.update(f"{encoder_id}\n{max_length}\n".encode())
    for code, text in zip(codes, texts, strict=True):
        digest.update(f"{code}\t{text}\n".encode())
    return digest.hexdigest()


def safe_name(text: str, limit: int = 40) -> str:
    """A file-name slug of ``text``: letters, digits, ``_`` and ``-`` only, plus a short hash of
    ``text`` whenever the slug differs from it (so two names never share a slug).

    A custom hierarchy's ``system`` field is free text (``"../../escaped"``); it never becomes a
    path of its own.

    Example:
        >>> safe_name("icd10cm-2026")
        'icd10cm-2026'
        >>> safe_name("../../escaped")
        'escaped-ea03bc47'
    """
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-.")[:limit] or "labels"
    if slug == text:
        return slug
    return f"{slug}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def _cache_paths(folder: Path, prefix: str, key: str) -> tuple[Path, Path]:
    from icdbridge.paths import inside

    stem = f"{safe_name(prefix)}-{key[:20]}"
    return inside(folder, f"{stem}.safetensors"), inside(folder, f"{stem}.json")


def _load(matrix_path: Path, meta_path: Path) -> tuple[dict, torch.Tensor] | None:
    """The sidecar and matrix of a cached set, or ``None`` when either is unreadable or they
    disagree (a truncated or garbage file is never used)."""
    from safetensors.torch import load_file

    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        matrix = load_file(str(matrix_path))["matrix"]
    except Exception:  # OSError, bad JSON or UTF-8, SafetensorError, missing tensor
        return None
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("codes"), list)
        or not isinstance(meta.get("texts"), list)
        or matrix.ndim != 2
        or matrix.dtype != torch.float32
        or matrix.shape[0] != len(meta["codes"])
        or not bool(torch.isfinite(matrix).all())
    ):
        return None
    return meta, matrix


def _reusable_vectors(folder: Path, encoder_id: str, max_length: int) -> dict[str, torch.Tensor]:
    """Text → vector from every cache file made by the same encoder and max_length."""
    known: dict[str, torch.Tensor] = {}
    for meta_path in sorted(folder.glob("*.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if (
            not isinstance(meta, dict)
            or meta.get("encoder") != encoder_id
            or meta.get("max_length") != max_length
        ):
            continue
        loaded = _load(meta_path.with_suffix(".safetensors"), meta_path)
        if loaded is None:
            continue
        for text, row in zip(meta["texts"], loaded[1], strict=False):
            known.setdefault(text, row)
    return known


def embed_labels(
    encoder: TextEncoder,
    terminology: Terminology,
    codes: Iterable[str] | None = None,
    options: LabelTextOptions | None = None,
    *,
    cache: bool = True,
    cache_folder: str | Path | None = None,
    batch_size: int = 128,
    max_length: int = DEFAULT_LABEL_MAX_LENGTH,
    progress: bool = False,
) -> LabelEmbeddings:
    """Embed the label texts of ``codes`` (default: every leaf code), using the on-disk cache.

    Args:
        encoder: The label encoder.
        terminology: The terminology release the texts come from.
        codes: Codes to embed (undefined codes use their longest defined prefix's text, see
            :class:`LabelTextOptions`); ``None``: ``terminology.codes(leaves_only=True)``.
        options: How label texts are built (default :class:`LabelTextOptions`).
        cache: Read and write the disk cache.
        cache_folder: Folder of the cache; ``None``: ``cache_dir()/label_embeddings``.
        batch_size: Texts per forward pass.
        max_length: Token limit per label text (part of the cache key).
        progress: Show a progress bar while encoding.

    Returns:
        :class:`LabelEmbeddings` in the order of ``codes`` (normalised codes as keys).
    """
    options = options or LabelTextOptions()
    texts_by_code = label_texts(terminology, codes, **options.to_dict())
    code_list = list(texts_by_code)
    return embed_texts(
        encoder,
        code_list,
        [texts_by_code[c] for c in code_list],
        f"{terminology.system}-{terminology.release}",
        {
            "system": terminology.system,
            "release": terminology.release,
            "options": options.to_dict(),
        },
        cache=cache,
        cache_folder=cache_folder,
        batch_size=batch_size,
        max_length=max_length,
        progress=progress,
    )


def embed_texts(
    encoder: TextEncoder,
    codes: Sequence[str],
    texts: Sequence[str],
    prefix: str,
    about: dict,
    *,
    cache: bool = True,
    cache_folder: str | Path | None = None,
    batch_size: int = 128,
    max_length: int = DEFAULT_LABEL_MAX_LENGTH,
    progress: bool = False,
) -> LabelEmbeddings:
    """Embed one text per row, labelled by ``codes`` (a code may own several rows), through
    the cache: what :func:`embed_labels` does once it has the label texts, and what the label
    aliases of :mod:`~icdbridge.model.labels.aliases` use.

    Args:
        encoder: The encoder.
        codes: The code of each row.
        texts: The text of each row.
        prefix: Start of the cache file names (``SYSTEM-RELEASE``).
        about: What the sidecar records of the set besides its rows (``system``, ``release``,
            ``options``).
        cache: Read and write the disk cache.
        cache_folder: Folder of the cache; ``None``: ``cache_dir()/label_embeddings``.
        batch_size: Texts per forward pass.
        max_length: Token limit per text (part of the cache key).
        progress: Show a progress bar while encoding.
    """
    code_list, texts = list(codes), list(texts)
    if not cache:
        matrix = encoder.embed(
            texts, batch_size=batch_size, max_length=max_length, progress=progress
        )
        return LabelEmbeddings(code_list, matrix, texts, encoded=len(set(texts)))

    folder = label_cache_folder(cache_folder)
    _make_folder(folder)
    encoder_id = encoder.identity()
    key = cache_key(encoder_id, max_length, code_list, texts)
    matrix_path, meta_path = _cache_paths(folder, prefix, key)
    cached = _cached_matrix(matrix_path, meta_path, key)
    if cached is not None:
        return LabelEmbeddings(code_list, cached, texts, key)
    encoded = 0
    with _folder_lock(folder):
        # another process may have built this set while we waited for the lock
        cached = _cached_matrix(matrix_path, meta_path, key)
        if cached is None:
            cached, encoded = _build(
                encoder,
                encoder_id,
                about,
                code_list,
                texts,
                key,
                (matrix_path, meta_path),
                batch_size=batch_size,
                max_length=max_length,
                progress=progress,
            )
    return LabelEmbeddings(code_list, cached, texts, key, encoded)


def _make_folder(folder: Path) -> None:
    """Create the cache folder; a file in its way or an impossible path is a one-line error."""
    from icdbridge.paths import CACHE_ENV, make_folder

    make_folder(folder, "label-embedding cache folder", f"point {CACHE_ENV} to a writable folder")


def _cached_matrix(matrix_path: Path, meta_path: Path, key: str) -> torch.Tensor | None:
    """The cached matrix of the set ``key`` (marked used), or ``None`` when it is not cached.

    A set whose files exist but cannot be read (truncated, garbage, a matrix that disagrees with
    its sidecar) is reported once on the log and treated as absent: it is rebuilt and replaced.
    """
    if not (matrix_path.is_file() and meta_path.is_file()):
        return None
    loaded = _load(matrix_path, meta_path)
    if loaded is None:
        log.warning(
            "%s: damaged label-embedding cache file (truncated or not a matrix); rebuilding it",
            matrix_path,
        )
        return None
    if loaded[0].get("key") != key:
        return None
    _mark_used(matrix_path)
    return loaded[1]


def _build(
    encoder: TextEncoder,
    encoder_id: str,
    about: dict,
    code_list: list[str],
    texts: list[str],
    key: str,
    paths: tuple[Path, Path],
    *,
    batch_size: int,
    max_length: int,
    progress: bool,
) -> tuple[torch.Tensor, int]:
    """Encode the texts not cached yet and write the set ``key`` to ``paths`` (matrix, sidecar);
    the caller holds the folder's lock. Returns the matrix and the number of texts encoded."""
    from safetensors.torch import save_file

    matrix_path, meta_path = paths
    known = _reusable_vectors(matrix_path.parent, encoder_id, max_length)
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        fresh = encoder.embed(
            missing, batch_size=batch_size, max_length=max_length, progress=progress
        )
        known.update(zip(missing, fresh, strict=True))
    matrix = torch.stack([known[t] for t in texts]).contiguous().float()
    # temporary files beside the targets, renamed on success: readers never see half a file,
    # and an interrupted build leaves nothing behind (see icdbridge.outputs)
    with atomic_file(matrix_path) as tmp_matrix:
        save_file({"matrix": matrix}, str(tmp_matrix))
    meta = {
        "key": key,
        **about,
        "encoder": encoder_id,
        "encoder_path": str(encoder.path),
        "max_length": max_length,
        "codes": code_list,
        "texts": texts,
        "encoded": len(missing),
    }
    write_text(meta_path, json.dumps(meta, ensure_ascii=False))
    return matrix, len(missing)


def _mark_used(path: Path) -> None:
    """Set ``path``'s modification time to now (a read-only cache stays as it is)."""
    with contextlib.suppress(OSError):
        os.utime(path)


@dataclass(frozen=True)
class CachedLabelSet:
    """One set of label embeddings in the cache (see :func:`cached_label_sets`).

    Attributes:
        name: The file stem shared by the set's files (``SYSTEM-RELEASE-KEY``).
        files: The files of the set (matrix, sidecar, and any leftover temporary file).
        key: Cache key (``""`` when the sidecar is missing or unreadable).
        system: Code system of the labels (``"?"`` when unknown).
        release: Release of the labels (``"?"`` when unknown).
        encoder_path: Folder of the encoder that embedded them (``""`` when unknown).
        precision: Inference precision of that encoder (``fp32`` or ``bf16``).
        options: The label-text options (:class:`~icdbridge.model.labels.texts.LabelTextOptions`).
        n_codes: Number of labels.
        size_bytes: Size of all :attr:`files`.
        last_used: When the set was written or last read from the cache.
        complete: Whether the set has its matrix and a readable sidecar (an incomplete set,
            such as the leftover of an interrupted build, is never used and can only be removed).
    """

    name: str
    files: tuple[Path, ...]
    key: str
    system: str
    release: str
    encoder_path: str
    precision: str
    options: dict
    n_codes: int
    size_bytes: int
    last_used: datetime
    complete: bool


def cached_label_sets(cache_folder: str | Path | None = None) -> list[CachedLabelSet]:
    """The label-embedding sets in the cache, most recently used first.

    Args:
        cache_folder: Folder of the cache; ``None``: ``cache_dir()/label_embeddings``.

    Returns:
        One :class:`CachedLabelSet` per file stem (``SYSTEM-RELEASE-KEY``), complete or not.
    """
    folder = label_cache_folder(cache_folder)
    if not folder.is_dir():
        return []
    stems: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            stems.setdefault(path.name.split(".", 1)[0], []).append(path)
    out = []
    for stem, files in stems.items():
        matrix, sidecar = folder / f"{stem}.safetensors", folder / f"{stem}.json"
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        encoder = str(meta.get("encoder", ""))
        stats = [f.stat() for f in files]
        out.append(
            CachedLabelSet(
                name=stem,
                files=tuple(files),
                key=str(meta.get("key", "")),
                system=str(meta.get("system", "?")),
                release=str(meta.get("release", "?")),
                encoder_path=str(meta.get("encoder_path", "")),
                precision=encoder.rpartition(":")[2] if ":" in encoder else "fp32",
                options=dict(meta.get("options", {})),
                n_codes=len(meta.get("codes", ())),
                size_bytes=sum(s.st_size for s in stats),
                last_used=datetime.fromtimestamp(max(s.st_mtime for s in stats)),
                complete=bool(meta.get("key")) and matrix.is_file(),
            )
        )
    return sorted(out, key=lambda entry: (entry.last_used, entry.key), reverse=True)


def remove_label_sets(sets: Iterable[CachedLabelSet]) -> int:
    """Delete the files of ``sets`` from the cache; returns the bytes freed.

    A removed set is simply encoded again the next time it is needed (for ICD-10-CM with the
    default encoder, 1.5 to 2 minutes in bf16 on a 2-core CPU; texts shared with a set that is
    kept are reused). Each folder's files are removed under its lock: a build in progress there
    is waited for, never cut short.
    """
    by_folder: dict[Path, list[Path]] = {}
    for entry in sets:
        for path in entry.files:
            by_folder.setdefault(path.parent, []).append(path)
    freed = 0
    for folder, paths in by_folder.items():
        with _folder_lock(folder):
            for path in paths:
                try:
                    size = path.stat().st_size
                    path.unlink()
                except FileNotFoundError:
                    continue
                freed += size
    return freed
