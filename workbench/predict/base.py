"""What every predictor returns and how predictors are found: the protocol and the registry.

A predictor is one file in :mod:`workbench.predict` that defines a class with a
``name`` and a ``predict`` method and registers it with :func:`register`
(the pattern of OpenMM's force-field generators). Callers ask the registry
for a predictor by name and get :class:`PredictionOutcome` objects back, one
per input record: a failed sequence carries its reason and never stops the
rest of a batch.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import Field, dataclass, field, fields
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

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


ConfidenceKind = Literal["plddt", "error_angstrom", "none"]
"""What a prediction's per-residue confidence is: a learned pLDDT (0-100), a learned error in Å, or none."""


@dataclass(frozen=True, eq=False)
class Prediction:
    """A predicted structure with its confidence, named for what it is.

    Only a learned per-residue lDDT estimate is a pLDDT. A method with none (a
    template variant, an experimental structure) leaves ``plddt`` None, and
    nothing downstream calls, colours, filters or ranks anything pLDDT for it.

    Parameters
    ----------
    structure : Structure
        The model.
    plddt : ndarray, shape=(n_residues,), dtype=float32, or None
        Learned per-residue pLDDT on a 0-100 scale, in the order of
        ``structure.residues`` restricted to polymer residues; None when the
        method gives none.
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
    residue_error : ndarray, shape=(n_residues,), dtype=float32, optional
        A learned per-residue error in Å (such as IgFold's pRMSD), for methods
        whose confidence is an error rather than a pLDDT.

    Raises
    ------
    ValueError
        If the arrays do not fit the structure, pLDDT leaves 0-100 or an error is negative.
    """

    structure: Structure
    plddt: np.ndarray | None
    ptm: float | None
    pae: np.ndarray | None
    provenance: Provenance
    iptm: float | None = None
    name: str = ""
    residue_error: np.ndarray | None = None

    def __post_init__(self) -> None:
        n_polymer = int(np.count_nonzero(self.structure.polymer[self.structure.residue_starts[:-1]]))
        if self.plddt is not None:
            plddt = self._per_residue(self.plddt, n_polymer, "pLDDT")
            if plddt.size and (plddt.min() < 0 or plddt.max() > 100):
                raise ValueError(f"pLDDT must lie in 0-100, got {plddt.min():.3g}..{plddt.max():.3g}")
            object.__setattr__(self, "plddt", plddt)
        if self.residue_error is not None:
            error = self._per_residue(self.residue_error, n_polymer, "per-residue error")
            if error.size and error.min() < 0:
                raise ValueError(f"a per-residue error in Å cannot be negative, got {error.min():.3g}")
            object.__setattr__(self, "residue_error", error)
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

    @staticmethod
    def _per_residue(values: np.ndarray, n_polymer: int, what: str) -> np.ndarray:
        array = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
        if array.shape[0] != n_polymer:
            raise ValueError(f"{array.shape[0]} {what} values for {n_polymer} polymer residues")
        if not np.isfinite(array).all():
            raise ValueError(f"{what} values must be finite")
        array.setflags(write=False)
        return array

    @property
    def confidence_kind(self) -> ConfidenceKind:
        """``"plddt"``, ``"error_angstrom"`` or ``"none"``."""
        if self.plddt is not None:
            return "plddt"
        return "error_angstrom" if self.residue_error is not None else "none"

    @property
    def mean_plddt(self) -> float | None:
        """Mean pLDDT over residues (0-100), or None when the method gives no pLDDT."""
        if self.plddt is None or not self.plddt.size:
            return None
        return float(self.plddt.mean())

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


@runtime_checkable
class ReferencePredictor(Predictor, Protocol):
    """A predictor with a reference item that batch energies are compared with (the template's wild type)."""

    def reference_record(self) -> SequenceRecord | None:
        """The reference sequence as a record, or None when there is none to build."""
        ...


