"""Import predictions made elsewhere into the same :class:`~workbench.predict.base.Prediction`.

Supported: ColabFold, AlphaFold2 (and AlphaPulldown), AlphaFold DB files,
ESMFold (``esm-fold``) and other B-factor-only models, AlphaFold3 (local and
AlphaFold Server), Boltz, Chai-1 and Protenix. The layouts are described in
:mod:`workbench.predict._formats_af2` and :mod:`workbench.predict._formats_af3`.

The workbench's own item folders (``model.cif`` + ``confidence.json`` +
``provenance.json``) read back as the predictions they were written from
(:mod:`workbench.predict._formats_workbench`).

pLDDT always ends on a 0-100 scale: a 0-1 scale (Boltz npz, some ESMFold and
Chai-1 versions) is recognised and rescaled, and provenance records it
(``parameters["plddt_rescaled"]``). Per-residue pLDDT from per-atom values is
the CA atom's (the first atom's when there is no CA); when a JSON or npz file
and the B-factor column both give pLDDT they must agree. Bad files raise
:class:`~workbench.errors.StructureFormatError` naming the file and the problem.

Only a predictor's B-factors are pLDDT
--------------------------------------
Before any confidence is read, the model file's own records are read
(:mod:`workbench.predict._formats_origin`, whose docstring lists the rules):

- **Experimental structures** (``_exptl.method`` / ``EXPDTA`` naming an
  experiment, a resolution record, ``ANISOU``) are refused with a
  :class:`~workbench.predict._formats_common.NotAPredictionError` whose
  one-line message says what the file is ("1ubq.pdb: an experimental structure
  (X-RAY DIFFRACTION, 1.8 Å), not a prediction; its B-factors are not pLDDT.
  ..."), whatever format was asked for. With ``as_prediction=True``
  (``--as-prediction``) they are imported with no confidence
  (``plddt=None``, kind ``"none"``, provenance method ``"experimental"``) and a
  :class:`~workbench.predict._formats_common.ConfidenceWarning`.
- **Files no predictor is recognised in** (no layout of a known tool, no
  signature in the file, no ``format=``) have their B-factors read as pLDDT only
  when they look like one; otherwise (no polymer, an ensemble, values outside
  0-100 or all equal, fractional occupancies or water, B-factors rising from the
  CA to the side chains) they are refused the same way, or with
  ``as_prediction=True`` imported with no confidence (method ``"structure"``).
  When they do look like one, a warning says the pLDDT was inferred.
- **AlphaFold3, Boltz, Chai-1 and Protenix models found without their
  confidence files** are recognised by their names or mmCIF records and
  imported with the pLDDT the mmCIF holds, and a warning naming each missing
  file and the values lost (see :mod:`workbench.predict._formats_af3`).

Warnings are Python warnings (:class:`ConfidenceWarning`); ``workbench import``
prints them as ``workbench import: warning: ...`` lines. One file's error or
refusal never stops the others.

Untrusted folders
-----------------
Every file is read within limits: models and JSON up to
``$WORKBENCH_MAX_INPUT_BYTES`` (512 MiB), models up to ``$WORKBENCH_MAX_ATOMS``
atoms, npz arrays checked from their headers (no objects, at most 10^8
elements, no axis longer than the model's atom count) before they are loaded
with ``allow_pickle=False``. Symbolic links that lead out of the folder are
skipped with a :class:`SkippedFileWarning` naming them, and linked folders are
not entered. Any other failure a crafted file causes becomes that result's
:class:`~workbench.errors.StructureFormatError`.

Examples
--------
Reading one job, then a folder of many (not run as a doctest: it needs result files)::

    prediction = import_prediction("colabfold_out/")
    for name, result in import_predictions("many_results/"):
        print(name, result if isinstance(result, Exception) else result.mean_plddt)
"""

from __future__ import annotations

