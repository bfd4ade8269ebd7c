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

    Centres each frame on the fly, in one read of the frames. To compare the same
    frames with several references, centre them once with :func:`centre_frames` and
    call :func:`rmsd_centred` (MDTraj's ``precentered=True``): about 2x faster per call.

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


@dataclass(frozen=True, eq=False)
class CentredFrames:
    """Frames centred once, with their traces, for repeated RMSD calculations.

    The workbench's form of MDTraj's ``Trajectory.center_coordinates()`` followed by
    ``md.rmsd(..., precentered=True)``: every RMSD from these frames reads only the
    centred coordinates of the two frames (12 bytes per atom per frame) and no
    centring or sum of squares is recomputed. Make one with :func:`centre_frames`;
    the arrays are read-only.

    Attributes
    ----------
    xyz : ndarray, shape=(n_frames, 3, n_atoms), dtype=float32
        Centred coordinates in Å, axis-major: ``xyz[f, 0]`` holds every atom's x.
    traces : ndarray, shape=(n_frames,), dtype=float64
        Sum of squared centred coordinates of each frame, Å², summed in float64 from the
        float32 values stored in ``xyz``.
    centres : ndarray, shape=(n_frames, 3), dtype=float64
        The centroid subtracted from each frame, Å.
    """

    xyz: np.ndarray
    traces: np.ndarray
    centres: np.ndarray

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.xyz.shape[0])

    @property
    def n_atoms(self) -> int:
        """Atoms per frame."""
        return int(self.xyz.shape[2])

    @property
    def coords(self) -> np.ndarray:
        """The centred coordinates as ``(n_frames, n_atoms, 3)`` (a read-only view, not contiguous)."""
        return self.xyz.transpose(0, 2, 1)


def centre_frames(frames: np.ndarray) -> CentredFrames:
    """Centre every frame once, for :func:`rmsd_centred` and :func:`rmsd_matrix`.

    Parameters
    ----------
    frames : array_like, shape=(n_frames, n_atoms, 3)
        Coordinates in Å (float32 inside; other dtypes are converted).

    Returns
    -------
    CentredFrames
        Centred float32 coordinates (axis-major), float64 traces and centroids.

    Raises
    ------
    ValueError
        On a wrong shape, no atoms, or a NaN / infinite coordinate (naming the frame and atom).

    Examples
    --------
    >>> import numpy as np
    >>> frames = np.random.default_rng(0).normal(size=(5, 30, 3)) + 40.0
    >>> centred = centre_frames(frames)
    >>> centred.xyz.shape, centred.traces.shape
    ((5, 3, 30), (5,))
    >>> bool(abs(centred.coords.mean(axis=1)).max() < 1e-5)
    True
    """
    frames = as_coordinates(frames, "frames", 3, check=False)
    n_frames, n_atoms = frames.shape[:2]
    xyz = np.empty((n_frames, 3, n_atoms), dtype=np.float32)
    centres = np.empty((n_frames, 3))
    traces = np.empty(n_frames)
    kernel.centre_frames.pick(frames.size)(frames, xyz, centres, traces)
    # A NaN or infinite coordinate makes its frame's trace non-finite: only those frames are
    # searched, so that a clean trajectory is read once.
    bad = np.flatnonzero(~np.isfinite(traces))
    if len(bad):
        check_finite(frames, "frames", frames=bad)
    for array in (xyz, centres, traces):
        array.flags.writeable = False
    return CentredFrames(xyz, traces, centres)


