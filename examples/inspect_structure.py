"""Read a structure, print what it holds, and write it as mmCIF: the Python API in a few lines.

Runs offline on PDBFixer's 1BHL (HIV-1 integrase core domain), a file a
dependency ships:

    python examples/inspect_structure.py [FILE] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pdbfixer

import workbench
from workbench.summary import describe_structure, format_description


def main() -> None:
    default = Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=default)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "workbench-example")
    args = parser.parse_args()

    structure = workbench.read_structure(args.file)
    print(format_description(describe_structure(structure)))

    protein = structure.select(structure.polymer)  # drop waters and ligands, keep modified residues
    written = workbench.write_structure(protein, args.out / f"{structure.name}_protein.cif")
    print(f"protein atoms only: {protein.n_atoms} atoms -> {written}")


if __name__ == "__main__":
    main()
