"""Resolution of Index references: see / see-also targets, dash codes, category notes, releases.

* :class:`CodeExpander` — what an Index code stands for in one ICD-10-CM release: a billable code
  stays itself; a dash code (``S32.40-``: "more characters needed") or a non-billable code
  (``T39.1X5``, which needs a 7th character) becomes the billable codes below it in the tabular
  list of that release; a code the release does not define is ``not_defined``. Expanding the
  FY2025 Index in the ICD-10-CM 2026 tabular list is how Index codes are carried into a newer
  label space: codes split since FY2025 reach their new children, deleted codes are counted.
* :func:`category_note_codes` — see-category notes such as ``"E08-E13 with .620"``.
* :class:`ReferenceResolver` — see / see-also texts (``"Pain, abdominal"``) matched to the terms
  they name, main term first, then subterms; a title written with commas (``"Diabetes,
  diabetic"``) may be named by its first word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from icdbridge.codes.base import Terminology
from icdbridge.codes.icd10cm import canonical_icd10
from icdbridge.codes.index.model import CodeExpansion, CrossReference, IndexDocument, IndexTerm

_NON_WORD = re.compile(r"[^a-z0-9]+")


def undash(code: str) -> str:
    """The code without its trailing ``-`` / ``.-`` ("more characters needed")."""
    return code.strip().rstrip("-").rstrip(".")


class CodeExpander:
    """Expands Index codes to billable codes of one ICD-10-CM release (results cached).

    Args:
        terminology: The ICD-10-CM release, e.g. ``get_terminology("icd10cm", "2026")``.

    Example:
        >>> from icdbridge.codes import get_terminology
        >>> expand = CodeExpander(get_terminology("icd10cm", "2026"))
        >>> e = expand("S32.40-")
        >>> e.status, "S32.401A" in e.targets
        ('expanded', True)
    """

    def __init__(self, terminology: Terminology) -> None:
        self.terminology = terminology
        self._cache: dict[str, CodeExpansion] = {}
        self._leaves: dict[str, tuple[str, ...]] = {}

    def leaves(self, code: str) -> tuple[str, ...]:
        """Billable codes at or below the canonical, defined ``code``, in tabular order."""
        found = self._leaves.get(code)
        if found is None:
            index = self.terminology._index
            node = index.nodes[code]
            if self.terminology._leaf(node):
                found = (code,)
            else:
                found = tuple(
                    leaf for child in index.children.get(code, ()) for leaf in self.leaves(child)
                )
            self._leaves[code] = found
        return found

    def __call__(self, code: str) -> CodeExpansion:
        """The expansion of ``code`` as the Index prints it."""
        found = self._cache.get(code)
        if found is None:
            found = self._cache[code] = self._expand(code)
        return found

    def _expand(self, printed: str) -> CodeExpansion:
        terms = self.terminology
        release = terms.release
        canonical = canonical_icd10(undash(printed).upper())
        if canonical is None:
            return CodeExpansion(printed, release, "not_defined", ())
        if canonical in terms._index.nodes:
            leaves = self.leaves(canonical)
            status = "billable" if leaves == (canonical,) else "expanded"
            return CodeExpansion(printed, release, status, leaves)
        # Placeholder prefixes such as T51.3X: the billable codes under the longest defined
        # prefix that start with the printed characters.
        undotted = canonical.replace(".", "")
        nearest = None
        for cut in range(len(undotted) - 1, 2, -1):
            prefix = canonical_icd10(undotted[:cut])
            if prefix is not None and terms.get(prefix) is not None:
                nearest = prefix
                break
        if nearest is None and terms.get(undotted[:3]) is not None:
            nearest = undotted[:3]
        if nearest is None:
            return CodeExpansion(printed, release, "not_defined", ())
        leaves = tuple(
            c
            for c in terms.descendants(nearest)
            if c.replace(".", "").startswith(undotted) and terms.is_leaf(c)
        )
        if leaves:
            return CodeExpansion(printed, release, "expanded", leaves)
        return CodeExpansion(printed, release, "not_defined", (), nearest=nearest)


_NOTE = re.compile(
    r"(?P<first>[A-Z][0-9][0-9A-Z])(?:\s*-\s*(?P<last>[A-Z][0-9][0-9A-Z]))?"
    r"(?:[^.]*?\bwith\s+(?:(?P<nth>\w+)\s+character\s+)?\.?\s*(?P<suffix>[0-9A-Z]{1,4}-?))?",
)
_ORDINALS = {
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "6th": 6,
    "seventh": 7,
    "7th": 7,
}


@cache
def _categories(terminology: Terminology) -> tuple[str, ...]:
    return tuple(
        node.code for node in terminology.nodes() if node.kind == "category" and len(node.code) == 3
    )


def category_note_codes(
    note: str, terminology: Terminology, expander: CodeExpander | None = None
) -> tuple[str, ...]:
    """Billable codes a see-category note names, e.g. ``"E08-E13 with .620"``.

    Understood forms: a category or range (``"category T71"``, ``"categories O03-O04"``), with
    a suffix appended to each category (``"with .620"``, ``"with .3-"``), with a character at a
    position (``"with fourth character .0"``, ``"with 6th character 5"``) or as the final
    character (``"with final character .6"``). Anything else gives ``()``.

    Example:
        >>> from icdbridge.codes import get_terminology
        >>> category_note_codes("E08-E13 with .620", get_terminology("icd10cm"))
        ('E08.620', 'E09.620', 'E10.620', 'E11.620', 'E13.620')
    """
    match = _NOTE.search(note)
    if match is None:
        return ()
    first, last = match["first"], match["last"] or match["first"]
    categories = [c for c in _categories(terminology) if first <= c <= last]
    leaf = terminology.is_leaf
    expand = expander or CodeExpander(terminology)
    suffix, nth = match["suffix"], (match["nth"] or "").lower()
    out: list[str] = []
    for category in categories:
        if suffix is None:
            out.extend(expand(category).targets)
        elif nth == "final":
            out.extend(
                c for c in terminology.descendants(category) if leaf(c) and c.endswith(suffix)
            )
        elif nth in _ORDINALS:
            position = _ORDINALS[nth] - 1
            out.extend(
                c
                for c in terminology.descendants(category)
                if leaf(c)
                and len(c.replace(".", "")) > position
                and c.replace(".", "")[position : position + len(suffix)] == suffix
            )
        else:
            out.extend(expand(f"{category}.{suffix}").targets)
    return tuple(dict.fromkeys(out))


_PARENTHESES = re.compile(r"\([^)]*\)")
_QUALIFIERS = (" nec", " nos")


def _key(text: str) -> str:
    """Comparison key: lower case, words only, parenthesised words and plural ``s`` dropped."""
    words = _NON_WORD.sub(" ", _PARENTHESES.sub(" ", text.lower())).split()
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words)


def _aliases(title: str) -> list[list[str]]:
    """Keys a reference may use for ``title``, best first: the whole title; its first
    comma-separated part (the head word of ``"Diabetes, diabetic"``); its other parts; the first
    word of a several-word title (``"carpal"`` for ``"carpal bone(s)"``)."""
    parts = [_key(part) for part in title.split(",")]
    first_words = [part.split()[0] for part in parts[:1] if " " in part]
    tiers = [[_key(title)], parts[:1], parts[1:], first_words]
    out: list[list[str]] = []
    for tier in tiers:
        keys = []
        for key in tier:
            keys.append(key)
            keys.extend(key[: -len(q)] for q in _QUALIFIERS if key.endswith(q))
        out.append([k for k in keys if k])
    return out


def _subterm_counts(document: IndexDocument) -> list[int]:
    """Number of terms below each term of ``document`` (by term id)."""
    counts = [0] * len(document.terms)
    for term in reversed(document.terms):  # children come after their parent
        if term.parent is not None:
            counts[term.parent] += counts[term.id] + 1
    return counts


_BEHAVIOURS = frozenset(
    {"malignant", "benign", "secondary", "in situ", "uncertain behavior", "unspecified behavior"}
    | {"malignant primary", "malignant secondary", "uncertain", "unspecified", "primary"}
)
_BRANCHES = 12
_BUDGET = 400
_CONNECTORS = re.compile(r"^(with|without|in|due to|following)\s+(.+)$", re.IGNORECASE)
_TABLE_REFERENCES = ("table of drugs", "neoplasm table", "table of neoplasms", "drug table")


class ReferenceResolver:
    """Resolves see / see-also texts to Index terms across the loaded documents.

    A reference is looked up in its own document first, then in the others (the Index to
    Diseases points into the Neoplasm Table, the Drug Table into itself). A reference starting
    with a lower-case word (``"see butane"``) is first looked up below the referring term's
    ancestors.

    Args:
        documents: The loaded documents, by document id.
    """

    def __init__(self, documents: dict[str, IndexDocument]) -> None:
        self.documents = documents
        self._children: dict[tuple[str, int | None], dict[str, list[IndexTerm]]] = {}
        # The keys that name a term by itself: its whole title and head word (the first two
        # tiers), not one of its other parts or its first word.
        self._naming: dict[tuple[str, int], frozenset[str]] = {}
        tiers: list[list[tuple[IndexTerm, list[str]]]] = [[], [], [], []]
        for document in documents.values():
            subterms = _subterm_counts(document)
            # Within a tier, the term with more subterms first: "Fracture, humerus" names the
            # main entry "Fracture, traumatic", not "Fracture, pathological" above it.
            ranked = sorted(document.terms, key=lambda t: (-subterms[t.id], t.id))
            for term in ranked:
                aliases = _aliases(term.title)
                self._naming[term.source, term.id] = frozenset(k for t in aliases[:2] for k in t)
                for tier, keys in enumerate(aliases):
                    tiers[tier].append((term, keys))
        for tier in tiers:  # whole titles first, then head words, other parts, first words
            for term, keys in tier:
                slot = self._children.setdefault((term.source, term.parent), {})
                for alias in keys:
                    matches = slot.setdefault(alias, [])
                    if not matches or matches[-1] is not term:
                        matches.append(term)

    def resolve(self, term: IndexTerm, kind: str) -> CrossReference | None:
        """The resolved ``kind`` (``"see"`` / ``"see_also"``) reference of ``term``, if any."""
        text = term.see if kind == "see" else term.see_also
        if not text:
            return None
        lowered = text.lower()
        if lowered.startswith(_TABLE_REFERENCES):
            return CrossReference(term, kind, text, "table")
        # "Encephalopathy; and see also Epilepsy": the first reference is resolved.
        parts = [p.strip() for p in text.split(";")[0].split(",") if p.strip()]
        column = ""
        if _key(parts[0]) == "neoplasm":
            # "Neoplasm, breast, malignant": the row "breast" of the Neoplasm Table, column
            # "malignant" (kept as the remainder); "Neoplasm, benign, by site": a whole column.
            instructions = [
                p for p in parts[1:] if _key(p) in _BEHAVIOURS or _key(p).startswith("by ")
            ]
            if instructions:
                column = ", ".join(instructions)
                parts = [p for p in parts if p not in instructions]
                if len(parts) == 1:
                    return CrossReference(term, kind, text, "table", remainder=column)
        sources = [term.source, *(s for s in self.documents if s != term.source)]
        ancestors = self._ancestors(term)
        relative = [(term.source, a.id) for a in ancestors]
        absolute = [(source, None) for source in sources]
        starts = [*relative, *absolute] if text[:1].islower() else [*absolute, *relative]
        # The Index writes "with" / "in" / "due to" as subterm levels of their own: a part
        # "with effusion" is also tried as the two parts "with", "effusion".
        split: list[str] = []
        for part in parts:
            connector = _CONNECTORS.match(part)
            split.extend(connector.groups() if connector else (part,))
        variants = [parts] if split == parts else [parts, split]
        best: tuple[float, int, IndexTerm | None, list[str]] = (0.0, 0, None, parts)
        for variant in variants:
            for start in starts:
                consumed, target = self._walk(start, variant)
                share = consumed / len(variant)
                if share > best[0] and target is not None and target.id != term.id:
                    best = (share, consumed, target, variant)
                    if share == 1.0:
                        break
            if best[0] == 1.0:
                break
        _, consumed, target, parts = best
        if target is None:
            status = "generic" if text[:1].islower() else "unresolved"
            return CrossReference(term, kind, text, status, remainder=text)
        remainder = ", ".join(parts[consumed:])
        status = "partial" if remainder else "resolved"
        return CrossReference(
            term, kind, text, status, target, ", ".join(p for p in (remainder, column) if p)
        )

    def _ancestors(self, term: IndexTerm) -> list[IndexTerm]:
        out = []
        terms = self.documents[term.source].terms
        parent = term.parent
        while parent is not None:
            out.append(terms[parent])
            parent = terms[parent].parent
        return out

    def _walk(
        self, start: tuple[str, int | None], parts: list[str]
    ) -> tuple[int, IndexTerm | None]:
        """Deepest term reachable from ``start`` by consuming leading ``parts``.

        Depth-first over the candidate terms of each step (longest part group first, whole
        titles before head words), stopping at the first path that consumes every part. A path
        that stops short ends at its last term named by its whole title or head word, or named
        unambiguously: ``"placenta"`` is the first word of four subterms of ``Pregnancy ›
        complicated by`` (``placenta accreta``, ``placenta previa``...), so ``"Pregnancy,
        complicated by, placenta, transfusion syndrome"``, whose last parts no subterm matches,
        ends at ``complicated by``, not at one of them.
        """
        source, parent = start
        keys = {
            (i, j): _key(", ".join(parts[i:j]))
            for i in range(len(parts))
            for j in range(i + 1, len(parts) + 1)
        }
        best: list[tuple[int, IndexTerm | None]] = [(0, None)]

        def visit(parent: int | None, consumed: int, budget: list[int]) -> bool:
            if consumed == len(parts):
                return True
            slot = self._children.get((source, parent), {})
            for end in range(len(parts), consumed, -1):
                matches = slot.get(keys[consumed, end], ())
                for candidate in matches[:_BRANCHES]:
                    budget[0] -= 1
                    if budget[0] < 0:
                        return False
                    named = (
                        end == len(parts)
                        or len(matches) == 1
                        or keys[consumed, end] in self._naming[candidate.source, candidate.id]
                    )
                    if end > best[0][0] and named:
                        best[0] = (end, candidate)
                    if visit(candidate.id, end, budget):
                        return True
            return False

        visit(parent, 0, [_BUDGET])
        return best[0]


def resolve_all(resolver: ReferenceResolver, terms: Iterable[IndexTerm]) -> list[CrossReference]:
    """Every see and see-also reference of ``terms``, resolved."""
    out = []
    for term in terms:
        for kind in ("see", "see_also"):
            reference = resolver.resolve(term, kind)
            if reference is not None:
                out.append(reference)
    return out
