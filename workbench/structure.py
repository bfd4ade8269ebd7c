"""The immutable core type: a macromolecular structure as flat numpy arrays.

A :class:`Structure` is one set of atoms with per-atom annotations, in the
spirit of biotite's ``AtomArray``: everything is a numpy array of length
``n_atoms``, residues and chains are runs of equal annotations, and every
operation returns a new object. Readers and writers live in
:mod:`workbench.io`, analysis in :mod:`workbench.analysis`; the class itself
only validates and offers views.

NMR ensembles and multi-model files keep all their models in ``ensemble``
(shape ``(n_models, n_atoms, 3)``), with ``coords`` the first model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from workbench.residues import is_modified_residue, is_water, one_letter_code

_STRING_FIELDS = ("atom_name", "element", "res_name", "ins_code", "chain_id")


@dataclass(frozen=True)
class MissingResidue:
    """A residue of the deposited sequence with no coordinates (REMARK 465).

    Attributes
    ----------
    chain_id, res_name, ins_code : str
    res_id : int
    model : int or None
        Model number the record applies to; None when it applies to all.
    """

    chain_id: str
    res_name: str
    res_id: int
    ins_code: str = ""
    model: int | None = None


@dataclass(frozen=True)
class ResidueTable:
    """Per-residue view of a structure; residue ``i`` spans atoms ``start[i]:start[i+1]``.

    Attributes
    ----------
    chain_id, res_name, ins_code : ndarray, shape=(n_residues,), dtype=str
    res_id : ndarray, shape=(n_residues,), dtype=int32
    hetero : ndarray, shape=(n_residues,), dtype=bool
        True when the residue's first atom is a HETATM record.
    start : ndarray, shape=(n_residues + 1,), dtype=int64
        Atom index where each residue starts, with ``n_atoms`` appended.
    """

    chain_id: np.ndarray
    res_name: np.ndarray
    res_id: np.ndarray
    ins_code: np.ndarray
    hetero: np.ndarray
    start: np.ndarray

    def __len__(self) -> int:
        return len(self.res_id)

    def label(self, i: int) -> str:
        """Human-readable residue label, e.g. ``"A:MSE 32B"``."""
        return f"{self.chain_id[i]}:{self.res_name[i]} {self.res_id[i]}{self.ins_code[i]}"


@dataclass(frozen=True, eq=False)
class Structure:
    """Atoms of one macromolecular structure, in Ångström.

    Parameters
    ----------
    coords : array_like, shape=(n_atoms, 3)
        Cartesian coordinates in Å, stored as C-contiguous float32.
    atom_name, element, res_name, ins_code, chain_id : array_like, shape=(n_atoms,)
        Per-atom text annotations (``ins_code`` is ``""`` when absent;
        ``element`` in normal capitalisation, ``"Se"``, ``"C"``).
    res_id : array_like of int, shape=(n_atoms,)
        Author residue numbers (may be zero or negative).
    b_factor, occupancy : array_like of float, shape=(n_atoms,)
        B-factor (pLDDT in predictions) and occupancy.
    hetero : array_like of bool, shape=(n_atoms,)
        True for HETATM records.
    ensemble : array_like, shape=(n_models, n_atoms, 3), optional
        All models of a multi-model file; ``ensemble[0]`` equals ``coords``.
    missing_residues : tuple of MissingResidue
        Residues reported as unobserved by the file (REMARK 465 or
        ``_pdbx_unobs_or_zero_occ_residues``).
    name : str
        Identifier (file stem or entry id); informational only.

    Raises
    ------
    ValueError
        If the arrays disagree in length, coordinates are not finite, or the
        ensemble does not match ``coords``.

    Examples
    --------
    >>> s = Structure(coords=[[0, 0, 0], [1.5, 0, 0]], atom_name=["N", "CA"],
    ...               element=["N", "C"], res_name=["GLY", "GLY"], res_id=[1, 1],
    ...               ins_code=["", ""], chain_id=["A", "A"], b_factor=[0, 0],
    ...               occupancy=[1, 1], hetero=[False, False])
    >>> s.n_atoms, len(s.residues), s.sequences
    (2, 1, {'A': 'G'})
    """

    coords: np.ndarray
    atom_name: np.ndarray
    element: np.ndarray
    res_name: np.ndarray
    res_id: np.ndarray
    ins_code: np.ndarray
    chain_id: np.ndarray
    b_factor: np.ndarray
    occupancy: np.ndarray
    hetero: np.ndarray
    ensemble: np.ndarray | None = None
    missing_residues: tuple[MissingResidue, ...] = ()
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        coords = _frozen(np.asarray(self.coords, dtype=np.float32).reshape(-1, 3))
        n_atoms = coords.shape[0]
        if not np.isfinite(coords).all():
            bad = int(np.flatnonzero(~np.isfinite(coords).all(axis=1))[0])
            raise ValueError(f"atom {bad} has a non-finite coordinate {coords[bad].tolist()}")
        values: dict[str, Any] = {"coords": coords}
        for name in _STRING_FIELDS:
            values[name] = _frozen(np.asarray(getattr(self, name), dtype=str).reshape(-1))
        values["res_id"] = _frozen(np.asarray(self.res_id, dtype=np.int32).reshape(-1))
        values["b_factor"] = _frozen(np.asarray(self.b_factor, dtype=np.float32).reshape(-1))
        values["occupancy"] = _frozen(np.asarray(self.occupancy, dtype=np.float32).reshape(-1))
        values["hetero"] = _frozen(np.asarray(self.hetero, dtype=bool).reshape(-1))
        for name, array in values.items():
            if array.shape[0] != n_atoms:
                raise ValueError(f"{name} has {array.shape[0]} entries for {n_atoms} atoms")
        if self.ensemble is not None:
            ensemble = _frozen(np.asarray(self.ensemble, dtype=np.float32))
            if ensemble.ndim != 3 or ensemble.shape[1:] != (n_atoms, 3):
                raise ValueError(f"ensemble has shape {ensemble.shape}, expected (n_models, {n_atoms}, 3)")
            if not np.isfinite(ensemble).all():
                raise ValueError("ensemble has non-finite coordinates")
            if not np.array_equal(ensemble[0], coords):
                raise ValueError("ensemble[0] must equal coords (the first model)")
            values["ensemble"] = ensemble if len(ensemble) > 1 else None
        values["missing_residues"] = tuple(self.missing_residues)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    # -- sizes -----------------------------------------------------------------

    @property
    def n_atoms(self) -> int:
        """Number of atoms."""
        return int(self.coords.shape[0])

    @property
    def n_models(self) -> int:
        """Number of models (1 unless read from a multi-model file)."""
        return 1 if self.ensemble is None else int(self.ensemble.shape[0])

    @property
    def frames(self) -> np.ndarray:
        """Coordinates of every model, also for a single model.

        Returns
        -------
        ndarray, shape=(n_models, n_atoms, 3), dtype=float32
        """
        return self.coords[None] if self.ensemble is None else self.ensemble

    def __len__(self) -> int:
        return self.n_atoms

    def __repr__(self) -> str:
        return (
            f"Structure(name={self.name!r}, n_atoms={self.n_atoms}, "
            f"n_residues={len(self.residues)}, chains={list(self.chains)}, n_models={self.n_models})"
        )

    # -- residue and chain views -------------------------------------------------

    @cached_property
    def residue_starts(self) -> np.ndarray:
        """Atom index of each residue's first atom, with ``n_atoms`` appended.

        Returns
        -------
        ndarray, shape=(n_residues + 1,), dtype=int64
        """
        if self.n_atoms == 0:
            return np.zeros(1, dtype=np.int64)
        changed = np.zeros(self.n_atoms, dtype=bool)
        changed[0] = True
        for name in ("chain_id", "res_id", "ins_code", "res_name"):
            values = getattr(self, name)
            changed[1:] |= values[1:] != values[:-1]
        return _frozen(np.append(np.flatnonzero(changed), self.n_atoms).astype(np.int64))

    @cached_property
    def residue_index(self) -> np.ndarray:
        """Index of each atom's residue in :attr:`residues`.

        Returns
        -------
        ndarray, shape=(n_atoms,), dtype=int32
        """
        counts = np.diff(self.residue_starts)
        return _frozen(np.repeat(np.arange(len(counts), dtype=np.int32), counts))

    @cached_property
    def residues(self) -> ResidueTable:
        """Per-residue annotations (see :class:`ResidueTable`)."""
        first = self.residue_starts[:-1]
        return ResidueTable(
            chain_id=_frozen(self.chain_id[first]),
            res_name=_frozen(self.res_name[first]),
            res_id=_frozen(self.res_id[first]),
            ins_code=_frozen(self.ins_code[first]),
            hetero=_frozen(self.hetero[first]),
            start=self.residue_starts,
        )

    @cached_property
    def chains(self) -> tuple[str, ...]:
        """Chain identifiers in order of first appearance."""
        _, first = np.unique(self.chain_id, return_index=True)
        return tuple(str(self.chain_id[i]) for i in np.sort(first))

    @cached_property
    def sequences(self) -> dict[str, str]:
        """One-letter sequence of the observed polymer residues of each chain.

        Modified residues take their parent's letter (MSE -> M); chains with
        no polymer residue (water, ligands only) are left out.
        """
        sequences: dict[str, list[str]] = {}
        residues = self.residues
        for chain, res_name in zip(residues.chain_id, residues.res_name, strict=True):
            code = one_letter_code(str(res_name))
            if code is not None:
                sequences.setdefault(str(chain), []).append(code)
        return {chain: "".join(codes) for chain, codes in sequences.items()}

    @cached_property
    def polymer(self) -> np.ndarray:
        """Per-atom mask of polymer residues (amino acids and nucleotides, modified ones included).

        Returns
        -------
        ndarray, shape=(n_atoms,), dtype=bool
        """
        by_residue = np.array([one_letter_code(str(n)) is not None for n in self.residues.res_name], dtype=bool)
        return _frozen(by_residue[self.residue_index])

    def modified_residues(self) -> list[tuple[str, int, str, str]]:
        """Non-standard polymer residues (MSE, SEP, ...) as ``(chain, res_id, ins_code, res_name)``."""
        r = self.residues
        return [
            (str(r.chain_id[i]), int(r.res_id[i]), str(r.ins_code[i]), str(r.res_name[i]))
            for i in range(len(r))
            if is_modified_residue(str(r.res_name[i]))
        ]

    def hetero_groups(self) -> dict[str, int]:
        """Counts of hetero residues that are not polymer residues or water, by name."""
        counts: dict[str, int] = {}
        r = self.residues
        for res_name, hetero in zip(r.res_name, r.hetero, strict=True):
            name = str(res_name)
            if hetero and one_letter_code(name) is None and not is_water(name):
                counts[name] = counts.get(name, 0) + 1
        return counts

    def n_waters(self) -> int:
        """Number of water residues."""
        return sum(1 for name in self.residues.res_name if is_water(str(name)))

    # -- new structures from this one ---------------------------------------------

    def model(self, index: int) -> Structure:
        """The ``index``-th model (0-based) as a single-model structure."""
        if not -self.n_models <= index < self.n_models:
            raise IndexError(f"model index {index} out of range for {self.n_models} model(s)")
        coords = self.coords if self.ensemble is None else self.ensemble[index]
        return dataclasses.replace(self, coords=coords, ensemble=None)

    def models(self) -> Iterator[Structure]:
        """Iterate over the models as single-model structures."""
        for index in range(self.n_models):
            yield self.model(index)

    def select(self, mask: np.ndarray) -> Structure:
        """Atoms where ``mask`` is true (boolean mask or index array), all models kept."""
        mask = np.asarray(mask)
        fields = {name: getattr(self, name)[mask] for name in ("coords", *_STRING_FIELDS)}
        for name in ("res_id", "b_factor", "occupancy", "hetero"):
            fields[name] = getattr(self, name)[mask]
        ensemble = None if self.ensemble is None else self.ensemble[:, mask]
        return dataclasses.replace(self, ensemble=ensemble, **fields)

    def with_coords(self, coords: np.ndarray) -> Structure:
        """The same atoms at new coordinates, shape ``(n_atoms, 3)``; the ensemble is dropped."""
        return dataclasses.replace(self, coords=coords, ensemble=None)


def _frozen(array: np.ndarray) -> np.ndarray:
    """A C-contiguous, read-only array that owns no memory shared with a caller's writable array."""
    if array.flags.writeable or not array.flags.c_contiguous:
        array = np.array(array, order="C", copy=True)
    array.setflags(write=False)
    return array
