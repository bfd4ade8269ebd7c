"""DSSP secondary structure of a structure's residues (Kabsch–Sander)."""

from __future__ import annotations

import numpy as np

from workbench.analysis._residues import atom_table, segments
from workbench.kernels import dssp as kernel
from workbench.structure import Structure

#: 8-state DSSP letter -> 3-state letter (helix H, strand E, coil C).
SIMPLIFIED: dict[str, str] = {"H": "H", "G": "H", "I": "H", "E": "E", "B": "E", "T": "C", "S": "C", " ": "C", "-": "-"}


def dssp(structure: Structure, simplified: bool = False) -> np.ndarray:
    """Secondary structure of every residue by DSSP (Kabsch & Sander 1983).

    Hydrogen bonds are found with the Kabsch–Sander electrostatic energy (the
    amide H placed from the previous residue's C=O), and helices, strands,
    bridges, turns and bends follow DSSP 2.2.0's rules, as in
    ``mdtraj.compute_dssp``. Patterns never cross a chain break (C-N farther than
    2.5 Å) or a chain boundary.

    Parameters
    ----------
    structure : Structure
        Only the first model of an ensemble is used.
    simplified : bool
        Return 3 states (``H`` helix: H, G, I; ``E`` strand: E, B; ``C`` coil)
        instead of DSSP's 8 (``H``, ``B``, ``E``, ``G``, ``I``, ``T``, ``S`` and
        ``" "`` for loops).

    Returns
    -------
    ndarray, shape=(n_residues,), dtype=<U1
        One code per residue of ``structure.residues``; ``"-"`` for residues
        without a complete backbone (N, CA, C, O), such as ligands and water.

    Examples
    --------
    >>> from workbench.analysis import build_backbone
    >>> "".join(dssp(build_backbone([-57.0] * 12, [-47.0] * 12)))
    ' HHHHHHHHHH '
    """
    backbone = atom_table(structure, ("N", "CA", "C", "O"))
    is_proline = structure.residues.res_name == "PRO"
    segment = segments(structure, backbone)
    codes, _, _ = kernel.assign(structure.coords, backbone, is_proline, segment)
    letters = np.array(list(kernel.CODES))[codes]
    letters[(backbone < 0).any(axis=1)] = "-"
    if simplified:
        letters = np.array([SIMPLIFIED[c] for c in letters], dtype="<U1")
    return letters.astype("<U1")


def hydrogen_bonds(structure: Structure) -> tuple[np.ndarray, np.ndarray]:
    """Backbone hydrogen bonds by the Kabsch–Sander energy (below -0.5 kcal/mol).

    Parameters
    ----------
    structure : Structure

    Returns
    -------
    pairs : ndarray, shape=(m, 2), dtype=int64
        (donor residue N-H, acceptor residue C=O) indices into ``structure.residues``;
        each donor keeps its two strongest bonds, as in DSSP.
    energies : ndarray, shape=(m,), dtype=float64
        kcal/mol.
    """
    backbone = atom_table(structure, ("N", "CA", "C", "O"))
    is_proline = structure.residues.res_name == "PRO"
    partners, energies = kernel.hydrogen_bonds(structure.coords, backbone, is_proline, segments(structure, backbone))
    donor, slot = np.nonzero(partners >= 0)
    return np.stack([donor, partners[donor, slot]], axis=1).astype(np.int64), energies[donor, slot]
