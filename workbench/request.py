"""What to compute for a batch: one typed, validated request, the same from the CLI, the UI and the job store.

A :class:`BatchRequest` holds every setting that changes a batch's results: the
predictor (its name and that backend's own frozen options dataclass, defaults
defined there once), the refinement settings or none, and the longest accepted
sequence. The command line, the web UI and the dispatcher all build or load
this object; its JSON form (:meth:`BatchRequest.to_json`) is the job store's
``parameters`` column and :meth:`BatchRequest.from_json` its only parser, and
:meth:`BatchRequest.key_settings` is what an item's content key hashes (files
counted by content, not by path).

Examples
--------
>>> request = BatchRequest.create("template", refine={"md_ps": 5.0})
>>> request.refine.md_ps, request.predictor.options.max_indel
(5.0, 4)
>>> BatchRequest.from_json(request.to_json()) == request
True
"""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.files import file_sha256
from workbench.io.fasta import DEFAULT_MAX_LENGTH, SequenceRecord
from workbench.predict.base import DEFAULT_PREDICTOR, Predictor, PredictorInfo, PredictorOptions, predictor_info
from workbench.refine.settings import RefineConfig, ViolationCriteria

__all__ = ["REQUEST_VERSION", "BatchRequest", "PredictorSpec"]

REQUEST_VERSION = 2
"""Version of the JSON form. Version 1 (job rows written before the typed request) had the same keys."""

_JSON_KEYS = {"version", "predictor", "predictor_options", "refine", "refine_options", "max_length"}
_RUNTIME_REFINE_FIELDS = ("threads",)
"""RefineConfig fields that change how fast, not what: left out of content keys."""


@dataclass(frozen=True)
class PredictorSpec:
    """A predictor by name with its options.

    Attributes
    ----------
    name : str
        A registered predictor (:func:`workbench.predict.available_predictors`).
    options : PredictorOptions
        That predictor's own options dataclass.
    """

    name: str
    options: PredictorOptions

    def __post_init__(self) -> None:
        info = predictor_info(self.name)  # ValueError naming the known predictors
        if not isinstance(self.options, info.options):
            raise TypeError(f"predictor {self.name!r} takes {info.options.__name__}, "
                            f"got {type(self.options).__name__}")

    @classmethod
    def create(cls, name: str, **options: Any) -> PredictorSpec:
        """The spec for ``name`` with ``options`` (defaults for the rest); unknown options are refused."""
        return cls(name, predictor_info(name).make_options(**options))

    @property
    def info(self) -> PredictorInfo:
        """What the registry declares about this predictor."""
        return predictor_info(self.name)

    def build(self) -> Predictor:
        """A predictor instance with these options."""
        return self.info.build(self.options)


def _default_predictor() -> PredictorSpec:
    return PredictorSpec.create(DEFAULT_PREDICTOR)


