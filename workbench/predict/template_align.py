"""Sequence-to-template alignment for the template predictor, and the rules of what it can model.

Pure Python and numpy (Biopython for the alignment): no structure building here,
so the rules are tested without OpenMM. :func:`align_chain` aligns one requested
chain to one template chain and lists its substitutions and insertions /
deletions; :func:`check_chain` says why the template cannot support it, or
nothing; :func:`rebuild_windows` finds the loop stretches that must be rebuilt
around each internal insertion or deletion.

Alignment parameters (:data:`ALIGNER_PARAMETERS`, from :mod:`workbench.alignment`)
are EMBOSS needle's defaults: global Needleman-Wunsch, BLOSUM62, gap opening
-10, extension -0.5, end gaps free (a truncated terminus is not penalised; it
is still limited by ``max_indel`` when the rules are checked).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.alignment import ALIGNER_PARAMETERS, pairwise_aligner

__all__ = [
    "ALIGNER_PARAMETERS",
    "STANDARD_LETTERS",
    "ChainAlignment",
    "Indel",
    "RebuildWindow",
    "TemplateRefusal",
    "align_chain",
    "check_chain",
    "invalid_letters",
    "rebuild_windows",
]

#: The one-letter codes the template predictor can build (the 20 standard amino acids).
STANDARD_LETTERS = frozenset("ACDEFGHIKLMNPQRSTVWY")

#: Largest CA-CA distance (Å) one residue step of a rebuilt loop is trusted to span.
#: A fully extended chain spans 3.8 Å per residue; 3.5 leaves room for a loop that is not straight.
MAX_SPAN_PER_STEP = 3.5

_SS_NAMES = {"H": "helix", "E": "strand"}


class TemplateRefusal(ValueError):
    """The template cannot support the requested sequence; the message says why."""


@dataclass(frozen=True)
class Indel:
    """One run of gaps in the alignment of a requested chain to the template.

    Attributes
    ----------
    kind : {"deletion", "insertion"}
        Deletion: template residues absent from the request; insertion: requested
        residues with no template residue.
    chain : str
        Template chain id.
    template_index : int
        Deletion: index (into the template chain's residues) of the first deleted
        residue. Insertion: index of the template residue the inserted residues
        precede (``n_template`` for a C-terminal extension).
    query_index : int
        Insertion: index of the first inserted residue in the requested chain.
        Deletion: index of the requested residue that follows the deletion.
    residues : str
        Deleted template letters or inserted requested letters.
    label : str
        HGVS-style label in template numbering: ``"E92_Q93del"``, ``"K136_Q137insGS"``.
    terminal : bool
        At the N- or C-terminus of the template chain.
    """

    kind: str
    chain: str
    template_index: int
    query_index: int
    residues: str
    label: str
    terminal: bool

    @property
    def length(self) -> int:
        """Number of residues deleted or inserted."""
        return len(self.residues)


@dataclass(frozen=True, eq=False)
class ChainAlignment:
    """A requested chain aligned to a template chain.

    Attributes
    ----------
    chain : str
        Template chain id.
    query, template : str
        One-letter sequences of the requested chain and of the template chain.
    query_to_template : ndarray, shape=(len(query),), dtype=int64
        Template residue index aligned to each requested residue, -1 for inserted residues.
    n_identical : int
        Aligned pairs with the same letter.
    mutations : tuple of str
        Substitutions in template numbering, ``"N155H"``.
    indels : tuple of Indel
    score : float
        Alignment score.
    text : str
        The alignment as Biopython prints it.
    """

    chain: str
    query: str
    template: str
    query_to_template: np.ndarray
    n_identical: int
    mutations: tuple[str, ...]
    indels: tuple[Indel, ...]
    score: float
    text: str

    @property
    def identity(self) -> float:
        """Identical aligned residues over the length of the requested chain (0-1)."""
        return self.n_identical / len(self.query) if self.query else 0.0

    @property
    def substituted(self) -> np.ndarray:
        """Mask over requested residues aligned to a template residue of another type, shape ``(len(query),)``."""
        mask = np.zeros(len(self.query), dtype=bool)
        for q, t in enumerate(self.query_to_template):
            mask[q] = t >= 0 and self.query[q] != self.template[t]
        return mask


@dataclass(frozen=True)
class RebuildWindow:
    """A loop stretch of a chain whose residues are rebuilt from scratch.

    Attributes
    ----------
    chain : str
        Template chain id.
    template_start, template_stop : int
        Template residues ``template_start:template_stop`` are removed; residues
        ``template_start - 1`` and ``template_stop`` stay as anchors.
    query_start, query_stop : int
        Requested residues ``query_start:query_stop`` are built in their place.
    """

    chain: str
    template_start: int
    template_stop: int
    query_start: int
    query_stop: int

    @property
    def n_built(self) -> int:
        """Residues to build."""
        return self.query_stop - self.query_start


def invalid_letters(sequence: str) -> list[tuple[int, str]]:
    """``(1-based position, letter)`` of every letter that is not a standard amino acid.

    Examples
    --------
    >>> invalid_letters("ACXDB")
    [(3, 'X'), (5, 'B')]
    """
    return [(i + 1, c) for i, c in enumerate(sequence) if c not in STANDARD_LETTERS]


def align_chain(query: str, template: str, numbering: list[str], *, chain: str = "A") -> ChainAlignment:
    """Align a requested chain to a template chain and list its changes.

    Parameters
    ----------
    query : str
        Requested one-letter sequence (standard letters).
    template : str
        Template chain's one-letter sequence.
    numbering : list of str
        Template residue numbers with insertion codes (``"155"``, ``"52A"``), one per template residue.
    chain : str
        Template chain id (for labels).

    Returns
    -------
    ChainAlignment

    Examples
    --------
    >>> a = align_chain("MKTAYIAK", "MKTAYLAK", [str(i) for i in range(1, 9)])
    >>> a.mutations, a.identity
    (('L6I',), 0.875)
    """
    if len(numbering) != len(template):
        raise ValueError(f"{len(numbering)} residue numbers for a template of {len(template)} residues")
    alignment = pairwise_aligner().align(template, query)[0]
    indices = np.asarray(alignment.indices)  # row 0: template, row 1: query; -1 in gaps
    t_col, q_col = indices[0], indices[1]
    query_to_template = np.full(len(query), -1, dtype=np.int64)
    paired = (t_col >= 0) & (q_col >= 0)
    query_to_template[q_col[paired]] = t_col[paired]
    mutations, n_identical = [], 0
    for t, q in zip(t_col[paired], q_col[paired], strict=True):
        if template[t] == query[q]:
            n_identical += 1
        else:
            mutations.append(f"{template[t]}{numbering[t]}{query[q]}")
    indels = _indels(t_col, q_col, query, template, numbering, chain)
    return ChainAlignment(
        chain=chain, query=query, template=template, query_to_template=query_to_template,
        n_identical=n_identical, mutations=tuple(mutations), indels=tuple(indels),
        score=float(alignment.score), text=str(alignment).rstrip(),
    )


def _indels(t_col: np.ndarray, q_col: np.ndarray, query: str, template: str, numbering: list[str],
            chain: str) -> list[Indel]:
    """Runs of gap columns as :class:`Indel` objects."""
    indels = []
    n_cols = len(t_col)
    col = 0
    while col < n_cols:
        if t_col[col] >= 0 and q_col[col] >= 0:
            col += 1
            continue
        kind = "deletion" if q_col[col] < 0 else "insertion"
        stop = col
        while stop < n_cols and (q_col[stop] < 0 if kind == "deletion" else t_col[stop] < 0):
            stop += 1
        before_t = _last_index(t_col[:col])
        after_t = _first_index(t_col[stop:])
        after_q = _first_index(q_col[stop:])
        if kind == "deletion":
            first, last = int(t_col[col]), int(t_col[stop - 1])
            letters = template[first:last + 1]
            name = f"{template[first]}{numbering[first]}"
            label = f"{name}del" if first == last else f"{name}_{template[last]}{numbering[last]}del"
            terminal = first == 0 or last == len(template) - 1
            indels.append(Indel("deletion", chain, first, len(query) if after_q is None else after_q,
                                letters, label, terminal))
        else:
            letters = "".join(query[q] for q in q_col[col:stop])
            left = "" if before_t is None else f"{template[before_t]}{numbering[before_t]}"
            right = "" if after_t is None else f"{template[after_t]}{numbering[after_t]}"
            label = f"{left}_{right}ins{letters}" if left and right else (
                f"{right}ext-{letters}" if right else f"{left}ext{letters}")
            indels.append(Indel("insertion", chain, len(template) if after_t is None else after_t,
                                int(q_col[col]), letters, label, left == "" or right == ""))
        col = stop
    return indels


def _first_index(values: np.ndarray) -> int | None:
    hits = values[values >= 0]
    return int(hits[0]) if hits.size else None


def _last_index(values: np.ndarray) -> int | None:
    hits = values[values >= 0]
    return int(hits[-1]) if hits.size else None


def check_chain(alignment: ChainAlignment, secondary: np.ndarray, *, min_identity: float, max_indel: int) -> None:
    """Refuse what the template cannot support.

    Parameters
    ----------
    alignment : ChainAlignment
    secondary : ndarray, shape=(len(alignment.template),), dtype=<U1
        Template secondary structure in DSSP's 3 states (``H``, ``E``, ``C``).
    min_identity : float
        Lowest identity (identical residues over the requested length, 0-1) accepted.
    max_indel : int
        Longest insertion or deletion accepted, in residues.

    Raises
    ------
    TemplateRefusal
        With the reason: identity below ``min_identity``, an indel longer than
        ``max_indel``, a terminal extension (no template coordinates to build it
        from), or an indel inside a helix or strand.
    """
    a = alignment
    if a.identity < min_identity:
        raise TemplateRefusal(
            f"identity {100 * a.identity:.1f}% to template chain {a.chain} is below the minimum "
            f"{100 * min_identity:.1f}% ({a.n_identical} of {len(a.query)} residues identical)")
    for indel in a.indels:
        if indel.length > max_indel:
            raise TemplateRefusal(
                f"{indel.kind} {indel.label} of {indel.length} residues is longer than the limit of "
                f"{max_indel} residues the template predictor models")
        if indel.kind == "insertion" and indel.terminal:
            end = "N" if indel.template_index == 0 else "C"
            raise TemplateRefusal(
                f"{end}-terminal extension {indel.label}: the template has no coordinates to build "
                f"residues beyond its {end}-terminus")
        if indel.terminal:
            continue  # a terminal truncation only drops residues
        if indel.kind == "deletion":
            span = secondary[indel.template_index:indel.template_index + indel.length]
            inside = [c for c in span if c in _SS_NAMES]
        else:
            pair = secondary[indel.template_index - 1:indel.template_index + 1]
            inside = list(pair) if all(c in _SS_NAMES for c in pair) else []
        if inside:
            kinds = " and ".join(sorted({_SS_NAMES[c] for c in inside}))
            raise TemplateRefusal(
                f"{indel.kind} {indel.label} lies inside a {kinds} of the template (DSSP "
                f"{''.join(secondary[max(indel.template_index - 2, 0):indel.template_index + indel.length + 2])}"
                f" around it): insertions and deletions are modelled only in loops")


def rebuild_windows(alignment: ChainAlignment, secondary: np.ndarray, breaks: np.ndarray, *,
                    flank: int = 2) -> list[RebuildWindow]:
    """Loop stretches to rebuild around each internal insertion or deletion.

    A window holds the deleted template residues (or the gap an insertion goes
    into) and up to ``flank`` loop residues on each side, never a helix or
    strand residue, never past a template chain break, and always leaving one
    template residue on each side as an anchor. Overlapping windows are merged.

    Parameters
    ----------
    alignment : ChainAlignment
    secondary : ndarray, shape=(n_template,), dtype=<U1
        DSSP 3-state codes of the template chain.
    breaks : ndarray, shape=(n_template,), dtype=bool
        True where the template backbone is broken before the residue.
    flank : int
        Loop residues added on each side.

    Returns
    -------
    list of RebuildWindow
        In chain order.
    """
    n_template = len(alignment.template)
    spans: list[list[int]] = []
    for indel in alignment.indels:
        if indel.terminal:
            continue
        lo = indel.template_index
        hi = lo + indel.length if indel.kind == "deletion" else lo
        for _ in range(flank):
            if lo - 1 >= 1 and secondary[lo - 1] == "C" and not breaks[lo]:
                lo -= 1
        for _ in range(flank):
            if hi + 1 <= n_template - 1 and secondary[hi] == "C" and not breaks[hi + 1]:
                hi += 1
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    t_of_q = alignment.query_to_template
    windows = []
    for lo, hi in spans:
        # requested residues between anchor lo-1 and anchor hi
        anchors = np.flatnonzero(t_of_q == lo - 1), np.flatnonzero(t_of_q == hi)
        if not (anchors[0].size and anchors[1].size):
            raise TemplateRefusal(
                f"the anchors of the rebuilt loop at template residues {lo}-{hi} are not aligned")
        windows.append(RebuildWindow(alignment.chain, lo, hi, int(anchors[0][0]) + 1, int(anchors[1][0])))
    return windows


def check_closure(window: RebuildWindow, anchor_distance: float, label: str) -> None:
    """Refuse a loop whose anchors are too far apart for the residues that must span them.

    Parameters
    ----------
    window : RebuildWindow
    anchor_distance : float
        CA-CA distance (Å) between the two anchor residues.
    label : str
        Human-readable place, for the message.

    Raises
    ------
    TemplateRefusal
    """
    reach = MAX_SPAN_PER_STEP * (window.n_built + 1)
    if anchor_distance > reach:
        raise TemplateRefusal(
            f"the loop at {label} cannot be closed: its anchors are {anchor_distance:.1f} Å apart and "
            f"{window.n_built} residue(s) reach at most {reach:.1f} Å")
