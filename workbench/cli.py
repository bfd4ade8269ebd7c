"""The ``workbench`` command: a thin layer over the Python API.

Each subcommand parses its arguments and calls one library function; what it
prints is built by :mod:`workbench.summary`, which scripts can call too.

Start-up: building the parser and running ``--version``, ``info``, ``convert``,
``jobs`` or ``submit`` import neither numba, OpenMM, torch nor Dask; each
handler imports what its command needs (``tests/test_startup.py`` checks it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from workbench._version import __version__
from workbench.cli_api import add_api_commands
from workbench.cli_batch import (
    INTERRUPTED,
    CommandParser,
    add_batch_commands,
    add_request_options,
    add_shared_cache_options,
    request_from_args,
    run_and_report,
    shared_cache_from_args,
)
from workbench.cli_store import add_store_command
from workbench.errors import WorkbenchInputError, one_line
from workbench.refine.settings import RefineConfig


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Protein structures: predict, refine, analyse; batches on Dask; a job queue and a web UI.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)

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

    refine = commands.add_parser(
        "refine", help="restrained Amber relax (AlphaFold2-style), optionally with restrained implicit-solvent MD",
        description="Prepare (PDBFixer), restrain heavy atoms, minimise, remove violations; print the report and "
                    "write it as JSON beside the refined structure (OUT with the suffix .json).",
    )
    refine.add_argument("input", help="PDB or mmCIF file (optionally .gz)")
    refine.add_argument("-o", "--output", required=True, help="refined structure: .pdb or .cif (optionally .gz)")
    refine.add_argument("--md-ps", type=float, default=0.0, metavar="N",
                        help="picoseconds of pLDDT-weighted restrained Langevin MD before the relax (default 0)")
    refine.add_argument("--platform", metavar="P",
                        help="OpenMM platform: auto (default; CUDA if a GPU answers, else CPU), CUDA, CPU, ...")
    refine.add_argument("--threads", type=int,
                        help="CPU threads (default: the usable cores). Only --threads 1 repeats a result bit for bit: "
                             "OpenMM's CPU platform adds the threads' forces in a varying order, and a relax can then "
                             "end in another minimum (batches use one thread per worker)")
    refine.add_argument("--solvent", choices=["vacuum", "obc2", "gbn2"],
                        help="solvent model (default: vacuum; obc2 with --md-ps)")
    refine.add_argument("--stiffness", type=float, default=RefineConfig.stiffness,
                        help="restraint stiffness, kJ/mol/Å² (default 41.84 = 10 kcal/mol/Å²)")
    refine.add_argument("--max-rounds", type=int, default=RefineConfig.max_rounds,
                        help="bound on minimise-check-release rounds (default %(default)s)")
    refine.add_argument("--max-rmsd-ca", type=float, default=RefineConfig.max_rmsd_ca,
                        help="keep the relax round with the fewest violations among those within this CA RMSD of "
                             "the input, Å (default %(default)s)")
    refine.add_argument("--keep-ligands", action="store_true",
                        help="copy ligands, cofactors and ions into the output at their input coordinates (they are "
                             "not relaxed: not in the force field); by default they are removed, with a warning")
    refine.add_argument("--uniform-md-restraints", action="store_true",
                        help="MD restraints at full stiffness everywhere (for B-factors that are not pLDDT)")
    refine.add_argument("--chains", help="comma-separated chains to refine (default: all)")
    refine.add_argument("--ph", type=float, default=7.0, help="pH for protonation states (default 7.0)")
    refine.add_argument("--no-hydrogens", action="store_true", help="write the refined structure without hydrogens")
    _add_read_options(refine)
    refine.set_defaults(handler=_refine)

    compare = commands.add_parser(
        "compare", help="superpose a model onto a reference: CA RMSD, TM-score, GDT, lDDT",
        description="Pair residues (by sequence alignment unless --pairing numbering), superpose the model onto the "
                    "reference on CA atoms and score it. TM-score is normalised by the reference length.",
    )
    compare.add_options(_add_compare_options)
    compare.set_defaults(handler=_compare)

    predict = commands.add_parser(
        "predict", help="predict (and refine and analyse) a FASTA file here, in this process",
        description="The same work and the same results folder as `workbench run` (OUT/<item>/ model, relaxed "
                    "model, confidence, metrics; OUT/summary.*), in this process instead of on a cluster; a bad "
                    "sequence fails alone, with its reason.",
    )
    predict.add_argument("fasta", help="FASTA file; ':' separates the chains of a complex")
    predict.add_argument("-o", "--output", required=True, help="output folder")
    predict.add_argument("--no-progress", action="store_true", help="no progress bar")
    predict.add_options(add_request_options)
    add_shared_cache_options(predict)
    predict.set_defaults(handler=_predict)

    importer = commands.add_parser(
        "import", help="read ColabFold / AlphaFold2 / AlphaFold3 / AFDB / ESMFold / Boltz / Chai-1 / Protenix results",
        description="Import every prediction found under DIR into OUT/<name>/ (model.pdb, model.cif, "
                    "confidence.json with pLDDT on 0-100, PAE and pTM, provenance.json). Only a predictor's "
                    "B-factors are read as pLDDT: experimental structures, and files with no predictor's signature "
                    "whose B-factors do not look like a pLDDT, are refused with their reason (or, with "
                    "--as-prediction, imported with no confidence). Missing confidence files are warnings. "
                    "Exit status: 0 when every result was imported, 1 when any was refused or failed (the others "
                    "are imported all the same).",
    )
    importer.add_argument("directory", help="folder holding the other tool's results")
    importer.add_argument("-o", "--output", required=True, help="output folder")
    importer.add_argument(
        "--format", help="force one format (colabfold, af2, af3, afdb, esmfold, boltz, chai1, protenix)"
    )
    importer.add_argument("--all-models", action="store_true", help="import every model, not only the best ranked")
    importer.add_argument("--as-prediction", action="store_true",
                          help="import experimental structures (and B-factors that are not pLDDT) with no confidence "
                               "instead of refusing them")
    importer.set_defaults(handler=_import)

    kernels = commands.add_parser(
        "kernels", help="compile the numba kernels ahead of use, or say where they are cached",
        description="`workbench kernels compile` compiles every kernel into the cache (40-50 s once; later runs load "
                    "them in milliseconds): at install time, or per node into --cache-dir (then run with "
                    "NUMBA_CACHE_DIR=DIR). `workbench kernels status` prints the cache folder and the modules not "
                    "cached yet.")
    kernels.add_argument("action", choices=["compile", "status"])
    kernels.add_argument("--cache-dir", metavar="DIR",
                         help="compile: cache folder (default: the one in use, see status)")
    kernels.add_argument("--json", action="store_true", help="print JSON")
    kernels.set_defaults(handler=_kernels)

    add_batch_commands(commands)
    add_store_command(commands)
    add_api_commands(commands)
    return parser


def _add_compare_options(compare: argparse.ArgumentParser) -> None:
    """The arguments of ``compare`` (added when the command is used: the defaults live in the analysis code)."""
    from workbench.analysis.matching import DEFAULT_MIN_IDENTITY, PAIRINGS

    compare.add_argument("model_path", metavar="MODEL", help="PDB or mmCIF file (optionally .gz)")
    compare.add_argument("reference_path", metavar="REFERENCE", help="PDB or mmCIF file (optionally .gz)")
    compare.add_argument("--pairing", choices=PAIRINGS, default="alignment",
                         help="pair residues by sequence alignment (default) or by chain and residue number")
    compare.add_argument("--min-identity", type=float, default=DEFAULT_MIN_IDENTITY,
                         help="alignment: least identity, over the shorter chain, to pair two chains (default 0.3)")
    compare.add_argument("-o", "--output", help="write the superposed model here (.pdb or .cif, optionally .gz)")
    compare.add_argument("--json", action="store_true", help="print the scores as JSON")
    _add_read_options(compare)


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["pdb", "mmcif"], help="input format (default: from the name)")
    parser.add_argument("--model", type=int, help="read only this model number")
    parser.add_argument(
        "--altloc", default="occupancy",
        help="alternate location to keep: 'occupancy' (default), 'first', or a letter",
    )


def _read(args: argparse.Namespace, path: str):
    from workbench.io.structure_reader import read_structure

    return read_structure(path, args.format, model=args.model, altloc=args.altloc)


def _info(args: argparse.Namespace) -> int:
    from workbench.summary import describe_structure, format_description

    description = describe_structure(_read(args, args.file))
    print(json.dumps(description, indent=2) if args.json else format_description(description))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from workbench.io.structure_writer import check_output_path, write_structure

    check_output_path(args.output)
    structure = _read(args, args.input)
    path = write_structure(structure, args.output)
    print(f"wrote {path} ({structure.n_atoms} atoms, {structure.n_models} model(s))")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from workbench.analysis.comparison import compare
    from workbench.io.structure_writer import check_output_path, write_structure
    from workbench.kernel_cache import announce_compilation
    from workbench.summary import format_comparison

    if args.output:
        check_output_path(args.output)
    announce_compilation()
    result = compare(_read(args, args.model_path), _read(args, args.reference_path), pairing=args.pairing,
                     min_identity=args.min_identity)
    scores = result.to_dict() | {"model": args.model_path, "reference": args.reference_path}
    if args.output:
        write_structure(result.superposed, args.output)
        scores["superposed"] = str(args.output)
    print(json.dumps(scores, indent=2) if args.json else format_comparison(scores))
    return 0


def _refine(args: argparse.Namespace) -> int:
    from workbench.files import atomic_write_bytes
    from workbench.io.structure_writer import check_output_path, write_structure
    from workbench.kernel_cache import announce_compilation
    from workbench.refine.relax import refine as refine_structure
    from workbench.refine.result import format_report

    announce_compilation()
    structure = _read(args, args.input)
    config = RefineConfig(
        md_ps=args.md_ps, platform=args.platform, threads=args.threads, solvent=args.solvent,
        stiffness=args.stiffness, max_rounds=args.max_rounds, max_rmsd_ca=args.max_rmsd_ca,
        keep_ligands=args.keep_ligands,
        md_weights="uniform" if args.uniform_md_restraints else "plddt",
        chains=tuple(c.strip() for c in args.chains.split(",")) if args.chains else None,
        ph=args.ph, hydrogens=not args.no_hydrogens,
    )
    output = check_output_path(args.output)  # before minutes of minimisation, not after
    report_path = report_path_for(output)
    result = refine_structure(structure, config)
    report = result.to_dict()
    report["input"] = str(args.input)
    report["output"] = str(output)
    write_structure(result.structure, output)
    atomic_write_bytes(report_path, (json.dumps(report, indent=2) + "\n").encode())
    print(format_report(result))
    print(f"wrote {output} and {report_path}")
    for line in result.warnings:
        print(f"workbench refine: warning: {line}", file=sys.stderr)
    return 0


def _predict(args: argparse.Namespace) -> int:
    request = request_from_args(args)
    return run_and_report(request, args.fasta, args.output, cluster="inprocess",
                          show_progress=not args.no_progress, shared_cache=shared_cache_from_args(args))


def _kernels(args: argparse.Namespace) -> int:
    from workbench.kernel_cache import cache_status, compile_kernels

    if args.action == "status":
        status = cache_status()
        if args.json:
            print(json.dumps(status, indent=2))
        else:
            cold = ", ".join(status["cold"]) or "none"
            print(f"kernel cache: {status['folder']}\nnot cached yet: {cold}")
        return 0
    if not args.json:
        print(f"compiling kernels into {args.cache_dir or cache_status()['folder']} (about 45 s when nothing is "
              "cached)", file=sys.stderr)
    seconds = compile_kernels(args.cache_dir, progress=None if args.json else
                              lambda module: print(f"  {module}", file=sys.stderr, flush=True))
    status = cache_status()
    if args.json:
        print(json.dumps({"folder": status["folder"], "modules": seconds,
                          "cpu_seconds": time.process_time()}, indent=2))
    else:
        print(f"compiled {len(seconds)} kernel modules in {sum(seconds.values()):.1f} s into {status['folder']}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from workbench.predict.imported import import_to_folder

    results = import_to_folder(args.directory, args.output, format=args.format, all_models=args.all_models,
                               as_prediction=args.as_prediction)
    if not results:
        print(f"workbench import: error: no prediction results found under {args.directory}", file=sys.stderr)
        return 1
    failed = 0
    for name, written in results:
        if isinstance(written, str):  # a refusal's reason or an error, one line naming the file
            failed += 1
            print(f"  {name}: not imported: {written}", file=sys.stderr)
        else:
            print(f"  {name}: {', '.join(str(path) for path in written.values())}")
    print(f"imported {len(results) - failed} of {len(results)} result(s) into {args.output}")
    return 1 if failed else 0


def report_path_for(output: Path) -> Path:
    """Where ``workbench refine`` writes its JSON report: ``relaxed.pdb.gz`` -> ``relaxed.json``."""
    name = output.name
    for suffix in (".gz",):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return output.with_name(stem + ".json")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 bad input, 2 usage)."""
    args = _build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = args.handler(args)
        except (WorkbenchInputError, ValueError, OSError, KeyError) as exc:
            print(f"workbench {args.command}: error: {one_line(exc)}", file=sys.stderr)
            status = 1
        except KeyboardInterrupt:
            print(f"workbench {args.command}: interrupted", file=sys.stderr)
            status = INTERRUPTED
    for warning in caught:
        print(f"workbench {args.command}: warning: {warning.message}", file=sys.stderr)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
