"""The container recipes, read as their tools read them (no docker, podman or apptainer on this machine).

The Dockerfile goes through dockerfile-parse (Docker's instruction grammar),
the Apptainer definition through its section grammar (a header, then ``%name``
sections), compose.yaml through YAML with the checks ``docker compose config``
makes (services, volumes, dependencies) and the ones this project adds (the
secrets in the environment, never on a command line). The commands they run
must parse with the workbench CLI, and the image's default command must be the
README's main job. The entry point script runs for real under ``sh``.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from workbench.cli import _build_parser

REPO = Path(__file__).resolve().parents[1]
MAIN_FASTA = "examples/data/integrase_variants.fasta"


def _dockerfile():
    from dockerfile_parse import DockerfileParser

    return DockerfileParser(fileobj=io.BytesIO((REPO / "Dockerfile").read_bytes()))


def _instructions(name: str) -> list[str]:
    return [entry["value"] for entry in _dockerfile().structure if entry["instruction"] == name]


def _readme_main_command() -> list[str]:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- main-command -->\s*```bash\n(.+?)\n```", readme, flags=re.DOTALL)
    assert block, "README.md has no main command"
    words = shlex.split(block[1].rsplit("&&", 1)[1])
    return [Path(words[0]).name, *words[1:]]  # .venv/bin/workbench -> workbench


def _accepted_by_the_cli(words: list[str]) -> None:
    assert words[0] == "workbench", words
    try:
        _build_parser().parse_args(words[1:])
    except SystemExit as exit_:
        pytest.fail(f"`{shlex.join(words)}` is not a command the CLI accepts (exit {exit_.code})")


def _def_sections() -> tuple[dict[str, str], dict[str, str]]:
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current = None
    for line in (REPO / "containers" / "workbench.def").read_text().splitlines():
        if current is None and line.startswith("#"):
            continue
        if line.startswith("%"):
            current = line[1:].split()[0]
            assert current not in sections, f"section %{current} twice"
            sections[current] = []
        elif current is None:
            if line.strip():
                key, colon, value = line.partition(":")
                assert colon, f"header line without 'Key: value': {line!r}"
                header[key.strip()] = value.strip()
        else:
            sections[current].append(line)
    return header, {name: "\n".join(lines) for name, lines in sections.items()}


def test_the_dockerfile_builds_the_repository_and_runs_the_main_job():
    parser = _dockerfile()
    assert parser.baseimage.startswith("python:3.11")
    for copy in _instructions("COPY"):
        *sources, _ = copy.split()
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    ignored = set((REPO / ".dockerignore").read_text().split())
    copied = {source.split("/")[0] for copy in _instructions("COPY") for source in copy.split()[:-1]}
    assert not copied & ignored, "the Dockerfile copies what .dockerignore leaves out of the context"
    assert {".venv", ".git", ".env"} <= ignored
    install = " ".join(_instructions("RUN"))
    assert 'pip install "/opt/workbench$EXTRAS"' in install
    assert "torch" not in install.replace("$TORCH", "")  # no unpinned torch; a pinned one only by build argument
    assert _instructions("USER") == ["workbench"]  # not root
    command = json.loads(parser.cmd)
    assert command == ["workbench", "run", f"/opt/workbench/{MAIN_FASTA}", "-o", "/data/integrase-screen"]
    assert command[:2] == _readme_main_command()[:2] and command[2].endswith(_readme_main_command()[2])
    _accepted_by_the_cli(command)
    assert json.loads(_instructions("ENTRYPOINT")[0]) == ["workbench-entrypoint"]
    assert "containers/entrypoint.sh /usr/local/bin/workbench-entrypoint" in _instructions("COPY")


def test_the_apptainer_definition_matches_the_dockerfile():
    header, sections = _def_sections()
    assert header == {"Bootstrap": "docker", "From": _dockerfile().baseimage}
    assert {"files", "post", "runscript", "test", "help"} <= set(sections)
    docker_sources = {source for copy in _instructions("COPY") if "entrypoint" not in copy
                      for source in copy.split()[:-1]}
    def_copies = set()
    for line in sections["files"].splitlines():
        if line.strip():
            source, destination = line.split()
            assert (REPO / source).exists(), f"%files {source}: not in the repository"
            assert destination == f"/opt/workbench/{source}"
            def_copies.add(source)
    assert def_copies == docker_sources  # the same files in both images
    assert 'pip install "/opt/workbench{{ EXTRAS }}"' in sections["post"]
    arguments = {line.split("=")[0].strip() for line in sections["arguments"].splitlines() if "=" in line}
    used = set(re.findall(r"\{\{ (\w+) \}\}", sections["post"]))
    assert used == arguments  # every build argument declared, none unused
    main = re.search(r"exec (workbench run [^\n]+)", sections["runscript"])
    assert main
    words = shlex.split(main[1])
    assert words[2] == f"/opt/workbench/{MAIN_FASTA}"
    _accepted_by_the_cli(words)


def test_compose_runs_ui_dispatcher_and_postgres_with_secrets_out_of_command_lines():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "dispatcher", "ui"}
    declared_volumes = set(compose.get("volumes", {}))
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared_volumes, f"{name}: volume {source} is not declared"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on {dependency}, which is no service"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        command = " ".join(service.get("command", []))
        assert not re.search(r"postgres(ql)?(\+\w+)?://|password", command, flags=re.IGNORECASE), \
            f"{name}: a secret on the command line"
        assert not any("PASSWORD" in key or "STORE_URL" in key for key in service.get("environment", {})), \
            f"{name}: a secret written into compose.yaml"
        if service.get("build"):
            assert (REPO / service["build"] / "Dockerfile").is_file()
            _accepted_by_the_cli(service["command"])
    assert "ports" not in services["db"]  # the database is reached from the other services only
    assert services["dispatcher"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in services["db"]
    assert services["dispatcher"]["volumes"] == services["ui"]["volumes"]  # the UI reads what the dispatcher writes
    assert services["dispatcher"]["environment"]["WORKBENCH_HOME"] == services["ui"]["environment"]["WORKBENCH_HOME"]
    # the example env file gives every variable the services need, the store URL pointing at the db service
    example = dict(line.split("=", 1) for line in (REPO / "containers" / "compose.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert set(example) == {"POSTGRES_PASSWORD", "WORKBENCH_STORE_URL"}
    url = example["WORKBENCH_STORE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@db:5432/" in url
    assert example["POSTGRES_PASSWORD"] in url
    assert url.rsplit("/", 1)[1] == services["db"]["environment"]["POSTGRES_DB"]
    assert ".env" in (REPO / ".gitignore").read_text().split()


def test_the_entrypoint_reads_the_store_url_from_a_file(tmp_path):
    secret = tmp_path / "store_url"
    secret.write_text("postgresql+psycopg://workbench:s3cret@db:5432/workbench")
    script = REPO / "containers" / "entrypoint.sh"
    seen = subprocess.run(["sh", str(script), "sh", "-c", 'echo "$WORKBENCH_STORE_URL|${WORKBENCH_STORE_URL_FILE-}"'],
                          env={"PATH": "/usr/bin:/bin", "WORKBENCH_STORE_URL_FILE": str(secret)},
                          capture_output=True, text=True, timeout=30)
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.strip() == "postgresql+psycopg://workbench:s3cret@db:5432/workbench|"
    missing = subprocess.run(["sh", str(script), "true"], capture_output=True, text=True, timeout=30,
                             env={"PATH": "/usr/bin:/bin", "WORKBENCH_STORE_URL_FILE": str(tmp_path / "none")})
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "cannot be read" in missing.stderr
