"""Refinement: PDBFixer preparation, AlphaFold2-style restrained relax, optional restrained MD.

The entry point is :func:`refine` (``workbench.refine.refine``); the steps are public
too, for scripts that need only one of them: :func:`prepare_model`,
:func:`find_violations`, :func:`select_platform`, :func:`create_system`.

No name exported here equals a submodule's (``prepare``, ``relax``,
``violations``, ...): ``import workbench.refine.prepare as m`` gives the module.
"""

from workbench.refine.forcefield import SOLVENTS, create_system, load_forcefield
from workbench.refine.platform import PlatformChoice, select_platform
from workbench.refine.prepare import PreparationReport, PreparedModel, find_chain_breaks, prepare_model
from workbench.refine.relax import RefineConfig, prepare_for_refinement, refine
from workbench.refine.result import RefinementResult, format_report
from workbench.refine.violations import GeometryModel, Violation, ViolationCriteria, Violations, find_violations

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
