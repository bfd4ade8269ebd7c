"""Checks of the mmCIF ``_atom_site`` loop, and its columns read as arrays.

Gemmi reads mmCIF numbers leniently (``abc`` as a coordinate reads as NaN or
0), so the numeric columns are checked first, column by column with numpy
(:mod:`workbench.io._columns`), and a malformed value fails with its row.
"""

from __future__ import annotations

import gemmi
import numpy as np

from workbench.errors import StructureFormatError
from workbench.io._atom_rows import AtomRows, ModelAtoms, first_of_residue, run_starts
from workbench.io._columns import char_matrix, finish_numbers, labels, parse_decimals
from workbench.residues import one_letter_code

_REQUIRED = (
    ("Cartn_x",),
    ("Cartn_y",),
    ("Cartn_z",),
    ("auth_atom_id", "label_atom_id"),
    ("auth_comp_id", "label_comp_id"),
    ("auth_asym_id", "label_asym_id"),
)
# Numeric columns checked, in this order, and whether ? and . (unknown, not applicable) are allowed.
_NUMERIC = (("Cartn_x", False), ("Cartn_y", False), ("Cartn_z", False), ("occupancy", True),
            ("B_iso_or_equiv", True), ("auth_seq_id", True), ("pdbx_PDB_model_num", True))
_UNKNOWN = ("?", ".")

Numbers = dict[str, tuple[np.ndarray, np.ndarray | None]]


def check_atom_site(block: gemmi.cif.Block, source: str) -> Numbers:
    """Raise if required ``_atom_site`` columns are absent or hold malformed numbers.

    Parameters
    ----------
    block : gemmi.cif.Block
        The block with the ``_atom_site`` loop.
    source : str
        File name for messages.

    Returns
    -------
    dict of str to (ndarray, ndarray or None)
        For each numeric column present, its values (shape=(n_rows,),
        dtype=float64, NaN where ``?`` or ``.``) and its characters
        (:func:`~workbench.io._columns.char_matrix`).

    Raises
    ------
    StructureFormatError
        Naming the missing column, or the row, column and value.
    """
    present = {tag.removeprefix("_atom_site.") for tag in block.find_mmcif_category("_atom_site.").tags}
    for alternatives in _REQUIRED:
        if not any(column in present for column in alternatives):
            names = " or ".join(f"_atom_site.{c}" for c in alternatives)
            raise StructureFormatError(f"the _atom_site loop has no {names} column", source=source)
    numbers = {}
    for column, unknown_ok in _NUMERIC:
        if column not in present:
            continue
        texts = list(block.find_values(f"_atom_site.{column}"))
        chars = char_matrix(texts)
        if chars is None:  # beyond ASCII: every value goes through float()
            values, ok = np.full(len(texts), np.nan), np.zeros(len(texts), dtype=bool)
        else:
            values, ok = parse_decimals(chars)
        bad = finish_numbers(values, ok, texts.__getitem__, blank=None, unknown=_UNKNOWN if unknown_ok else ())
        if bad is not None:
            raise StructureFormatError(
                f"_atom_site row {bad + 1}: {column} {texts[bad]!r} is not a finite number", source=source
            )
        numbers[column] = (values, chars)
    return numbers