import dataclasses
import errno
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import StructureFormatError
from workbench.io.fasta import SequenceRecord, safe_name
from workbench.predict._formats_af2 import (
    load_af2_family,
    match_afdb,
    match_alphafold2,
    match_bfactor,
    match_colabfold,
)
from workbench.predict._formats_af3 import (
    load_alphafold3,
    load_boltz,
    load_chai1,
    load_protenix,
    match_alphafold3,
    match_boltz,
    match_chai1,
    match_lone_model,
    match_protenix,
)
from workbench.predict._formats_common import (
    ConfidenceWarning,
    NotAPredictionError,
    ResultFiles,
    SkippedFileWarning,
    build_prediction,
    chain_sequences,
    read_model,
    warn_confidence,
)
from workbench.predict._formats_origin import Origin, not_plddt_reason, read_origin
from workbench.predict._formats_workbench import is_item_folder, load_workbench, match_workbench
from workbench.predict.base import Prediction, PredictionOutcome, PredictorOptions, register

Matcher = Callable[[Path, frozenset[str]], ResultFiles | None]

#: Importers in the order auto-detection tries them; the last takes any PDB / mmCIF.
_MATCHERS: tuple[tuple[str, Matcher], ...] = (
    ("afdb", match_afdb),
    ("alphafold3", match_alphafold3),
    ("boltz", match_boltz),
    ("chai1", match_chai1),
    ("protenix", match_protenix),
    ("alphafold2", match_alphafold2),
    ("colabfold", match_colabfold),
    ("bfactor", match_bfactor),
)
_LOADERS: dict[str, Callable[[ResultFiles], Prediction]] = {
    "afdb": load_af2_family,
    "alphafold2": load_af2_family,
    "colabfold": load_af2_family,
    "esmfold": load_af2_family,
    "bfactor": load_af2_family,
    "alphafold3": load_alphafold3,
    "boltz": load_boltz,
    "chai1": load_chai1,
    "protenix": load_protenix,
    "workbench": load_workbench,
}
#: Predictors recognised from a lone model file's records, read by the AlphaFold3-style loaders.
_CONTENT_FORMATS = frozenset({"alphafold3", "boltz", "chai1", "protenix"})
__all__ = [
    "FORMATS", "ConfidenceWarning", "ImportedOptions", "ImportedPredictor", "NotAPredictionError",
    "SkippedFileWarning", "best_results", "find_results", "import_prediction", "import_predictions",
    "import_to_folder", "load_result",
]  # fmt: skip
#: Format names accepted by ``format=``.
FORMATS: tuple[str, ...] = tuple(sorted(_LOADERS))

_STRUCTURE_FILE = re.compile(r"\.(?:pdb|cif|mmcif|ent)(?:\.gz)?$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[-_.|]+")
#: Folders that hold inputs, not results: ColabFold's MSA / template cache and downloaded templates.
_SKIPPED_FOLDER = re.compile(r"(?:_env|^templates(?:_\d+)?|^msas?)$", re.IGNORECASE)


def _check_format(format: str | None) -> str | None:
    if format is None:
        return None
    key = format.lower().replace("-", "").replace("_", "")
    key = {"chai": "chai1", "af2": "alphafold2", "af3": "alphafold3", "alphafolddb": "afdb", "esm": "esmfold"}.get(
        key, key
    )
    if key not in _LOADERS:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    return key


def _match(path: Path, names: frozenset[str], format: str | None) -> ResultFiles | None:
    """The result a structure file belongs to, by file names and the file's records (and ``format`` when given)."""
    if format in (None, "workbench") and is_item_folder(names):
        return match_workbench(path, names)  # None for relaxed.pdb and the like: not separate results
    if format == "workbench":
        return None
    for fmt, matcher in _MATCHERS:
        if format is not None and fmt != format and not (format == "esmfold" and fmt == "bfactor"):
            continue
        files = matcher(path, names)
        if files is not None:
            if fmt == "bfactor" and format is None:
                files = _by_content(files)
            if format is not None:
                files.format = format
            return files
    if format is not None and _STRUCTURE_FILE.search(path.name):
        # forced format, names not in the tool's layout: read the model's B-factors as that tool's pLDDT
        return ResultFiles(format, path, _STRUCTURE_FILE.sub("", path.name))
    return None


