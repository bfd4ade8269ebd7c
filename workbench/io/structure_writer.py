"""Write a :class:`~workbench.Structure` as PDB or mmCIF text, through gemmi's writers.

Files are written atomically (a temporary file in the target folder, then a
rename), so a reader never sees half a structure.
"""

from __future__ import annotations

import errno
import gzip
import os
from pathlib import Path

import gemmi

from workbench.files import atomic_write_bytes, check_writable_folder
from workbench.io._pdb_records import format_remark_465
from workbench.structure import Structure

_UNOBSERVED_COLUMNS = ["id", "PDB_model_num", "polymer_flag", "occupancy_flag", "auth_asym_id",
                       "auth_comp_id", "auth_seq_id", "PDB_ins_code"]


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
    st = gemmi.Structure()
    st.name = structure.name or "workbench"
    starts = structure.residue_starts
    ensemble = structure.ensemble if structure.ensemble is not None else structure.coords[None]
    residues = structure.residues
    for model_index, coords in enumerate(ensemble):
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
    return st.make_pdb_string()


def format_mmcif(structure: Structure) -> str:
    """MmCIF text of ``structure`` (all models; ``_pdbx_unobs_or_zero_occ_residues``)."""
    st = to_gemmi(structure)
    doc = st.make_mmcif_document()
    block = doc.sole_block()
    if structure.missing_residues:
        loop = block.init_mmcif_loop("_pdbx_unobs_or_zero_occ_residues.", _UNOBSERVED_COLUMNS)
        for k, m in enumerate(structure.missing_residues, start=1):
            loop.add_row([str(k), str(m.model) if m.model is not None else "?", "Y", "1",
                          gemmi.cif.quote(m.chain_id), gemmi.cif.quote(m.res_name), str(m.res_id),
                          gemmi.cif.quote(m.ins_code) if m.ins_code else "?"])
    return doc.as_string()


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
