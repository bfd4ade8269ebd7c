"""File options of a request submitted over the network: confined to the allowed folders; admins and roots read once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench import config
from workbench.confine import PathNotAllowed, confine_request
from workbench.request import BatchRequest


def test_defaults_hub_ids_and_paths_inside_a_root_pass_the_rest_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "weights"
    (root / "esm").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "out").symlink_to(tmp_path / "outside")
    default = BatchRequest.create("esmfold")
    assert confine_request(default, [root]) is default
    hub = BatchRequest.create("esmfold", {"weights": "someone/esmfold_tuned"})
    assert confine_request(hub, [root]) is hub
    inside = confine_request(BatchRequest.create("esmfold", {"weights": f"{root}/./esm"}), [root])
    assert inside.predictor.options.weights == str(root / "esm")
    for weights in ["/etc", str(tmp_path / "outside"), f"{root}/out", f"{root}/../outside", "weights/esm",
                    "a/../../etc", "~/models", "outside/x"]:
        if weights == "outside/x":
            (tmp_path / "outside" / "x").mkdir()  # a relative path that exists here is a path, not a hub id
        with pytest.raises(PathNotAllowed) as caught:
            confine_request(BatchRequest.create("esmfold", {"weights": weights}), [root])
        assert "esmfold option weights" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(PathNotAllowed, match="outside the folders this server allows"):
        confine_request(BatchRequest.create("template", {"template": "/etc/passwd"}), [root])
    with pytest.raises(PathNotAllowed, match=r"\(none\)"):
        confine_request(BatchRequest.create("template", {"template": "/etc/passwd"}), [])


def test_admins_and_file_roots_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ADMINS", " root, ,ops ")
    assert config.admins() == {"root", "ops"}
    monkeypatch.delenv("WORKBENCH_ADMINS")
    assert config.admins() == frozenset()
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKBENCH_FILE_ROOTS", os.pathsep.join(["/data/templates", "", "/data/weights"]))
    assert config.file_roots() == (tmp_path / "home" / "uploads", Path("/data/templates"),
                                   Path("/data/weights"))