def _by_content(files: ResultFiles) -> ResultFiles:
    """A model no file layout claimed: named for the predictor its records name, if any."""
    try:
        origin = read_origin(files.structure)
    except (ValueError, OSError):
        return files  # the loader reports the unreadable file
    if origin.predictor in _CONTENT_FORMATS and not origin.experimental:
        files = match_lone_model(files.structure, origin.predictor)
    files.origin = origin
    return files


def find_results(directory: str | Path, *, format: str | None = None) -> list[ResultFiles]:
    """Every model file under ``directory`` (recursively) with its confidence files.

    Parameters
    ----------
    directory : str or Path
    format : str, optional
        Only this importer (see :data:`FORMATS`); by default detected per file.

    Returns
    -------
    list of ResultFiles
        Sorted by path. Files under ColabFold's ``*_env`` cache and ``templates``
        / ``msas`` folders are inputs, not results, and are left out.

    Warns
    -----
    SkippedFileWarning
        For each symbolic link (model or confidence file) that leads outside
        ``directory``: it is not read. Linked folders are not entered.
    """
    fmt = _check_format(format)
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: not a folder")
    root = directory.resolve()
    listings: dict[Path, frozenset[str]] = {}
    results = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or not _STRUCTURE_FILE.search(path.name):
            continue
        if any(_SKIPPED_FOLDER.search(part) for part in path.relative_to(directory).parts[:-1]):
            continue
        if path.parent not in listings:
            listings[path.parent] = _contained_names(path.parent, root)
        if path.name not in listings[path.parent]:
            continue  # a link out of the folder, warned about in the listing
        files = _match(path, listings[path.parent], fmt)
        if files is not None:
            results.append(files)
    return results


def _contained_names(folder: Path, root: Path) -> frozenset[str]:
    """Names in ``folder``, less symbolic links that lead out of ``root`` (each skipped with a warning).

    A link whose target is missing, or inside ``root``, is kept: the first is
    reported by the loader as a missing file, the second reads like any file.
    """
    names = set()
    for entry in folder.iterdir():
        if entry.is_symlink() and entry.exists() and not entry.resolve().is_relative_to(root):
            warnings.warn(
                f"{entry}: skipped, a symbolic link to {entry.resolve()}, outside the import folder {root}",
                SkippedFileWarning,
                stacklevel=3,
            )
            continue
        names.add(entry.name)
    return frozenset(names)


def _group_key(files: ResultFiles) -> tuple[str, str, str]:
    anchor = files.structure.parent
    if files.format == "alphafold3" and files.rank >= 1000:  # sample folders belong to the job folder above
        anchor = anchor.parent
    return (files.query, files.format, str(anchor))


def _sort_key(files: ResultFiles) -> tuple[float, int, str]:
    return (-files.score if files.score is not None else 0.0, files.rank, files.structure.name)


def best_results(results: Sequence[ResultFiles]) -> dict[str, ResultFiles]:
    """The best model of each job, by the tool's own ranking, under a unique file-safe name."""
    groups: dict[tuple[str, str, str], list[ResultFiles]] = {}
    for files in results:
        groups.setdefault(_group_key(files), []).append(files)
    chosen = [sorted(members, key=_sort_key)[0] for _, members in sorted(groups.items())]
    return _unique_names([(files.query, files) for files in chosen])


def _unique_names(items: list[tuple[str, ResultFiles]]) -> dict[str, ResultFiles]:
    named: dict[str, ResultFiles] = {}
    taken: set[str] = set()
    for raw, files in items:
        base = safe_name(raw) or "model"
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        named[name] = files
    return named


