"""Every submodule of workbench.refine and workbench.predict is reachable as a module.

Neither the top-level package nor these packages bind a name equal to one of their submodules, so
``import workbench.refine.prepare as m`` gives the module, not a function of the same name.
"""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

PACKAGES = ("workbench.refine", "workbench.predict")
SUBMODULES = [(package, m.name) for package in PACKAGES
              for m in pkgutil.iter_modules(importlib.import_module(package).__path__)]


def test_the_known_submodules_are_all_there():
    names = {name for _, name in SUBMODULES}
    assert {"forcefield", "ladder", "platform", "prepare", "relax", "result", "violations"} <= names
    assert {"esmfold", "template", "imported", "api", "base"} <= names


@pytest.mark.parametrize(("package", "name"), SUBMODULES)
def test_import_statement_gives_the_module(package: str, name: str):
    namespace: dict = {}
    exec(f"import {package}.{name} as m", namespace)
    assert isinstance(namespace["m"], types.ModuleType)
    assert namespace["m"].__name__ == f"{package}.{name}"


@pytest.mark.parametrize(("package", "name"), SUBMODULES)
def test_the_package_exports_no_submodule_name(package: str, name: str):
    assert name not in importlib.import_module(package).__all__


def test_old_prepare_import_keeps_working():
    from workbench.refine import prepare_model
    from workbench.refine.prepare import prepare

    assert prepare is prepare_model
