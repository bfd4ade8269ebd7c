"""Structure analysis on :class:`~workbench.Structure` objects, backed by the numba kernels.

Every function validates its inputs (atom selection, residue pairing by chain,
residue number and insertion code, finite coordinates, matching shapes) and then
calls a kernel in :mod:`workbench.kernels`. :func:`match_residues` pairs residues
by sequence alignment instead, for structures numbered differently, and
:func:`compare` pairs, superposes and scores in one call. Lengths are in Å, angles in degrees,
areas in Å², energies in kcal/mol.
"""

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
