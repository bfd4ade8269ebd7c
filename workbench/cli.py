"""The ``workbench`` command: a thin layer over the Python API.

Each subcommand parses its arguments and calls one library function; what it
prints is built by :mod:`workbench.summary`, which scripts can call too.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence

from workbench import __version__
from workbench.errors import WorkbenchInputError
from workbench.io import read_structure, write_structure
from workbench.summary import describe_structure, format_description


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Protein structures: read, inspect and convert (more commands as they land).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = commands.add_parser("info", help="chains, residues, sequences, hetero groups, missing residues")
    info.add_argument("file", help="PDB or mmCIF file (optionally .gz)")
    info.add_argument("--json", action="store_true", help="print the description as JSON")
    _add_read_options(info)
    info.set_defaults(handler=_info)

    convert = commands.add_parser("convert", help="convert between PDB and mmCIF (format from the suffix)")
    convert.add_argument("input", help="PDB or mmCIF file (optionally .gz)")
    convert.add_argument("output", help="output file: .pdb, .cif or .mmcif, optionally .gz")
    _add_read_options(convert)
    convert.set_defaults(handler=_convert)
    return parser


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["pdb", "mmcif"], help="input format (default: from the name)")
    parser.add_argument("--model", type=int, help="read only this model number")
    parser.add_argument(
        "--altloc", default="occupancy",
        help="alternate location to keep: 'occupancy' (default), 'first', or a letter",
    )


def _read(args: argparse.Namespace, path: str):
    return read_structure(path, args.format, model=args.model, altloc=args.altloc)


def _info(args: argparse.Namespace) -> int:
    description = describe_structure(_read(args, args.file))
    print(json.dumps(description, indent=2) if args.json else format_description(description))
    return 0


def _convert(args: argparse.Namespace) -> int:
    structure = _read(args, args.input)
    path = write_structure(structure, args.output)
    print(f"wrote {path} ({structure.n_atoms} atoms, {structure.n_models} model(s))")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 bad input, 2 usage)."""
    args = _build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = args.handler(args)
        except (WorkbenchInputError, FileNotFoundError, IsADirectoryError, ValueError) as exc:
            print(f"workbench {args.command}: error: {exc}", file=sys.stderr)
            status = 1
    for warning in caught:
        print(f"workbench {args.command}: warning: {warning.message}", file=sys.stderr)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
