"""A prediction's confidence as it goes into files: pLDDT in the B-factor column, confidence.json's data.

The files themselves are written by :mod:`workbench.results`, which owns the results folder.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from workbench.predict.base import Prediction
from workbench.structure import Structure


def plddt_per_atom(structure: Structure, plddt: np.ndarray) -> np.ndarray:
    """Spread per-residue pLDDT over atoms; non-polymer atoms keep their B-factor.

    Parameters
    ----------
    structure : Structure
    plddt : ndarray, shape=(n_polymer_residues,)

    Returns
    -------
    ndarray, shape=(n_atoms,), dtype=float32
    """
    polymer_residue = structure.polymer[structure.residue_starts[:-1]]
    per_residue = np.array(structure.b_factor[structure.residue_starts[:-1]], dtype=np.float32)
    per_residue[polymer_residue] = plddt
    atoms = per_residue[structure.residue_index]
    return np.where(structure.polymer, atoms, structure.b_factor).astype(np.float32)


def with_plddt(structure: Structure, plddt: np.ndarray | None) -> Structure:
    """``structure`` with per-residue pLDDT written into the B-factor column.

    Without a pLDDT the polymer's B-factors become 0: a predicted model's
    B-factor column is read as pLDDT by viewers and by AlphaFold-aware tools,
    so it must not carry a template's crystallographic B-factors or a heuristic.
    """
    if plddt is None:
        polymer_residues = int(np.count_nonzero(structure.polymer[structure.residue_starts[:-1]]))
        plddt = np.zeros(polymer_residues, dtype=np.float32)
    return dataclasses.replace(structure, b_factor=plddt_per_atom(structure, plddt))


def confidence_dict(prediction: Prediction) -> dict:
    """Confidence as JSON-ready data.

    Its kind, per-residue pLDDT and its mean (null without a pLDDT), any
    per-residue error in Å, pTM, ipTM, PAE and max PAE.
    """
    mean = prediction.mean_plddt
    return {
        "kind": prediction.confidence_kind,
        "plddt": None if prediction.plddt is None else np.round(prediction.plddt.astype(float), 2).tolist(),
        "mean_plddt": None if mean is None else round(mean, 3),
        "residue_error": (None if prediction.residue_error is None
                          else np.round(prediction.residue_error.astype(float), 3).tolist()),
        "ptm": prediction.ptm,
        "iptm": prediction.iptm,
        "pae": None if prediction.pae is None else np.round(prediction.pae.astype(float), 2).tolist(),
        "max_pae": prediction.max_pae,
    }
