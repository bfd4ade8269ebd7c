"""Atom selection, residue pairing and input checks shared by the analysis functions.

Selections apply to amino-acid residues (standard and modified, such as MSE);
ligands, water, ions and nucleic acids are never part of ``"CA"``,
``"backbone"``, ``"heavy"`` or ``"all"``. Atoms of two structures are paired by
chain identifier, residue number, insertion code and atom name: the TM-score
program's rule, which makes a model and its reference comparable without a
sequence alignment as long as they share a numbering.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from workbench.residues import is_amino_acid
from workbench.structure import Structure

AtomSelection = Literal["CA", "backbone", "heavy", "all"]
ATOM_SELECTIONS: tuple[str, ...] = ("CA", "backbone", "heavy", "all")
BACKBONE_NAMES = np.array(["N", "CA", "C", "O"])
_HYDROGEN_ELEMENTS = np.array(["H", "D"])


#: Residue names that force fields give to protonation states of standard amino acids
#: (CHARMM, Amber): not in the Chemical Component Dictionary, common in MD files.


def amino_acid_mask(structure: Structure) -> np.ndarray:
    """Atoms that belong to amino-acid residues (standard, modified, or force-field names).

    Parameters
    ----------
    structure : Structure

    Returns
    -------
    ndarray, shape=(n_atoms,), dtype=bool
    """
    if structure.n_atoms == 0:
        return np.zeros(0, dtype=bool)
    names, inverse = np.unique(structure.residues.res_name, return_inverse=True)
    known = np.array([is_amino_acid(str(name)) for name in names])
    return known[inverse.reshape(-1)][structure.residue_index]


def select_atoms(structure: Structure, atoms: AtomSelection) -> np.ndarray:
    """Indices of the atoms of a named selection, in structure order.

    Parameters
    ----------
    structure : Structure
    atoms : {"CA", "backbone", "heavy", "all"}
        ``"CA"``: alpha carbons; ``"backbone"``: N, CA, C, O; ``"heavy"``: all
        atoms except hydrogen (see :func:`hydrogen_mask`); ``"all"``: every atom;
        always of amino-acid residues only (a calcium ion named CA is not selected).

    Returns
    -------
    ndarray, shape=(n_selected,), dtype=int64

    Raises
    ------
    ValueError
        For an unknown selection name.
    """
    if atoms not in ATOM_SELECTIONS:
        raise ValueError(f"atoms must be one of {', '.join(map(repr, ATOM_SELECTIONS))}, not {atoms!r}")
    mask = amino_acid_mask(structure)
    if atoms == "CA":
        mask &= structure.atom_name == "CA"
    elif atoms == "backbone":
        mask &= np.isin(structure.atom_name, BACKBONE_NAMES)
    elif atoms == "heavy":
        mask &= ~hydrogen_mask(structure)
    return np.flatnonzero(mask)


def hydrogen_mask(structure: Structure) -> np.ndarray:
    """Hydrogen (and deuterium) atoms of amino-acid residues.

    By element, or by name: no heavy atom of an amino acid has a name that starts
    with H or D (after leading digits), so the name also catches hydrogens whose
    element was guessed wrongly from a file without an element column (HG1 read
    as mercury). Meant for amino-acid atoms only: a mercury ion named HG would
    count as a hydrogen.

    Returns
    -------
    ndarray, shape=(n_atoms,), dtype=bool
    """
    element = np.char.upper(structure.element)
    stripped = np.char.lstrip(structure.atom_name, "0123456789")
    by_name = np.char.startswith(stripped, "H") | np.char.startswith(stripped, "D")
    return np.isin(element, _HYDROGEN_ELEMENTS) | by_name


def atom_keys(structures: tuple[Structure, ...], indices: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Integer keys of (chain, residue number, insertion code, atom name), comparable across structures.

    Parameters
    ----------
    structures : tuple of Structure
    indices : tuple of ndarray of int
        The atoms of each structure to key.

    Returns
    -------
    tuple of ndarray, dtype=int64
        One key per selected atom; equal keys mean the same chain, number, code and name.
    """
    columns = []
    for name in ("chain_id", "ins_code", "atom_name"):
        values = np.concatenate([getattr(s, name)[i] for s, i in zip(structures, indices, strict=True)])
        columns.append(np.unique(values, return_inverse=True)[1].reshape(-1).astype(np.int64))
    res_id = np.concatenate([s.res_id[i] for s, i in zip(structures, indices, strict=True)]).astype(np.int64)
    chain, ins, atom = columns
    # chain < 2^12, residue number + 2^31 < 2^32, insertion code < 2^6, name < 2^12: 62 bits.
    keys = ((chain << 50) | ((res_id + 2**31) << 18) | (ins << 12) | atom).astype(np.int64)
    bounds = np.cumsum([0] + [len(i) for i in indices])
    return tuple(keys[bounds[k] : bounds[k + 1]] for k in range(len(indices)))


def _atom_label(structure: Structure, index: int) -> str:
    return (
        f"{structure.chain_id[index]} {structure.res_name[index]} {structure.res_id[index]}"
        f"{structure.ins_code[index]} {structure.atom_name[index]}"
    )


