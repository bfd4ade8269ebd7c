"""Shared fixtures: the real structures in ../shared/data, skipped cleanly when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """``$WORKBENCH_SHARED_DATA`` or ``../shared/data`` beside the repository, if it exists."""
    candidate = Path(os.environ.get("WORKBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
    return candidate if candidate.is_dir() else None


def shared_files(folder: str, *patterns: str) -> list[Path]:
    """Files of a shared-data folder for parametrisation (empty when the folder is absent)."""
    root = shared_data_dir()
    if root is None:
        return []
    return sorted(p for pattern in patterns for p in (root / folder).glob(pattern))


@pytest.fixture
def shared_data() -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data is not beside this checkout (set WORKBENCH_SHARED_DATA to use it)")
    return root


def pdbfixer_1bhl() -> Path:
    """PDBFixer's copy of 1BHL (HIV-1 integrase core domain), a dependency's file."""
    import pdbfixer

    return Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"


def renumber_from_one(structure):
    """Residues numbered 1, 2, ... in file order, chain by chain, as a predictor numbers its model."""
    import dataclasses

    import numpy as np

    new_id = np.zeros(len(structure.residues), dtype=np.int64)
    for chain in structure.chains:
        in_chain = np.flatnonzero(structure.residues.chain_id == chain)
        new_id[in_chain] = np.arange(1, len(in_chain) + 1)
    return dataclasses.replace(
        structure, res_id=new_id[structure.residue_index], ins_code=np.full(len(structure), "")
    )
