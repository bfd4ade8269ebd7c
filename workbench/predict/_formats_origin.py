"""Where a model file came from, by its own records: an experiment, a named predictor, or nobody knows.

A B-factor column is a pLDDT only when a predictor wrote it. This module reads
what a PDB / mmCIF file says about its origin, before anything is read as
confidence:

Experimental structures
    Recognised by any of: a PDB ``EXPDTA`` record or an mmCIF ``_exptl.method``
    naming an experiment (diffraction, microscopy, NMR, crystallography,
    scattering, spectroscopy, EPR, fluorescence transfer; not "THEORETICAL
    MODEL"), a resolution record (``REMARK   2 RESOLUTION.`` with a number,
    ``_refine.ls_d_res_high``, ``_reflns.d_resolution_high``,
    ``_em_3d_reconstruction.resolution``), or ``ANISOU`` /
    ``_atom_site_anisotrop`` records (anisotropic displacement is refined
    against diffraction data; no predictor writes it). Their B-factors are
    atomic displacement, never pLDDT.

Predictor signatures in an mmCIF
    AlphaFold3 (``_software.name`` AlphaFold with an AlphaFold 3 version,
    citation or terms-of-use comment), Chai-1 (``_struct.title`` "Chai-1
    predicted structure" or author "Chai team"), Protenix (data block
    ``*_predicted_by_protenix``), Boltz (ModelCIF records with
    ``_struct_asym.details`` "Model subunit ..."), and any other ModelCIF
    file that declares a pLDDT metric (``_ma_qa_metric``); in a PDB, ESMFold's
    ``PARENT N/A`` opening and an AlphaFold ``TITLE``. Per-residue pLDDT of
    ``_ma_qa_metric_local`` is kept, keyed by author chain, number and
    insertion code.

Files with neither: when their B-factors are not a pLDDT
    For a file with no experimental marker and no predictor signature, the
    B-factor column is read as pLDDT only when none of these holds
    (:func:`not_plddt_reason`):

    1. it has no polymer residue;
    2. it holds several models (an NMR or simulation ensemble);
    3. a per-residue value (CA atom, else the first atom) lies outside 0-100;
    4. every residue has the same value (all zero included);
    5. polymer atoms have fractional occupancies (0 < occupancy < 1) or the
       file holds water: alternate conformations and solvent are observed,
       never predicted;
    6. B-factors rise from the CA to the side chain: in more than half of the
       residues with side-chain heavy atoms their mean exceeds the CA's value,
       and the median excess is positive. Atomic displacement grows towards
       the side-chain tips (crystal, NMR and simulation B-factors all do: in
       the shared experimental files 58-98 % of residues rise), whereas a
       predictor writes one pLDDT per residue (AlphaFold2, ColabFold, AFDB)
       or per-atom values that do not rise (AlphaFold3, ESMFold).

    A CA-only file without markers that passes 1-5 cannot be told apart and
    is read as pLDDT, with a warning that no predictor was recognised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import gemmi
import numpy as np

from workbench.errors import StructureFormatError
from workbench.io._source import load_text
from workbench.structure import Structure

#: Words of an experimental method as written in ``EXPDTA`` / ``_exptl.method``.
_EXPERIMENT = re.compile(
    r"DIFFRACTION|MICROSCOPY|NMR|CRYSTALLOGRAPHY|SCATTERING|SPECTROSCOPY|\bEPR\b|FLUORESCENCE|TOMOGRAPHY",
    re.IGNORECASE,
)
_PDB_RESOLUTION = re.compile(r"^REMARK   2 RESOLUTION\.\s+([0-9.]+)", re.MULTILINE)
_RESOLUTION_ITEMS = ("_refine.ls_d_res_high", "_reflns.d_resolution_high", "_em_3d_reconstruction.resolution")
_BACKBONE = frozenset({"N", "CA", "C", "O", "OXT"})
_WATER = frozenset({"HOH", "WAT", "DOD", "H2O"})

#: Human names of the predictors recognised from a file's content.
PREDICTOR_LABELS = {
    "alphafold3": "AlphaFold3", "boltz": "Boltz", "chai1": "Chai-1", "protenix": "Protenix",
    "alphafold": "AlphaFold", "esmfold": "ESMFold", "modelcif": "ModelCIF",
}  # fmt: skip

ResidueKey = tuple[str, int, str]
"""Author chain id, residue number and insertion code of one residue."""


@dataclass(frozen=True)
class Origin:
    """What a structure file's own records say about where it came from.

    Attributes
    ----------
    method : str or None
        The experimental method (``"X-RAY DIFFRACTION"``), when the file names one.
    resolution : float or None
        Resolution in Å, when the file records one.
    anisou : bool
        Anisotropic displacement records are present.
    n_models : int
        Models in the file (``MODEL`` records, ``pdbx_PDB_model_num`` values).
    predictor : str or None
        The predictor whose signature the file carries (a key of :data:`PREDICTOR_LABELS`).
    local_plddt : dict or None
        pLDDT per residue from ``_ma_qa_metric_local``, keyed by :data:`ResidueKey`.
    """

    method: str | None = None
    resolution: float | None = None
    anisou: bool = False
    n_models: int = 1
    predictor: str | None = None
    local_plddt: dict[ResidueKey, float] | None = field(default=None, repr=False)

    @property
    def experimental(self) -> bool:
        """Whether the file is an experimental structure (method, resolution or anisotropic B-factors)."""
        return self.method is not None or self.resolution is not None or self.anisou

    def describe(self) -> str:
        """``"an experimental structure (X-RAY DIFFRACTION, 1.8 Å)"`` and the like."""
        details = [self.method or ("anisotropic B-factors (ANISOU)" if self.anisou else "experimental")]
        if self.resolution is not None:
            details.append(f"{self.resolution:g} Å")
        if self.n_models > 1:
            details.append(f"{self.n_models} models")
        return f"an experimental structure ({', '.join(details)})"


def read_origin(path: Path) -> Origin:
    """Read the records of ``path`` that tell an experiment, a predictor, or neither.

    Raises
    ------
    StructureFormatError
        The file cannot be read as text (binary data, corrupt gzip).
    """
    loaded = load_text(path, StructureFormatError, what="structure")
    text = loaded.text
    if loaded.suffix in (".cif", ".mmcif") or text.lstrip().startswith("data_"):
        try:
            block = gemmi.cif.read_string(text).sole_block()
        except (RuntimeError, ValueError):
            return Origin()  # the structure reader reports the problem with its line
        return _cif_origin(block, text[:4000])
    return _pdb_origin(text)


def _pdb_origin(text: str) -> Origin:
    method = None
    for line in text.splitlines():
        if line.startswith(("ATOM  ", "HETATM")):
            break  # header records come first
        if line.startswith("EXPDTA"):
            words = line[6:].strip()
            method = f"{method} {words}" if method else words
    if method is not None:
        method = re.sub(r"^\d+\s*", "", method).replace(";", ",").strip()  # continuation numbers
        if not _EXPERIMENT.search(method):
            method = None
    match = _PDB_RESOLUTION.search(text)
    resolution = float(match.group(1)) if match and _is_number(match.group(1)) else None
    n_models = sum(1 for line in text.splitlines() if line.startswith("MODEL "))
    predictor = None
    head = text[:2000]
    if head.lstrip().startswith("PARENT N/A"):
        predictor = "esmfold"
    elif re.search(r"^TITLE .*ALPHAFOLD", head, re.MULTILINE | re.IGNORECASE):
        predictor = "alphafold"
    return Origin(method=method, resolution=resolution, anisou=bool(re.search(r"^ANISOU", text, re.MULTILINE)),
                  n_models=max(1, n_models), predictor=predictor)


def _values(block: gemmi.cif.Block, tag: str) -> list[str]:
    return [gemmi.cif.as_string(v) for v in block.find_values(tag) if v not in ("?", ".")]


def _is_number(text: str) -> bool:
    try:
        return np.isfinite(float(text))
    except ValueError:
        return False


def _cif_origin(block: gemmi.cif.Block, head: str) -> Origin:
    methods = [m for m in _values(block, "_exptl.method") if _EXPERIMENT.search(m)]
    resolution = None
    for tag in _RESOLUTION_ITEMS:
        numbers = [float(v) for v in _values(block, tag) if _is_number(v)]
        if numbers:
            resolution = min(numbers)
            break
    anisou = bool(block.find_values("_atom_site_anisotrop.id"))
    models = set(block.find_values("_atom_site.pdbx_PDB_model_num"))
    return Origin(method=", ".join(methods) or None, resolution=resolution, anisou=anisou,
                  n_models=max(1, len(models)), predictor=_cif_predictor(block, head),
                  local_plddt=_local_plddt(block))  # fmt: skip


def _cif_predictor(block: gemmi.cif.Block, head: str) -> str | None:
    """The predictor an mmCIF's records name, or None."""
    software = " ".join(_values(block, "_software.name") + _values(block, "_software.version")).lower()
    citations = " ".join(_values(block, "_citation.title")).lower()
    if block.name.lower().endswith("_predicted_by_protenix"):
        return "protenix"
    title = " ".join(_values(block, "_struct.title")).lower()
    if "chai-1" in title or "chai team" in " ".join(_values(block, "_audit_author.name")).lower():
        return "chai1"
    if "alphafold" in software:
        third = ("alphafold-beta" in software or "alphafold 3" in citations or "alphafold3" in head.lower()
                 or "alphafoldserver" in head.lower())  # fmt: skip
        return "alphafold3" if third else "alphafold"
    modelcif = bool(block.find_values("_ma_model_list.model_id")) or bool(block.find_values("_ma_qa_metric.id"))
    if modelcif and any(d.startswith("Model subunit") for d in _values(block, "_struct_asym.details")):
        return "boltz"
    if _plddt_metric_ids(block):
        return "modelcif"
    return None


