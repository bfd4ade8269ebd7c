"""Start-up: the light commands import no heavy package; the public API is lazy and complete (issue 18).

Behavioural, not timed: each command runs in a new interpreter, and the test
looks at ``sys.modules`` after the command has parsed its arguments and run.
``benchmarks/startup.py`` measures the times.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import workbench
from workbench.predict.template import default_template

#: Packages a light command must not import (each costs 0.1-2 s).
HEAVY = ("torch", "transformers", "openmm", "numba", "dask", "pandas", "Bio.SeqIO")

_RUN_COMMAND = textwrap.dedent("""
    import json, sys
    import workbench.cli
    try:
        status = workbench.cli.main(sys.argv[2:])
    except SystemExit as exc:  # --version exits through argparse
        status = exc.code
    print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
""")


def run_in_new_interpreter(argv: list[str], home, cwd) -> tuple[int, str, set[str]]:
    """Run ``workbench ARGV`` in a new interpreter; its exit status, stdout and the modules it imported."""
    done = subprocess.run([sys.executable, "-c", _RUN_COMMAND, "workbench", *argv], capture_output=True, text=True,
                          cwd=cwd, env={"WORKBENCH_HOME": str(home), "PATH": "/usr/bin:/bin"}, timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["status"], done.stdout, set(report["modules"])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("startup")
    template = default_template()
    from workbench.io.structure_reader import read_structure

    sequence = next(iter(read_structure(template).sequences.values()))
    variant = sequence[:10] + ("A" if sequence[10] != "A" else "G") + sequence[11:]  # a point variant
    (folder / "variants.fasta").write_text(f">wild\n{sequence}\n>v11\n{variant}\n")
    return folder, template


@pytest.mark.parametrize("command", ["--version", "info", "convert", "jobs", "submit", "help"])
def test_light_commands_import_no_heavy_package(command, inputs, tmp_path):
    folder, template = inputs
    argv = {
        "--version": ["--version"],
        "info": ["info", template],
        "convert": ["convert", template, str(tmp_path / "out.cif")],
        "jobs": ["jobs", "list"],
        "submit": ["submit", str(folder / "variants.fasta"), "--name", "screen"],
        "help": ["submit", "--help"],
    }[command]
    status, stdout, modules = run_in_new_interpreter(argv, tmp_path / "home", tmp_path)
    assert status == 0, stdout
    heavy = [name for name in HEAVY if name in modules]
    assert not heavy, f"workbench {' '.join(argv)} imported {heavy}"
    expected = {"--version": "workbench ", "info": "residues", "convert": "wrote ", "jobs": "", "submit": "",
                "help": "--min-identity"}[command]  # the generated predictor flags are there when asked for
    assert expected in stdout
    if command == "submit":  # queued: the job id, then the listing shows it
        job_id = stdout.strip()
        _, listing, _ = run_in_new_interpreter(["jobs", "list"], tmp_path / "home", tmp_path)
        assert job_id and job_id in listing and "screen" in listing


def test_import_workbench_imports_nothing_else():
    done = subprocess.run([sys.executable, "-c", "import sys, workbench; print(sorted(m for m in sys.modules "
                           "if m.startswith('workbench') or m in ('numpy', 'gemmi')))"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['workbench', 'workbench._lazy', 'workbench._version']"


@pytest.mark.parametrize("package", ["workbench", "workbench.refine", "workbench.analysis"])
def test_lazy_public_names_resolve_and_are_listed(package):
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None
        assert name in dir(module)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018


def test_from_import_of_every_public_name():
    namespace: dict[str, object] = {}
    exec(f"from workbench import {', '.join(workbench.__all__)}", namespace)
    assert namespace["read_structure"].__module__ == "workbench.io.structure_reader"
    assert namespace["RefineConfig"]().max_rounds >= 1


def test_a_function_named_as_its_module_stays_the_function():
    done = subprocess.run([sys.executable, "-c", (
        "import workbench.analysis.dssp, workbench.analysis.sasa\n"
        "from workbench.analysis import dssp, sasa\n"
        "import workbench.analysis as a, workbench.refine.prepare as p\n"
        "print(callable(dssp), callable(sasa), callable(a.superpose), type(p).__name__)")],
        capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True", "True", "module"]
