"""Engh & Huber target values for protein bond lengths and bond angles: the 2001 set and the 1991 set.

The 2001 set (the default everywhere) is the one MolProbity's geometry check
(Dangle) and AlphaFold2's within-residue violation check use:

    R. A. Engh & R. Huber (2001). Structure quality and target parameters.
    *International Tables for Crystallography*, Vol. F, ch. 18.3, pp. 382-392.
    Kluwer, Dordrecht.

Main-chain values come in three columns (glycine, proline, every other
residue); side-chain values are per residue. The values here were taken from
two independent machine-readable transcriptions of that chapter, which agree
wherever both list a value:

- main chain: MolProbity's Dangle, ``dangle/resource/dangle/EnghHuber_IntlTblsF_1999.txt``
  (rlabduke/javadev; I. W. Davis, 2007; the chapter's 1999 manuscript date in
  its name), which also settles which residue of a peptide bond decides the
  column: Davis notes that the chapter does not say, and resolved it by
  comparison with the 1991 paper (proline's N and glycine's CA are the
  unusual ones);
- side chains (and the per-residue main-chain rows): the lDDT stereochemistry
  table ``stereo_chemical_props.txt`` (OpenStructure, Mariani et al. 2013,
  Bioinformatics 29:2722) that AlphaFold2 reads
  (``alphafold.common.residue_constants.load_stereo_chemical_props``).

The 1991 set is the original paper's main-chain and CB subset (R. A. Engh &
R. Huber (1991), Acta Cryst. A47, 392-400), kept as the ``"1991"`` option of
:func:`workbench.analysis.geometry_deviations`. Where both sets have a value
they differ by up to 0.011 Å (Thr CA-CB) and 3.3 degrees (C-N-CA before a
proline: 122.6 in 1991, 119.3 in 2001).

Values are (mean, standard deviation); Å for bonds, degrees for angles.
Atom names are PDB names; a bond "A-B" or angle "A-B-C" matches in either
direction.
"""

from __future__ import annotations

__all__ = [
    "EH1991_MAIN_CHAIN",
    "EH2001_MAIN_CHAIN",
    "EH2001_SIDE_CHAIN_ANGLES",
    "EH2001_SIDE_CHAIN_BONDS",
    "TARGET_SETS",
    "Target",
    "peptide_target",
    "residue_targets",
]

Target = tuple[float, float]
"""(mean, standard deviation): Å for a bond, degrees for an angle."""

#: The sets :func:`residue_targets` and :func:`peptide_target` know.
TARGET_SETS = ("2001", "1991")

#: Engh & Huber (2001) main chain, by residue class ("GLY", "PRO", "*" for every other residue); for the
#: peptide-bond terms (C-N, CA-C-N, O-C-N, C-N-CA) see :func:`peptide_target` for which residue's class counts.
#: "cis PRO" is C-N-CA of a cis peptide bond before proline.
EH2001_MAIN_CHAIN: dict[str, dict[str, Target]] = {
    "N-CA": {"*": (1.459, 0.020), "GLY": (1.456, 0.015), "PRO": (1.468, 0.017)},
    "CA-C": {"*": (1.525, 0.026), "GLY": (1.514, 0.016), "PRO": (1.524, 0.020)},
    "C-O": {"*": (1.229, 0.019), "GLY": (1.232, 0.016), "PRO": (1.228, 0.020)},
    "C-N": {"*": (1.336, 0.023), "GLY": (1.326, 0.018), "PRO": (1.338, 0.019)},
    "N-CA-C": {"*": (111.0, 2.7), "GLY": (113.1, 2.5), "PRO": (112.1, 2.6)},
    "CA-C-O": {"*": (120.1, 2.1), "GLY": (120.6, 1.8), "PRO": (120.2, 2.4)},
    "CA-C-N": {"*": (117.2, 2.2), "GLY": (116.2, 2.0), "PRO": (117.1, 2.8)},
    "O-C-N": {"*": (122.7, 1.6), "GLY": (123.2, 1.7), "PRO": (121.1, 1.9)},
    "C-N-CA": {"*": (121.7, 2.5), "GLY": (122.3, 2.1), "PRO": (119.3, 1.5), "cis PRO": (127.0, 2.4)},
}  # fmt: skip

