"""Variant modelling on a known structure: the ``template`` predictor (works offline).

For labs screening point mutants and designs of a protein whose structure is
known. Each requested sequence is

1. checked: standard amino-acid letters only, as many chains as the template;
2. aligned to its template chain with Biopython's ``PairwiseAligner``
   (:data:`~workbench.predict.template_align.ALIGNER_PARAMETERS`: global,
   BLOSUM62, gap opening -10, extension -0.5, free end gaps);
3. refused, with the reason, when the template cannot support it: identity
   (identical residues over the requested length) below ``min_identity``, an
   insertion or deletion longer than ``max_indel``, a terminal extension, or an
   insertion / deletion inside a helix or strand of the template (DSSP,
   :func:`workbench.analysis.dssp`);
4. built on the template (:mod:`workbench.predict.template_build`): shared
   residues keep their template coordinates; substituted residues keep the
   backbone and the side-chain atoms both residue types have (the rest is added
   by PDBFixer in the relax's preparation, unrestrained); around each
   insertion or deletion up to ``flank`` loop residues on each side are removed
   and the stretch rebuilt by PDBFixer's missing-residue builder, after
   checking the anchors are close enough to be spanned;
5. returned unrelaxed: substituted side chains are completed, and every model
   relaxed, by the pipeline (:mod:`workbench.pipelines.compose`), which also
   compares each variant with the reference item, the template's own sequence
   (:meth:`TemplatePredictor.reference_record`) built and relaxed the same way.

Confidence. There is no learned confidence here, so a template model has no
pLDDT, pTM or PAE. What the predictor knows per residue is in its provenance:
how each residue was built (``residue_states``: identical, near_change (an
identical residue whose CA lies within :data:`NEAR_CHANGE` Å of a changed
one), substituted (template backbone, rebuilt side chain), rebuilt (a loop
residue)), the distance to the nearest changed residue
(``nearest_change_angstrom``), and the changed residues by label.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.io.fasta import SequenceRecord
from workbench.io.structure_reader import read_structure
from workbench.predict.base import Prediction, PredictionOutcome, PredictorOptions, Provenance, register
from workbench.predict.outputs import with_plddt
from workbench.predict.template_align import (
    ALIGNER_PARAMETERS,
    ChainAlignment,
    RebuildWindow,
    TemplateRefusal,
    align_chain,
    check_chain,
    check_closure,
    invalid_letters,
    rebuild_windows,
)
from workbench.refine.settings import RefineConfig
from workbench.residues import is_amino_acid, one_letter_code
from workbench.structure import Structure

if TYPE_CHECKING:  # imported where a model is built: the builder needs OpenMM and PDBFixer, screening does not
    from workbench.predict.template_build import ResidueBlock, VariantPlan

__all__ = [
    "NEAR_CHANGE",
    "REFERENCE_NAME",
    "RESIDUE_STATES",
    "TemplateOptions",
    "TemplatePredictor",
    "VariantModel",
    "default_template",
]

#: Record id of the reference item (the template's own sequence).
REFERENCE_NAME = "wild_type"

#: How a residue of a variant model was built, from most to least like the template.
RESIDUE_STATES = ("identical", "near_change", "substituted", "rebuilt")
#: CA-CA distance (Å) within which an identical residue counts as near a change.
NEAR_CHANGE = 8.0
_CONFIDENCE_TEXT = ("none: template modelling has no learned confidence; residue_states and "
                    "nearest_change_angstrom say how each residue was built")


@dataclasses.dataclass(frozen=True, eq=False)
class VariantModel:
    """One built, unrelaxed model and the plan it was built from.

    Attributes
    ----------
    structure : Structure
        Template atoms, side-chain atoms shared by both residue types at a
        substitution, PDBFixer-built loops.
    plan : VariantPlan
    timings : dict of str to float
    """

    structure: Structure
    plan: VariantPlan
    timings: dict[str, float]


def default_template() -> str:
    """The embedded default template: PDBFixer's copy of 1BHL (HIV-1 integrase core domain, residues 57-207).

    Found without importing PDBFixer (which imports OpenMM), so that building a
    request stays quick.
    """
    spec = importlib.util.find_spec("pdbfixer")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the default template ships with PDBFixer, which is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "tests" / "data" / "1BHL.pdb")


DEFAULT_TEMPLATE_NOTE = "PDBFixer's 1BHL (HIV-1 integrase core domain), shipped with a dependency"


@dataclasses.dataclass(frozen=True)
class TemplateOptions(PredictorOptions):
    """Options of :class:`TemplatePredictor` (its constructor's keyword arguments, defaults defined here)."""

    template: str = dataclasses.field(default_factory=default_template, metadata={
        "help": f"template structure, PDB or mmCIF (default: {DEFAULT_TEMPLATE_NOTE})", "file": True,
        "upload": "structure", "label": "Template structure"})
    chain: str | None = dataclasses.field(default=None, metadata={
        "help": "template chain to model on (default: every protein chain)", "label": "Template chain"})
    min_identity: float = dataclasses.field(default=0.5, metadata={
        "help": "lowest accepted identity to the template, 0-1 (default 0.5)"})
    max_indel: int = dataclasses.field(default=4, metadata={
        "help": "longest accepted insertion or deletion, residues (default 4)"})
    flank: int = dataclasses.field(default=2, metadata={
        "help": "loop residues rebuilt on each side of an insertion or deletion (default 2)"})


def screen_records(options: TemplateOptions, records: Sequence[SequenceRecord]) -> dict[str, str]:
    """The records the template cannot support, with why and what to do: checked before anything is queued."""
    predictor = TemplatePredictor(**options.to_dict())
    return {record.id: reason for record in records if (reason := predictor.refusal(record)) is not None}


def reference_record(options: TemplateOptions) -> SequenceRecord | None:
    """The template's own sequence as the batch's reference record, read without building the predictor."""
    source = read_structure(options.template)
    template, chains = _template_chains(source.model(0) if source.n_models > 1 else source, options.chain)
    return _reference(_chain_sequences(template, chains))


def _template_chains(source: Structure, chain: str | None) -> tuple[Structure, tuple[str, ...]]:
    """The template's amino-acid residues of ``chain`` (every chain that has some, when None), and those chains."""
    amino = np.array([is_amino_acid(str(n)) for n in source.res_name], dtype=bool) & ~np.isin(
        source.res_name, ["UNK"])
    chains = [chain] if chain is not None else [c for c in source.chains if amino[source.chain_id == c].any()]
    if chain is not None and not amino[source.chain_id == chain].any():
        raise ValueError(f"template has no amino-acid chain {chain!r}; chains: {', '.join(source.chains)}")
    if not chains:
        raise ValueError("template has no amino-acid residues")
    return source.select(amino & np.isin(source.chain_id, chains)), tuple(chains)


def _chain_sequences(template: Structure, chains: Sequence[str]) -> tuple[str, ...]:
    """One-letter sequences of ``chains`` (``X`` for a residue with no standard parent)."""
    residues = template.residues
    return tuple("".join(one_letter_code(str(residues.res_name[r])) or "X"
                         for r in np.flatnonzero(residues.chain_id == c)) for c in chains)


def _reference(sequences: tuple[str, ...]) -> SequenceRecord | None:
    if any("X" in seq for seq in sequences):
        return None
    return SequenceRecord(id=REFERENCE_NAME, name=REFERENCE_NAME, chains=sequences)


def check_template(options: TemplateOptions) -> str:
    """The template must parse (errors name the file and the line); says what it holds."""
    structure = read_structure(options.template)
    sequences = structure.sequences
    residues = sum(len(sequence) for sequence in sequences.values())
    return f"template {Path(options.template).name}: chain(s) {', '.join(sequences)}, {residues} residues"


@register("template", options=TemplateOptions, incomplete_models=True, has_reference=True,
          label="template (variant modelling on a known structure; offline)", check=check_template,
          screen=screen_records, reference=reference_record, model_type="Homology model")
class TemplatePredictor:
    """Model variants of a known structure: align, substitute, rebuild loops, relax.

    Parameters
    ----------
    template : Structure or str or Path
        The known structure (PDB / mmCIF path or a Structure); its first model is used.
    chain : str, optional
        Template chain to model on; default every chain with amino acids (a
        request must then have as many chains, in the same order).
    min_identity : float
        Lowest accepted identity, identical residues over the requested length
        (default 0.5: below that, a backbone copied from the template is not a
        model of the sequence).
    max_indel : int
        Longest accepted insertion or deletion (default 4 residues); longer ones
        change a loop more than rebuilding a few residues can model.
    flank : int
        Loop residues rebuilt on each side of an insertion or deletion (default 2).
    seed : int
        Seed of PDBFixer's minimisation of rebuilt loops.

    Raises
    ------
    ValueError
        For a template without amino acids, an unknown chain or bad limits.

    Examples
    --------
    >>> import pathlib, pdbfixer
    >>> from workbench.io.fasta import SequenceRecord
    >>> path = pathlib.Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"
    >>> predictor = TemplatePredictor(path)
    >>> seq = predictor.template_sequences[0]
    >>> outcome = predictor.predict([SequenceRecord("bad", "bad", (seq[:10] + "X" + seq[11:],))])[0]
    >>> outcome.ok, outcome.error
    (False, "record 'bad': chain 1 has letters the template predictor cannot build: X at 11")
    """

    name = "template"

    def __init__(self, template: Structure | str | Path, *, chain: str | None = None, min_identity: float = 0.5,
                 max_indel: int = 4, flank: int = 2, seed: int = RefineConfig.seed) -> None:
        if not 0.0 <= min_identity <= 1.0:
            raise ValueError(f"min_identity must lie in 0-1, got {min_identity}")
        if max_indel < 0 or flank < 0:
            raise ValueError(f"max_indel and flank must be >= 0, got {max_indel} and {flank}")
        source = template if isinstance(template, Structure) else read_structure(template)
        source = source.model(0) if source.n_models > 1 else source
        self.template_path = None if isinstance(template, Structure) else str(template)
        self.template: Structure
        self.template, self.chains = _template_chains(source, chain)
        self.min_identity = float(min_identity)
        self.max_indel = int(max_indel)
        self.flank = int(flank)
        self.seed = int(seed)
        residues = self.template.residues
        self._chain_residues = {c: np.flatnonzero(residues.chain_id == c) for c in self.chains}
        self._numbering = {c: [f"{residues.res_id[r]}{residues.ins_code[r]}" for r in idx]
                           for c, idx in self._chain_residues.items()}
        self.template_sequences: tuple[str, ...] = _chain_sequences(self.template, self.chains)
        self._ca = self._ca_by_residue(self.template)

    # ------------------------------------------------------------------ public API

    def predict(self, records: Sequence[SequenceRecord]) -> list[PredictionOutcome]:
        """Model each record on the template; one outcome per record, in order.

        Parameters
        ----------
        records : sequence of SequenceRecord

        Returns
        -------
        list of PredictionOutcome
            A failed record carries the reason (refusal or error) and never stops the rest.
        """
        outcomes = []
        for record in records:
            try:
                outcomes.append(PredictionOutcome(record, prediction=self.predict_one(record)))
            except TemplateRefusal as exc:
                outcomes.append(PredictionOutcome(record, error=f"record {record.id!r}: {exc}"))
            except Exception as exc:  # one bad record must not stop the batch
                outcomes.append(PredictionOutcome(record, error=f"record {record.id!r}: {type(exc).__name__}: {exc}"))
        return outcomes

    def reference_record(self) -> SequenceRecord | None:
        """The template's own sequence, the item a batch's energy changes are measured against.

        None when the template has residues with no standard parent (``X`` in its sequence).
        """
        return _reference(self.template_sequences)

    def predict_one(self, record: SequenceRecord) -> Prediction:
        """Model one record.

        Raises
        ------
        TemplateRefusal
            When the template cannot support the sequence (the message says why).
        """
        started = time.perf_counter()
        alignments, windows = self._plan(record)
        t_align = time.perf_counter() - started
        model = self._model(alignments, windows, name=record.name or record.id)
        observed = tuple(model.structure.sequences.get(c, "") for c in self.chains)
        if observed != tuple(record.chains):
            raise RuntimeError(f"the built model's sequence {':'.join(observed)} is not the requested one")
        report = self._report(alignments, windows, model)
        timings = {"align": t_align} | model.timings | {"total": time.perf_counter() - started}
        provenance = Provenance(
            method="template",
            model=f"template:{self.template.name or 'structure'} chain(s) {','.join(self.chains)}",
            parameters=report,
            device="cpu",
            timings=timings,
            sources=(self.template_path,) if self.template_path else (),
        )
        return Prediction(structure=with_plddt(model.structure, None), plddt=None, ptm=None, pae=None,
                          provenance=provenance, name=record.id)

    def refusal(self, record: SequenceRecord) -> str | None:
        """Why the template cannot support ``record`` (with what to do instead), or None when it can.

        The checks of :meth:`predict_one` before anything is built: chain count,
        letters, identity, insertions and deletions, loop closure. Cheap enough
        to run on every record of a batch before it is queued.
        """
        try:
            self._plan(record)
        except TemplateRefusal as exc:
            return f"{exc}; upload a template closer to this sequence, or use the esmfold predictor"
        return None

    def _plan(self, record: SequenceRecord) -> tuple[list[ChainAlignment], list[RebuildWindow]]:
        """The alignments and rebuild windows of ``record``; TemplateRefusal when the template cannot support it."""
        if len(record.chains) != len(self.chains):
            raise TemplateRefusal(
                f"{len(record.chains)} chain(s) requested but the template has {len(self.chains)} "
                f"({', '.join(self.chains)}); a template models complexes of the same chain count only")
        for k, sequence in enumerate(record.chains, start=1):
            bad = invalid_letters(sequence)
            if not sequence or bad:
                where = ", ".join(f"{c} at {p}" for p, c in bad[:5]) + (" ..." if len(bad) > 5 else "")
                raise TemplateRefusal(f"chain {k} has letters the template predictor cannot build: {where}"
                                      if bad else f"chain {k} is empty")
        alignments, windows = [], []
        for c, seq, tseq in zip(self.chains, record.chains, self.template_sequences, strict=True):
            alignment = align_chain(seq, tseq, self._numbering[c], chain=c)
            secondary, breaks = self._secondary_and_breaks(c, alignment)
            check_chain(alignment, secondary, min_identity=self.min_identity, max_indel=self.max_indel)
            chain_windows = rebuild_windows(alignment, secondary, breaks, flank=self.flank)
            for w in chain_windows:
                self._check_window(w)
            alignments.append(alignment)
            windows.extend(chain_windows)
        return alignments, windows

    def _secondary_and_breaks(self, chain: str, alignment: ChainAlignment) -> tuple[np.ndarray, np.ndarray]:
        """DSSP 3-state codes and backbone breaks of a template chain, where the alignment needs them.

        Only an insertion or deletion inside the template is checked against
        them; for an alignment without one (point variants, truncations) both
        are empty, so screening point variants computes no DSSP and imports
        neither numba nor OpenMM (``workbench submit`` stays quick).
        """
        if all(indel.terminal for indel in alignment.indels):
            return np.empty(0, dtype="<U1"), np.empty(0, dtype=bool)
        secondary, breaks = self._chain_structure
        return secondary[chain], breaks[chain]

    @functools.cached_property
    def _chain_structure(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per template chain: DSSP 3-state codes, and True where the backbone breaks before a residue."""
        from workbench.analysis.dssp import dssp
        from workbench.refine.prepare import find_chain_breaks

        secondary = dssp(self.template, simplified=True)
        break_before = np.zeros(len(self.template.residues), dtype=bool)
        break_before[find_chain_breaks(self.template)] = True
        return ({c: secondary[idx] for c, idx in self._chain_residues.items()},
                {c: break_before[idx] for c, idx in self._chain_residues.items()})

    # ------------------------------------------------------------------ building

    def _check_window(self, window: RebuildWindow) -> None:
        index = self._chain_residues[window.chain]
        left, right = int(index[window.template_start - 1]), int(index[window.template_stop])
        distance = float(np.linalg.norm(self._ca[left] - self._ca[right]))
        labels = self.template.residues
        check_closure(window, distance, f"{labels.label(left)} - {labels.label(right)}")

    def _model(self, alignments: list[ChainAlignment], windows: list[RebuildWindow], name: str) -> VariantModel:
        from workbench.predict.template_build import build_variant, plan_variant

        t0 = time.perf_counter()
        plan = plan_variant(self.template, self._chain_residues, alignments, windows)
        unrelaxed = build_variant(plan, name=name, seed=self.seed)
        return VariantModel(unrelaxed, plan, {"build": time.perf_counter() - t0})

    # ------------------------------------------------------------------ reporting

    @staticmethod
    def _ca_by_residue(structure: Structure) -> np.ndarray:
        """CA coordinates per residue (NaN where absent), shape ``(n_residues, 3)``, float64."""
        ca = np.full((len(structure.residues), 3), np.nan)
        mask = structure.atom_name == "CA"
        ca[structure.residue_index[mask]] = structure.coords[mask]
        return ca

    def _states(self, model: VariantModel) -> list[ResidueBlock]:
        """The plan's block for each residue of the model (matched by chain, number, insertion code)."""
        by_key = {b.key: b for b in model.plan.blocks}
        r = model.structure.residues
        return [by_key[(str(r.chain_id[i]), int(r.res_id[i]), str(r.ins_code[i]))] for i in range(len(r))]

    def _residue_states(self, model: VariantModel) -> tuple[list[str], list[float | None]]:
        """How each residue was built (:data:`RESIDUE_STATES`) and its CA distance (Å) to the nearest change."""
        states = np.array([b.state for b in self._states(model)], dtype=object)
        changed = states != "identical"
        nearest: list[float | None] = [None] * len(states)
        if changed.any():
            ca = self._ca_by_residue(model.structure)
            d = np.linalg.norm(ca[:, None, :] - ca[None, changed, :], axis=-1)
            closest = np.nan_to_num(d, nan=np.inf).min(axis=1)
            nearest = [None if not np.isfinite(x) else round(float(x), 2) for x in closest]
            states[(closest <= NEAR_CHANGE) & ~changed] = "near_change"
        return [str(s) for s in states], nearest

    def _report(self, alignments: list[ChainAlignment], windows: list[RebuildWindow],
                model: VariantModel) -> dict[str, Any]:
        """Provenance parameters: alignment, changes, per-residue states and CA deviation of the built model."""
        states, nearest = self._residue_states(model)
        blocks = self._states(model)
        residues = model.structure.residues
        ca = self._ca_by_residue(model.structure)
        deviation: list[float | None] = []
        for i, b in enumerate(blocks):
            if b.template_index < 0 or b.state == "rebuilt":
                deviation.append(None)
                continue
            t = int(self._chain_residues[b.chain_id][b.template_index])
            deviation.append(round(float(np.linalg.norm(ca[i] - self._ca[t])), 4))
        unchanged = [d for d, b in zip(deviation, blocks, strict=True) if d is not None and b.state == "identical"]
        return {
            "template": self.template_path or self.template.name,
            "template_chains": list(self.chains),
            "template_sequences": list(self.template_sequences),
            "aligner": dict(ALIGNER_PARAMETERS),
            "min_identity": self.min_identity,
            "max_indel": self.max_indel,
            "flank": self.flank,
            "identity": round(sum(a.n_identical for a in alignments) / sum(len(a.query) for a in alignments), 4),
            "alignments": [{"chain": a.chain, "identity": round(a.identity, 4), "score": a.score, "text": a.text}
                           for a in alignments],
            "mutations": [m for a in alignments for m in a.mutations],
            "indels": [{"chain": i.chain, "kind": i.kind, "label": i.label, "residues": i.residues,
                        "terminal": i.terminal} for a in alignments for i in a.indels],
            "rebuilt_loops": [dataclasses.asdict(w) for w in windows],
            "changed_residues": [residues.label(i) for i, b in enumerate(blocks) if b.state != "identical"],
            "ca_deviation_angstrom": deviation,
            "rmsd_ca_unchanged_angstrom": (float(np.sqrt(np.mean(np.square(unchanged)))) if unchanged else None),
            "confidence": _CONFIDENCE_TEXT,
            "residue_states": states,
            "nearest_change_angstrom": nearest,
            "seed": self.seed,
        }
