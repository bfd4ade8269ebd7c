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
from collections.abc import Callable
from dataclasses import dataclass
from math import isfinite

import gemmi
import numpy as np

from workbench.errors import StructureFormatError, StructureWarning
from workbench.io._atom_rows import AtomRows, ModelAtoms, first_of_residue, run_starts
from workbench.io._columns import finish_numbers, fixed_width, labels, parse_decimals
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
    r"""Raise if an ATOM/HETATM record has a malformed number; warn about records after END.

    The line-by-line check, for texts :class:`PdbLines` does not index (other
    line ends than ``\n`` and ``\r\n``, characters beyond ASCII).

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


_COLUMNS = 80  # the record columns read here; the rest of a longer line is ignored
_LINE_BREAKS = "\x0b\x0c\x1c\x1d\x1e"  # str.splitlines() breaks there too (and at a lone CR)


@dataclass
class PdbLines:
    r"""Where each line of a PDB text starts and ends, found with numpy.

    Attributes
    ----------
    text : str
    buffer : ndarray, shape=(len(text),), dtype=uint8
        The text's characters.
    starts, lengths : ndarray, shape=(n_lines,), dtype=int64
        Line ``i`` is ``text[starts[i]:starts[i] + lengths[i]]`` (its
        ``\r\n`` or ``\n`` left out), numbered ``i + 1`` as ``str.splitlines`` would.
    """

    text: str
    buffer: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    @classmethod
    def index(cls, text: str) -> PdbLines | None:
        r"""Index ``text``; None if it is not ASCII or breaks lines other than at ``\n`` or ``\r\n``."""
        if not text.isascii():
            return None
        buffer = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        ends = np.flatnonzero(buffer == ord("\n"))
        has_cr = "\r" in text
        if any(c in text for c in _LINE_BREAKS) or (has_cr and text.count("\r") != text.count("\r\n")):
            return None
        starts = np.concatenate(([0], ends + 1))
        if starts[-1] < len(text):
            ends = np.append(ends, len(text))
        else:
            starts = starts[:-1]
        if has_cr:
            ends = ends - (buffer[np.maximum(ends - 1, 0)] == ord("\r")) * (ends > starts)
        return cls(text=text, buffer=buffer, starts=starts, lengths=ends - starts)

    def line(self, index: int) -> str:
        start = int(self.starts[index])
        return self.text[start:start + int(self.lengths[index])]

    def columns(self, rows: np.ndarray, stop: int = _COLUMNS) -> np.ndarray:
        """Columns ``0:stop`` of the lines ``rows``, blank past each line's end.

        Returns
        -------
        ndarray, shape=(len(rows), stop), dtype=uint8, column-major (Fortran) order
        """
        return fixed_width(self.buffer, self.starts[rows], self.lengths[rows], stop)

    def record_names(self) -> np.ndarray:
        """Columns 1-6 of every line, as ``S6`` byte strings."""
        width = 6
        buffer = self.buffer if len(self.buffer) >= width else np.concatenate(
            (self.buffer, np.full(width, ord(" "), dtype=np.uint8)))
        last = len(buffer) - width
        chars = np.lib.stride_tricks.sliding_window_view(buffer, width)[np.minimum(self.starts, last)]
        for row in np.flatnonzero((self.lengths < width) | (self.starts > last)).tolist():  # few: END, TER
            piece = buffer[self.starts[row]:self.starts[row] + min(int(self.lengths[row]), width)]
            chars[row] = ord(" ")
            chars[row, :len(piece)] = piece
        return chars.view("S6").ravel()


def count_atom_records(names: np.ndarray) -> int:
    """Lines starting with ATOM or HETATM (``names`` from :meth:`PdbLines.record_names`)."""
    return int(np.char.startswith(names, b"ATOM").sum() + (names == b"HETATM").sum())


def read_atom_records(lines: PdbLines, names: np.ndarray, source: str) -> AtomRows | None:
    """Check the numbers of every ATOM/HETATM record and read the records as arrays.

    The checks and warnings are those of :func:`check_atom_records`, done
    column by column. The records up to END are then read as gemmi reads
    them (names, elements, hybrid-36 residue numbers, HETATM flags per
    residue), with the element columns of polymer atoms filled as in
    :func:`fill_polymer_elements`.

    Parameters
    ----------
    lines : PdbLines
    names : ndarray of bytes
        :meth:`PdbLines.record_names`.
    source : str
        File name for messages.

    Returns
    -------
    AtomRows or None
        None where a MODEL record's number is unreadable: then gemmi's
        hierarchy is the reference.

    Raises
    ------
    StructureFormatError
        Naming the line, the field and the text found there.
    """
    rows = np.flatnonzero((names == b"ATOM  ") | (names == b"HETATM"))
    chars = lines.columns(rows)
    numbers, res_id = _check_numbers(lines, rows, chars, source)
    ends = [i for i in np.flatnonzero(np.char.startswith(names, b"END")).tolist() if lines.line(i).rstrip() == "END"]
    if ends:
        ignored = int((rows > ends[0]).sum())
        if ignored:
            warnings.warn(
                f"{source}, line {ends[0] + 1}: {ignored} ATOM/HETATM record(s) after END were ignored",
                StructureWarning,
                stacklevel=4,
            )
            kept = rows < ends[0]
            rows, chars, numbers, res_id = rows[kept], chars[kept], numbers[kept], res_id[kept]
    model = _model_numbers(lines, names, rows)
    if model is None:
        return None
    return _rows(chars, numbers, res_id, model)


def _model_numbers(lines: PdbLines, names: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
    """The model number of each record: that of the MODEL record above it, else 1 (None: unreadable)."""
    models = np.flatnonzero(np.char.startswith(names, b"MODE") | np.char.startswith(names, b"mode"))
    try:
        numbers = np.array([1] + [int(lines.line(i)[10:14]) for i in models.tolist()], dtype=np.int64)
    except ValueError:
        return None
    return numbers[np.searchsorted(models, rows)]


def _rows(chars: np.ndarray, numbers: np.ndarray, res_id: np.ndarray, model: np.ndarray) -> AtomRows:
    """The records' columns as arrays (see :func:`read_atom_records`)."""
    chain_key, residue_key = (chars[:, 20:22],), (chars[:, 17:27], chars[:, 72:76])
    chain_start, residue_start = run_starts(model, chain_key, residue_key)
    first = np.flatnonzero(residue_start)
    residue = np.cumsum(residue_start) - 1

    def per_residue(start: int, stop: int) -> np.ndarray:
        return labels(chars[first, start:stop])[residue]

    alpha = ((chars[:, 76:78] | 0x20) >= ord("a")) & ((chars[:, 76:78] | 0x20) <= ord("z"))
    has_element = alpha.any(axis=1)
    element = labels(chars[:, 76:78], _element_name).astype("<U2")  # room for two-letter guesses
    blank = (chars[:, 76:78] == ord(" ")).all(axis=1)
    guessed = np.flatnonzero(~has_element)
    if len(guessed):
        key = np.concatenate((np.where(blank[guessed, None], ord("1"), ord("0")).astype(np.uint8),
                              chars[guessed, 12:16], chars[guessed, 17:20]), axis=1)
        element[guessed] = labels(key, _element_from_name)
    atoms = ModelAtoms(
        coords=numbers[:, :3].astype(np.float32),
        text={"atom_name": labels(chars[:, 12:16]), "element": element, "res_name": per_residue(17, 20),
              "ins_code": per_residue(26, 27), "chain_id": per_residue(20, 22)},
        res_id=res_id.astype(np.int32),
        b_factor=numbers[:, 4].astype(np.float32),
        occupancy=numbers[:, 3].astype(np.float32),
        hetero=first_of_residue(chars[:, 0] == ord("H"), residue_start),
        altloc=labels(chars[:, 16:17]),
    )
    return AtomRows(model=model, atoms=atoms, chain_start=chain_start, residue_start=residue_start)