#: Engh & Huber (2001) side-chain bond lengths (CA-CB included), per residue: (residue, "A-B") -> (mean Å, σ Å).
EH2001_SIDE_CHAIN_BONDS: dict[tuple[str, str], Target] = {
    ("ALA", "CA-CB"): (1.520, 0.021),
    ("ARG", "CA-CB"): (1.535, 0.022), ("ARG", "CB-CG"): (1.521, 0.027), ("ARG", "CG-CD"): (1.515, 0.025),
    ("ARG", "CD-NE"): (1.460, 0.017), ("ARG", "NE-CZ"): (1.326, 0.013), ("ARG", "CZ-NH1"): (1.326, 0.013),
    ("ARG", "CZ-NH2"): (1.326, 0.013),
    ("ASN", "CA-CB"): (1.527, 0.026), ("ASN", "CB-CG"): (1.506, 0.023), ("ASN", "CG-OD1"): (1.235, 0.022),
    ("ASN", "CG-ND2"): (1.324, 0.025),
    ("ASP", "CA-CB"): (1.535, 0.022), ("ASP", "CB-CG"): (1.513, 0.021), ("ASP", "CG-OD1"): (1.249, 0.023),
    ("ASP", "CG-OD2"): (1.249, 0.023),
    ("CYS", "CA-CB"): (1.526, 0.013), ("CYS", "CB-SG"): (1.812, 0.016),
    ("GLN", "CA-CB"): (1.535, 0.022), ("GLN", "CB-CG"): (1.521, 0.027), ("GLN", "CG-CD"): (1.506, 0.023),
    ("GLN", "CD-OE1"): (1.235, 0.022), ("GLN", "CD-NE2"): (1.324, 0.025),
    ("GLU", "CA-CB"): (1.535, 0.022), ("GLU", "CB-CG"): (1.517, 0.019), ("GLU", "CG-CD"): (1.515, 0.015),
    ("GLU", "CD-OE1"): (1.252, 0.011), ("GLU", "CD-OE2"): (1.252, 0.011),
    ("HIS", "CA-CB"): (1.535, 0.022), ("HIS", "CB-CG"): (1.492, 0.016), ("HIS", "CG-ND1"): (1.369, 0.015),
    ("HIS", "CG-CD2"): (1.353, 0.017), ("HIS", "ND1-CE1"): (1.343, 0.025), ("HIS", "CD2-NE2"): (1.415, 0.021),
    ("HIS", "CE1-NE2"): (1.322, 0.023),
    ("ILE", "CA-CB"): (1.544, 0.023), ("ILE", "CB-CG1"): (1.536, 0.028), ("ILE", "CB-CG2"): (1.524, 0.031),
    ("ILE", "CG1-CD1"): (1.500, 0.069),
    ("LEU", "CA-CB"): (1.533, 0.023), ("LEU", "CB-CG"): (1.521, 0.029), ("LEU", "CG-CD1"): (1.514, 0.037),
    ("LEU", "CG-CD2"): (1.514, 0.037),
    ("LYS", "CA-CB"): (1.535, 0.022), ("LYS", "CB-CG"): (1.521, 0.027), ("LYS", "CG-CD"): (1.520, 0.034),
    ("LYS", "CD-CE"): (1.508, 0.025), ("LYS", "CE-NZ"): (1.486, 0.025),
    ("MET", "CA-CB"): (1.535, 0.022), ("MET", "CB-CG"): (1.509, 0.032), ("MET", "CG-SD"): (1.807, 0.026),
    ("MET", "SD-CE"): (1.774, 0.056),
    ("PHE", "CA-CB"): (1.535, 0.022), ("PHE", "CB-CG"): (1.509, 0.017), ("PHE", "CG-CD1"): (1.383, 0.015),
    ("PHE", "CG-CD2"): (1.383, 0.015), ("PHE", "CD1-CE1"): (1.388, 0.020), ("PHE", "CD2-CE2"): (1.388, 0.020),
    ("PHE", "CE1-CZ"): (1.369, 0.019), ("PHE", "CE2-CZ"): (1.369, 0.019),
    ("PRO", "CA-CB"): (1.531, 0.020), ("PRO", "CB-CG"): (1.495, 0.050), ("PRO", "CG-CD"): (1.502, 0.033),
    ("PRO", "CD-N"): (1.474, 0.014),
    ("SER", "CA-CB"): (1.525, 0.015), ("SER", "CB-OG"): (1.418, 0.013),
    ("THR", "CA-CB"): (1.529, 0.026), ("THR", "CB-OG1"): (1.428, 0.020), ("THR", "CB-CG2"): (1.519, 0.033),
    ("TRP", "CA-CB"): (1.535, 0.022), ("TRP", "CB-CG"): (1.498, 0.018), ("TRP", "CG-CD1"): (1.363, 0.014),
    ("TRP", "CG-CD2"): (1.432, 0.017), ("TRP", "CD1-NE1"): (1.375, 0.017), ("TRP", "NE1-CE2"): (1.371, 0.013),
    ("TRP", "CD2-CE2"): (1.409, 0.012), ("TRP", "CD2-CE3"): (1.399, 0.015), ("TRP", "CE2-CZ2"): (1.393, 0.017),
    ("TRP", "CE3-CZ3"): (1.380, 0.017), ("TRP", "CZ2-CH2"): (1.369, 0.019), ("TRP", "CZ3-CH2"): (1.396, 0.016),
    ("TYR", "CA-CB"): (1.535, 0.022), ("TYR", "CB-CG"): (1.512, 0.015), ("TYR", "CG-CD1"): (1.387, 0.013),
    ("TYR", "CG-CD2"): (1.387, 0.013), ("TYR", "CD1-CE1"): (1.389, 0.015), ("TYR", "CD2-CE2"): (1.389, 0.015),
    ("TYR", "CE1-CZ"): (1.381, 0.013), ("TYR", "CE2-CZ"): (1.381, 0.013), ("TYR", "CZ-OH"): (1.374, 0.017),
    ("VAL", "CA-CB"): (1.543, 0.021), ("VAL", "CB-CG1"): (1.524, 0.021), ("VAL", "CB-CG2"): (1.524, 0.021),
}  # fmt: skip
#: Engh & Huber (2001) side-chain bond angles (N-CA-CB and CB-CA-C included), per residue:
#: (residue, "A-B-C") -> (mean degrees, σ degrees).
EH2001_SIDE_CHAIN_ANGLES: dict[tuple[str, str], Target] = {
    ("ALA", "N-CA-CB"): (110.1, 1.4), ("ALA", "CB-CA-C"): (110.1, 1.5),
    ("ARG", "N-CA-CB"): (110.6, 1.8), ("ARG", "CB-CA-C"): (110.4, 2.0), ("ARG", "CA-CB-CG"): (113.4, 2.2),
    ("ARG", "CB-CG-CD"): (111.6, 2.6), ("ARG", "CG-CD-NE"): (111.8, 2.1), ("ARG", "CD-NE-CZ"): (123.6, 1.4),
    ("ARG", "NE-CZ-NH1"): (120.3, 0.5), ("ARG", "NE-CZ-NH2"): (120.3, 0.5), ("ARG", "NH1-CZ-NH2"): (119.4, 1.1),
    ("ASN", "N-CA-CB"): (110.6, 1.8), ("ASN", "CB-CA-C"): (110.4, 2.0), ("ASN", "CA-CB-CG"): (113.4, 2.2),
    ("ASN", "CB-CG-ND2"): (116.7, 2.4), ("ASN", "CB-CG-OD1"): (121.6, 2.0), ("ASN", "ND2-CG-OD1"): (121.9, 2.3),
    ("ASP", "N-CA-CB"): (110.6, 1.8), ("ASP", "CB-CA-C"): (110.4, 2.0), ("ASP", "CA-CB-CG"): (113.4, 2.2),
    ("ASP", "CB-CG-OD1"): (118.3, 0.9), ("ASP", "CB-CG-OD2"): (118.3, 0.9), ("ASP", "OD1-CG-OD2"): (123.3, 1.9),
    ("CYS", "N-CA-CB"): (110.8, 1.5), ("CYS", "CB-CA-C"): (111.5, 1.2), ("CYS", "CA-CB-SG"): (114.2, 1.1),
    ("GLN", "N-CA-CB"): (110.6, 1.8), ("GLN", "CB-CA-C"): (110.4, 2.0), ("GLN", "CA-CB-CG"): (113.4, 2.2),
    ("GLN", "CB-CG-CD"): (111.6, 2.6), ("GLN", "CG-CD-OE1"): (121.6, 2.0), ("GLN", "CG-CD-NE2"): (116.7, 2.4),
    ("GLN", "OE1-CD-NE2"): (121.9, 2.3),
    ("GLU", "N-CA-CB"): (110.6, 1.8), ("GLU", "CB-CA-C"): (110.4, 2.0), ("GLU", "CA-CB-CG"): (113.4, 2.2),
    ("GLU", "CB-CG-CD"): (114.2, 2.7), ("GLU", "CG-CD-OE1"): (118.3, 2.0), ("GLU", "CG-CD-OE2"): (118.3, 2.0),
    ("GLU", "OE1-CD-OE2"): (123.3, 1.2),
    ("HIS", "N-CA-CB"): (110.6, 1.8), ("HIS", "CB-CA-C"): (110.4, 2.0), ("HIS", "CA-CB-CG"): (113.6, 1.7),
    ("HIS", "CB-CG-ND1"): (123.2, 2.5), ("HIS", "CB-CG-CD2"): (130.8, 3.1), ("HIS", "CG-ND1-CE1"): (108.2, 1.4),
    ("HIS", "ND1-CE1-NE2"): (109.9, 2.2), ("HIS", "CE1-NE2-CD2"): (106.6, 2.5), ("HIS", "NE2-CD2-CG"): (109.2, 1.9),
    ("HIS", "CD2-CG-ND1"): (106.0, 1.4),
    ("ILE", "N-CA-CB"): (110.8, 2.3), ("ILE", "CB-CA-C"): (111.6, 2.0), ("ILE", "CA-CB-CG1"): (111.0, 1.9),
    ("ILE", "CB-CG1-CD1"): (113.9, 2.8), ("ILE", "CA-CB-CG2"): (110.9, 2.0), ("ILE", "CG1-CB-CG2"): (111.4, 2.2),
    ("LEU", "N-CA-CB"): (110.4, 2.0), ("LEU", "CB-CA-C"): (110.2, 1.9), ("LEU", "CA-CB-CG"): (115.3, 2.3),
    ("LEU", "CB-CG-CD1"): (111.0, 1.7), ("LEU", "CB-CG-CD2"): (111.0, 1.7), ("LEU", "CD1-CG-CD2"): (110.5, 3.0),
    ("LYS", "N-CA-CB"): (110.6, 1.8), ("LYS", "CB-CA-C"): (110.4, 2.0), ("LYS", "CA-CB-CG"): (113.4, 2.2),
    ("LYS", "CB-CG-CD"): (111.6, 2.6), ("LYS", "CG-CD-CE"): (111.9, 3.0), ("LYS", "CD-CE-NZ"): (111.7, 2.3),
    ("MET", "N-CA-CB"): (110.6, 1.8), ("MET", "CB-CA-C"): (110.4, 2.0), ("MET", "CA-CB-CG"): (113.3, 1.7),
    ("MET", "CB-CG-SD"): (112.4, 3.0), ("MET", "CG-SD-CE"): (100.2, 1.6),
    ("PHE", "N-CA-CB"): (110.6, 1.8), ("PHE", "CB-CA-C"): (110.4, 2.0), ("PHE", "CA-CB-CG"): (113.9, 2.4),
    ("PHE", "CB-CG-CD1"): (120.8, 0.7), ("PHE", "CB-CG-CD2"): (120.8, 0.7), ("PHE", "CD1-CG-CD2"): (118.3, 1.3),
    ("PHE", "CG-CD1-CE1"): (120.8, 1.1), ("PHE", "CG-CD2-CE2"): (120.8, 1.1), ("PHE", "CD1-CE1-CZ"): (120.1, 1.2),
    ("PHE", "CD2-CE2-CZ"): (120.1, 1.2), ("PHE", "CE1-CZ-CE2"): (120.0, 1.8),
    ("PRO", "N-CA-CB"): (103.3, 1.2), ("PRO", "CB-CA-C"): (111.7, 2.1), ("PRO", "CA-CB-CG"): (104.8, 1.9),
    ("PRO", "CB-CG-CD"): (106.5, 3.9), ("PRO", "CG-CD-N"): (103.2, 1.5), ("PRO", "CA-N-CD"): (111.7, 1.4),
    ("SER", "N-CA-CB"): (110.5, 1.5), ("SER", "CB-CA-C"): (110.1, 1.9), ("SER", "CA-CB-OG"): (111.2, 2.7),
    ("THR", "N-CA-CB"): (110.3, 1.9), ("THR", "CB-CA-C"): (111.6, 2.7), ("THR", "CA-CB-OG1"): (109.0, 2.1),
    ("THR", "CA-CB-CG2"): (112.4, 1.4), ("THR", "OG1-CB-CG2"): (110.0, 2.3),
    ("TRP", "N-CA-CB"): (110.6, 1.8), ("TRP", "CB-CA-C"): (110.4, 2.0), ("TRP", "CA-CB-CG"): (113.7, 1.9),
    ("TRP", "CB-CG-CD1"): (127.0, 1.3), ("TRP", "CB-CG-CD2"): (126.6, 1.3), ("TRP", "CD1-CG-CD2"): (106.3, 0.8),
    ("TRP", "CG-CD1-NE1"): (110.1, 1.0), ("TRP", "CD1-NE1-CE2"): (109.0, 0.9), ("TRP", "NE1-CE2-CD2"): (107.3, 1.0),
    ("TRP", "CE2-CD2-CG"): (107.3, 0.8), ("TRP", "CG-CD2-CE3"): (133.9, 0.9), ("TRP", "NE1-CE2-CZ2"): (130.4, 1.1),
    ("TRP", "CE3-CD2-CE2"): (118.7, 1.2), ("TRP", "CD2-CE2-CZ2"): (122.3, 1.2), ("TRP", "CE2-CZ2-CH2"): (117.4, 1.0),
    ("TRP", "CZ2-CH2-CZ3"): (121.6, 1.2), ("TRP", "CH2-CZ3-CE3"): (121.2, 1.1), ("TRP", "CZ3-CE3-CD2"): (118.8, 1.3),
    ("TYR", "N-CA-CB"): (110.6, 1.8), ("TYR", "CB-CA-C"): (110.4, 2.0), ("TYR", "CA-CB-CG"): (113.4, 1.9),
    ("TYR", "CB-CG-CD1"): (121.0, 0.6), ("TYR", "CB-CG-CD2"): (121.0, 0.6), ("TYR", "CD1-CG-CD2"): (117.9, 1.1),
    ("TYR", "CG-CD1-CE1"): (121.3, 0.8), ("TYR", "CG-CD2-CE2"): (121.3, 0.8), ("TYR", "CD1-CE1-CZ"): (119.8, 0.9),
    ("TYR", "CD2-CE2-CZ"): (119.8, 0.9), ("TYR", "CE1-CZ-CE2"): (119.8, 1.6), ("TYR", "CE1-CZ-OH"): (120.1, 2.7),
    ("TYR", "CE2-CZ-OH"): (120.1, 2.7),
    ("VAL", "N-CA-CB"): (111.5, 2.2), ("VAL", "CB-CA-C"): (111.4, 1.9), ("VAL", "CA-CB-CG1"): (110.9, 1.5),
    ("VAL", "CA-CB-CG2"): (110.9, 1.5), ("VAL", "CG1-CB-CG2"): (110.9, 1.6),
}  # fmt: skip

