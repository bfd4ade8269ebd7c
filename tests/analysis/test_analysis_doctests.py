"""The examples in the analysis docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "workbench.analysis.superpose",
    "workbench.analysis.tmscore",
    "workbench.analysis.lddt",
    "workbench.analysis.sasa",
    "workbench.analysis.dssp",
    "workbench.analysis.geometry",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
