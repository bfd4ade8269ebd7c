"""Checks and extra records of the PDB format that gemmi does not cover.

Gemmi reads PDB files fast but forgivingly: a coordinate ``22.0x6`` becomes
``22.0`` and an occupancy ``x.00`` becomes ``0``, silently. Before handing
text to gemmi we check the numeric columns of every ATOM/HETATM record, so a
damaged file fails with the line and column instead of giving wrong atoms.
REMARK 465 (unobserved residues) is kept by gemmi only as raw text and is
parsed here.
"""

from __future__ import annotations

import re
import warnings
from math import isfinite

from workbench.errors import StructureFormatError, StructureWarning
from workbench.residues import one_letter_code
from workbench.structure import MissingResidue

# (first column, last column) 0-based half-open, field name, whether blank is allowed
_NUMERIC_FIELDS: tuple[tuple[int, int, str, bool], ...] = (
    (30, 38, "x coordinate", False),
    (38, 46, "y coordinate", False),
    (46, 54, "z coordinate", False),
    (54, 60, "occupancy", True),
    (60, 66, "B-factor", True),
)
_RES_SEQ = re.compile(r"^\s*-?\d+\s*$|^[A-Za-z][0-9A-Za-z]{3}$")  # decimal or hybrid-36
_REMARK_465 = re.compile(
    r"^REMARK 465\s+(?:(?P<model>\d+)\s+)?(?P<res>[A-Za-z0-9]{1,3})\s+(?P<chain>\S)\s+"
    r"(?P<num>-?\d+)(?P<icode>[A-Za-z]?)\s*$"
)


def check_atom_records(lines: list[str], source: str) -> None:
    """Raise if an ATOM/HETATM record has a malformed number; warn about records after END.

    Parameters
    ----------
    lines : list of str
        The file's lines, without line endings.
    source : str
        File name for messages.

    Raises
    ------
    StructureFormatError
        Naming the line, the field and the text found there.
    """
    rows = [i for i, line in enumerate(lines) if line.startswith(("ATOM  ", "HETATM"))]
    try:
        _check_numbers_fast(lines, rows)
    except ValueError:
        for i in rows:  # the slow path only runs to name the first bad line
            _check_numbers_of_line(lines[i], i + 1, source)
        raise AssertionError("fast and slow number checks disagree") from None  # pragma: no cover
    end = next((i for i, line in enumerate(lines) if line.rstrip() == "END"), None)
    if end is not None:
        ignored = sum(1 for i in rows if i > end)
        if ignored:
            warnings.warn(
                f"{source}, line {end + 1}: {ignored} ATOM/HETATM record(s) after END were ignored",
                StructureWarning,
                stacklevel=4,
            )


def fill_polymer_elements(lines: list[str]) -> bool:
    """Write the element of polymer atoms whose element column (77-78) is blank, in place.

    Without that column gemmi guesses from the name's alignment, and programs
    such as CHARMM left-justify names: ``CA`` of an amino acid becomes calcium,
    ``HG1`` mercury. In amino acids and nucleotides every element is one letter,
    the first of the atom name, except selenium (``SE`` of MSE). Other residues
    are left to gemmi's guess.

    Returns
    -------
    bool
        Whether any line was changed.
    """
    changed = False
    for i, line in enumerate(lines):
        if not line.startswith(("ATOM  ", "HETATM")) or line[76:78].strip():
            continue
        name = line[12:16].strip().upper()
        if not name or one_letter_code(line[17:20].strip()) is None:
            continue
        element = "SE" if name.startswith("SE") else next((c for c in name if c.isalpha()), "")
        if element:
            lines[i] = f"{line[:76].ljust(76)}{element:>2s}{line[78:]}"
            changed = True
    return changed


def _check_numbers_fast(lines: list[str], rows: list[int]) -> None:
    """Raise ValueError (without details) if any record has a malformed number.

    A plain loop of ``float`` calls: it is exact (``float("1 2")`` and
    ``float("")`` fail) and three times faster than numpy's string casts here.
    """
    for i in rows:
        line = lines[i]
        if len(line) < 54 or not _RES_SEQ.match(line[22:26]):
            raise ValueError
        if not (isfinite(float(line[30:38])) and isfinite(float(line[38:46]))
                and isfinite(float(line[46:54]))):
            raise ValueError
        occupancy, b_factor = line[54:60], line[60:66]
        if (occupancy.strip() and not isfinite(float(occupancy))) or (
            b_factor.strip() and not isfinite(float(b_factor))
        ):
            raise ValueError


def _check_numbers_of_line(line: str, number: int, source: str) -> None:
    """Raise StructureFormatError naming the first malformed field of one ATOM/HETATM record."""
    if len(line.rstrip()) < 54:
        raise StructureFormatError(
            f"ATOM/HETATM record is {len(line.rstrip())} characters long; coordinates need columns 31-54",
            source=source, line=number,
        )
    for start, stop, field, blank_ok in _NUMERIC_FIELDS:
        text = line[start:stop]
        if blank_ok and not text.strip():
            continue
        try:
            ok = isfinite(float(text))
        except ValueError:
            ok = False
        if not ok:
            raise StructureFormatError(
                f"{field} {text!r} (columns {start + 1}-{stop}) is not a finite number",
                source=source, line=number,
            )
    if not _RES_SEQ.match(line[22:26]):
        raise StructureFormatError(
            f"residue number {line[22:26]!r} (columns 23-26) is not an integer", source=source, line=number
        )


def missing_residues_from_remarks(remarks: list[str]) -> tuple[MissingResidue, ...]:
    """Parse the residue lines of REMARK 465 (``M RES C SSSEQI``).

    Parameters
    ----------
    remarks : list of str
        The file's REMARK records (gemmi's ``Structure.raw_remarks``).

    Returns
    -------
    tuple of MissingResidue
    """
    missing = []
    in_table = False
    for remark in remarks:
        if not remark.startswith("REMARK 465"):
            continue
        if "RES C SSSEQI" in remark:
            in_table = True
            continue
        match = _REMARK_465.match(remark.rstrip())
        if in_table and match:
            model = match["model"]
            missing.append(
                MissingResidue(
                    chain_id=match["chain"],
                    res_name=match["res"],
                    res_id=int(match["num"]),
                    ins_code=match["icode"],
                    model=int(model) if model else None,
                )
            )
    return tuple(missing)


def format_remark_465(missing: tuple[MissingResidue, ...]) -> list[str]:
    """REMARK 465 records for ``missing``, in the wwPDB layout."""
    if not missing:
        return []
    lines = [
        "REMARK 465",
        "REMARK 465 MISSING RESIDUES",
        "REMARK 465 THE FOLLOWING RESIDUES WERE NOT LOCATED IN THE",
        "REMARK 465 EXPERIMENT. (M=MODEL NUMBER; RES=RESIDUE NAME; C=CHAIN",
        "REMARK 465 IDENTIFIER; SSSEQ=SEQUENCE NUMBER; I=INSERTION CODE.)",
        "REMARK 465",
        "REMARK 465   M RES C SSSEQI",
    ]
    for m in missing:
        model = f"{m.model:>3d}" if m.model is not None else "   "
        lines.append(f"REMARK 465 {model} {m.res_name:>3s} {m.chain_id[:1]:1s} {m.res_id:>5d}{m.ins_code[:1]:1s}")
    return lines