def _plddt_metric_ids(block: gemmi.cif.Block) -> set[str]:
    """Ids of the local pLDDT metrics declared in ``_ma_qa_metric``."""
    table = block.find("_ma_qa_metric.", ["id", "?name", "?type", "?mode"])
    ids = set()
    for row in table:
        words = " ".join(gemmi.cif.as_string(row[k]) for k in (1, 2) if row.has(k)).lower()
        mode = gemmi.cif.as_string(row[3]).lower() if row.has(3) else "local"
        if "plddt" in words and mode == "local":
            ids.add(gemmi.cif.as_string(row[0]))
    return ids


def _local_plddt(block: gemmi.cif.Block) -> dict[ResidueKey, float] | None:
    """Per-residue pLDDT from ``_ma_qa_metric_local``, keyed by author chain, number and insertion code."""
    metric_ids = _plddt_metric_ids(block)
    local = block.find("_ma_qa_metric_local.", ["label_asym_id", "label_seq_id", "metric_value", "?metric_id"])
    if not metric_ids or not len(local):
        return None
    sites = block.find("_atom_site.", ["label_asym_id", "label_seq_id", "?auth_asym_id", "?auth_seq_id",
                                       "?pdbx_PDB_ins_code"])  # fmt: skip
    author: dict[tuple[str, str], ResidueKey] = {}
    for row in sites:
        key = (row.str(0), row.str(1))
        if key in author or not _is_number(key[1]):
            continue
        chain = row.str(2) if row.has(2) else key[0]
        number = row.str(3) if row.has(3) and _is_number(row.str(3)) else key[1]
        ins = row.str(4) if row.has(4) and row[4] not in ("?", ".") else ""
        author[key] = (chain, int(float(number)), ins)
    values: dict[ResidueKey, float] = {}
    for row in local:
        if row.has(3) and row.str(3) not in metric_ids:
            continue
        residue = author.get((row.str(0), row.str(1)))
        if residue is not None and _is_number(row.str(2)):
            values[residue] = float(row.str(2))
    return values or None