def rmsd_centred(frames: CentredFrames, reference: CentredFrames, frame: int = 0) -> np.ndarray:
    """RMSD of every precentred frame to one precentred reference frame (QCP).

    Parameters
    ----------
    frames : CentredFrames
        From :func:`centre_frames`.
    reference : CentredFrames
        From :func:`centre_frames`, atoms in the same order (may be ``frames`` itself).
    frame : int
        Index of the reference frame in ``reference`` (negative counts from the end).

    Returns
    -------
    ndarray, shape=(n_frames,), dtype=float64
        RMSD in Å after optimal superposition, within 1e-5 Å of a float64 computation on
        the same float32 coordinates.

    Raises
    ------
    TypeError
        If ``frames`` or ``reference`` is not a :class:`CentredFrames`.
    ValueError
        On a different number of atoms, or a frame index out of range.

    Examples
    --------
    >>> import numpy as np
    >>> centred = centre_frames(np.random.default_rng(0).normal(size=(4, 30, 3)))
    >>> bool(rmsd_centred(centred, centred, 2)[2] < 1e-6)
    True
    """
    if not isinstance(frames, CentredFrames) or not isinstance(reference, CentredFrames):
        raise TypeError("rmsd_centred takes CentredFrames (from centre_frames) for frames and reference")
    xyz = frames.xyz
    n_frames, _, n_atoms = xyz.shape
    if reference.xyz.shape[2] != n_atoms:
        raise ValueError(f"frames have {n_atoms} atoms but the reference has {reference.xyz.shape[2]}")
    count = reference.xyz.shape[0]
    if not -count <= frame < count:
        raise ValueError(f"reference frame {frame} is out of range for {count} frames")
    out = np.empty(n_frames)
    kernel.rmsd_centred.pick(n_frames * n_atoms * 3)(
        xyz, frames.traces, reference.xyz[frame], float(reference.traces[frame]), out
    )
    return out


#: Frames per block of the all-against-all matrix: bounds the float64 copies of a block's
#: coordinates (``24 * n_atoms`` bytes per frame) and the block's inner products (``72`` bytes per
#: frame pair) at about 32 MiB and 19 MiB.
_MATRIX_BLOCK_BYTES = 1 << 25
_MATRIX_BLOCK_FRAMES = 512


def rmsd_matrix(frames: np.ndarray | CentredFrames) -> np.ndarray:
    """All-against-all RMSD after optimal superposition of each pair (QCP).

    The frames are centred once (:func:`centre_frames`); the inner products of all
    pairs then come from float64 matrix products of blocks of frames (BLAS; a symmetric
    rank-k update for a block with itself), and each pair's RMSD from QCP on its 3x3
    block. Float64 products keep every value within 1e-5 Å of a float64 computation,
    close pairs included (float32 products would be off by up to ~2e-4 Å at 1 Å and
    need a float64 recheck of most pairs).

    Parameters
    ----------
    frames : array_like, shape=(n_frames, n_atoms, 3), or CentredFrames
        Coordinates in Å.

    Returns
    -------
    ndarray, shape=(n_frames, n_frames), dtype=float64
        Symmetric, zero diagonal, Å.

    Raises
    ------
    ValueError
        On a wrong shape, no atoms, or a NaN / infinite coordinate.
    """
    from scipy.linalg.blas import dsyrk  # imported here: scipy.linalg costs ~0.1 s at import

    centred = frames if isinstance(frames, CentredFrames) else centre_frames(frames)
    n_frames, n_atoms = centred.n_frames, centred.n_atoms
    rows = centred.xyz.reshape(3 * n_frames, n_atoms)
    traces = centred.traces
    block = max(1, min(_MATRIX_BLOCK_FRAMES, _MATRIX_BLOCK_BYTES // (24 * n_atoms)))
    out = np.empty((n_frames, n_frames))
    for i0 in range(0, n_frames, block):
        i1 = min(i0 + block, n_frames)
        a = rows[3 * i0 : 3 * i1].astype(np.float64)
        for j0 in range(i0, n_frames, block):
            j1 = min(j0 + block, n_frames)
            # A block with itself: only the upper triangle is read, which the symmetric rank-k
            # update computes at about half the cost of the full product. ``a.T`` is Fortran-
            # ordered, so BLAS gets it without a copy (and returns Fortran order).
            products = dsyrk(1.0, a.T, trans=1) if j0 == i0 else a @ rows[3 * j0 : 3 * j1].astype(np.float64).T
            tile = out[i0:i1, j0:j1]
            kernel.rmsd_from_products.pick((i1 - i0) * (j1 - j0) * 100)(
                products, traces[i0:i1], traces[j0:j1], n_atoms, j0 == i0, tile
            )
            if j0 != i0:
                out[j0:j1, i0:i1] = tile.T
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
