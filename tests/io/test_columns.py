"""The column-by-column reading agrees with float() and with gemmi's hierarchy read atom by atom."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.conftest import shared_files
from tests.io.test_edge_cases import record
from tests.io.test_read_shared import assert_same_structure
from workbench import StructureFormatError, StructureWarning, read_structure
from workbench.io._atom_rows import AtomRows
from workbench.io._columns import char_matrix, labels, parse_decimals
from workbench.io._pdb_records import check_atom_records

FILES = shared_files("structures", "*.pdb", "*.cif") + shared_files("predicted", "*.pdb") + shared_files("edge", "*")


@pytest.mark.parametrize("fmt", ["%8.3f", "%.6f", "%.12g", "%6.2f", "%.1f", "%+.0f", "%.15g"])
def test_parse_decimals_equals_float(fmt):
    values = np.random.default_rng(7).uniform(-9999, 9999, 2000)
    texts = [fmt % v for v in values]
    parsed, ok = parse_decimals(char_matrix(texts))
    expected = np.array([float(t) for t in texts])
    assert ok[np.array([len(t.replace("-", "").replace(".", "").lstrip("+")) <= 15 for t in texts])].all()
    np.testing.assert_array_equal(parsed[ok], expected[ok])


@pytest.mark.parametrize(
    ("text", "value"),
    [("  22.066", 22.066), ("  -0.000", -0.0), ("+5.0", 5.0), (".5", 0.5), ("5.", 5.0), ("12", 12.0),
     ("22.5  ", 22.5), ("1e3", None), ("nan", None), ("", None), ("1.2.3", None), ("- 5.0", None),
     (".", None), ("1 2", None), ("0000000000000001.5", None)],
)
def test_parse_decimals_leaves_other_forms_to_the_caller(text, value):
    parsed, ok = parse_decimals(char_matrix([text, "1.0"]))
    assert ok[1] and parsed[1] == 1.0
    if value is None:
        assert not ok[0] and np.isnan(parsed[0])
    else:
        assert ok[0] and parsed[0] == value and np.signbit(parsed[0]) == np.signbit(value)


def test_labels_strip_and_keep_order():
    assert labels(char_matrix([" CA ", "N   ", " CA ", "HG12"])).tolist() == ["CA", "N", "CA", "HG12"]
    assert labels(char_matrix(["ABCDEFGHIJ", "x", "ABCDEFGHIJ"])).tolist() == ["ABCDEFGHIJ", "x", "ABCDEFGHIJ"]
    assert labels(np.zeros((0, 4), dtype=np.uint8)).tolist() == []


def _read(path, *, atom_by_atom: bool, monkeypatch):
    with monkeypatch.context() as patch, warnings.catch_warnings():
        warnings.simplefilter("ignore", StructureWarning)
        if atom_by_atom:
            patch.setattr(AtomRows, "ordered_as", lambda self, st: False)
        try:
            return read_structure(path)
        except StructureFormatError as exc:
            return str(exc)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_arrays_equal_gemmis_hierarchy(path, monkeypatch):
    """Every shared file reads the same from the columns as from gemmi's atoms, or fails the same way."""
    columns = _read(path, atom_by_atom=False, monkeypatch=monkeypatch)
    atoms = _read(path, atom_by_atom=True, monkeypatch=monkeypatch)
    if isinstance(atoms, str):
        assert columns == atoms
        return
    assert_same_structure(columns, atoms, coord_tol=0, b_tol=0)


def _spy_on_ordering(monkeypatch) -> list[bool]:
    """The verdicts of AtomRows.ordered_as (True: the arrays were used), as they are given."""
    verdicts: list[bool] = []
    original = AtomRows.ordered_as

    def spy(self, st):
        verdicts.append(original(self, st))
        return verdicts[-1]

    monkeypatch.setattr(AtomRows, "ordered_as", spy)
    return verdicts


@pytest.mark.parametrize("name", ["7pbl.pdb", "3o21.pdb", "1l2y.pdb", "1o1z.pdb", "1l2y.cif", "1ake.cif"])
def test_standard_files_take_the_column_path(shared_data, name, monkeypatch):
    verdicts = _spy_on_ordering(monkeypatch)
    read_structure(shared_data / "structures" / name)
    assert verdicts == [True]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (record(c30_38="22.0x6"), r"line 1: x coordinate '  22.0x6' \(columns 31-38\) is not a finite"),
        (record(c38_46="nan"), r"y coordinate .*nan.* is not a finite number"),
        (record(c54_60="x.00"), r"occupancy '  x.00'"),
        (record(c60_66="1.2.3"), r"B-factor ' 1.2.3'"),
        (record(c22_26="X"), r"residue number '   X' \(columns 23-26\) is not an integer"),
        (record()[:44], r"line 1: ATOM/HETATM record is 44 characters long"),
    ],
)
def test_line_by_line_check_gives_the_same_messages(text, message):
    """The check for texts the columns do not index (other line ends, beyond ASCII) says the same."""
    with pytest.raises(StructureFormatError, match=message):
        check_atom_records([text], "<text>")
    with pytest.raises(StructureFormatError, match=message):
        read_structure(text + "\n", format="pdb")
    with pytest.raises(StructureFormatError, match=message.replace("line 1", "line 2")):
        read_structure("REMARK \u00e9\n" + text + "\n", format="pdb")