#: Engh & Huber (1991) main chain and CB, by residue class ("*": every residue not named); for the peptide-bond
#: terms the class is the residue of the N (the following residue).
EH1991_MAIN_CHAIN: dict[str, dict[str, Target]] = {
    "N-CA": {"*": (1.458, 0.019), "GLY": (1.451, 0.016), "PRO": (1.466, 0.015)},
    "CA-C": {"*": (1.525, 0.021), "GLY": (1.516, 0.018)},
    "C-O": {"*": (1.231, 0.020)},
    "CA-CB": {"*": (1.530, 0.020), "ALA": (1.521, 0.033), "ILE": (1.540, 0.027), "THR": (1.540, 0.027),
              "VAL": (1.540, 0.027)},
    "C-N": {"*": (1.329, 0.014), "PRO": (1.341, 0.016)},
    "N-CA-C": {"*": (111.2, 2.8), "GLY": (112.5, 2.9), "PRO": (111.8, 2.5)},
    "CA-C-O": {"*": (120.8, 1.7), "GLY": (120.8, 2.1)},
    "N-CA-CB": {"*": (110.5, 1.7), "ALA": (110.4, 1.5), "ILE": (111.5, 1.7), "THR": (111.5, 1.7),
                "VAL": (111.5, 1.7), "PRO": (103.0, 1.1)},
    "CB-CA-C": {"*": (110.1, 1.9), "ALA": (110.5, 1.5), "ILE": (109.1, 2.2), "THR": (109.1, 2.2),
                "VAL": (109.1, 2.2)},
    "CA-C-N": {"*": (116.2, 2.0), "GLY": (116.4, 2.1), "PRO": (116.9, 1.5)},
    "O-C-N": {"*": (123.0, 1.6), "PRO": (122.0, 1.4)},
    "C-N-CA": {"*": (121.7, 1.8), "GLY": (120.6, 1.7), "PRO": (122.6, 5.0)},
}  # fmt: skip

