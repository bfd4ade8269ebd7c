"""Numba-JIT geometry kernels (installed as ``workbench.kernels``).

Pure functions on C-contiguous float32 / int arrays, with no imports from the
rest of the workbench: validation, units, residue bookkeeping and documentation
for users live in :mod:`workbench.analysis`. Numba settings are decided once, in
:mod:`workbench.kernels._config`.

Modules
-------
superpose
    QCP superposition and RMSD: one pair, one against many frames (precentred or not), all against all.
tmscore
    TM-score with the TM-score program's superposition search; GDT counts.
lddt
    lDDT contacts and conserved distances; symmetric side-chain renaming.
neighbors
    Cell lists, pairs within a cutoff, contact and distance matrices.
geometry
    Distances, angles, dihedrals, radius of gyration, NeRF chain building.
sasa
    Shrake–Rupley solvent-accessible surface area.
dssp
    Kabsch–Sander hydrogen bonds and DSSP secondary structure.
clashes
    Atom overlaps between residues.
"""
