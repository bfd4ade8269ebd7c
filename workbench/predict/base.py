"""What every predictor returns and how predictors are found: the protocol and the registry.

A predictor is one file in :mod:`workbench.predict` that defines a class with a
``name`` and a ``predict`` method and registers it with :func:`register`
(the pattern of OpenMM's force-field generators). Callers ask the registry
for a predictor by name and get :class:`PredictionOutcome` objects back, one
per input record: a failed sequence carries its reason and never stops the
rest of a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from workbench.io.fasta import SequenceRecord
from workbench.structure import Structure


@dataclass(frozen=True)
class Provenance:
    """Where a prediction came from, enough to reproduce or audit it.

    Attributes
    ----------
    method : str
        Predictor name (``"esmfold"``, ``"template"``, ``"colabfold"``, ...).
    model : str
        Model or program version (``"facebook/esmfold_v1"``, ``"AlphaFold3"``).
    weights_hash : str or None
        SHA-256 of the weights actually loaded, when there are weights.
    parameters : dict
        Settings that change the result (dtype, chunk size, recycles, template, ...).
    device : str or None
        ``"cuda:0"``, ``"cpu"``; None for imported results.
    timings : dict
        Seconds per stage (``{"load": 12.1, "fold": 0.8}``).
    sources : tuple of str
        Input files of an imported prediction.
    """

    method: str
    model: str = ""
    weights_hash: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    device: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Prediction:
    """A predicted structure with its confidence.

    Parameters
    ----------
    structure : Structure
        The model; its B-factors hold pLDDT (0-100) per atom.
    plddt : ndarray, shape=(n_residues,), dtype=float32
        Per-residue pLDDT on a 0-100 scale, in the order of ``structure.residues``
        restricted to polymer residues.
    ptm : float or None
        Predicted TM-score, 0-1.
    pae : ndarray, shape=(n_residues, n_residues), dtype=float32, optional
        Predicted aligned error in Å; ``pae[i, j]`` is the error at residue j
        when aligned on residue i.
    provenance : Provenance
    iptm : float or None
        Interface pTM of a complex, when the method gives it.
    name : str
        Record id the prediction is for.

    Raises
    ------
    ValueError
        If the arrays do not fit the structure or pLDDT leaves 0-100.
    """

    structure: Structure
    plddt: np.ndarray
    ptm: float | None
    pae: np.ndarray | None
    provenance: Provenance
    iptm: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        plddt = np.ascontiguousarray(self.plddt, dtype=np.float32).reshape(-1)
        n_polymer = int(np.count_nonzero(self.structure.polymer[self.structure.residue_starts[:-1]]))
        if plddt.shape[0] != n_polymer:
            raise ValueError(f"{plddt.shape[0]} pLDDT values for {n_polymer} polymer residues")
        if plddt.size and (not np.isfinite(plddt).all() or plddt.min() < 0 or plddt.max() > 100):
            raise ValueError(f"pLDDT must lie in 0-100, got {plddt.min():.3g}..{plddt.max():.3g}")
        plddt.setflags(write=False)
        object.__setattr__(self, "plddt", plddt)
        if self.pae is not None:
            pae = np.ascontiguousarray(self.pae, dtype=np.float32)
            if pae.shape != (n_polymer, n_polymer):
                raise ValueError(f"PAE has shape {pae.shape}, expected ({n_polymer}, {n_polymer})")
            pae.setflags(write=False)
            object.__setattr__(self, "pae", pae)
        for name in ("ptm", "iptm"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must lie in 0-1, got {value}")

    @property
    def mean_plddt(self) -> float:
        """Mean pLDDT over residues (0-100)."""
        return float(self.plddt.mean()) if self.plddt.size else float("nan")

    @property
    def max_pae(self) -> float | None:
        """Largest PAE value in Å, or None without PAE."""
        return None if self.pae is None else float(self.pae.max())


@dataclass(frozen=True)
class PredictionOutcome:
    """The result for one input record: a prediction, or the reason there is none."""

    record: SequenceRecord
    prediction: Prediction | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether a prediction was made."""
        return self.prediction is not None


@runtime_checkable
class Predictor(Protocol):
    """What a predictor backend provides."""

    name: ClassVar[str]

    def predict(self, records: Sequence[SequenceRecord]) -> list[PredictionOutcome]:
        """One outcome per record, in input order; never raises for one bad record."""
        ...


_REGISTRY: dict[str, Callable[..., Predictor]] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make a predictor available as ``get_predictor(name, ...)``."""

    def decorator(cls: type) -> type:
        if name in _REGISTRY:
            raise ValueError(f"predictor {name!r} is already registered")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def available_predictors() -> list[str]:
    """Names of the registered predictors."""
    _load_backends()
    return sorted(_REGISTRY)


def get_predictor(name: str, **options: Any) -> Predictor:
    """An instance of the predictor ``name``, built with ``options``.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    _load_backends()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        unavailable = "".join(f"; {module} could not load: {reason}" for module, reason in _MISSING.items())
        raise ValueError(
            f"unknown predictor {name!r}; available: {', '.join(sorted(_REGISTRY))}{unavailable}"
        ) from None
    return factory(**options)


def _load_backends() -> None:
    """Import the backend modules so their ``@register`` runs (not at package import)."""
    import importlib

    for module in BACKEND_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as exc:  # an optional dependency (torch) missing: that backend is absent
            _MISSING[module] = str(exc)


#: Modules that define predictors; a backend adds itself here.
BACKEND_MODULES: list[str] = [
    "workbench.predict.template",
    "workbench.predict.esmfold",
    "workbench.predict.imported",
]
_MISSING: dict[str, str] = {}