_WITHIN = ("N-CA", "CA-C", "C-O", "N-CA-C", "CA-C-O")
_PEPTIDE = ("C-N", "CA-C-N", "O-C-N", "C-N-CA")


def _check_set(targets: str) -> None:
    if targets not in TARGET_SETS:
        raise ValueError(f"unknown Engh & Huber set {targets!r}; choose one of {', '.join(TARGET_SETS)}")


def residue_targets(residue: str, targets: str = "2001") -> dict[str, Target]:
    """Target values of the bonds and angles within one residue.

    Parameters
    ----------
    residue : str
        Residue name (``"ALA"``, ...). A name outside the twenty standard
        amino acids gets the main-chain values of the ``"*"`` class only.
    targets : {"2001", "1991"}
        Which Engh & Huber set. The 1991 set here covers the main chain and CB.

    Returns
    -------
    dict of str to (float, float)
        Name (``"CA-CB"``, ``"N-CA-C"``; both directions present) to (mean, σ):
        Å for bonds, degrees for angles.
    """
    _check_set(targets)
    out: dict[str, Target] = {}
    if targets == "2001":
        for name in _WITHIN:
            column = EH2001_MAIN_CHAIN[name]
            out[name] = column.get(residue, column["*"])
        for table in (EH2001_SIDE_CHAIN_BONDS, EH2001_SIDE_CHAIN_ANGLES):
            out.update({name: value for (res, name), value in table.items() if res == residue})
    else:
        for name, column in EH1991_MAIN_CHAIN.items():
            if name in _PEPTIDE or (name in ("CA-CB", "N-CA-CB", "CB-CA-C") and residue == "GLY"):
                continue
            out[name] = column.get(residue, column["*"])
    return {**out, **{"-".join(reversed(name.split("-"))): value for name, value in out.items()}}