@dataclass(frozen=True)
class PredictorOptions:
    """Base of every predictor's options: a frozen dataclass of its constructor's keyword arguments.

    Each field is one option, with its default defined there and nowhere else.
    Field metadata says how callers treat it: ``help`` (one line, for the CLI
    and the UI), ``file`` (a path whose content, not name, is part of an item's
    content key and which a server must confine), ``hub_id`` (the file option
    may instead name a model-hub repository, which the predictor's ``check``
    resolves), ``cli`` (False: not offered as a command-line flag), ``label``
    and ``upload`` (for the web form).
    """

    def to_dict(self) -> dict[str, Any]:
        """The options as JSON-ready data (field name to value)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class PredictorInfo:
    """What callers need to know about one registered predictor, declared with :func:`register`.

    Attributes
    ----------
    name : str
    factory : callable
        The predictor class; called with the options' fields as keyword arguments.
    options : type
        The backend's :class:`PredictorOptions` dataclass.
    needs_gpu : bool
        Prediction tasks ask for a worker that advertises a GPU (when the cluster has one).
    batch_tokens : int
        Residues per prediction task in a batch; 0: one record per task.
    incomplete_models : bool
        Models may lack side-chain atoms (a template variant's substituted
        residues); the pipeline completes them with the refinement's preparation.
    has_reference : bool
        The predictor has a reference item (:class:`ReferencePredictor`) that
        energy changes in a batch are measured against.
    reference : callable, optional
        ``reference(options) -> SequenceRecord or None``: the reference record
        found cheaply, without building the predictor (the template's own
        sequence, read from its file), so a batch learns its items without a
        worker; without it, a worker builds the predictor to ask.
    label : str
        One line for people choosing a predictor (the web UI's list).
    in_browser : bool
        Offered in the web UI (False for predictors that read folders on the server).
    screen : callable, optional
        ``screen(options, records) -> {record id: reason}``: the records the
        predictor will refuse, found cheaply before anything is queued (a
        template's alignment checks).
    model_type : str
        ModelCIF's ``_ma_model_list.model_type`` of its models: ``"Ab initio
        model"``, or ``"Homology model"`` for a model built on a template.
    check : callable, optional
        ``check(options)`` raises, with a message saying what to do, when the
        options cannot work on this machine (a template that does not parse,
        weights that are not here); otherwise it may return one line saying
        what it found (shown beside the form). Run before anything is queued.
    """

    name: str
    factory: Callable[..., Predictor]
    options: type[PredictorOptions]
    needs_gpu: bool = False
    batch_tokens: int = 0
    incomplete_models: bool = False
    has_reference: bool = False
    label: str = ""
    in_browser: bool = True
    check: Callable[[Any], str | None] | None = None
    model_type: str = "Ab initio model"
    screen: Callable[[Any, Sequence[SequenceRecord]], dict[str, str]] | None = None
    reference: Callable[[Any], SequenceRecord | None] | None = None

    @property
    def option_fields(self) -> tuple[Field[Any], ...]:
        """The options' dataclass fields, in declaration order."""
        return fields(self.options)

    @property
    def file_options(self) -> tuple[str, ...]:
        """Names of the options that are files (hashed by content in content keys)."""
        return tuple(f.name for f in self.option_fields if f.metadata.get("file"))

    def option_type(self, name: str) -> type:
        """The plain type of option ``name``: its annotation without ``None``; str for other unions.

        Examples
        --------
        >>> predictor_info("template").option_type("max_indel"), predictor_info("template").option_type("chain")
        (<class 'int'>, <class 'str'>)
        """
        hint = typing.get_type_hints(self.options)[name]
        kinds = [k for k in typing.get_args(hint) if k is not type(None)] or [hint]
        return kinds[0] if len(kinds) == 1 and kinds[0] in (bool, int, float, str) else str

    def make_options(self, **values: Any) -> PredictorOptions:
        """The options dataclass from keyword values; unknown names are refused with the known ones.

        Raises
        ------
        TypeError
            For an option this predictor does not have.
        """
        known = {f.name for f in self.option_fields}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(f"predictor {self.name!r} has no option(s) {', '.join(unknown)}; "
                            f"its options: {', '.join(sorted(known)) or 'none'}")
        return self.options(**values)

    def build(self, options: PredictorOptions) -> Predictor:
        """A predictor instance for ``options`` (which must be this predictor's options type)."""
        if not isinstance(options, self.options):
            raise TypeError(f"predictor {self.name!r} takes {self.options.__name__}, got {type(options).__name__}")
        return self.factory(**options.to_dict())


_REGISTRY: dict[str, PredictorInfo] = {}

DEFAULT_PREDICTOR = "template"
"""The predictor of the embedded defaults: variant modelling on a template that a dependency ships (offline)."""


def register(name: str, *, options: type[PredictorOptions], needs_gpu: bool = False, batch_tokens: int = 0,
             incomplete_models: bool = False, has_reference: bool = False, label: str = "",
             in_browser: bool = True, check: Callable[[Any], str | None] | None = None,
             model_type: str = "Ab initio model",
             screen: Callable[[Any, Sequence[SequenceRecord]], dict[str, str]] | None = None,
             reference: Callable[[Any], SequenceRecord | None] | None = None,
             ) -> Callable[[type], type]:
    """Class decorator: make a predictor available by ``name``, with what callers need to know about it.

    Parameters
    ----------
    name : str
    options : type
        The predictor's frozen :class:`PredictorOptions` dataclass; its fields
        are the class's constructor keyword arguments.
    needs_gpu, batch_tokens, incomplete_models, has_reference, label, in_browser, check, model_type, screen, reference
        See :class:`PredictorInfo`.
    """

    def decorator(cls: type) -> type:
        if name in _REGISTRY:
            raise ValueError(f"predictor {name!r} is already registered")
        cls.name = name  # type: ignore[attr-defined]
        _REGISTRY[name] = PredictorInfo(name, cls, options, needs_gpu, batch_tokens, incomplete_models,
                                        has_reference, label or name, in_browser, check, model_type, screen,
                                        reference)
        return cls

    return decorator


class _LazyFactory:
    """A predictor class named by ``"module:Class"``, imported on first call (heavy backends: torch)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __call__(self, **options: Any) -> Predictor:
        import importlib

        module, _, name = self.target.partition(":")
        factory: Callable[..., Predictor] = getattr(importlib.import_module(module), name)
        return factory(**options)


def register_lazily(name: str, target: str, *, options: type[PredictorOptions], needs_gpu: bool = False,
                    batch_tokens: int = 0, incomplete_models: bool = False, has_reference: bool = False,
                    label: str = "", in_browser: bool = True, check: Callable[[Any], str | None] | None = None) -> None:
    """Register a predictor whose class lives in a module too heavy to import for the registry alone.

    Parameters
    ----------
    name : str
    target : str
        ``"package.module:ClassName"``, imported when the first predictor is built.
    options, needs_gpu, batch_tokens, incomplete_models, has_reference, label, in_browser, check
        As for :func:`register`.
    """
    if name in _REGISTRY:
        raise ValueError(f"predictor {name!r} is already registered")
    _REGISTRY[name] = PredictorInfo(name, _LazyFactory(target), options, needs_gpu, batch_tokens,
                                    incomplete_models, has_reference, label or name, in_browser, check)


def unregister(name: str) -> None:
    """Remove a registered predictor (for tests that register their own)."""
    _REGISTRY.pop(name, None)


def available_predictors() -> list[str]:
    """Names of the registered predictors."""
    _load_backends()
    return sorted(_REGISTRY)


def predictor_info(name: str) -> PredictorInfo:
    """What the registry knows about predictor ``name``.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones (and backends that could not load, with why).
    """
    _load_backends()
    try:
        return _REGISTRY[name]
    except KeyError:
        unavailable = "".join(f"; {module} could not load: {reason}" for module, reason in _MISSING.items())
        raise ValueError(
            f"unknown predictor {name!r}; available: {', '.join(sorted(_REGISTRY))}{unavailable}"
        ) from None


def get_predictor(name: str, **options: Any) -> Predictor:
    """An instance of the predictor ``name``, built with ``options``.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    TypeError
        For an option the predictor does not have.
    """
    info = predictor_info(name)
    return info.build(info.make_options(**options))


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
    "workbench.predict.esmfold_options",
    "workbench.predict.imported",
]
_MISSING: dict[str, str] = {}
