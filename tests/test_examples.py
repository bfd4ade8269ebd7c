"""The example scripts, run as a user would: as subprocesses, with real dask-jobqueue and a real cluster."""

from __future__ import annotations

import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dask.utils import parse_bytes

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(script: str, *args: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def test_slurm_recipe_job_script_follows_the_yaml(tmp_path):
    settings = yaml.safe_load((EXAMPLES / "slurm.yaml").read_text())
    done = run_example("slurm_recipe.py", cwd=tmp_path, timeout=120)  # log_directory is made under cwd
    assert done.returncode == 0, done.stderr
    script = done.stdout
    directives = set(re.findall(r"^#SBATCH (.+)$", script, flags=re.MULTILINE))

    assert f"-p {settings['queue']}" in directives
    assert f"-A {settings['account']}" in directives
    assert f"-J {settings['job_name']}" in directives
    assert f"-t {settings['walltime']}" in directives
    assert f"--cpus-per-task={settings['cores']}" in directives
    # SLURM takes whole units: dask-jobqueue rounds the memory up to GiB ("G" in sbatch)
    assert f"--mem={math.ceil(parse_bytes(settings['memory']) / 2**30)}G" in directives
    for directive in settings["job_extra_directives"]:
        assert directive in directives
    assert any(d.startswith("--gres=gpu:") for d in settings["job_extra_directives"])
    assert any(d.startswith("-o " + settings["log_directory"]) for d in directives)
    worker = next(line for line in script.splitlines() if "distributed.cli.dask_worker" in line)
    assert " ".join(settings["worker_extra_args"]) in worker  # --resources GPU=1
    assert f"--local-directory {settings['local_directory']}" in worker
    for line in settings["job_script_prologue"]:
        assert line in script.splitlines()
    assert (tmp_path / settings["log_directory"]).is_dir()


@pytest.mark.slow
def test_batch_screen_limit_two(tmp_path):
    out = tmp_path / "screen"
    done = run_example("batch_screen.py", "--limit", "2", "--workers", "1", "--out", str(out), cwd=tmp_path,
                       timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 2
    assert list(summary["status"]) == ["done", "done"]
    assert sorted(summary["rank"]) == [1, 2]
    assert "2 computed" in done.stdout
    assert "wild_type" in done.stdout


COMMAND = re.compile(r"`{1,2}(workbench [^`]+?)`{1,2}")


@pytest.mark.parametrize("name", ["slurm.yaml", "slurm_recipe.py"])
def test_the_commands_the_examples_print_exist_in_the_cli(name):
    from workbench.cli import _build_parser

    commands = COMMAND.findall((EXAMPLES / name).read_text())
    assert commands, f"{name} names no workbench command"
    parser = _build_parser()
    for command in commands:
        words = shlex.split(command.replace("FASTA", "in.fasta").replace("OUT", "out"))[1:]
        try:
            parser.parse_args(words)
        except SystemExit as exit_:  # argparse's way of refusing: an unknown command or option
            pytest.fail(f"{name}: `{command}` is not a command the CLI accepts (exit {exit_.code})")
