"""The label space: label embeddings of a release, derived ancestor rows and the faiss index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from icdbridge.codes.bases import seventh_character_bases
from icdbridge.model.config import DEFAULT_MAX_ANCESTORS, LABEL_SPACES, PipelineConfig
from icdbridge.model.features.registry import LABEL_FEATURES
from icdbridge.model.labels.tree import label_features
from icdbridge.model.progress import phase

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.model.labels.aliases import LabelAliases
    from icdbridge.model.labels.cache import LabelEmbeddings
    from icdbridge.model.lexical.overlap import WordOverlap
    from icdbridge.model.text.encoder import TextEncoder


class LabelSpace:
    """Label embeddings of a release, derived ancestor rows, and the faiss index.

    Args:
        labels: Embeddings of the candidate codes.
        terminology: The release the codes belong to.
        max_ancestors: Ancestors per code.
    """

    def __init__(
        self,
        labels: LabelEmbeddings,
        terminology: Terminology,
        max_ancestors: int = DEFAULT_MAX_ANCESTORS,
    ):
        from icdbridge.model.labels.index import CandidateIndex
        from icdbridge.model.labels.texts import nearest_defined

        self.terminology = terminology
        self.codes = list(labels.codes)
        self.texts = list(labels.texts)
        self.encoded = labels.encoded  # label texts encoded to build it (0: all from the cache)
        self.row = {code: i for i, code in enumerate(self.codes)}
        n = len(self.codes)
        ancestor_rows: dict[str, int] = {}
        table = torch.full((n, max_ancestors), -1, dtype=torch.long)
        self.label_features = torch.zeros(n, len(LABEL_FEATURES))
        self.family: dict[str, str] = {}
        for i, code in enumerate(self.codes):
            resolved = nearest_defined(terminology, code)
            self.family[code] = family_of(terminology, resolved) if resolved else code
            if resolved is None:
                continue
            self.label_features[i] = torch.tensor(label_features(terminology, code, resolved))
            chain = [] if resolved == code else [resolved]
            chain += terminology.ancestors(resolved)
            for j, ancestor in enumerate(chain[:max_ancestors]):
                table[i, j] = ancestor_rows.setdefault(ancestor, n + len(ancestor_rows))
        # one bottom-up message-passing step: an ancestor row is the mean of its descendants
        sums = torch.zeros(len(ancestor_rows), labels.dim)
        members = table.clone()
        valid = members >= 0
        child = torch.arange(n).unsqueeze(1).expand_as(members)[valid]
        sums.index_add_(0, members[valid] - n, labels.matrix[child])
        ancestors = F.normalize(sums, dim=-1)
        self.matrix = torch.cat([labels.matrix, ancestors]).contiguous()
        self.ancestor_index = torch.cat(
            [table, torch.full((len(ancestor_rows), max_ancestors), -1, dtype=torch.long)]
        )
        self.index = CandidateIndex(self.codes, labels.matrix)
        self.label_aliases: LabelAliases | None = None  # see with_aliases
        self.alias_matrix: torch.Tensor | None = None
        self._alias_offsets = torch.zeros(n + 1, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.codes)

    def with_aliases(
        self, aliases: LabelAliases, encoder: TextEncoder, progress: bool = False
    ) -> LabelSpace:
        """A copy of this space whose codes also have the alias texts ``aliases``
        (:mod:`~icdbridge.model.labels.aliases`; those of codes outside the space are left out),
        embedded by ``encoder`` through the label-embedding cache: the faiss index searches
        titles and aliases, each code scored by its best text, :meth:`alias_cosines` reads
        them, and :attr:`label_aliases` keeps them for a saved model (``progress``: one line for
        the embedding). The label matrix,
        ancestor rows and features are shared with this space."""
        import copy

        from icdbridge.model.labels.index import CandidateIndex

        aliases = aliases.restricted(self.codes)
        space = copy.copy(self)
        space.label_aliases = aliases
        if not len(aliases):  # no alias in this space: titles alone
            return space
        with phase(f"{len(aliases):,} Index aliases of the label space", progress):
            embedded = aliases.embed(encoder, self.terminology, progress)
        # rows grouped by code (in label-space order): a code's aliases are one slice
        order = sorted(range(len(aliases)), key=lambda i: self.row[aliases.codes[i]])
        matrix = embedded.matrix[torch.tensor(order, dtype=torch.long)]
        counts = torch.bincount(
            torch.tensor([self.row[c] for c in aliases.codes], dtype=torch.long),
            minlength=len(self),
        )
        space.alias_matrix = matrix
        space._alias_offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
        space.index = CandidateIndex(
            [*self.codes, *(aliases.codes[i] for i in order)],
            torch.cat([self.matrix[: len(self)], matrix]),
        )
        return space

    def alias_cosines(self, pieces: torch.Tensor, codes: Sequence[str]) -> list[float]:
        """For each code, the best cosine between a piece (``pieces``: ``(n, dim)``,
        normalised) and any of its aliases; 0 for a code without one (and for every code of a
        space without aliases)."""
        if self.alias_matrix is None or not len(pieces):
            return [0.0] * len(codes)
        rows = torch.tensor([self.row[c] for c in codes], dtype=torch.long)
        starts, ends = self._alias_offsets[rows], self._alias_offsets[rows + 1]
        counts = ends - starts
        owner = torch.repeat_interleave(torch.arange(len(codes)), counts)
        if not len(owner):
            return [0.0] * len(codes)
        first = torch.repeat_interleave(starts - counts.cumsum(0) + counts, counts)
        alias_rows = first + torch.arange(len(owner))
        best = (self.alias_matrix[alias_rows] @ pieces.to(torch.float32).T).amax(dim=1)
        out = torch.zeros(len(codes))
        out.scatter_reduce_(0, owner, best, reduce="amax", include_self=False)
        return out.tolist()

    @cached_property
    def overlap(self) -> WordOverlap:
        """Title words of every code, for the ``"overlap"`` pair feature (built on first use)."""
        from icdbridge.model.lexical.overlap import WordOverlap

        return WordOverlap.build(self.terminology, self.codes)

    def family_key(self, code: str) -> str:
        """The family (:func:`family_of`) of a code, also of one outside the label space."""
        key = self.family.get(code)
        if key is None:
            from icdbridge.model.labels.texts import nearest_defined

            resolved = nearest_defined(self.terminology, code)
            key = family_of(self.terminology, resolved) if resolved else code
        return key

    def relatives(self, code: str, limit: int = 20) -> list[str]:
        """Parent, siblings and children of a code that are in the label space (at most
        ``limit`` siblings and ``limit`` children)."""
        from icdbridge.model.labels.tree import siblings

        node = self.terminology.get(code)
        if node is None:
            return []
        out = [node.parent] if node.parent else []
        out += siblings(self.terminology, node.code, limit)
        out += self.terminology.children(node.code)[:limit]
        return [c for c in out if c in self.row]


def family_of(terminology: Terminology, code: str) -> str:
    """The family of a defined code: its category (the nearest node of kind ``"category"``,
    itself included), else its parent, else itself."""
    for node in [code, *terminology.ancestors(code)]:
        if terminology.kind(node) == "category":
            return node
    return terminology.parent(code) or code


def resolve_seventh_character_bases(
    terminology: Terminology, codes: Iterable[str], setting: bool | None
) -> tuple[bool, str]:
    """``PipelineConfig.seventh_character_bases`` resolved for training codes ``codes``
    (``None``: "auto", on when one of them is a base), and one line that says which and why.

    Example:
        >>> from icdbridge.codes import get_terminology
        >>> icd = get_terminology("icd10cm")
        >>> resolve_seventh_character_bases(icd, ["S62.92X", "I10"], None)[0]
        True
        >>> resolve_seventh_character_bases(icd, ["S62.92XA", "I10"], None)[1]
        '7th-character bases: off (auto: no training code is written without its 7th character)'
    """
    if setting is not None:
        return setting, f"7th-character bases: {'on' if setting else 'off'} (asked)"
    bases = set(seventh_character_bases(terminology))
    written = sorted({code for code in codes if code in bases})
    if not written:
        return False, (
            "7th-character bases: off (auto: no training code is written without its 7th character)"
        )
    codes_are = "code is" if len(written) == 1 else "codes are"
    return True, (
        f"7th-character bases: on (auto: {len(written)} training {codes_are} written without "
        f"the 7th character, e.g. {', '.join(written[:3])}; the label space takes in all "
        f"{len(bases):,} of {terminology.name} {terminology.release})"
    )


def label_space_codes(
    terminology: Terminology,
    kind: str = "all",
    extra: Iterable[str] = (),
    bases: bool = False,
) -> list[str]:
    """The codes of a release a label space starts from: ``"all"`` codes or only ``"leaves"``,
    with ``bases`` its 7th-character bases (:func:`seventh_character_bases`), then the ``extra``
    codes not among them, once each, in the order given (e.g. the training codes the release
    does not define).

    Raises:
        ValueError: unknown kind.
    """
    if kind not in LABEL_SPACES:
        raise ValueError(f"unknown label space {kind!r} (expected one of {LABEL_SPACES})")
    codes = terminology.codes(leaves_only=kind == "leaves")
    if bases:
        codes += seventh_character_bases(terminology)
    known = set(codes)
    for code in extra:
        if code not in known:
            known.add(code)
            codes.append(code)
    return codes


def build_label_space(
    encoder: TextEncoder,
    terminology: Terminology,
    config: PipelineConfig,
    codes: Sequence[str] | None = None,
    progress: bool = False,
) -> LabelSpace:
    """Embed (through the on-disk cache) the label space and wrap it in a :class:`LabelSpace`.

    Args:
        encoder: Label encoder.
        terminology: The release.
        config: Pipeline settings (label-text options, extra codes, ancestors).
        codes: The label space; ``None``: the codes of ``config.label_space`` (with its
            7th-character bases when ``config.seventh_character_bases`` is true) plus
            ``config.extra_codes`` that the release can describe.
        progress: Show a progress bar while encoding labels.
    """
    from icdbridge.model.labels.cache import embed_labels
    from icdbridge.model.labels.texts import LabelTextOptions, nearest_defined

    if codes is None:
        codes = label_space_codes(
            terminology, config.label_space, bases=config.seventh_character_bases is True
        )
        known = set(codes)
        extra = [
            c
            for c in config.extra_codes
            if c not in known and nearest_defined(terminology, c) is not None
        ]
        codes = codes + extra
    options = LabelTextOptions(**config.label_options)
    labels = embed_labels(encoder, terminology, codes, options, progress=progress)
    return LabelSpace(labels, terminology, config.max_ancestors)