def _unique_or_raise(keys: np.ndarray, structure: Structure, selection: np.ndarray, what: str) -> None:
    order = np.argsort(keys, kind="stable")
    repeated = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    if len(repeated):
        label = _atom_label(structure, int(selection[order[repeated[0] + 1]]))
        raise ValueError(
            f"{what} has more than one atom {label!r} (same chain, residue number, insertion code and "
            f"name); pairing by residue number needs them unique"
        )


def pair_atoms(
    model: Structure, reference: Structure, atoms: AtomSelection, *, require_all: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Pair the selected atoms of two structures by chain, residue number, insertion code and name.

    Parameters
    ----------
    model, reference : Structure
    atoms : {"CA", "backbone", "heavy", "all"}
        Selection applied to both (see :func:`select_atoms`).
    require_all : bool
        Raise if a selected reference atom has no partner in the model.

    Returns
    -------
    model_index, reference_index : ndarray, shape=(n_pairs,), dtype=int64
        Paired atom indices, in reference order.

    Raises
    ------
    ValueError
        If no atom pairs up, keys are not unique within a structure, or (with
        ``require_all``) a reference atom is missing from the model.
    """
    model_sel = select_atoms(model, atoms)
    reference_sel = select_atoms(reference, atoms)
    if len(reference_sel) == 0:
        raise ValueError(f"the reference has no {atoms} atoms of amino-acid residues")
    if len(model_sel) == 0:
        raise ValueError(f"the model has no {atoms} atoms of amino-acid residues")
    model_keys, reference_keys = atom_keys((model, reference), (model_sel, reference_sel))
    _unique_or_raise(model_keys, model, model_sel, "the model")
    _unique_or_raise(reference_keys, reference, reference_sel, "the reference")
    _, in_model, in_reference = np.intersect1d(model_keys, reference_keys, assume_unique=True, return_indices=True)
    if len(in_reference) == 0:
        raise ValueError(
            f"model and reference share no {atoms} atom: they are paired by chain, residue number, "
            f"insertion code and atom name (model chains {list(model.chains)}, reference chains "
            f"{list(reference.chains)})"
        )
    if require_all and len(in_reference) < len(reference_sel):
        missing = np.setdiff1d(np.arange(len(reference_sel)), in_reference)[0]
        label = _atom_label(reference, int(reference_sel[missing]))
        raise ValueError(f"reference atom {label!r} has no partner in the model")
    order = np.argsort(in_reference)
    return model_sel[in_model[order]], reference_sel[in_reference[order]]


def as_coordinates(array: object, name: str, ndim: int, *, check: bool = True) -> np.ndarray:
    """Coordinates as C-contiguous float32, checked for shape and finiteness.

    Parameters
    ----------
    array : array_like
        Coordinates in Å, shape ``(..., 3)`` with ``ndim`` dimensions.
    name : str
        Name used in error messages.
    ndim : int
        2 for ``(n_atoms, 3)``, 3 for ``(n_frames, n_atoms, 3)``.
    check : bool
        Check finiteness here; callers whose kernel propagates NaN to its result
        pass False and call :func:`check_finite` on the offending frames only.

    Returns
    -------
    ndarray, dtype=float32

    Raises
    ------
    ValueError
        On a wrong shape, no atoms, or a NaN / infinite coordinate.
    """
    coords = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
    expected = "(n_atoms, 3)" if ndim == 2 else "(n_frames, n_atoms, 3)"
    if coords.ndim != ndim or coords.shape[-1] != 3:
        raise ValueError(f"{name} must have shape {expected}, got {coords.shape}")
    if coords.shape[-2] == 0:
        raise ValueError(f"{name} has no atoms")
    if check:
        check_finite(coords, name)
    return coords


def check_finite(coords: np.ndarray, name: str, frames: np.ndarray | None = None) -> None:
    """Raise a ValueError naming the first atom with a NaN or infinite coordinate.

    Parameters
    ----------
    coords : ndarray, shape=(n_atoms, 3) or (n_frames, n_atoms, 3)
    name : str
        Name used in the message.
    frames : ndarray of int, optional
        Only look at these frames (those whose result came out NaN).
    """
    if frames is not None:
        for frame in frames:
            finite = np.isfinite(coords[frame]).all(axis=-1)
            if not finite.all():
                atom = int(np.flatnonzero(~finite)[0])
                raise ValueError(
                    f"{name} has a NaN or infinite coordinate (frame {frame}, atom {atom}); refusing to compute with it"
                )
        return
    finite = np.isfinite(coords).all(axis=-1)
    if not finite.all():
        where = np.argwhere(~finite)[0]
        position = f"atom {where[-1]}" if len(where) == 1 else f"frame {where[0]}, atom {where[1]}"
        raise ValueError(f"{name} has a NaN or infinite coordinate ({position}); refusing to compute with it")


def residue_labels(structure: Structure, residues: np.ndarray) -> list[str]:
    """Readable labels (``"A:ASP 12"``) of residue indices."""
    table = structure.residues
    return [table.label(int(r)) for r in residues]