def read_atom_site(block: gemmi.cif.Block, numbers: Numbers) -> AtomRows | None:
    """The ``_atom_site`` rows as arrays, as gemmi reads them into atoms.

    Parameters
    ----------
    block : gemmi.cif.Block
    numbers : dict
        From :func:`check_atom_site`.

    Returns
    -------
    AtomRows or None
        None where a column the arrays need is missing or holds what gemmi
        reads in its own way (unknown residue numbers, occupancies or
        B-factors, a ``group_PDB`` other than ATOM and HETATM, shortened
        residue names): gemmi's hierarchy is then the reference.
    """
    table = block.find_mmcif_category("_atom_site.")
    present = {tag.removeprefix("_atom_site.") for tag in table.tags}
    needed = ("Cartn_x", "Cartn_y", "Cartn_z", "occupancy", "B_iso_or_equiv", "auth_seq_id", "type_symbol",
              "label_alt_id", "label_asym_id", "id")
    if not all(column in present for column in needed):
        return None

    text: dict[str, np.ndarray | None] = {}
    for key, alternatives in (
        ("atom_name", ("auth_atom_id", "label_atom_id")), ("res_name", ("auth_comp_id", "label_comp_id")),
        ("chain_id", ("auth_asym_id", "label_asym_id")), ("element", ("type_symbol",)),
        ("altloc", ("label_alt_id",)), ("ins_code", ("pdbx_PDB_ins_code",)), ("group", ("group_PDB",)),
    ):
        name = next((a for a in alternatives if a in present), None)
        text[key] = None if name is None else char_matrix(list(block.find_values(f"_atom_site.{name}")))
        if name is not None and text[key] is None:  # beyond ASCII
            return None
    n = len(numbers["Cartn_x"][0])
    occupancy, b_factor = numbers["occupancy"][0], numbers["B_iso_or_equiv"][0]
    if not (np.isfinite(occupancy).all() and np.isfinite(b_factor).all()):
        return None  # unknown: gemmi's defaults apply
    res_id, seq = numbers["auth_seq_id"]
    model, model_chars = numbers.get("pdbx_PDB_model_num", (np.ones(n), None))
    if seq is None:
        return None
    for number, chars in ((res_id, seq), (model, model_chars)):
        if not np.isfinite(number).all() or (chars is not None and (
                (chars == ord(".")) | (chars == ord("+")) | ((chars | 0x20) == ord("e"))).any()):
            return None
    cleaners = {"element": _element, "altloc": _altloc}
    values = {key: labels(chars, cleaners.get(key, _clean)) for key, chars in text.items() if chars is not None}
    res_name = values["res_name"]
    res_chars = text["res_name"]
    if res_chars is not None and (res_chars[:, :2] == ord("~")).any():  # shortened names, which gemmi restores
        return None
    ins_code = values.get("ins_code", np.full(n, "", dtype=str))
    chain_key, residue_key = (values["chain_id"],), (res_id, ins_code, res_name)
    model = model.astype(np.int64)
    chain_start, residue_start = run_starts(model, chain_key, residue_key)
    group = values.get("group")
    if group is None:
        hetero = np.array([one_letter_code(r) is None for r in res_name.tolist()], dtype=bool)
    else:
        hetero = group == "HETATM"
        if not (hetero | (group == "ATOM")).all():
            return None
    atoms = ModelAtoms(
        coords=np.stack([numbers[f"Cartn_{axis}"][0] for axis in "xyz"], axis=1).astype(np.float32),
        text={"atom_name": values["atom_name"], "element": values["element"], "res_name": res_name,
              "ins_code": ins_code, "chain_id": values["chain_id"]},
        res_id=res_id.astype(np.int32),
        b_factor=b_factor.astype(np.float32),
        occupancy=occupancy.astype(np.float32),
        hetero=first_of_residue(hetero, residue_start),
        altloc=values["altloc"],
    )
    return AtomRows(model=model, atoms=atoms, chain_start=chain_start, residue_start=residue_start)


def _clean(text: str) -> str:
    """A value as gemmi's ``cif::as_string`` reads it: quotes removed, ``?`` and ``.`` empty."""
    return gemmi.cif.as_string(text.strip())


def _element(text: str) -> str:
    """``type_symbol`` as gemmi names the element (``SE`` is ``Se``; unknown symbols ``X``)."""
    return gemmi.Element(_clean(text)).name


def _altloc(text: str) -> str:
    """``label_alt_id`` as gemmi reads it: one character, none for ``?`` and ``.``."""
    return _clean(text)[:1]
