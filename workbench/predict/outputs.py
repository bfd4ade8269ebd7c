"""Write a prediction to its folder: model.pdb, model.cif, confidence.json, provenance.json.

Every file is written atomically, so an interrupted run never leaves a
half-written model that a resumed batch would take as done.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from workbench.io.structure_writer import atomic_write_bytes, format_mmcif, format_pdb
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


def write_prediction(prediction: Prediction, folder: str | Path) -> dict[str, Path]:
    """Write the model (PDB and mmCIF, pLDDT in the B-factor column) and its confidence and provenance.

    Parameters
    ----------
    prediction : Prediction
    folder : str or Path
        Created if needed.

    Returns
    -------
    dict
        ``{"pdb": ..., "cif": ..., "confidence": ..., "provenance": ...}`` paths.
    """
    folder = Path(folder)
    structure = with_plddt(prediction.structure, prediction.plddt)
    paths = {
        "pdb": folder / "model.pdb",
        "cif": folder / "model.cif",
        "confidence": folder / "confidence.json",
        "provenance": folder / "provenance.json",
    }
    pdb_ok = all(len(chain) <= 1 for chain in structure.chains)
    if pdb_ok:
        atomic_write_bytes(paths["pdb"], format_pdb(structure).encode())
    else:
        del paths["pdb"]
    atomic_write_bytes(paths["cif"], format_mmcif(structure).encode())
    atomic_write_bytes(paths["confidence"], json.dumps(confidence_dict(prediction)).encode())
    provenance = dataclasses.asdict(prediction.provenance) | {"name": prediction.name}
    atomic_write_bytes(paths["provenance"], (json.dumps(provenance, indent=2, default=str) + "\n").encode())
    return paths
