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


def with_plddt(structure: Structure, plddt: np.ndarray) -> Structure:
    """``structure`` with per-residue pLDDT written into the B-factor column."""
    return dataclasses.replace(structure, b_factor=plddt_per_atom(structure, plddt))


def confidence_dict(prediction: Prediction) -> dict:
    """Confidence as JSON-ready data: per-residue pLDDT and its mean, pTM, ipTM, PAE and max PAE."""
    return {
        "plddt": np.round(prediction.plddt.astype(float), 2).tolist(),
        "mean_plddt": round(prediction.mean_plddt, 3),
        "ptm": prediction.ptm,
        "iptm": prediction.iptm,
        "pae": None if prediction.pae is None else np.round(prediction.pae.astype(float), 2).tolist(),
        "max_pae": prediction.max_pae,
    }
