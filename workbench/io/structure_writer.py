"""Write a :class:`~workbench.Structure` as PDB or mmCIF text, through gemmi's writers.

The mmCIF is a standard PDBx/mmCIF file, not only an ``_atom_site`` table:
polymer atoms carry ``label_seq_id``, and the file has ``_entity``,
``_entity_poly`` (one-letter sequences, also canonical), ``_entity_poly_seq``,
``_struct_asym``, ``_pdbx_poly_seq_scheme`` and ``_pdbx_nonpoly_scheme``, which
programs built on the wwPDB model need (Debian's mkdssp 4 reads residues from
``_pdbx_poly_seq_scheme``; Mol* matches ModelCIF quality records to residues by
``label_asym_id`` and ``label_seq_id``). Unobserved residues are part of the
sequences and listed in ``_pdbx_unobs_or_zero_occ_residues``. Author numbering
(``auth_seq_id``, insertion codes, ``auth_asym_id``) is written unchanged, and it
is what :func:`~workbench.io.read_structure` reads back. With a
:class:`~workbench.io.modelcif.ModelConfidence`, the file also carries the
ModelCIF records of a prediction (see :mod:`workbench.io.modelcif`).

The PDB text starts with a (blank) HEADER record: mkdssp 4 takes a file
without one for mmCIF and fails on it.

Files are written atomically (a temporary file in the target folder, then a
rename), so a reader never sees half a structure.
"""

from __future__ import annotations

import errno
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import gemmi
import numpy as np

from workbench.files import atomic_write_bytes, check_writable_folder
from workbench.io._pdb_records import format_remark_465
from workbench.io.modelcif import ModelConfidence, add_quality_records
from workbench.residues import one_letter_code
from workbench.structure import MissingResidue, Structure

_UNOBSERVED_COLUMNS = ["id", "PDB_model_num", "polymer_flag", "occupancy_flag", "auth_asym_id",
                       "auth_comp_id", "auth_seq_id", "PDB_ins_code"]
_POLY_SCHEME_COLUMNS = ["asym_id", "entity_id", "seq_id", "mon_id", "ndb_seq_num", "pdb_seq_num", "auth_seq_num",
                        "pdb_mon_id", "auth_mon_id", "pdb_strand_id", "pdb_ins_code", "hetero"]
_NONPOLY_SCHEME_COLUMNS = ["asym_id", "entity_id", "mon_id", "ndb_seq_num", "pdb_seq_num", "auth_seq_num",
                           "pdb_mon_id", "auth_mon_id", "pdb_strand_id", "pdb_ins_code"]
#: Each polymer subchain's full sequence: a residue index where observed, the MissingResidue where not
_Merged = dict[str, list[int | MissingResidue]]
#: A blank HEADER record: columns 11-66 (classification, date, id) left empty.
_PDB_HEADER = "HEADER" + " " * 74


@dataclass(frozen=True)
class ResidueLabels:
    """The mmCIF label (wwPDB) identifiers of each residue of a written structure.

    Attributes
    ----------
    asym_id, entity_id, comp_id : ndarray, shape=(n_residues,), dtype=str
        ``label_asym_id``, ``label_entity_id`` and ``label_comp_id`` of each
        residue, in the order of ``Structure.residues``.
    seq_id : ndarray, shape=(n_residues,), dtype=int64
        ``label_seq_id`` of each polymer residue (1-based position in its
        entity's sequence, unobserved residues counted); 0 for residues
        outside a polymer entity (written as ``.``).
    """

    asym_id: np.ndarray
    entity_id: np.ndarray
    comp_id: np.ndarray
    seq_id: np.ndarray


def _gemmi_hierarchy(structure: Structure) -> gemmi.Structure:
    """A gemmi structure (all models) with the atoms of ``structure``, no entities yet."""
    st = gemmi.Structure()
    st.name = structure.name or "workbench"
    starts = structure.residue_starts
    residues = structure.residues
    for model_index, coords in enumerate(structure.frames):
        model = gemmi.Model(model_index + 1)
        chain = None
        for r in range(len(residues)):
            chain_id = str(residues.chain_id[r])
            if chain is None or chain.name != chain_id:
                if chain is not None:
                    model.add_chain(chain, unique_name=False)
                chain = gemmi.Chain(chain_id)
            residue = gemmi.Residue()
            residue.name = str(residues.res_name[r])
            residue.seqid = gemmi.SeqId(int(residues.res_id[r]), str(residues.ins_code[r]) or " ")
            residue.het_flag = "H" if residues.hetero[r] else "A"
            for i in range(starts[r], starts[r + 1]):
                atom = gemmi.Atom()
                atom.name = str(structure.atom_name[i])
                atom.element = gemmi.Element(str(structure.element[i]))
                atom.pos = gemmi.Position(*coords[i].tolist())
                atom.b_iso = float(structure.b_factor[i])
                atom.occ = float(structure.occupancy[i])
                residue.add_atom(atom)
            chain.add_residue(residue)
        if chain is not None:
            model.add_chain(chain, unique_name=False)
        st.add_model(model)
    return st


