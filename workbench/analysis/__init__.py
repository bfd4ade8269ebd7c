"""Structure analysis on :class:`~workbench.Structure` objects, backed by the numba kernels.

Every function validates its inputs (atom selection, residue pairing by chain,
residue number and insertion code, finite coordinates, matching shapes) and then
calls a kernel in :mod:`workbench.kernels`. :func:`match_residues` pairs residues
by sequence alignment instead, for structures numbered differently, and
:func:`compare` pairs, superposes and scores in one call. Lengths are in Å, angles in degrees,
areas in Å², energies in kcal/mol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import lazy_exports

if TYPE_CHECKING:  # the names below, for type checkers; at run time see __getattr__
    from workbench.analysis._select import ATOM_SELECTIONS, pair_atoms, select_atoms
    from workbench.analysis.comparison import PAIRINGS, Comparison, compare
    from workbench.analysis.dssp import dssp, hydrogen_bonds
    from workbench.analysis.geometry import (
        build_backbone,
        contact_map,
        contacts,
        dihedral_quartets,
        dihedrals,
        distance_map,
        place_atoms,
        radius_of_gyration,
    )
    from workbench.analysis.lddt import LDDT, lddt
    from workbench.analysis.matching import ChainMatch, ResidueMatch, match_residues
    from workbench.analysis.quality import Clashes, GeometryDeviations, clashes, geometry_deviations
    from workbench.analysis.sasa import MAX_ASA, SASA, VDW_RADII, sasa
    from workbench.analysis.superpose import (
        CentredFrames,
        Superposition,
        centre_frames,
        rmsd,
        rmsd_centred,
        rmsd_many,
        rmsd_matrix,
        superpose,
        superpose_many,
    )
    from workbench.analysis.tmscore import TMScore, tm_score

#: Where each public name is defined: imported on first use (numba only with the first kernel-backed name).
_LAZY: dict[str, str] = {
    "ATOM_SELECTIONS": "workbench.analysis._select",
    "CentredFrames": "workbench.analysis.superpose",
    "ChainMatch": "workbench.analysis.matching",
    "Clashes": "workbench.analysis.quality",
    "Comparison": "workbench.analysis.comparison",
    "GeometryDeviations": "workbench.analysis.quality",
    "LDDT": "workbench.analysis.lddt",
    "MAX_ASA": "workbench.analysis.sasa",
    "PAIRINGS": "workbench.analysis.comparison",
    "ResidueMatch": "workbench.analysis.matching",
    "SASA": "workbench.analysis.sasa",
    "Superposition": "workbench.analysis.superpose",
    "TMScore": "workbench.analysis.tmscore",
    "VDW_RADII": "workbench.analysis.sasa",
    "build_backbone": "workbench.analysis.geometry",
    "centre_frames": "workbench.analysis.superpose",
    "clashes": "workbench.analysis.quality",
    "compare": "workbench.analysis.comparison",
    "contact_map": "workbench.analysis.geometry",
    "contacts": "workbench.analysis.geometry",
    "dihedral_quartets": "workbench.analysis.geometry",
    "dihedrals": "workbench.analysis.geometry",
    "distance_map": "workbench.analysis.geometry",
    "dssp": "workbench.analysis.dssp",
    "geometry_deviations": "workbench.analysis.quality",
    "hydrogen_bonds": "workbench.analysis.dssp",
    "lddt": "workbench.analysis.lddt",
    "match_residues": "workbench.analysis.matching",
    "pair_atoms": "workbench.analysis._select",
    "place_atoms": "workbench.analysis.geometry",
    "radius_of_gyration": "workbench.analysis.geometry",
    "rmsd": "workbench.analysis.superpose",
    "rmsd_centred": "workbench.analysis.superpose",
    "rmsd_many": "workbench.analysis.superpose",
    "rmsd_matrix": "workbench.analysis.superpose",
    "sasa": "workbench.analysis.sasa",
    "select_atoms": "workbench.analysis._select",
    "superpose": "workbench.analysis.superpose",
    "superpose_many": "workbench.analysis.superpose",
    "tm_score": "workbench.analysis.tmscore",
}

__all__ = [
    "ATOM_SELECTIONS",
    "LDDT",
    "MAX_ASA",
    "PAIRINGS",
    "SASA",
    "VDW_RADII",
    "CentredFrames",
    "ChainMatch",
    "Clashes",
    "Comparison",
    "GeometryDeviations",
    "ResidueMatch",
    "Superposition",
    "TMScore",
    "build_backbone",
    "centre_frames",
    "clashes",
    "compare",
    "contact_map",
    "contacts",
    "dihedral_quartets",
    "dihedrals",
    "distance_map",
    "dssp",
    "geometry_deviations",
    "hydrogen_bonds",
    "lddt",
    "match_residues",
    "pair_atoms",
    "place_atoms",
    "radius_of_gyration",
    "rmsd",
    "rmsd_centred",
    "rmsd_many",
    "rmsd_matrix",
    "sasa",
    "select_atoms",
    "superpose",
    "superpose_many",
    "tm_score",
]

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
