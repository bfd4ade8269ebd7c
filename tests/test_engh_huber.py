"""The Engh & Huber tables against the published values, written out by hand here.

Published source: R. A. Engh & R. Huber (2001), "Structure quality and target parameters",
International Tables for Crystallography Vol. F, ch. 18.3, pp. 382-392: its main-chain table (bond lengths
and angles in three columns: glycine, proline, all other residues; C-N-CA also for cis proline) and its
side-chain table (per residue). The printed page was not at hand when this test was written: the numbers
below were copied from two independent transcriptions of that chapter, MolProbity's Dangle resource
``EnghHuber_IntlTblsF_1999.txt`` (rlabduke/javadev, main chain) and the lDDT / OpenStructure
``stereo_chemical_props.txt`` that AlphaFold2 reads (side chains, and the per-residue main-chain rows), and
checked against a third where it quotes them (CCP4's ``standard_geometry.cif``: C-N 1.336 ± 0.023,
Gly 1.326 ± 0.018, Pro 1.338 ± 0.019; CA-C-N 117.2 ± 2.2). Exact agreement is required: the tables are
printed to 0.001 Å and 0.1 degree.

The 1991 values are Engh & Huber (1991), Acta Cryst. A47, 392-400 (the set the quality report used before).
"""

from __future__ import annotations

import pytest

from workbench.engh_huber import (
    EH1991_MAIN_CHAIN,
    EH2001_MAIN_CHAIN,
    EH2001_SIDE_CHAIN_ANGLES,
    EH2001_SIDE_CHAIN_BONDS,
    peptide_target,
    residue_targets,
)

#: Engh & Huber (2001) main chain: term -> (other residues, glycine, proline), each (mean, sigma).
PUBLISHED_2001_MAIN_CHAIN = {
    "N-CA": ((1.459, 0.020), (1.456, 0.015), (1.468, 0.017)),
    "CA-C": ((1.525, 0.026), (1.514, 0.016), (1.524, 0.020)),
    "C-O": ((1.229, 0.019), (1.232, 0.016), (1.228, 0.020)),
    "C-N": ((1.336, 0.023), (1.326, 0.018), (1.338, 0.019)),
    "N-CA-C": ((111.0, 2.7), (113.1, 2.5), (112.1, 2.6)),
    "CA-C-O": ((120.1, 2.1), (120.6, 1.8), (120.2, 2.4)),
    "CA-C-N": ((117.2, 2.2), (116.2, 2.0), (117.1, 2.8)),
    "O-C-N": ((122.7, 1.6), (123.2, 1.7), (121.1, 1.9)),
    "C-N-CA": ((121.7, 2.5), (122.3, 2.1), (119.3, 1.5)),
}
PUBLISHED_2001_CIS_PRO_C_N_CA = (127.0, 2.4)

#: Engh & Huber (2001) side chains, a sample across residues and kinds: (residue, term) -> (mean, sigma).
PUBLISHED_2001_SIDE_CHAIN = {
    ("ALA", "CA-CB"): (1.520, 0.021),
    ("ILE", "CA-CB"): (1.544, 0.023),
    ("THR", "CA-CB"): (1.529, 0.026),
    ("VAL", "CA-CB"): (1.543, 0.021),
    ("CYS", "CB-SG"): (1.812, 0.016),
    ("MET", "SD-CE"): (1.774, 0.056),
    ("SER", "CB-OG"): (1.418, 0.013),
    ("ASP", "CG-OD1"): (1.249, 0.023),
    ("GLU", "CD-OE1"): (1.252, 0.011),
    ("LYS", "CE-NZ"): (1.486, 0.025),
    ("TYR", "CZ-OH"): (1.374, 0.017),
    ("PRO", "CD-N"): (1.474, 0.014),
    ("HIS", "CD2-NE2"): (1.415, 0.021),
    ("ALA", "N-CA-CB"): (110.1, 1.4),
    ("PRO", "N-CA-CB"): (103.3, 1.2),
    ("PRO", "CA-N-CD"): (111.7, 1.4),
    ("VAL", "N-CA-CB"): (111.5, 2.2),
    ("THR", "CB-CA-C"): (111.6, 2.7),
    ("ARG", "NE-CZ-NH1"): (120.3, 0.5),
    ("HIS", "CG-ND1-CE1"): (108.2, 1.4),
    ("HIS", "CD2-CG-ND1"): (106.0, 1.4),
    ("HIS", "CB-CG-CD2"): (130.8, 3.1),
    ("TRP", "CG-CD2-CE3"): (133.9, 0.9),
    ("MET", "CG-SD-CE"): (100.2, 1.6),
    ("LEU", "CD1-CG-CD2"): (110.5, 3.0),
}