def to_gemmi(structure: Structure) -> gemmi.Structure:
    """Build a gemmi structure (all models) from ``structure``.

    Parameters
    ----------
    structure : Structure

    Returns
    -------
    gemmi.Structure
        With entities set up, ready for gemmi's PDB and mmCIF writers.
    """
    st = _gemmi_hierarchy(structure)
    st.setup_entities()
    return st


def format_pdb(structure: Structure) -> str:
    """PDB text of ``structure`` (all models; REMARK 465 for missing residues).

    Raises
    ------
    ValueError
        If a chain id is longer than the format's column allows.
    """
    too_long = sorted({c for c in structure.chains if len(c) > 1})
    if too_long:
        raise ValueError(f"chain ids {too_long} do not fit the PDB format's one column; write mmCIF")
    st = to_gemmi(structure)
    st.raw_remarks = format_remark_465(structure.missing_residues)
    return _PDB_HEADER + "\n" + st.make_pdb_string()


def format_mmcif(structure: Structure, *, confidence: ModelConfidence | None = None) -> str:
    """Standard PDBx/mmCIF text of ``structure`` (all models), optionally with ModelCIF quality records.

    Parameters
    ----------
    structure : Structure
    confidence : ModelConfidence, optional
        The confidence of a prediction: with it the file also carries the
        ModelCIF categories of AlphaFold DB files (``_ma_qa_metric*``,
        ``_ma_model_list``, ``_software``, ...), see :mod:`workbench.io.modelcif`.
        Its per-residue arrays follow the polymer residues of ``structure``
        (``Structure.polymer``), in order.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``confidence`` does not fit the structure's polymer residues.
    """
    st, labels, merged = _standard_gemmi(structure)
    # Groups: everything gemmi knows except the crystal cell and symmetry: a Structure has
    # no cell, and gemmi would write a 1 Å P1 cell that viewers could take for a real one.
    groups = gemmi.MmcifOutputGroups(True, cell=False, symmetry=False, auth_all=True)
    doc = st.make_mmcif_document(groups)
    block = doc.sole_block()
    _add_canonical_sequences(block, st)
    _add_schemes(block, structure, labels, merged)
    if structure.missing_residues:
        loop = block.init_mmcif_loop("_pdbx_unobs_or_zero_occ_residues.", _UNOBSERVED_COLUMNS)
        for k, m in enumerate(structure.missing_residues, start=1):
            loop.add_row([str(k), str(m.model) if m.model is not None else "?", "Y", "1",
                          gemmi.cif.quote(m.chain_id), gemmi.cif.quote(m.res_name), str(m.res_id),
                          gemmi.cif.quote(m.ins_code) if m.ins_code else "?"])
    if confidence is not None:
        add_quality_records(block, structure, labels, confidence)
    return doc.as_string()