def test_hybrid36_residue_numbers_as_gemmi_and_exponents_as_float(monkeypatch):
    text = "\n".join([record(c22_26="A000"), record(c22_26="9999", c30_38="1e1")]) + "\n"
    columns = _read(text, atom_by_atom=False, monkeypatch=monkeypatch)
    assert columns.res_id.tolist() == [10000, 9999]
    assert columns.coords[1, 0] == 10.0


CIF = """data_t
loop_
_atom_site.group_PDB
_atom_site.id
_atom_site.type_symbol
_atom_site.label_atom_id
_atom_site.label_alt_id
_atom_site.label_comp_id
_atom_site.label_asym_id
_atom_site.label_seq_id
_atom_site.pdbx_PDB_ins_code
_atom_site.Cartn_x
_atom_site.Cartn_y
_atom_site.Cartn_z
_atom_site.occupancy
_atom_site.B_iso_or_equiv
_atom_site.auth_seq_id
_atom_site.auth_asym_id
_atom_site.pdbx_PDB_model_num
ATOM 1 N N . ALA A 1 ? 1.0 2.0 3.0 1 10 1 A 1
ATOM 2 C CA . ALA A 1 ? 2.0 2.0 3.0 ? ? 1 A 1
ATOM 3 O "O5'" . ALA A 1 ? 2.5 2.0 3.0 0.5 12.25 1 A 1
HETATM 4 SE SE A MSE A 2 B 3.0 2.0 3.0 1 10 2 A 1
HETATM 5 SE SE B MSE A 2 B 3.5 2.0 3.0 1 10 2 A 1
"""


@pytest.mark.parametrize(
    "text",
    [
        CIF,
        CIF.replace("? ? 1 A 1", "1 20 1 A 1"),
        CIF.replace("ATOM 3 O", "ATOM 3 O\u00e9"),  # beyond ASCII: atom by atom
        CIF.replace("_atom_site.group_PDB\n", "").replace("ATOM ", "").replace("HETATM ", ""),  # no group_PDB
        CIF + "ATOM 6 C C . ALA A 1 ? 1.5 2.0 3.0 1 10 1 A 1\n",  # residue 1 split: gemmi gathers it
        CIF + "ATOM 6 C C . ALA A 1 ? 1.5 2.0 3.0 1 10 1 A 2\n",  # a second model, not like the first
        "\n".join([record(), record(c22_26="   2"), record(c22_26="   1")]) + "\n",  # split PDB residue
        "\n".join([record(), record(c22_26="A000"), "TER", record(c20_22=" B", c76_78="  ")]) + "\n",
        "\r\n".join([record(), record(c22_26="   2", c54_60="", c60_66="")]) + "\r\n",
        "\n".join(["MODEL        1", record(), "ENDMDL", "MODEL        2", record(c30_38="1.5"), "ENDMDL", "END"]),
    ],
    ids=["cif-unknown-b", "cif", "cif-non-ascii", "cif-no-group", "cif-split-residue", "cif-models",
         "pdb-split-residue", "pdb-hybrid36-no-element", "pdb-crlf-blank-occupancy", "pdb-models"],
)
def test_written_texts_read_the_same_both_ways(text, monkeypatch):
    columns = _read(text, atom_by_atom=False, monkeypatch=monkeypatch)
    atoms = _read(text, atom_by_atom=True, monkeypatch=monkeypatch)
    if isinstance(atoms, str):
        assert columns == atoms
        return
    assert_same_structure(columns, atoms, coord_tol=0, b_tol=0)


def test_quoted_names_and_element_symbols(monkeypatch):
    text = CIF.replace("? ? 1 A 1", "1 20 1 A 1")
    verdicts = _spy_on_ordering(monkeypatch)
    structure = read_structure(text)
    assert verdicts == [True]
    assert structure.atom_name[2] == "O5'" and structure.element[3] == "Se"
    assert structure.b_factor.tolist() == [10, 20, 12.25, 10]
