"""Residue chemistry look-ups: one-letter codes and modified-residue parents.

Gemmi ships the tabulated Chemical Component Dictionary entries we need (the
standard residues and the common modified ones such as MSE, SEP, TPO), so the
tables are not copied here.
"""

from __future__ import annotations

from functools import lru_cache

import gemmi

#: The 20 standard amino acids, in the order of their one-letter codes.
STANDARD_AMINO_ACIDS: tuple[str, ...] = (
    "ALA", "CYS", "ASP", "GLU", "PHE", "GLY", "HIS", "ILE", "LYS", "LEU",
    "MET", "ASN", "PRO", "GLN", "ARG", "SER", "THR", "VAL", "TRP", "TYR",
)  # fmt: skip

#: Protonation-state and disulfide names used by Amber and CHARMM force fields, with
#: their standard parents; not in the Chemical Component Dictionary.
FORCE_FIELD_NAMES: dict[str, str] = {
    "HSD": "HIS", "HSE": "HIS", "HSP": "HIS", "HID": "HIS", "HIE": "HIS", "HIP": "HIS",
    "CYX": "CYS", "CYM": "CYS", "ASH": "ASP", "GLH": "GLU", "LYN": "LYS",
}  # fmt: skip

WATER_NAMES: frozenset[str] = frozenset({"HOH", "WAT", "H2O", "DOD", "SOL", "TIP", "TIP3"})


@lru_cache(maxsize=4096)
def one_letter_code(res_name: str) -> str | None:
    """One-letter code of a polymer residue, or None for ligands, ions and water.

    Modified residues return their parent's code (``MSE`` -> ``"M"``), unknown
    amino acids ``"X"``, nucleotides their base letter.

    Parameters
    ----------
    res_name : str
        Residue name (CCD code), for example ``"ALA"``, ``"MSE"``, ``"DA"``.

    Returns
    -------
    str or None
    """
    info = gemmi.find_tabulated_residue(FORCE_FIELD_NAMES.get(res_name, res_name))
    if info is None or not (info.is_amino_acid() or info.is_nucleic_acid()):
        return None
    code = info.one_letter_code.upper()
    return code if code.strip() else "X"


@lru_cache(maxsize=4096)
def is_modified_residue(res_name: str) -> bool:
    """Whether ``res_name`` is a non-standard polymer residue (MSE, SEP, PTR, ...)."""
    info = gemmi.find_tabulated_residue(res_name)
    return info is not None and (info.is_amino_acid() or info.is_nucleic_acid()) and not info.is_standard()


@lru_cache(maxsize=4096)
def is_amino_acid(res_name: str) -> bool:
    """Whether ``res_name`` is a standard, modified or force-field-named amino acid."""
    info = gemmi.find_tabulated_residue(FORCE_FIELD_NAMES.get(res_name, res_name))
    return info is not None and info.is_amino_acid()


def is_water(res_name: str) -> bool:
    """Whether ``res_name`` names a water molecule."""
    return res_name in WATER_NAMES