def _standard_gemmi(structure: Structure) -> tuple[gemmi.Structure, ResidueLabels, _Merged]:
    """A gemmi structure with wwPDB label identifiers, and those identifiers per residue.

    Gemmi's own machinery does the chemistry: ``add_entity_types`` tells polymer,
    non-polymer and water residues apart (its heuristic, which reads a HETATM
    selenomethionine inside a chain as polymer), ``assign_subchains`` splits each
    chain into label chains, ``ensure_entities`` and ``deduplicate_entities`` make
    one entity per distinct sequence or ligand. What gemmi cannot know is written
    here: the full sequence of a polymer, observed residues and the unobserved
    ones (``Structure.missing_residues``) merged by author numbering, and each
    residue's ``label_seq_id`` as its position in that sequence. We set these
    positions directly instead of calling ``assign_label_seq_id``, which aligns
    the residues to the sequence and could place a residue of a repeat or a
    run of equal residues differently from its author number; here the position
    is known. Label chains are named A, B, ..., Z, AA, AB, ... in file order (the
    wwPDB's way), entities 1, 2, ... in gemmi's order (polymers first).

    Parameters
    ----------
    structure : Structure

    Returns
    -------
    gemmi.Structure
        All models, with subchains, entities (full sequences) and ``label_seq``.
    ResidueLabels
        The label identifiers of each residue of ``structure``.
    dict
        Each polymer subchain's sequence: observed residue indices and unobserved residues.
    """
    st = _gemmi_hierarchy(structure)
    st.add_entity_types(False)
    st.assign_subchains(True)
    first = st[0] if len(st) else gemmi.Model(1)
    order = list(dict.fromkeys(residue.subchain for chain in first for residue in chain))
    new_name = {old: _asym_name(k) for k, old in enumerate(order)}
    for model in st:
        for chain in model:
            for residue in chain:
                residue.subchain = new_name[residue.subchain]
    # gemmi's ensure_entities skips chains with a blank name (PDB files without chain ids):
    # name them for the call only, with a name no chain has
    blank = [chain for model in st for chain in model if chain.name == ""]
    for chain in blank:
        chain.name = "~"
    st.ensure_entities()
    for chain in blank:
        chain.name = ""
    merged = _merged_runs(structure, first)
    positions = _sequence_positions(structure, merged)
    full_sequences = _full_sequences(structure, merged)
    for entity in st.entities:
        if entity.entity_type == gemmi.EntityType.Polymer and entity.subchains:
            entity.full_sequence = full_sequences.get(entity.subchains[0], [])
    st.deduplicate_entities()
    for k, entity in enumerate(st.entities, start=1):
        entity.name = str(k)
    for model in st:
        index = 0
        for chain in model:
            for residue in chain:
                residue.label_seq = int(positions[index]) if positions[index] > 0 else None
                index += 1
    entity_of = {sub: entity.name for entity in st.entities for sub in entity.subchains}
    asym = np.array([residue.subchain for chain in first for residue in chain], dtype=str)
    labels = ResidueLabels(
        asym_id=asym,
        entity_id=np.array([entity_of.get(a, "") for a in asym], dtype=str),
        comp_id=np.array([residue.name for chain in first for residue in chain], dtype=str),
        seq_id=positions,
    )
    return st, labels, merged


def _asym_name(k: int) -> str:
    """Label chain name number ``k`` (0-based): A..Z, then AA, AB, ..."""
    name = ""
    k += 1
    while k:
        k, rest = divmod(k - 1, 26)
        name = chr(65 + rest) + name
    return name


def _polymer_runs(model: gemmi.Model) -> dict[str, list[int]]:
    """Residue indices (flat, in file order) of each polymer subchain."""
    runs: dict[str, list[int]] = {}
    index = 0
    for chain in model:
        for residue in chain:
            if residue.entity_type == gemmi.EntityType.Polymer:
                runs.setdefault(residue.subchain, []).append(index)
            index += 1
    return runs


def _merged_runs(structure: Structure, model: gemmi.Model) -> _Merged:
    """Each polymer subchain as a list of observed residue indices and unobserved residues, in sequence order.

    Unobserved residues of a chain go before the first observed residue with a
    larger (number, insertion code), or at the end. They are merged only where
    the chain has one polymer subchain (otherwise their place is ambiguous).
    """
    residues = structure.residues
    runs = _polymer_runs(model)
    per_chain: dict[str, list[str]] = {}
    for sub, indices in runs.items():
        per_chain.setdefault(str(residues.chain_id[indices[0]]), []).append(sub)
    missing: dict[str, list[MissingResidue]] = {}
    seen = set()
    for m in structure.missing_residues:
        if (m.chain_id, m.res_id, m.ins_code) not in seen:  # once, also when listed per model
            seen.add((m.chain_id, m.res_id, m.ins_code))
            missing.setdefault(m.chain_id, []).append(m)
    merged: _Merged = {}
    for sub, indices in runs.items():
        chain = str(residues.chain_id[indices[0]])
        gaps = sorted(missing.get(chain, []), key=lambda m: (m.res_id, m.ins_code)) \
            if per_chain[chain] == [sub] else []
        items: list[int | MissingResidue] = []
        g = 0
        for i in indices:
            while g < len(gaps) and (gaps[g].res_id, gaps[g].ins_code) < (int(residues.res_id[i]),
                                                                           str(residues.ins_code[i])):
                items.append(gaps[g])
                g += 1
            items.append(i)
        items.extend(gaps[g:])
        merged[sub] = items
    return merged


def _sequence_positions(structure: Structure, merged: _Merged) -> np.ndarray:
    """``label_seq_id`` of each residue (0 outside polymers), shape (n_residues,)."""
    positions = np.zeros(len(structure.residues), dtype=np.int64)
    for items in merged.values():
        for k, item in enumerate(items, start=1):
            if isinstance(item, int):
                positions[item] = k
    return positions


def _full_sequences(structure: Structure, merged: _Merged) -> dict[str, list[str]]:
    """Residue names of each polymer subchain's full sequence (unobserved residues included)."""
    names = structure.residues.res_name
    return {sub: [str(names[item]) if isinstance(item, int) else item.res_name for item in items]
            for sub, items in merged.items()}