@dataclass(frozen=True)
class BatchRequest:
    """Everything that changes what a batch computes.

    Attributes
    ----------
    predictor : PredictorSpec
        Default: the template predictor on its default template.
    refine : RefineConfig or None
        Relax every model with these settings; None: no refinement.
    max_length : int
        Longest accepted sequence (all chains together).
    """

    predictor: PredictorSpec = field(default_factory=_default_predictor)
    refine: RefineConfig | None = field(default_factory=RefineConfig)
    max_length: int = DEFAULT_MAX_LENGTH

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {self.max_length}")

    @classmethod
    def create(cls, predictor: str = DEFAULT_PREDICTOR, predictor_options: Mapping[str, Any] | None = None, *,
               refine: bool | Mapping[str, Any] | RefineConfig = True,
               max_length: int = DEFAULT_MAX_LENGTH) -> BatchRequest:
        """A request from plain values.

        Parameters
        ----------
        predictor : str
        predictor_options : mapping, optional
            Fields of the predictor's options dataclass.
        refine : bool, mapping or RefineConfig
            True: default refinement; False: none; a mapping: :class:`RefineConfig` fields.
        max_length : int

        Raises
        ------
        ValueError, TypeError
            For an unknown predictor, option or refinement field, or a bad value.
        """
        spec = PredictorSpec.create(predictor, **dict(predictor_options or {}))
        return cls(spec, _refine_config(refine), max_length)

    # ------------------------------------------------------------------ checks

    def validate(self) -> str | None:
        """Refuse settings that would fail every item, before any item runs.

        File options must exist (a value that may be a hub id and is no local
        path is left to the predictor's check), and the predictor's declared check must pass
        (a template must parse, ESMFold's weights must be on this machine or a
        download allowed). The OpenMM platform is not checked here: CUDA may
        exist on the workers and not on this machine.

        Returns
        -------
        str or None
            What the predictor's check found (for the form and the log).

        Raises
        ------
        FileNotFoundError, StructureFormatError
            Naming the file, or saying how to get the weights.
        """
        for option in self.predictor.info.option_fields:
            value = getattr(self.predictor.options, option.name)
            if not option.metadata.get("file") or value is None:
                continue
            if option.metadata.get("hub_id") and not Path(value).exists():
                continue  # a hub id, or a missing folder: the predictor's check says which, and what to do
            if not str(value) or not Path(value).exists():
                what = str(option.metadata.get("label", f"{self.predictor.name} option {option.name}")).lower()
                raise FileNotFoundError(errno.ENOENT, f"{what} not found", str(value))
        check = self.predictor.info.check
        return None if check is None else check(self.predictor.options)

    def screen(self, records: Sequence[SequenceRecord]) -> dict[str, str]:
        """The records this request's predictor will refuse, with why (its declared screen; {} without one).

        Run by the CLI and the UI before anything is queued, so a batch is not
        submitted to fail record by record (a template too far from a sequence).
        """
        screen = self.predictor.info.screen
        return {} if screen is None or not records else screen(self.predictor.options, records)

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """The request as JSON-ready data: the job store's ``parameters``.

        Options equal to their defaults are left out, so a row says what was
        chosen; :meth:`from_json` fills the defaults back in.
        """
        return {
            "version": REQUEST_VERSION,
            "predictor": self.predictor.name,
            "predictor_options": _changed(self.predictor.options, type(self.predictor.options)()),
            "refine": self.refine is not None,
            "refine_options": {} if self.refine is None else _refine_json(self.refine),
            "max_length": self.max_length,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchRequest:
        """Load a request written by :meth:`to_json` (or a version-1 job row, which had the same keys).

        Raises
        ------
        ValueError
            For unknown keys, a newer version, or options that no longer exist,
            saying what to do.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"batch request must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - _JSON_KEYS)
        if unknown:
            raise ValueError(f"unknown batch request key(s): {', '.join(unknown)}; "
                             f"allowed: {', '.join(sorted(_JSON_KEYS))}")
        version = data.get("version", 1)
        if not isinstance(version, int) or version > REQUEST_VERSION:
            raise ValueError(f"batch request version {version!r} is newer than this workbench understands "
                             f"({REQUEST_VERSION}); upgrade protein-workbench")
        try:
            refine_options = dict(data.get("refine_options") or {})
            return cls.create(str(data.get("predictor", DEFAULT_PREDICTOR)), data.get("predictor_options") or {},
                              refine=refine_options if data.get("refine", True) else False,
                              max_length=int(data.get("max_length", DEFAULT_MAX_LENGTH)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"cannot load the batch request: {exc}; submit the batch again with this "
                             f"version's options") from None

    # ------------------------------------------------------------------ content keys

    def key_settings(self) -> dict[str, Any]:
        """The settings an item's content key hashes: all that changes results, files by their SHA-256.

        Predictor options and refinement settings are complete (defaults
        included), so leaving an option out and giving its default is the same item.
        """
        options = self.predictor.options.to_dict()
        for name in self.predictor.info.file_options:
            value = options[name]
            if value and Path(value).is_file():
                options[name] = {"sha256": file_sha256(Path(value))}
        refine = None
        if self.refine is not None:
            refine = self.refine.to_dict()
            for name in _RUNTIME_REFINE_FIELDS:
                refine.pop(name, None)
        return {"predictor": self.predictor.name, "predictor_options": options, "refine": refine}


def _refine_config(refine: bool | Mapping[str, Any] | RefineConfig) -> RefineConfig | None:
    if isinstance(refine, RefineConfig):
        return refine
    if isinstance(refine, bool):
        return RefineConfig() if refine else None
    values = dict(refine)
    if isinstance(values.get("criteria"), Mapping):
        values["criteria"] = ViolationCriteria.from_dict(values["criteria"])
    if values.get("chains") is not None:
        values["chains"] = tuple(values["chains"])
    return RefineConfig(**values)


def _refine_json(config: RefineConfig) -> dict[str, Any]:
    """RefineConfig fields that differ from the defaults, JSON-ready."""
    default = RefineConfig()
    changed: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value, base = getattr(config, f.name), getattr(default, f.name)
        if value == base:
            continue
        if isinstance(value, ViolationCriteria):
            changed[f.name] = value.to_dict()
        elif isinstance(value, tuple):
            changed[f.name] = list(value)
        else:
            changed[f.name] = value
    return changed


def _changed(options: PredictorOptions, default: PredictorOptions) -> dict[str, Any]:
    new, base = options.to_dict(), default.to_dict()
    return {name: value for name, value in new.items() if value != base[name]}