def load_result(files: ResultFiles, *, as_prediction: bool = False, format_given: bool = False) -> Prediction:
    """Read one model and its confidence files into a Prediction.

    Parameters
    ----------
    files : ResultFiles
    as_prediction : bool
        Import a structure that is not a prediction (experimental, or B-factors
        that are not pLDDT) with no confidence, with a warning, instead of refusing it.
    format_given : bool
        The format was named by the caller: B-factors of a file with no
        predictor signature are then read as pLDDT without the plausibility rules.

    Raises
    ------
    NotAPredictionError
        An experimental structure, or a file with no predictor signature whose
        B-factors are not a pLDDT (unless ``as_prediction``).
    StructureFormatError
        A file is malformed or does not fit the model.

    Warns
    -----
    ConfidenceWarning
        Confidence files missing, a pLDDT inferred from B-factors, or a
        structure imported with no confidence.
    """
    if files.format == "workbench":
        return load_workbench(files)
    origin = files.origin if files.origin is not None else read_origin(files.structure)
    files.origin = origin
    name = files.structure.name
    if origin.experimental:
        what = origin.describe()
        if not as_prediction:
            raise NotAPredictionError(
                f"{what}, not a prediction; its B-factors are not pLDDT. Use `workbench info`/`refine` on it, "
                "or --as-prediction to import it with no confidence",
                source=name,
            )
        warn_confidence(f"{name}: {what} imported with no confidence (--as-prediction): its B-factors are not pLDDT")
        return _without_confidence(files, "experimental", origin)
    if files.format == "bfactor" and origin.predictor is None and not format_given:
        reason = not_plddt_reason(read_model(files.structure), origin)
        if reason is not None:
            if not as_prediction:
                raise NotAPredictionError(
                    f"not recognised as a prediction ({reason}); its B-factors are not read as pLDDT. "
                    "Use --as-prediction to import it with no confidence",
                    source=name,
                )
            warn_confidence(f"{name}: not recognised as a prediction ({reason}); imported with no confidence "
                            "(--as-prediction)")  # fmt: skip
            return _without_confidence(files, "structure", origin, reason=reason)
        warn_confidence(
            f"{name}: no predictor recognised; its B-factors are read as pLDDT because they look like one "
            "(0-100, varying, not rising from the CA to the side chains). Name the tool with --format if known"
        )
    return _LOADERS[files.format](files)


def _without_confidence(files: ResultFiles, method: str, origin: Origin, reason: str | None = None) -> Prediction:
    """The model as a structure with no confidence (``plddt=None``): its B-factors are not carried over."""
    parameters: dict[str, object] = {"imported_as": "structure without confidence"}
    if origin.method is not None:
        parameters["experimental_method"] = origin.method
    if origin.resolution is not None:
        parameters["resolution"] = origin.resolution
    if reason is not None:
        parameters["not_plddt"] = reason
    plain = dataclasses.replace(files, format=method)
    return build_prediction(plain, read_model(files.structure), None, parameters=parameters)


def import_prediction(path: str | Path, *, format: str | None = None, as_prediction: bool = False) -> Prediction:
    """Import one prediction: a model file (its confidence files found beside it) or a folder holding one result.

    Parameters
    ----------
    path : str or Path
        A PDB / mmCIF model, or a folder with one job's output (the best-ranked
        model is taken, by the tool's ranking).
    format : str, optional
        One of :data:`FORMATS`; by default detected from the file names.
    as_prediction : bool
        Import an experimental structure (or a file whose B-factors are not
        pLDDT) with no confidence instead of refusing it.

    Returns
    -------
    Prediction

    Raises
    ------
    NotAPredictionError
        An experimental structure, or B-factors that are not pLDDT (see the module docstring).
    StructureFormatError
        Malformed files, counts or shapes that do not fit the model, no model
        in the folder, or models of several jobs in it.
    FileNotFoundError
        ``path`` does not exist.
    """
    fmt = _check_format(format)
    path = Path(path)
    if path.is_dir():
        best = best_results(find_results(path, format=fmt))
        if not best:
            raise StructureFormatError("no PDB or mmCIF model found", source=str(path))
        if len(best) > 1:
            raise StructureFormatError(
                f"models of {len(best)} jobs ({', '.join(sorted(best))}); use import_predictions", source=str(path)
            )
        return load_result(next(iter(best.values())), as_prediction=as_prediction, format_given=fmt is not None)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file or folder")
    files = _match(path, frozenset(p.name for p in path.parent.iterdir()), fmt)
    if files is None:
        raise StructureFormatError("not a PDB or mmCIF model file", source=str(path))
    return load_result(files, as_prediction=as_prediction, format_given=fmt is not None)