def _add_canonical_sequences(block: gemmi.cif.Block, st: gemmi.Structure) -> None:
    """Add ``_entity_poly.pdbx_seq_one_letter_code_can`` (modified residues as their parents, X unknown)."""
    table = block.get_mmcif_category("_entity_poly.", raw=True)
    if not table:
        return
    sequences = {entity.name: entity.full_sequence for entity in st.entities}
    table["pdbx_seq_one_letter_code_can"] = [
        gemmi.cif.quote("".join(one_letter_code(name) or "X" for name in sequences.get(entity_id, [])) or "?")
        for entity_id in table["entity_id"]
    ]
    block.set_mmcif_category("_entity_poly.", table, raw=True)


def _add_schemes(block: gemmi.cif.Block, structure: Structure, labels: ResidueLabels, merged: _Merged) -> None:
    """Write ``_pdbx_poly_seq_scheme`` (full sequences) and ``_pdbx_nonpoly_scheme`` (other residues).

    Gemmi 0.7 writes neither; the rows follow the wwPDB's files: author numbers
    of unobserved residues in ``pdb_seq_num`` with ``auth_seq_num`` ``?``.
    """
    residues = structure.residues
    quote = gemmi.cif.quote
    entity_of = dict(zip(labels.asym_id.tolist(), labels.entity_id.tolist(), strict=True))
    poly: list[list[str]] = []
    for sub, items in merged.items():
        entity = entity_of[sub]
        for k, item in enumerate(items, start=1):
            if isinstance(item, int):
                chain, name = str(residues.chain_id[item]), str(residues.res_name[item])
                number, icode = str(int(residues.res_id[item])), str(residues.ins_code[item])
                observed = [number, quote(name), quote(name)]
            else:
                chain, name, number, icode = item.chain_id, item.res_name, str(item.res_id), item.ins_code
                observed = ["?", "?", "?"]
            poly.append([sub, entity, str(k), quote(name), str(k), number, *observed, quote(chain),
                         quote(icode) if icode else ".", "n"])
    if poly:
        _set_loop(block, "_pdbx_poly_seq_scheme.", _POLY_SCHEME_COLUMNS, poly)
    nonpoly: list[list[str]] = []
    count: dict[str, int] = {}
    for index in np.flatnonzero((labels.seq_id == 0) & (labels.entity_id != "")).tolist():
        asym = str(labels.asym_id[index])
        count[asym] = count.get(asym, 0) + 1
        chain, name = quote(str(residues.chain_id[index])), quote(str(residues.res_name[index]))
        number, icode = str(int(residues.res_id[index])), str(residues.ins_code[index])
        nonpoly.append([asym, str(labels.entity_id[index]), name, str(count[asym]), number, number,
                        name, name, chain, quote(icode) if icode else "."])
    if nonpoly:
        _set_loop(block, "_pdbx_nonpoly_scheme.", _NONPOLY_SCHEME_COLUMNS, nonpoly)


def _set_loop(block: gemmi.cif.Block, prefix: str, columns: list[str], rows: list[list[str]]) -> None:
    """Write a loop of already quoted values."""
    loop = block.init_mmcif_loop(prefix, columns)
    for row in rows:
        loop.add_row(row)


def write_structure(structure: Structure, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Write ``structure`` to ``path`` as PDB or mmCIF (gzipped if the name ends in ``.gz``).

    Parameters
    ----------
    structure : Structure
    path : str or os.PathLike
        Target file; the format comes from its suffix unless ``format`` is given.
    format : {"pdb", "mmcif", "cif"}, optional

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    key, compressed = _output_format(path, format)
    text = format_pdb(structure) if key == "pdb" else format_mmcif(structure)
    data = text.encode()
    if compressed:
        data = gzip.compress(data, mtime=0)
    atomic_write_bytes(path, data)
    return path


def check_output_path(path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Check, before any work, that :func:`write_structure` can write ``path``.

    Creates the missing parent folders, as the write would.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        When the format cannot be told from the name.
    OSError
        When the folder cannot be made or written, or ``path`` is a folder;
        ``filename`` is the user's path.
    """
    path = Path(path)
    _output_format(path, format)
    check_writable_folder(path.parent)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file name", str(path))
    return path


def _output_format(path: Path, format: str | None) -> tuple[str, bool]:
    """``("pdb" | "mmcif", gzipped)`` for an output name, or ValueError."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes.pop()
    key = (format or (suffixes[-1] if suffixes else "")).lower().lstrip(".")
    if key in ("pdb", "ent"):
        return "pdb", compressed
    if key in ("cif", "mmcif"):
        return "mmcif", compressed
    raise ValueError(f"cannot tell the format of {path.name!r}; use a .pdb or .cif name or format=")