@pytest.mark.parametrize("term", sorted(PUBLISHED_2001_MAIN_CHAIN))
def test_2001_main_chain_matches_the_published_table(term: str) -> None:
    other, gly, pro = PUBLISHED_2001_MAIN_CHAIN[term]
    column = EH2001_MAIN_CHAIN[term]
    assert (column["*"], column["GLY"], column["PRO"]) == (other, gly, pro)


def test_2001_cis_proline_and_the_columns_of_peptide_terms() -> None:
    assert EH2001_MAIN_CHAIN["C-N-CA"]["cis PRO"] == PUBLISHED_2001_CIS_PRO_C_N_CA
    table = PUBLISHED_2001_MAIN_CHAIN
    assert peptide_target("C-N-CA", "ALA", "PRO", cis=True) == PUBLISHED_2001_CIS_PRO_C_N_CA
    assert peptide_target("C-N-CA", "ALA", "PRO") == table["C-N-CA"][2]
    assert peptide_target("C-N", "GLY", "ALA") == table["C-N"][0]  # the N's residue decides C-N
    assert peptide_target("C-N", "ALA", "GLY") == table["C-N"][1]
    assert peptide_target("CA-C-N", "GLY", "PRO") == table["CA-C-N"][1]  # glycine's CA before proline's N
    assert peptide_target("O-C-N", "GLY", "PRO") == table["O-C-N"][2]  # proline's N before glycine's C
    assert peptide_target("CA-C-N", "ALA", "SER") == table["CA-C-N"][0]
    assert peptide_target("C-N", "ALA", "PRO", targets="1991") == (1.341, 0.016)


@pytest.mark.parametrize(("residue", "term"), sorted(PUBLISHED_2001_SIDE_CHAIN))
def test_2001_side_chains_match_the_published_table(residue: str, term: str) -> None:
    table = EH2001_SIDE_CHAIN_BONDS if term.count("-") == 1 else EH2001_SIDE_CHAIN_ANGLES
    assert table[(residue, term)] == PUBLISHED_2001_SIDE_CHAIN[(residue, term)]
    reverse = "-".join(reversed(term.split("-")))
    assert residue_targets(residue)[term] == residue_targets(residue)[reverse] == PUBLISHED_2001_SIDE_CHAIN[
        (residue, term)]


def test_2001_residue_targets_cover_each_residue() -> None:
    # Heavy atoms (no OXT) and rings of each standard residue: a residue has atoms - 1 + rings heavy-atom bonds.
    chemistry = {"ALA": (5, 0), "ARG": (11, 0), "ASN": (8, 0), "ASP": (8, 0), "CYS": (6, 0), "GLN": (9, 0),
                 "GLU": (9, 0), "GLY": (4, 0), "HIS": (10, 1), "ILE": (8, 0), "LEU": (8, 0), "LYS": (9, 0),
                 "MET": (8, 0), "PHE": (11, 1), "PRO": (7, 1), "SER": (6, 0), "THR": (7, 0), "TRP": (14, 2),
                 "TYR": (12, 1), "VAL": (7, 0)}
    for residue, (atoms, rings) in chemistry.items():
        targets = residue_targets(residue)
        bonds = {frozenset(name.split("-")) for name in targets if name.count("-") == 1}
        assert len(bonds) == atoms - 1 + rings, residue
        assert len({a for bond in bonds for a in bond}) == atoms, residue
        # Every angle's two bonds are tabulated bonds.
        for name in (n for n in targets if n.count("-") == 2):
            a, b, c = name.split("-")
            assert frozenset((a, b)) in bonds and frozenset((b, c)) in bonds, (residue, name)


def test_1991_values_and_option() -> None:
    assert EH1991_MAIN_CHAIN["N-CA"]["*"] == (1.458, 0.019)
    assert EH1991_MAIN_CHAIN["C-N"]["*"] == (1.329, 0.014)
    assert EH1991_MAIN_CHAIN["N-CA-C"]["GLY"] == (112.5, 2.9)
    assert EH1991_MAIN_CHAIN["C-N-CA"]["PRO"] == (122.6, 5.0)
    assert residue_targets("PRO", "1991")["N-CA-CB"] == (103.0, 1.1)
    assert "CA-CB" not in residue_targets("GLY", "1991")
    with pytest.raises(ValueError, match="unknown Engh & Huber set"):
        residue_targets("ALA", "1999")
    with pytest.raises(ValueError, match="not a peptide-bond term"):
        peptide_target("N-CA", "ALA", "ALA")
