"""Refinement: PDBFixer preparation, AlphaFold2-style restrained relax, optional restrained MD.

The entry point is :func:`refine` (``workbench.refine.refine``); the steps are public
too, for scripts that need only one of them: :func:`prepare_model`,
:func:`find_violations`, :func:`select_platform`, :func:`create_system`.

No name exported here equals a submodule's (``prepare``, ``relax``,
``violations``, ...): ``import workbench.refine.prepare as m`` gives the module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import lazy_exports

if TYPE_CHECKING:  # the names below, for type checkers; at run time see __getattr__
    from workbench.refine.forcefield import SOLVENTS, create_system, load_forcefield
    from workbench.refine.platform import PlatformChoice, select_platform
    from workbench.refine.prepare import PreparationReport, PreparedModel, find_chain_breaks, prepare_model
    from workbench.refine.relax import RefineConfig, prepare_for_refinement, refine
    from workbench.refine.result import RefinementResult, format_report
    from workbench.refine.violations import GeometryModel, Violation, ViolationCriteria, Violations, find_violations

#: Where each public name is defined: imported on first use (OpenMM and PDBFixer only for the names that need them).
_LAZY: dict[str, str] = {
    "GeometryModel": "workbench.refine.violations",
    "PlatformChoice": "workbench.refine.platform",
    "PreparationReport": "workbench.refine.prepare",
    "PreparedModel": "workbench.refine.prepare",
    "RefineConfig": "workbench.refine.settings",
    "RefinementResult": "workbench.refine.result",
    "SOLVENTS": "workbench.refine.settings",
    "Violation": "workbench.refine.violations",
    "ViolationCriteria": "workbench.refine.settings",
    "Violations": "workbench.refine.violations",
    "create_system": "workbench.refine.forcefield",
    "find_chain_breaks": "workbench.refine.prepare",
    "find_violations": "workbench.refine.violations",
    "format_report": "workbench.refine.result",
    "load_forcefield": "workbench.refine.forcefield",
    "prepare_for_refinement": "workbench.refine.relax",
    "prepare_model": "workbench.refine.prepare",
    "refine": "workbench.refine.relax",
    "select_platform": "workbench.refine.platform",
}

__all__ = [
    "SOLVENTS",
    "GeometryModel",
    "PlatformChoice",
    "PreparationReport",
    "PreparedModel",
    "RefineConfig",
    "RefinementResult",
    "Violation",
    "ViolationCriteria",
    "Violations",
    "create_system",
    "find_chain_breaks",
    "find_violations",
    "format_report",
    "load_forcefield",
    "prepare_for_refinement",
    "prepare_model",
    "refine",
    "select_platform",
]

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
