"""One clash definition for the quality report and the refinement: AlphaFold2's.

Two heavy atoms clash when they are closer than the sum of their van der
Waals radii minus a tolerance (AlphaFold2's ``clash_overlap_tolerance``,
1.5 Å), unless they are bonded or nearly so. The radius table and the
distance rule live here; the pair search is the array kernel
:func:`workbench.kernels.clashes.overlaps`. Which pairs count as "bonded or
nearly so" is the caller's knowledge of the bonds, passed in as groups and
exclusions:

- :func:`workbench.analysis.clashes` (AlphaFold2's between-residue check):
  atoms of different residues only, except the peptide C-N bond of
  consecutive residues and disulfide SG-SG pairs;
- :class:`workbench.refine.GeometryModel` (the relax's violation check):
  every pair of heavy atoms more than three bonds apart in the force field's
  bond graph, within a residue too.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from workbench.kernels import clashes as clash_kernel

__all__ = ["CLASH_DEFAULT_RADIUS", "CLASH_RADII", "CLASH_TOLERANCE", "clash_radii", "overlapping_pairs"]

#: Van der Waals radii for clash detection, Å (AlphaFold2's ``van_der_waals_radius``; Se added).
CLASH_RADII: dict[str, float] = {"C": 1.7, "N": 1.55, "O": 1.52, "S": 1.8, "Se": 1.9}
#: Radius of elements not in :data:`CLASH_RADII`, Å.
CLASH_DEFAULT_RADIUS = 1.8
#: Overlap allowed below the sum of radii, Å (AlphaFold2's ``clash_overlap_tolerance``).
CLASH_TOLERANCE = 1.5


def clash_radii(elements: Iterable[str], dtype: type = np.float32) -> np.ndarray:
    """Clash radius of each atom from its element symbol.

    Parameters
    ----------
    elements : iterable of str
        Element symbols as :data:`CLASH_RADII` spells them (``"C"``, ``"Se"``).
    dtype : numpy dtype
        float32 for structures' coordinates, float64 for a force field's.

    Returns
    -------
    ndarray, shape=(n,), dtype=dtype
    """
    return np.array([CLASH_RADII.get(str(e), CLASH_DEFAULT_RADIUS) for e in elements], dtype=dtype)


def overlapping_pairs(
    coords: np.ndarray, radii: np.ndarray, group: np.ndarray, tolerance: float = CLASH_TOLERANCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of atoms of different groups with ``d_ij < r_i + r_j - tolerance``.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32 or float64
        Å; the kernel computes in float64 either way.
    radii : ndarray, shape=(n,), dtype=float32 or float64
        From :func:`clash_radii`.
    group : ndarray, shape=(n,), dtype=int64
        Pairs within a group are never reported: residue indices for a
        between-residue check, ``arange(n)`` to check every pair.
    tolerance : float
        Allowed overlap, Å.

    Returns
    -------
    first, second : ndarray, shape=(m,), dtype=int64
        Atom indices, ``first < second``, sorted by pair.
    overlap : ndarray, shape=(m,), dtype=float64
        ``r_i + r_j - tolerance - d_ij`` (> 0), Å.
    """
    coords = np.ascontiguousarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 3 or radii.shape != (len(coords),) or group.shape != (len(coords),):
        raise ValueError("coords must have shape (n, 3), radii and group shape (n,)")
    return clash_kernel.overlaps(coords, np.ascontiguousarray(radii), np.ascontiguousarray(group, dtype=np.int64),
                                 float(tolerance))