def _element_name(columns: str) -> str:
    """Element of the element columns 77-78, as gemmi names it."""
    return gemmi.Element(columns).name


def _element_from_name(key: str) -> str:
    """Element of an atom without element columns: ``key`` is blank flag, name field (4), residue name (3).

    Polymer atoms take :func:`fill_polymer_elements`' rule, others gemmi's
    guess from the name field, as gemmi reads the file that function wrote.
    """
    blank, field, res_name = key[0] == "1", key[1:5], key[5:8].strip()
    name = field.strip().upper()
    if blank and name and one_letter_code(res_name) is not None:
        element = "SE" if name.startswith("SE") else next((c for c in name if c.isalpha()), "")
        if element:
            return gemmi.Element(element).name
    return gemmi.Element(field).name


def _check_numbers(lines: PdbLines, rows: np.ndarray, chars: np.ndarray,
                   source: str) -> tuple[np.ndarray, np.ndarray]:
    """Raise at the first record with a malformed number.

    Returns
    -------
    numbers : ndarray, shape=(n, 5), dtype=float64
        x, y, z, occupancy and B-factor (blank: 0, as gemmi reads it).
    res_id : ndarray, shape=(n,), dtype=int64
        Residue numbers as gemmi reads them.
    """
    first_bad = len(rows)
    short = np.flatnonzero(lines.lengths[rows] < 54)
    if len(short):
        first_bad = int(short[0])
    numbers = {}
    for start, stop, field, blank_ok in _NUMERIC_FIELDS:
        values, ok = parse_decimals(chars[:, start:stop])
        if blank_ok:  # blank occupancy or B-factor: 0, as gemmi reads it
            blank = ~ok & (chars[:, start:stop] == ord(" ")).all(axis=1)
            values[blank], ok[blank] = 0.0, True
        bad = finish_numbers(values, ok, _field_text(lines, rows, start, stop), blank=0.0 if blank_ok else None)
        numbers[field] = values
        if bad is not None:
            first_bad = min(first_bad, bad)
    res_id, ok = parse_decimals(chars[:, 22:26])
    ok &= ~((chars[:, 22:26] == ord(".")) | (chars[:, 22:26] == ord("+"))).any(axis=1)
    bad = finish_numbers(res_id, ok, _field_text(lines, rows, 22, 26), blank=None, convert=_residue_number)
    if bad is not None:
        first_bad = min(first_bad, bad)
    if first_bad < len(rows):
        _check_numbers_of_line(lines.line(rows[first_bad]), int(rows[first_bad]) + 1, source)
        raise AssertionError("column and line number checks disagree")  # pragma: no cover
    return np.stack([numbers[field] for _, _, field, _ in _NUMERIC_FIELDS], axis=1), res_id.astype(np.int64)


def _field_text(lines: PdbLines, rows: np.ndarray, start: int, stop: int) -> Callable[[int], str]:
    """The text of columns ``start:stop`` of record ``i`` (``rows[i]``)."""
    return lambda i: lines.line(int(rows[i]))[start:stop]


def _residue_number(text: str) -> int:
    """Columns 23-26 as gemmi reads them: decimal, or hybrid-36 from ``A000`` (10000) on."""
    if not _RES_SEQ.match(text):
        raise ValueError(text)
    return int(text) if text[:1] < "A" else int(text, 36) - 466560 + 10000


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
