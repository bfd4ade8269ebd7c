"""Choose the OpenMM platform: CUDA when a GPU answers, else CPU with a thread count.

The choice is made when a refinement asks for it, never at import time:

- an explicit name (``"CUDA"``, ``"OpenCL"``, ``"CPU"``, ``"Reference"``) wins, then the
  ``WORKBENCH_PLATFORM`` environment variable, then automatic selection
  (``"auto"``): CUDA if its plugin loads *and* a one-particle context can be made
  on it (a plugin without a driver or a device fails there), otherwise CPU.
- CPU threads: the ``threads`` argument, else ``WORKBENCH_THREADS``, else the
  cores this process may run on (``os.sched_getaffinity``), which honours
  ``taskset``, cgroup cpusets and SLURM allocations where ``os.cpu_count()``
  would report the whole node. Measured here (2 vCPUs): a 2,014-atom restrained
  minimisation took 0.31 s with one thread and 0.18 s with two.
- CUDA runs in ``mixed`` precision (single-precision forces, double-precision
  accumulation), the usual choice for minimisation and MD.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

import openmm as mm

__all__ = ["PlatformChoice", "available_platforms", "select_platform", "usable_cores"]

_KNOWN = ("CUDA", "OpenCL", "HIP", "CPU", "Reference")


@dataclass(frozen=True)
class PlatformChoice:
    """An OpenMM platform and the properties to create contexts with.

    Attributes
    ----------
    name : str
        ``"CUDA"``, ``"CPU"``, ...
    properties : dict of str to str
        Context properties (``{"Threads": "2"}``, ``{"Precision": "mixed"}``).
    reason : str
        Why this platform was chosen, for the report.
    """

    name: str
    properties: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    @property
    def platform(self) -> mm.Platform:
        """The :class:`openmm.Platform` object."""
        return mm.Platform.getPlatformByName(self.name)

    def context(self, system: mm.System, integrator: mm.Integrator) -> mm.Context:
        """A new context on this platform with these properties."""
        return mm.Context(system, integrator, self.platform, dict(self.properties))


def usable_cores() -> int:
    """Number of cores this process may run on (affinity mask, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def available_platforms() -> tuple[str, ...]:
    """Names of the OpenMM platforms whose plugins loaded in this process."""
    return tuple(mm.Platform.getPlatform(i).getName() for i in range(mm.Platform.getNumPlatforms()))


@lru_cache(maxsize=8)
def _works(name: str) -> str | None:
    """None if a context can be created on platform ``name``, else the error text."""
    if name not in available_platforms():
        return f"the {name} plugin is not loaded"
    system = mm.System()
    system.addParticle(1.0)
    try:
        context = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName(name))
        del context
    except Exception as exc:  # OpenMMException, with the driver's words
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def select_platform(name: str | None = None, threads: int | None = None) -> PlatformChoice:
    """The platform a refinement runs on.

    Parameters
    ----------
    name : str, optional
        ``"auto"`` (default), ``"CUDA"``, ``"OpenCL"``, ``"HIP"``, ``"CPU"`` or
        ``"Reference"`` (case-insensitive); ``WORKBENCH_PLATFORM`` when None.
    threads : int, optional
        CPU threads; ``WORKBENCH_THREADS`` or the usable cores when None.

    Returns
    -------
    PlatformChoice

    Raises
    ------
    ValueError
        For an unknown name, a non-positive thread count, or a named platform
        that cannot create a context here (the message says why).

    Examples
    --------
    >>> choice = select_platform("cpu", threads=1)
    >>> choice.name, choice.properties
    ('CPU', {'Threads': '1'})
    """
    requested = (name or os.environ.get("WORKBENCH_PLATFORM") or "auto").strip()
    if threads is None and os.environ.get("WORKBENCH_THREADS"):
        try:
            threads = int(os.environ["WORKBENCH_THREADS"])
        except ValueError:
            raise ValueError(f"WORKBENCH_THREADS={os.environ['WORKBENCH_THREADS']!r} is not an integer") from None
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if requested.lower() == "auto":
        problem = _works("CUDA")
        if problem is None:
            return PlatformChoice("CUDA", {"Precision": "mixed"}, "auto: a CUDA device answered")
        n = threads or usable_cores()
        return PlatformChoice("CPU", {"Threads": str(n)}, f"auto: CUDA unavailable ({problem}); {n} CPU thread(s)")
    canonical = {k.lower(): k for k in _KNOWN}.get(requested.lower())
    if canonical is None:
        raise ValueError(f"unknown OpenMM platform {requested!r}; choose auto or one of {', '.join(_KNOWN)}")
    problem = _works(canonical)
    if problem is not None:
        raise ValueError(
            f"OpenMM platform {canonical} cannot be used here: {problem} "
            f"(loaded: {', '.join(available_platforms())})"
        )
    if canonical == "CPU":
        n = threads or usable_cores()
        return PlatformChoice("CPU", {"Threads": str(n)}, f"requested; {n} CPU thread(s)")
    if canonical in ("CUDA", "OpenCL", "HIP"):
        return PlatformChoice(canonical, {"Precision": "mixed"}, "requested")
    return PlatformChoice(canonical, {}, "requested")


def openmm_seed(seed: int) -> int:
    """The OpenMM random-number seed for a workbench seed.

    OpenMM reads a seed of 0 as "choose a new seed for every Context", which made
    PDBFixer's added atoms, and so the relaxed energies, differ between runs of the
    same input (by up to 2 Å and 100 kJ/mol for a mutated side chain). Workbench
    seeds are shifted by one so that every seed, 0 included, is repeatable.

    Examples
    --------
    >>> openmm_seed(0), openmm_seed(41)
    (1, 42)
    """
    if not 0 <= seed < 2**31 - 1:
        raise ValueError(f"seed must lie in 0..2**31-2, got {seed}")
    return seed + 1


def repeatable_platform(platform: mm.Platform | None) -> mm.Platform:
    """A platform on which PDBFixer's and OpenMM Modeller's own minimisations repeat exactly.

    PDBFixer and ``Modeller.addHydrogens`` create their contexts without
    properties, so on the CPU platform they run on every core, and the order of
    the threads' force sums changes between runs: the same input then got
    hydrogens up to 2 Å apart. A single thread is repeatable, and on a 12k-atom
    structure three times faster than the Reference platform. GPU platforms sum
    forces in fixed point and are repeatable already.

    This sets the CPU platform's *default* thread count to 1 for the process;
    contexts the workbench creates itself always pass their own ``Threads``.

    Parameters
    ----------
    platform : openmm.Platform or None
        The platform a caller asked for (None: CPU).

    Returns
    -------
    openmm.Platform
    """
    if platform is not None and platform.getName() != "CPU":
        return platform
    cpu = mm.Platform.getPlatformByName("CPU")
    cpu.setPropertyDefaultValue("Threads", "1")
    return cpu
