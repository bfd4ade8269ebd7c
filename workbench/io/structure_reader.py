"""Read PDB and mmCIF files (plain or gzipped) into :class:`~workbench.Structure`.

Parser choice, by measurement (``benchmarks/parsers.py``, this machine, one
thread): gemmi parses 7pbl (31,396 atoms) in about 20 ms where Biopython's
``PDBParser`` takes about 730 ms, 3o21 in 12 ms against 380 ms, and the
38-model 1l2y mmCIF in 37 ms against 830 ms (``MMCIFParser``), 20-30x faster.
With the conversion into our arrays included, gemmi stays several times
faster than Biopython's parse alone. Gemmi also reads both formats with one
hierarchy, handles hybrid-36 serials and the microheterogeneity of mmCIF, and
has a maintained table of the Chemical Component Dictionary. The design card
named Biopython; we use gemmi for structures and keep Biopython for FASTA.

Gemmi is lenient where we want strictness (a PDB coordinate ``22.0x6`` reads
as 22.0), so numbers are checked first (:mod:`workbench.io._pdb_records` for
PDB, :mod:`workbench.io._mmcif_records` for mmCIF) and every gemmi failure is
re-raised as :class:`~workbench.StructureFormatError` naming the file and line.

Walking gemmi's atoms one by one in Python cost ten times gemmi's parse on a
157,000-atom file, so the atom records are also read column by column with
numpy (:mod:`workbench.io._columns`: the checks, the numbers and the labels in
one pass) and gemmi's hierarchy serves as the check of that reading: where it
holds the same models, chain parts, residues and atoms in the same order
(:meth:`AtomRows.ordered_as`), the arrays are used; otherwise (residues split
in the file, which gemmi gathers; texts beyond ASCII; unusual columns) the
atoms are walked one by one as before. ``tests/io/test_columns.py`` checks
that both give the same structure for every shared file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import gemmi
import numpy as np

from workbench import config
from workbench.errors import StructureFormatError
from workbench.io._atom_rows import AtomRows, ModelAtoms
from workbench.io._mmcif_records import check_atom_site, read_atom_site
from workbench.io._pdb_records import (
    PdbLines,
    check_atom_records,
    count_atom_records,
    fill_polymer_elements,
    missing_residues_from_remarks,
    read_atom_records,
)
from workbench.io._source import Source, load_text
from workbench.residues import one_letter_code
from workbench.structure import MissingResidue, Structure

StructureFormat = Literal["pdb", "mmcif"]
AltlocChoice = str  # "occupancy", "first", or one altloc letter

_PDB_SUFFIXES = {".pdb", ".ent", ".pdb1", ".brk"}
_CIF_SUFFIXES = {".cif", ".mmcif"}
_GEMMI_LINE = re.compile(r"[Ll]ine (\d+)|:(\d+):\d+")
_REQUIRED_ATOM_SITE = (
    ("Cartn_x",),
    ("Cartn_y",),
    ("Cartn_z",),
    ("auth_atom_id", "label_atom_id"),
    ("auth_comp_id", "label_comp_id"),
    ("auth_asym_id", "label_asym_id"),
)


def read_structure(
    source: Source,
    format: StructureFormat | str | None = None,
    *,
    model: int | None = None,
    altloc: AltlocChoice = "occupancy",
    max_bytes: int | None = None,
    max_atoms: int | None = None,
) -> Structure:
    """Read a PDB or mmCIF file, its bytes, or its text into a :class:`Structure`.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path (``.pdb``, ``.ent``, ``.cif``, ``.mmcif``, optionally ``.gz``),
        the file's bytes, or its text (a ``str`` holding a newline).
    format : {"pdb", "mmcif", "cif"}, optional
        Force the format; otherwise from the suffix, then from the content.
    model : int, optional
        Read only the model with this number (as written in the file).
        By default all models are read into ``Structure.ensemble``; they must
        hold the same atoms.
    altloc : str
        Which alternate location to keep, per residue: ``"occupancy"`` (highest
        mean occupancy, then the first listed), ``"first"``, or a letter such
        as ``"B"`` (residues without that letter fall back to ``"occupancy"``).
    max_bytes : int, optional
        Largest input, in bytes after decompression; default
        :func:`workbench.config.max_input_bytes` (``$WORKBENCH_MAX_INPUT_BYTES``, 512 MiB).
    max_atoms : int, optional
        Most atom records (ATOM / HETATM lines, ``_atom_site`` rows; all models
        together) accepted; default :func:`workbench.config.max_atoms`
        (``$WORKBENCH_MAX_ATOMS``, 2 million). Counted before the records are parsed.

    Returns
    -------
    Structure

    Raises
    ------
    StructureFormatError
        The text is not a readable structure, or it is over a size limit; the
        message names the file, the line where known, and the problem.
    FileNotFoundError
        ``source`` is a path that does not exist.
    """
    loaded = load_text(source, StructureFormatError, what="PDB/mmCIF", max_bytes=max_bytes)
    fmt = _detect_format(loaded.text, loaded.suffix, format, loaded.name)
    atom_limit = config.max_atoms() if max_atoms is None else max_atoms
    if fmt == "pdb":
        st, missing, rows = _parse_pdb(loaded.text, loaded.name, atom_limit)
    else:
        st, missing, rows = _parse_mmcif(loaded.text, loaded.name, atom_limit)
    name = Path(loaded.name).name.split(".")[0] if loaded.name[0] != "<" else (st.name or "")
    return _to_structure(st, missing, rows, source=loaded.name, name=name, model=model, altloc=altloc)


def _detect_format(text: str, suffix: str, format: str | None, source: str) -> StructureFormat:
    if format is not None:
        key = format.lower().lstrip(".")
        if key in ("pdb", "ent"):
            return "pdb"
        if key in ("cif", "mmcif"):
            return "mmcif"
        raise ValueError(f"unknown structure format {format!r}; use 'pdb' or 'mmcif'")
    if suffix in _PDB_SUFFIXES:
        return "pdb"
    if suffix in _CIF_SUFFIXES:
        return "mmcif"
    head = text.lstrip()[:4096]
    if head.startswith("data_") or "\n_atom_site." in head or head.startswith("#"):
        return "mmcif"
    return "pdb"


def _gemmi_error(exc: Exception, source: str) -> StructureFormatError:
    message = str(exc).strip()
    match = _GEMMI_LINE.search(message)
    line = int(match.group(1) or match.group(2)) if match else None
    message = re.sub(r"^(string|Problem in line \d+)\S*:\s*", "", message)
    return StructureFormatError(message.splitlines()[0] if message else type(exc).__name__,
                                source=source, line=line)


def _check_atom_count(n_atoms: int, limit: int, source: str) -> None:
    """Refuse a structure with more than ``limit`` atom records, before gemmi builds it."""
    if n_atoms > limit:
        raise StructureFormatError(
            f"{n_atoms:,} atom records, more than the limit of {limit:,} "
            "(raise it with WORKBENCH_MAX_ATOMS or max_atoms=)",
            source=source,
        )


_Parsed = tuple[gemmi.Structure, tuple[MissingResidue, ...], AtomRows | None]


def _parse_pdb(text: str, source: str, max_atoms: int) -> _Parsed:
    """Gemmi's structure, the unobserved residues, and the atom records as arrays.

    The arrays (None where they cannot stand for gemmi's hierarchy) spare
    walking gemmi's atoms one by one in Python.
    """
    lines = PdbLines.index(text)
    rows = None
    if lines is not None:
        names = lines.record_names()
        _check_atom_count(count_atom_records(names), max_atoms, source)
        rows = read_atom_records(lines, names, source)
        st = _read_pdb_text(text, source)
        if rows is not None and not rows.ordered_as(st):
            rows = None
    if rows is None:  # gemmi's hierarchy is read atom by atom, from the text with polymer elements filled
        split = text.splitlines()
        if lines is None:
            _check_atom_count(sum(1 for line in split if line.startswith(("ATOM", "HETATM"))), max_atoms, source)
            check_atom_records(split, source)
        if fill_polymer_elements(split) or lines is None:
            st = _read_pdb_text("\n".join(split) + "\n", source)
    return st, missing_residues_from_remarks(list(st.raw_remarks)), rows


def _read_pdb_text(text: str, source: str) -> gemmi.Structure:
    try:
        return gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as exc:
        raise _gemmi_error(exc, source) from None


def _parse_mmcif(text: str, source: str, max_atoms: int) -> _Parsed:
    try:
        doc = gemmi.cif.read_string(text)
    except (RuntimeError, ValueError) as exc:
        raise _gemmi_error(exc, source) from None
    block = next((b for b in doc if b.find_values("_atom_site.Cartn_x")), None)
    if block is None:
        raise StructureFormatError("no _atom_site loop with coordinates (Cartn_x)", source=source)
    _check_atom_count(len(block.find_values("_atom_site.Cartn_x")), max_atoms, source)
    columns = check_atom_site(block, source)
    try:
        st = gemmi.make_structure_from_block(block)
    except (RuntimeError, ValueError) as exc:
        raise _gemmi_error(exc, source) from None
    rows = read_atom_site(block, columns)
    if rows is not None and not rows.ordered_as(st):
        rows = None
    return st, _unobserved_residues(block), rows


def _unobserved_residues(block: gemmi.cif.Block) -> tuple[MissingResidue, ...]:
    table = block.get_mmcif_category("_pdbx_unobs_or_zero_occ_residues.")
    if not table or "auth_seq_id" not in table:
        return ()
    n = len(table["auth_seq_id"])
    column = lambda name: table.get(name) or [None] * n  # noqa: E731
    missing = []
    for model, flag, chain, res, num, icode in zip(
        column("PDB_model_num"), column("occupancy_flag"), column("auth_asym_id"),
        column("auth_comp_id"), table["auth_seq_id"], column("PDB_ins_code"), strict=True,
    ):
        if flag not in (None, 1, "1") or num is None or chain is None or res is None:
            continue  # occupancy_flag 0: zero-occupancy atoms, present in _atom_site
        missing.append(MissingResidue(chain_id=str(chain), res_name=str(res), res_id=int(num),
                                      ins_code=str(icode or ""),
                                      model=int(model) if model is not None else None))
    return tuple(missing)


def _model_atoms(model: gemmi.Model) -> ModelAtoms:
    names, elements, res_names, ins_codes, chains, altlocs = [], [], [], [], [], []
    res_ids, b_factors, occupancies, heteros, positions = [], [], [], [], []
    for chain in model:
        chain_name = chain.name
        for residue in chain:
            n = len(residue)
            res_name = residue.name
            het = residue.het_flag
            hetero = het == "H" if het in ("H", "A") else one_letter_code(res_name) is None
            icode = residue.seqid.icode.strip()
            res_names += [res_name] * n
            ins_codes += [icode] * n
            chains += [chain_name] * n
            res_ids += [residue.seqid.num] * n
            heteros += [hetero] * n
            for atom in residue:
                names.append(atom.name)
                elements.append(atom.element.name)
                altlocs.append(atom.altloc)
                b_factors.append(atom.b_iso)
                occupancies.append(atom.occ)
                positions.append(atom.pos.tolist())
    return ModelAtoms(
        coords=np.array(positions, dtype=np.float32).reshape(-1, 3),
        text={"atom_name": np.array(names, dtype=str), "element": np.array(elements, dtype=str),
              "res_name": np.array(res_names, dtype=str), "ins_code": np.array(ins_codes, dtype=str),
              "chain_id": np.array(chains, dtype=str)},
        res_id=np.array(res_ids, dtype=np.int32),
        b_factor=np.array(b_factors, dtype=np.float32),
        occupancy=np.array(occupancies, dtype=np.float32),
        hetero=np.array(heteros, dtype=bool),
        altloc=np.array([a.replace("\x00", "").strip() for a in altlocs], dtype=str),
    )


def altloc_mask(atoms: ModelAtoms, choice: AltlocChoice) -> np.ndarray:
    """Atoms to keep: those without altloc, plus one altloc per residue.

    A residue here is a run of atoms with the same chain, number and insertion
    code, whatever the residue name, so point mutations modelled as altlocs
    (microheterogeneity) keep one residue, not two.
    """
    keep = atoms.altloc == ""
    if keep.all():
        return keep
    key_change = np.zeros(len(keep), dtype=bool)
    key_change[0] = True
    for values in (atoms.text["chain_id"], atoms.res_id, atoms.text["ins_code"]):
        key_change[1:] |= values[1:] != values[:-1]
    group = np.cumsum(key_change)
    for g in np.unique(group[~keep]):
        in_group = (group == g) & ~keep
        labels = list(dict.fromkeys(atoms.altloc[in_group].tolist()))
        if choice == "first":
            chosen = labels[0]
        elif choice in labels:
            chosen = choice
        else:
            means = [atoms.occupancy[in_group & (atoms.altloc == label)].mean() for label in labels]
            chosen = labels[int(np.argmax(means))]  # argmax takes the first of equal maxima
        keep |= (group == g) & (atoms.altloc == chosen)
    return keep


def _to_structure(
    st: gemmi.Structure,
    missing: tuple[MissingResidue, ...],
    rows: AtomRows | None,
    *,
    source: str,
    name: str,
    model: int | None,
    altloc: AltlocChoice,
) -> Structure:
    if altloc not in ("occupancy", "first") and not (len(altloc) == 1 and altloc.isalnum()):
        raise ValueError(f"altloc must be 'occupancy', 'first' or one letter, not {altloc!r}")
    models = list(st)
    if model is not None:
        numbers = [m.num for m in models]
        if model not in numbers:
            raise StructureFormatError(f"no model {model}; the file has models {numbers}", source=source)
        models = [models[numbers.index(model)]]
    selected = []
    for m in models:
        atoms = rows.of_model(m.num) if rows is not None else _model_atoms(m)
        mask = altloc_mask(atoms, altloc)
        selected.append((m.num, atoms, mask))
    selected = [s for s in selected if s[2].any()] or selected[:1]
    if not selected or not selected[0][2].any():
        raise StructureFormatError("no ATOM or HETATM records", source=source)
    first_num, first, first_mask = selected[0]
    keep = slice(None) if first_mask.all() else first_mask  # a slice spares copies
    identity = [a[keep] for a in first.identity()]
    ensemble = [first.coords[keep]]
    for num, atoms, mask in selected[1:]:
        n_this, n_first = int(mask.sum()), int(first_mask.sum())
        if n_this != n_first:
            problem = f"model {num} has {n_this} atom(s) where model {first_num} has {n_first}"
        else:
            differs = np.zeros(n_this, dtype=bool)
            for a, b in zip(atoms.identity(), identity, strict=True):
                differs |= a[mask] != b
            problem = "" if not differs.any() else (
                f"atom {int(np.argmax(differs)) + 1} of model {num} differs from model {first_num}'s "
                "in name, residue or chain"
            )
        if problem:
            raise StructureFormatError(
                f"{problem}; the models of an ensemble must hold the same atoms "
                "(read one: model=N, or --model N on the command line)",
                source=source,
            )
        ensemble.append(atoms.coords[mask])
    try:
        return Structure(
            coords=ensemble[0],
            **{key: values[keep] for key, values in first.text.items()},
            res_id=first.res_id[keep],
            b_factor=first.b_factor[keep],
            occupancy=first.occupancy[keep],
            hetero=first.hetero[keep],
            ensemble=np.stack(ensemble) if len(ensemble) > 1 else None,
            missing_residues=missing,
            name=name,
        )
    except ValueError as exc:
        raise StructureFormatError(str(exc), source=source) from None
