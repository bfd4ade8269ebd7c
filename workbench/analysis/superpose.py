"""RMSD and superposition of structures and coordinate arrays (QCP)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.analysis._select import AtomSelection, as_coordinates, check_finite, pair_atoms
from workbench.kernels import superpose as kernel
from workbench.structure import Structure


@dataclass(frozen=True)
class Superposition:
    """An optimal rigid superposition of a model onto a reference.

    Attributes
    ----------
    rmsd : float
        RMSD of the paired atoms after superposition, Å.
    rotation : ndarray, shape=(3, 3), dtype=float64
    translation : ndarray, shape=(3,), dtype=float64
        ``coords @ rotation.T + translation`` moves model coordinates onto the reference.
    n_atoms : int
        Number of paired atoms used.
    """

    rmsd: float
    rotation: np.ndarray
    translation: np.ndarray
    n_atoms: int

    def apply(self, coords: np.ndarray) -> np.ndarray:
        """Transform coordinates of shape ``(n, 3)``; returns float32."""
        coords = as_coordinates(coords, "coords", 2)
        return kernel.apply_transform(coords, self.rotation, self.translation)


def rmsd(model: Structure, reference: Structure, atoms: AtomSelection = "CA", superpose: bool = True) -> float:
    """RMSD between a model and a reference, atoms paired by chain, residue number and name.

    Parameters
    ----------
    model, reference : Structure
        Only the first model of an ensemble is used (``structure.coords``).
    atoms : {"CA", "backbone", "heavy", "all"}
        Atoms of amino-acid residues to compare.
    superpose : bool
        Minimise over rigid motions (QCP) first; otherwise compare the coordinates
        as they are.

    Returns
    -------
    float
        RMSD in Å over the atoms present in both structures.

    Raises
    ------
    ValueError
        If the structures share no selected atom or their keys are ambiguous.

    Examples
    --------
    >>> from workbench.analysis import build_backbone
    >>> a = build_backbone([-57.0] * 10, [-47.0] * 10)
    >>> round(rmsd(a, a.with_coords(a.coords + 5.0)), 6)
    0.0
    """
    model_index, reference_index = pair_atoms(model, reference, atoms)
    x = np.ascontiguousarray(model.coords[model_index])
    y = np.ascontiguousarray(reference.coords[reference_index])
    if superpose:
        return float(kernel.rmsd_pair(x, y))
    return float(kernel.plain_rmsd(x, y))


def superpose(model: Structure, reference: Structure, atoms: AtomSelection = "CA") -> tuple[Structure, Superposition]:
    """Move a model onto a reference by the optimal rigid motion of the paired atoms.

    Parameters
    ----------
    model, reference : Structure
    atoms : {"CA", "backbone", "heavy", "all"}
        Atoms that define the fit; every atom of the model is moved.

    Returns
    -------
    moved : Structure
        The model at its superposed coordinates (its ensemble, if any, dropped).
    fit : Superposition
    """
    model_index, reference_index = pair_atoms(model, reference, atoms)
    rotation = np.empty((3, 3))
    translation = np.empty(3)
    value = kernel.superpose_pair(
        np.ascontiguousarray(model.coords[model_index]),
        np.ascontiguousarray(reference.coords[reference_index]),
        rotation,
        translation,
    )
    fit = Superposition(float(value), rotation, translation, len(model_index))
    return model.with_coords(kernel.apply_transform(model.coords, rotation, translation)), fit


def rmsd_many(frames: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """RMSD of every frame to a reference after optimal superposition (QCP).

    Parameters
    ----------
    frames : array_like, shape=(n_frames, n_atoms, 3)
        Coordinates in Å (float32 inside; other dtypes are converted).
    reference : array_like, shape=(n_atoms, 3)
        Coordinates in Å, atoms in the same order as the frames.

    Returns
    -------
    ndarray, shape=(n_frames,), dtype=float64
        RMSD in Å, within 1e-4 Å of a float64 computation.

    Raises
    ------
    ValueError
        On mismatched shapes or non-finite coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> frames = np.random.default_rng(0).normal(size=(4, 30, 3))
    >>> rmsd_many(frames, frames[2])[2] < 1e-5
    np.True_
    """
    frames = as_coordinates(frames, "frames", 3, check=False)
    reference = as_coordinates(reference, "reference", 2)
    if frames.shape[1] != reference.shape[0]:
        raise ValueError(f"frames have {frames.shape[1]} atoms but the reference has {reference.shape[0]}")
    out = np.empty(frames.shape[0])
    packed, g_ref, radius = kernel.pack_reference(reference)
    kernel.rmsd_to_reference.pick(frames.size)(frames, packed, g_ref, radius, out)
    # The kernel returns NaN for frames with a NaN or infinite coordinate: only those are
    # searched, so that a clean trajectory is read once.
    bad = np.flatnonzero(np.isnan(out))
    if len(bad):
        check_finite(frames, "frames", frames=bad)
    return out


def rmsd_matrix(frames: np.ndarray) -> np.ndarray:
    """All-against-all RMSD after optimal superposition of each pair (QCP).

    Parameters
    ----------
    frames : array_like, shape=(n_frames, n_atoms, 3)
        Coordinates in Å.

    Returns
    -------
    ndarray, shape=(n_frames, n_frames), dtype=float64
        Symmetric, zero diagonal, Å.
    """
    frames = as_coordinates(frames, "frames", 3)
    out = np.empty((frames.shape[0], frames.shape[0]))
    kernel.rmsd_matrix.pick(frames.shape[0] * frames.size // 2)(frames, out)
    return out


def superpose_many(frames: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Optimal rigid motion of every frame onto a reference.

    Parameters
    ----------
    frames : array_like, shape=(n_frames, n_atoms, 3)
    reference : array_like, shape=(n_atoms, 3)

    Returns
    -------
    rotations : ndarray, shape=(n_frames, 3, 3), dtype=float64
    translations : ndarray, shape=(n_frames, 3), dtype=float64
        ``frames[f] @ rotations[f].T + translations[f]`` is superposed.
    rmsd : ndarray, shape=(n_frames,), dtype=float64
    """
    frames = as_coordinates(frames, "frames", 3)
    reference = as_coordinates(reference, "reference", 2)
    if frames.shape[1] != reference.shape[0]:
        raise ValueError(f"frames have {frames.shape[1]} atoms but the reference has {reference.shape[0]}")
    n = frames.shape[0]
    rotations = np.empty((n, 3, 3))
    translations = np.empty((n, 3))
    out = np.empty(n)
    kernel.superpose_to_reference.pick(frames.size)(frames, reference, rotations, translations, out)
    return rotations, translations, out