def import_predictions(
    directory: str | Path, *, format: str | None = None, all_models: bool = False, as_prediction: bool = False
) -> list[tuple[str, Prediction | Exception]]:
    """Import every result under ``directory``; one bad result never stops the rest.

    Parameters
    ----------
    directory : str or Path
    format : str, optional
        One of :data:`FORMATS`; by default detected per file.
    all_models : bool
        Every model, named ``{job}_{model}``, instead of the best model of each job.
    as_prediction : bool
        Import experimental structures (and files whose B-factors are not
        pLDDT) with no confidence instead of refusing them.

    Returns
    -------
    list of (str, Prediction or Exception)
        File-safe names in sorted order, each with its prediction or the error
        (a :class:`StructureFormatError`, :class:`NotAPredictionError` or
        :class:`OSError`) that stopped it. Warnings
        (:class:`ConfidenceWarning`) are issued as each result is read.
    """
    results = find_results(directory, format=format)
    given = _check_format(format) is not None
    if all_models:
        named = _unique_names([(f"{f.query}_{f.model}" if f.model else f.query, f) for f in results])
    else:
        named = best_results(results)
    imported: list[tuple[str, Prediction | Exception]] = []
    for name in sorted(named):
        try:
            imported.append((name, _load_contained(named[name], as_prediction=as_prediction, format_given=given)))
        except (ValueError, OSError) as exc:
            imported.append((name, exc))
    return imported


def _load_contained(files: ResultFiles, *, as_prediction: bool = False, format_given: bool = False) -> Prediction:
    """:func:`load_result`, with any failure a crafted file may cause turned into a :class:`StructureFormatError`.

    Readers raise :class:`ValueError` or :class:`OSError` for the bad input they
    know; anything else (a JSON nested past the recursion limit, memory
    exhausted by an array) is caught here too, so that one file never stops the
    import of the others. The message names the model file and the error type.
    """
    try:
        return load_result(files, as_prediction=as_prediction, format_given=format_given)
    except (ValueError, OSError):
        raise
    except Exception as exc:  # untrusted files: report, never stop the batch
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise StructureFormatError(f"could not be read ({type(exc).__name__}{': ' + reason if reason else ''})",
                                   source=str(files.structure)) from exc


def import_to_folder(
    directory: str | Path,
    out: str | Path,
    *,
    format: str | None = None,
    all_models: bool = False,
    as_prediction: bool = False,
) -> list[tuple[str, dict[str, Path] | str]]:
    """Import every result under ``directory`` and write each to ``out / name`` (``workbench import DIR -o OUT``).

    Parameters
    ----------
    directory, out : str or Path
    format : str, optional
    all_models, as_prediction : bool
        See :func:`import_predictions`.

    Returns
    -------
    list of (str, dict or str)
        Per result its name and the written paths (see
        :func:`~workbench.results.write_prediction`), or the error text (for a
        refusal, the one-line reason).
    """
    from workbench.files import check_writable_folder
    from workbench.io.fasta import safe_name
    from workbench.results import write_prediction

    out = check_writable_folder(out)
    written: list[tuple[str, dict[str, Path] | str]] = []
    for name, result in import_predictions(directory, format=format, all_models=all_models,
                                           as_prediction=as_prediction):
        if isinstance(result, Prediction):  # names come from file names: made safe before joining a path
            written.append((name, write_prediction(result, out / (safe_name(name) or "result"))))
        else:
            written.append((name, str(result)))
    return written


