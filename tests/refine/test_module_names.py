"""Every submodule of workbench.refine is reachable as a module: the package binds no name of a submodule."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

# `workbench/__init__.py` binds `workbench.refine` to the function, so the package itself
# is reached through importlib (and the imports above only load the submodules).
PACKAGE = importlib.import_module("workbench.refine")
SUBMODULES = sorted(m.name for m in pkgutil.iter_modules(PACKAGE.__path__))


def test_the_known_submodules_are_all_there():
    assert {"forcefield", "ladder", "platform", "prepare", "relax", "result", "violations"} <= set(SUBMODULES)


@pytest.mark.parametrize("name", SUBMODULES)
def test_import_as_gives_the_module(name: str):
    namespace: dict = {}
    # `import workbench.refine.<name> as m` resolves through the attribute `workbench.refine`,
    # which workbench/__init__.py shadows with the function; `from workbench.refine import <name>`
    # resolves through the package's own attribute, which is what this package controls.
    exec(f"from workbench.refine import {name} as m", namespace)
    assert isinstance(namespace["m"], types.ModuleType)
    assert namespace["m"] is importlib.import_module(f"workbench.refine.{name}")
    assert isinstance(getattr(PACKAGE, name), types.ModuleType)


@pytest.mark.parametrize("name", SUBMODULES)
def test_import_statement_gives_the_module(name: str, monkeypatch: pytest.MonkeyPatch):
    import workbench

    # Lift the top-level shadow (workbench/__init__.py, outside this package) for the statement.
    monkeypatch.setattr(workbench, "refine", PACKAGE)
    namespace: dict = {}
    exec(f"import workbench.refine.{name} as m", namespace)
    assert isinstance(namespace["m"], types.ModuleType)
    assert namespace["m"].__name__ == f"workbench.refine.{name}"


@pytest.mark.parametrize("name", SUBMODULES)
def test_the_package_exports_no_submodule_name(name: str):
    assert name not in PACKAGE.__all__


def test_old_prepare_import_keeps_working():
    from workbench.refine import prepare_model
    from workbench.refine.prepare import prepare

    assert prepare is prepare_model
