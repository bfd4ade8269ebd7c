"""Atom records as arrays, before the alternate-location choice and the split into models."""

from __future__ import annotations

from dataclasses import dataclass

import gemmi
import numpy as np

from workbench.io._columns import changes


@dataclass
class ModelAtoms:
    """Atom rows of one model, before the alternate-location choice.

    ``text`` holds the str arrays ``atom_name``, ``element``, ``res_name``,
    ``ins_code`` and ``chain_id``; every array has one entry per atom.
    """

    coords: np.ndarray
    text: dict[str, np.ndarray]
    res_id: np.ndarray
    b_factor: np.ndarray
    occupancy: np.ndarray
    hetero: np.ndarray
    altloc: np.ndarray

    def identity(self) -> tuple[np.ndarray, ...]:
        return (*self.text.values(), self.res_id, self.hetero)


@dataclass
class AtomRows:
    """Every atom record of a file, in file order, read column by column.

    Attributes
    ----------
    model : ndarray, shape=(n,), dtype=int64
        Model number of each record.
    atoms : ModelAtoms
        The records of all models together.
    chain_start, residue_start : ndarray, shape=(n,), dtype=bool
        Records that start a chain part (a run of one chain name within a
        model) and a residue, as gemmi reads the file (:func:`run_starts`).
    """

    model: np.ndarray
    atoms: ModelAtoms
    chain_start: np.ndarray
    residue_start: np.ndarray

    def of_model(self, number: int) -> ModelAtoms:
        """The records of model ``number`` (none: empty arrays)."""
        rows = np.flatnonzero(self.model == number)
        part = slice(int(rows[0]), int(rows[-1]) + 1) if len(rows) else slice(0, 0)
        a = self.atoms
        return ModelAtoms(
            coords=a.coords[part], text={k: v[part] for k, v in a.text.items()}, res_id=a.res_id[part],
            b_factor=a.b_factor[part], occupancy=a.occupancy[part], hetero=a.hetero[part],
            altloc=a.altloc[part],
        )

    def ordered_as(self, st: gemmi.Structure) -> bool:
        """Whether gemmi's structure holds these records in this order, model by model.

        Gemmi gathers the atoms of a residue that are split within a chain
        part, and of a model that is split in the file; the arrays here keep
        file order. Where the models are contiguous blocks and gemmi has as
        many atoms, chain parts and residues in each model as there are here
        (runs of equal keys), no record was moved and the two agree.
        """
        blocks = changes(self.model)
        if len(set(self.model[blocks].tolist())) != int(blocks.sum()):
            return False
        chain_start, residue_start = self.chain_start, self.residue_start
        for model in st:
            rows = self.model == model.num
            if (model.count_atom_sites() != int(rows.sum()) or len(model) != int(chain_start[rows].sum())
                    or sum(len(chain) for chain in model) != int(residue_start[rows].sum())):
                return False
        return len(self.model) == sum(model.count_atom_sites() for model in st)


def run_starts(model: np.ndarray, chain_key: tuple[np.ndarray, ...],
               residue_key: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Rows that start a chain part, and rows that start a residue.

    Parameters
    ----------
    model : ndarray, shape=(n,)
    chain_key, residue_key : tuple of ndarray, each shape=(n,) or (n, width)
        A chain part starts where the model or any ``chain_key`` column
        changes; a residue where that happens or any ``residue_key`` column changes.

    Returns
    -------
    chain_start, residue_start : ndarray, shape=(n,), dtype=bool
    """
    chain_start = changes(model, *chain_key)
    return chain_start, chain_start | changes(*residue_key)


def first_of_residue(values: np.ndarray, residue_start: np.ndarray) -> np.ndarray:
    """Each atom's value taken from the first atom of its residue (runs starting where ``residue_start``)."""
    first = np.flatnonzero(residue_start)
    return values[first][np.cumsum(residue_start) - 1]