def _name_keys(text: str) -> set[str]:
    """Ways a record id or job name may be written: as is, file-safe, lower case."""
    return {text.lower(), safe_name(text).lower()}


@dataclass(frozen=True)
class ImportedOptions(PredictorOptions):
    """Options of :class:`ImportedPredictor`."""

    directory: str = field(default="", metadata={"help": "folder of results made elsewhere", "file": True,
                                                  "label": "Imported results folder"})
    format: str | None = field(default=None, metadata={
        "help": "force one format (colabfold, af2, af3, afdb, esmfold, boltz, chai1, protenix)"})


@register("imported", options=ImportedOptions, label="imported (results made elsewhere, in a folder on the server)",
          in_browser=False)
class ImportedPredictor:
    """Predictions already made elsewhere, matched to records by id or name.

    Parameters
    ----------
    directory : str or Path
        Folder holding the results (any of :data:`FORMATS`, mixed).
    format : str, optional
        Force one importer.

    Notes
    -----
    A record matches a job whose name equals its id or file-safe name (case
    ignored); an AlphaFold DB file ``AF-{acc}-F1`` also matches the accession.
    The model's chain sequences must equal the record's (``X`` in the record
    matches any residue).
    """

    name = "imported"

    def __init__(self, directory: str | Path, *, format: str | None = None):
        self.directory = Path(directory)
        if not self.directory.is_dir():  # once, here, rather than once per record
            raise NotADirectoryError(errno.ENOTDIR, "imported results folder not found", str(directory))
        self.format = _check_format(format)
        self._best: dict[str, ResultFiles] | None = None

    def _results(self) -> dict[str, ResultFiles]:
        if self._best is None:
            self._best = best_results(find_results(self.directory, format=self.format))
        return self._best

    def _lookup(self, record: SequenceRecord) -> ResultFiles | str:
        keys = _name_keys(record.id) | _name_keys(record.name)
        found = [f for f in self._results().values() if _name_keys(f.query) & keys]
        if not found:
            found = [
                f for f in self._results().values()
                if f.format == "afdb" and keys & {part.lower() for part in _SEPARATORS.split(f.query)}
            ]  # fmt: skip
        if not found:
            return f"no imported result named {record.id!r} in {self.directory}"
        if len(found) > 1:
            paths = ", ".join(str(f.structure) for f in found)
            return f"several imported results match {record.id!r}: {paths}"
        return found[0]

    def predict(self, records: Sequence[SequenceRecord]) -> list[PredictionOutcome]:
        """One outcome per record, in input order; missing or mismatching results give error text."""
        outcomes = []
        for record in records:
            try:
                files = self._lookup(record)
                if isinstance(files, str):
                    outcomes.append(PredictionOutcome(record, error=files))
                    continue
                prediction = _load_contained(files, format_given=self.format is not None)
            except (ValueError, OSError) as exc:
                outcomes.append(PredictionOutcome(record, error=str(exc)))
                continue
            problem = _sequence_problem(record, prediction, files)
            if problem:
                outcomes.append(PredictionOutcome(record, error=problem))
            else:
                outcomes.append(PredictionOutcome(record, prediction=prediction))
        return outcomes


def _sequence_problem(record: SequenceRecord, prediction: Prediction, files: ResultFiles) -> str | None:
    """Why the model does not fit the record's sequence, or None when it does."""
    model = chain_sequences(prediction.structure)
    if len(model) != len(record.chains):
        return f"{files.structure}: {len(model)} chain(s) in the model, {len(record.chains)} in record {record.id!r}"
    for index, (ours, theirs) in enumerate(zip(record.chains, model, strict=True)):
        if len(ours) != len(theirs):
            return (
                f"{files.structure}: chain {index + 1} has {len(theirs)} residues in the model, "
                f"{len(ours)} in record {record.id!r}"
            )
        for position, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if a != b and a != "X":
                return (
                    f"{files.structure}: sequence differs from record {record.id!r} at chain {index + 1} "
                    f"position {position + 1} ({a} in the record, {b} in the model)"
                )
    return None