def local_plddt_per_residue(structure: Structure, origin: Origin) -> np.ndarray | None:
    """``_ma_qa_metric_local`` pLDDT for each polymer residue, or None when it does not cover them all.

    Returns
    -------
    ndarray, shape=(n_polymer_residues,), dtype=float64, or None
    """
    if not origin.local_plddt:
        return None
    r = structure.residues
    polymer = structure.polymer[structure.residue_starts[:-1]]
    values = []
    for i in np.flatnonzero(polymer):
        key = (str(r.chain_id[i]), int(r.res_id[i]), str(r.ins_code[i]))
        if key not in origin.local_plddt:
            return None
        values.append(origin.local_plddt[key])
    return np.asarray(values, dtype=np.float64)


def not_plddt_reason(structure: Structure, origin: Origin) -> str | None:
    """Why the B-factor column of a file with no predictor signature is not a pLDDT, or None when it may be one.

    The rules are numbered in the module docstring.

    Parameters
    ----------
    structure : Structure
        The file's first model.
    origin : Origin
        What the file's records say (for the number of models).

    Returns
    -------
    str or None
        A phrase such as ``"B-factors are zero everywhere: no confidence recorded"``.
    """
    starts = structure.residue_starts
    polymer = np.flatnonzero(structure.polymer[starts[:-1]])
    if not polymer.size:
        return "no polymer residues: nothing in it is a predicted chain"
    if origin.n_models > 1:
        return f"an ensemble of {origin.n_models} models (NMR or simulation), which predictors do not write"
    per_residue, rising, excess = [], 0, []
    for i in polymer:
        lo, hi = int(starts[i]), int(starts[i + 1])
        names, b = structure.atom_name[lo:hi], structure.b_factor[lo:hi].astype(np.float64)
        ca = np.flatnonzero(names == "CA")
        per_residue.append(b[int(ca[0])] if ca.size else b[0])
        elements = structure.element[lo:hi]
        side = np.array([n not in _BACKBONE and e not in ("H", "D") for n, e in zip(names, elements, strict=True)])
        if ca.size and side.any():
            difference = float(b[side].mean() - b[int(ca[0])])
            excess.append(difference)
            rising += difference > 0
    values = np.asarray(per_residue)
    if values.min() < 0 or values.max() > 100:
        return f"B-factors outside 0-100 ({values.min():.3g}..{values.max():.3g})"
    if not values.any():
        return "B-factors are zero everywhere: no confidence recorded"
    if np.ptp(values) == 0:
        return f"B-factors all equal ({values[0]:.3g})"
    occupancy = structure.occupancy[structure.polymer]
    if ((occupancy > 0) & (occupancy < 1)).any():
        return "fractional occupancies (alternate conformations), which predictors do not write"
    if np.isin(structure.res_name, list(_WATER)).any():
        return "water molecules, which predictors do not write"
    if excess and 2 * rising > len(excess) and float(np.median(excess)) > 0:
        return (f"B-factors rise from the CA to the side chain in {rising} of {len(excess)} residues, "
                "as atomic displacement does and pLDDT does not")  # fmt: skip
    return None