def peptide_target(name: str, previous: str, following: str, *, cis: bool = False, targets: str = "2001") -> Target:
    """Target value of a peptide-bond term between residue ``previous`` (C, O) and ``following`` (N, CA).

    Which residue decides the column, 2001 set (as MolProbity's Dangle
    resolves it): C-N, C-N-CA: the following residue (C-N-CA before a proline
    takes the cis-proline value when ``cis``); CA-C-N: glycine if the previous
    residue is one, else proline if the following is one; O-C-N: proline if
    the following residue is one, else glycine if the previous is one. 1991
    set: always the following residue.

    Parameters
    ----------
    name : {"C-N", "CA-C-N", "O-C-N", "C-N-CA"}
    previous, following : str
        Residue names.
    cis : bool
        Whether the peptide bond is cis (|omega| < 90 degrees).
    targets : {"2001", "1991"}

    Returns
    -------
    (float, float)
        (mean, σ): Å for C-N, degrees for the angles.
    """
    _check_set(targets)
    if name not in _PEPTIDE:
        raise ValueError(f"not a peptide-bond term: {name!r}")
    if targets == "1991":
        column = EH1991_MAIN_CHAIN[name]
        return column.get(following, column["*"])
    column = EH2001_MAIN_CHAIN[name]
    if name == "CA-C-N":
        key = "GLY" if previous == "GLY" else "PRO" if following == "PRO" else "*"
    elif name == "O-C-N":
        key = "PRO" if following == "PRO" else "GLY" if previous == "GLY" else "*"
    elif name == "C-N-CA" and following == "PRO" and cis:
        key = "cis PRO"
    else:
        key = following if following in ("GLY", "PRO") else "*"
    return column[key]
