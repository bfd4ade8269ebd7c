"""Shared pieces of the importers: reading confidence files, mapping tokens to residues, pLDDT scales.

Every predictor writes its model as PDB or mmCIF and its confidence beside it
in JSON or npz. What differs is the layout; what is shared is here: loading
those files with errors that name the file, taking one pLDDT per polymer
residue from the B-factor column, recognising a 0-1 pLDDT scale, mapping the
token axis of AlphaFold3-style models (one token per standard residue, one
per atom otherwise) onto residues, and checking PAE shapes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from workbench import config
from workbench.errors import StructureFormatError
from workbench.io.structure_reader import read_structure
from workbench.predict._formats_origin import Origin
from workbench.predict.base import Prediction, Provenance
from workbench.predict.outputs import with_plddt
from workbench.residues import STANDARD_AMINO_ACIDS
from workbench.structure import Structure

#: Largest difference (pLDDT units, 0-100) tolerated between B-factor and JSON pLDDT:
#: PDB files keep two decimals and some tools round to one.
PLDDT_TOLERANCE = 1.0

#: Most elements accepted in one array of a confidence npz (PAE of 10,000 tokens is 10^8).
MAX_ARRAY_ELEMENTS = 10**8
#: Most arrays accepted in one npz.
MAX_NPZ_MEMBERS = 1000
#: dtype kinds accepted in an npz: bool, integers, floats, bytes and unicode text.
_NPZ_DTYPE_KINDS = frozenset("biufSU")

_STANDARD_NUCLEOTIDES = frozenset({"A", "C", "G", "U", "DA", "DC", "DG", "DT", "N", "DN"})
_STANDARD_RESIDUES = frozenset(STANDARD_AMINO_ACIDS) | _STANDARD_NUCLEOTIDES | {"UNK"}


@dataclass
class ResultFiles:
    """The files of one imported model and what their names say about it.

    Attributes
    ----------
    format : str
        Importer name (``"colabfold"``, ``"alphafold3"``, ...).
    structure : Path
        The PDB or mmCIF model.
    query : str
        The job or record name the model is for.
    model : str
        Model label within the job (``"model_1"``, ``"sample_0"``); may be empty.
    rank : int
        0 for the best model of its job, larger for worse; sorts ties by name.
    companions : dict of str to Path
        Confidence files by role (``"scores"``, ``"pae"``, ``"summary"``, ...).
    score : float or None
        Ranking score written by the tool (higher is better), when it orders models by one.
    prefix : str
        Job prefix before the standard file names (AlphaPulldown), else empty.
    origin : Origin or None
        What the model file's own records say (experiment, predictor signature),
        once read; see :mod:`workbench.predict._formats_origin`.
    """

    format: str
    structure: Path
    query: str
    model: str = ""
    rank: int = 0
    companions: dict[str, Path] = field(default_factory=dict)
    score: float | None = None
    prefix: str = ""
    origin: Origin | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The model and companion files, as strings."""
        return (str(self.structure), *(str(p) for p in self.companions.values()))


class ConfidenceWarning(UserWarning):
    """An imported model lacks some of its confidence, or its confidence was inferred; the import went on."""


class SkippedFileWarning(UserWarning):
    """A file in an import folder was not read (a symbolic link leading out of the folder); the import went on."""


class NotAPredictionError(StructureFormatError):
    """A structure file that is not a prediction (an experimental structure, B-factors that are not pLDDT)."""


def warn_confidence(message: str) -> None:
    """Issue a :class:`ConfidenceWarning` (the CLI prints it as ``workbench import: warning: ...``)."""
    warnings.warn(message, ConfidenceWarning, stacklevel=3)


def load_json(path: Path) -> Any:
    """Parse a JSON file; malformed, unreadable or oversized JSON raises :class:`StructureFormatError`.

    Files over :func:`workbench.config.max_input_bytes` are refused before they are read.
    """
    limit = config.max_input_bytes()
    if path.stat().st_size > limit:
        raise StructureFormatError(
            f"larger than the input limit of {config.format_bytes(limit)} (raise it with WORKBENCH_MAX_INPUT_BYTES)",
            source=str(path),
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StructureFormatError(f"malformed JSON ({exc.msg})", source=str(path), line=exc.lineno) from None
    except UnicodeDecodeError:
        raise StructureFormatError("not a UTF-8 JSON text file", source=str(path)) from None
    except RecursionError:
        raise StructureFormatError("JSON nested too deeply to read", source=str(path)) from None


def load_npz(path: Path, *, max_axis: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (or a single ``.npy`` as ``{"array": ...}``), checked before they are loaded.

    Each array's header (shape and dtype) is read from its zip member first,
    and the file is refused, naming the array, when one holds objects or
    records (never unpickled), has more than :data:`MAX_ARRAY_ELEMENTS`
    elements, more bytes than :func:`workbench.config.max_input_bytes`, or an
    axis longer than ``max_axis``. Only then are the arrays loaded, with
    ``allow_pickle=False``.

    Parameters
    ----------
    path : Path
    max_axis : int, optional
        Longest axis that fits the model (for per-token arrays, the model's atom count).

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    StructureFormatError
        Not a numpy file, a corrupt one, or an array refused by the checks above; one line naming the file.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                _check_npz_members(archive, path, max_axis)
        else:
            with path.open("rb") as handle:
                _check_npy_header(handle, "array", path, max_axis, path.stat().st_size)
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            return {"array": data}
        with data:
            return {key: np.array(data[key]) for key in data.files}
    except StructureFormatError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError,
            RuntimeError, MemoryError, KeyError) as exc:  # whatever a crafted zip makes zipfile or numpy raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StructureFormatError(f"not a readable numpy file ({reason})", source=str(path)) from None


def _check_npz_members(archive: zipfile.ZipFile, path: Path, max_axis: int | None) -> None:
    """Check every ``.npy`` member's header of an npz archive (see :func:`load_npz`)."""
    members = archive.infolist()
    if len(members) > MAX_NPZ_MEMBERS:
        raise StructureFormatError(f"{len(members)} arrays, more than the {MAX_NPZ_MEMBERS} accepted", source=str(path))
    for member in members:
        key = member.filename.removesuffix(".npy")
        with archive.open(member) as handle:
            _check_npy_header(handle, key, path, max_axis, member.file_size)


def _check_npy_header(handle: IO[bytes], key: str, path: Path, max_axis: int | None, stored: int | None) -> None:
    """Read one ``.npy`` header from ``handle``; refuse what :func:`load_npz` refuses.

    ``stored`` is the size of the member (or file), header included: data it cannot hold is refused too.
    """
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        else:  # 2.0, and 3.0 whose only change is a UTF-8 header (ASCII for every dtype accepted here)
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    except ValueError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StructureFormatError(f"not a readable numpy file (array {key!r}: {reason})", source=str(path)) from None
    problem = None
    elements = math.prod(shape)
    if dtype.hasobject or dtype.kind not in _NPZ_DTYPE_KINDS or dtype.names is not None:
        problem = f"dtype {dtype} is not a plain numeric, boolean or text dtype"
    elif elements > MAX_ARRAY_ELEMENTS:
        problem = f"{elements:,} elements, more than the limit of {MAX_ARRAY_ELEMENTS:,}"
    elif elements * dtype.itemsize > config.max_input_bytes():
        limit = config.format_bytes(config.max_input_bytes())
        problem = f"{elements * dtype.itemsize:,} bytes, more than the input limit of {limit} " \
                  "(WORKBENCH_MAX_INPUT_BYTES)"
    elif max_axis is not None and any(n > max_axis for n in shape):
        problem = f"an axis longer than the model's {max_axis} atoms"
    elif stored is not None and stored < elements * dtype.itemsize:
        problem = f"{stored:,} bytes stored for {elements * dtype.itemsize:,} bytes of data"
    if problem is not None:
        raise StructureFormatError(f"array {key!r} of shape {shape}: {problem}", source=str(path))


def require(mapping: Any, key: str, path: Path) -> Any:
    """``mapping[key]``, or a :class:`StructureFormatError` naming the file and the missing key."""
    if not isinstance(mapping, dict):
        raise StructureFormatError(f"expected a JSON object, got {type(mapping).__name__}", source=str(path))
    if key not in mapping:
        raise StructureFormatError(f"no {key!r} entry", source=str(path))
    return mapping[key]


def scalar(value: Any, name: str, path: Path) -> float | None:
    """A finite float from a JSON number or a size-1 array; None stays None."""
    if value is None:
        return None
    array = np.asarray(value, dtype=float).reshape(-1) if not isinstance(value, str) else np.array([np.nan])
    if array.size != 1 or not np.isfinite(array[0]):
        raise StructureFormatError(f"{name} is not a single finite number: {value!r}", source=str(path))
    return float(array[0])


def float_array(value: Any, name: str, path: Path, ndim: int) -> np.ndarray:
    """A finite float array with ``ndim`` dimensions, or a :class:`StructureFormatError`."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise StructureFormatError(f"{name} is not a numeric array", source=str(path)) from None
    if array.ndim != ndim:
        raise StructureFormatError(f"{name} has {array.ndim} dimension(s), expected {ndim}", source=str(path))
    if not np.isfinite(array).all():
        raise StructureFormatError(f"{name} holds non-finite values", source=str(path))
    return array


def polymer_residue_mask(structure: Structure) -> np.ndarray:
    """Which residues are polymer residues.

    Returns
    -------
    ndarray, shape=(n_residues,), dtype=bool
    """
    return np.asarray(structure.polymer[structure.residue_starts[:-1]], dtype=bool)


def bfactor_per_residue(structure: Structure) -> np.ndarray:
    """B-factor of each polymer residue's CA atom (its first atom when it has no CA).

    Returns
    -------
    ndarray, shape=(n_polymer_residues,), dtype=float64
    """
    starts = structure.residue_starts
    values = []
    for i in np.flatnonzero(polymer_residue_mask(structure)):
        lo, hi = int(starts[i]), int(starts[i + 1])
        names = structure.atom_name[lo:hi]
        ca = np.flatnonzero(names == "CA")
        values.append(structure.b_factor[lo + (int(ca[0]) if ca.size else 0)])
    return np.asarray(values, dtype=np.float64)


def atom_values_per_residue(structure: Structure, values: np.ndarray, name: str, path: Path) -> np.ndarray:
    """Per-atom values (one per atom of ``structure``) reduced to the CA (or first atom) of each polymer residue.

    Parameters
    ----------
    structure : Structure
    values : ndarray, shape=(n_atoms,)
    name : str
        What the values are, for messages.
    path : Path
        The file they came from, for messages.

    Returns
    -------
    ndarray, shape=(n_polymer_residues,), dtype=float64
    """
    values = float_array(values, name, path, 1)
    if values.shape[0] != structure.n_atoms:
        raise StructureFormatError(
            f"{values.shape[0]} {name} values for {structure.n_atoms} atoms in the model", source=str(path)
        )
    return bfactor_per_residue(dataclasses.replace(structure, b_factor=values))


@dataclass(frozen=True)
class Plddt:
    """Per-residue pLDDT on 0-100 and how it was obtained."""

    values: np.ndarray
    rescaled: bool
    source: str
    path: Path | None = None


def normalise_plddt(values: np.ndarray, source: str, path: Path, *, scale: str = "auto") -> Plddt:
    """Put pLDDT on a 0-100 scale.

    A 0-1 scale is recognised when every value lies in [0, 1] and at least one
    is above 0: a real 0-100 pLDDT never stays below 1 for a whole model (its
    floor is around 20), so the two cannot be confused.

    Parameters
    ----------
    values : ndarray, shape=(n,)
    source : str
        Where the values came from (``"b_factor"``, ``"scores.json"``), kept in provenance.
    path : Path
        File, for messages.
    scale : {"auto", "fraction", "percent"}
        ``"fraction"`` forces 0-1, ``"percent"`` forces 0-100.

    Returns
    -------
    Plddt

    Raises
    ------
    StructureFormatError
        Values outside 0-100, non-finite, or all zero (no pLDDT recorded).

    Examples
    --------
    >>> result = normalise_plddt(np.array([0.5, 0.92]), "b_factor", Path("model.pdb"))
    >>> result.values.tolist(), result.rescaled
    ([50.0, 92.0], True)
    >>> normalise_plddt(np.array([50.0, 92.0]), "b_factor", Path("model.pdb")).rescaled
    False
    """
    values = float_array(values, "pLDDT", path, 1)
    if values.size and (values.min() < 0 or values.max() > 100):
        raise StructureFormatError(
            f"pLDDT from {source} outside 0-100 ({values.min():.3g}..{values.max():.3g})", source=str(path)
        )
    if values.size and not values.any():
        raise StructureFormatError(f"pLDDT from {source} is zero everywhere: no confidence recorded", source=str(path))
    if scale == "fraction" or (scale == "auto" and values.size and values.max() <= 1.0):
        if values.max() > 1.0:
            raise StructureFormatError(f"pLDDT from {source} above 1 on a 0-1 scale", source=str(path))
        return Plddt(values * 100.0, rescaled=True, source=source, path=path)
    return Plddt(values, rescaled=False, source=source, path=path)


def cross_check(primary: Plddt, secondary: Plddt, path: Path) -> None:
    """Raise when two pLDDT readings of the same model disagree beyond :data:`PLDDT_TOLERANCE`."""
    a, b = primary.values, secondary.values
    if a.shape != b.shape:
        raise StructureFormatError(
            f"{a.shape[0]} pLDDT values in {primary.source} but {b.shape[0]} in {secondary.source}", source=str(path)
        )
    if a.size:
        worst = int(np.argmax(np.abs(a - b)))
        if abs(a[worst] - b[worst]) > PLDDT_TOLERANCE:
            raise StructureFormatError(
                f"pLDDT in {primary.source} ({a[worst]:.2f}) and {secondary.source} ({b[worst]:.2f}) "
                f"disagree at polymer residue {worst + 1}",
                source=str(path),
            )


def check_count(values: np.ndarray, n_residues: int, what: str, path: Path) -> None:
    """Raise when ``values`` does not hold one entry per polymer residue."""
    if values.shape[0] != n_residues:
        raise StructureFormatError(
            f"{values.shape[0]} {what} values for {n_residues} polymer residues in the model", source=str(path)
        )


def token_layout(structure: Structure) -> tuple[np.ndarray, int]:
    """Tokens of AlphaFold3-style models: one per standard residue, one per heavy atom otherwise.

    Returns
    -------
    first_token : ndarray, shape=(n_polymer_residues,), dtype=int64
        Token index of each polymer residue (its first token when it has several).
    n_tokens : int
        Number of tokens of the whole structure.
    """
    starts = structure.residue_starts
    polymer = polymer_residue_mask(structure)
    first: list[int] = []
    n_tokens = 0
    for i in range(len(starts) - 1):
        name = str(structure.res_name[starts[i]])
        if polymer[i]:
            first.append(n_tokens)
        if polymer[i] and name in _STANDARD_RESIDUES:
            n_tokens += 1
        else:
            elements = structure.element[starts[i] : starts[i + 1]]
            n_tokens += max(1, int(np.count_nonzero((elements != "H") & (elements != "D"))))
    return np.asarray(first, dtype=np.int64), n_tokens


def residue_tokens_from_ids(structure: Structure, chain_ids: Any, res_ids: Any, path: Path) -> np.ndarray:
    """Token index of each polymer residue from explicit token chain and residue ids (AlphaFold3 full data).

    Returns
    -------
    ndarray, shape=(n_polymer_residues,), dtype=int64
    """
    chains = np.asarray(chain_ids, dtype=str).reshape(-1)
    res = np.asarray(res_ids).reshape(-1)
    if chains.shape != res.shape:
        raise StructureFormatError(f"{chains.size} token chain ids but {res.size} token residue ids", source=str(path))
    first: dict[tuple[str, int], int] = {}
    for k, (chain, number) in enumerate(zip(chains, res, strict=True)):
        first.setdefault((str(chain), int(number)), k)
    r = structure.residues
    tokens = []
    for i in np.flatnonzero(polymer_residue_mask(structure)):
        key = (str(r.chain_id[i]), int(r.res_id[i]))
        if key not in first:
            raise StructureFormatError(f"no token for residue {r.label(int(i))} of the model", source=str(path))
        tokens.append(first[key])
    return np.asarray(tokens, dtype=np.int64)


def per_residue_from_tokens(
    values: np.ndarray, structure: Structure, path: Path, what: str, tokens: np.ndarray | None = None
) -> np.ndarray:
    """Select the polymer residues from a per-token vector or matrix.

    The token axis may already be per polymer residue (pure protein models) or
    per token (see :func:`token_layout`); anything else is an error.

    Parameters
    ----------
    values : ndarray, shape=(n_tokens,) or (n_tokens, n_tokens)
    structure : Structure
    path : Path
    what : str
        ``"pLDDT"`` or ``"PAE"``, for messages.
    tokens : ndarray, optional
        Token index of each polymer residue when the file says it explicitly.

    Returns
    -------
    ndarray, shape=(n_polymer_residues,) or (n_polymer_residues, n_polymer_residues)
    """
    n_res = int(np.count_nonzero(polymer_residue_mask(structure)))
    n = values.shape[0]
    if values.ndim == 2 and values.shape[1] != n:
        raise StructureFormatError(f"{what} matrix is not square: shape {values.shape}", source=str(path))
    if tokens is None:
        if n == n_res:
            return values
        tokens, n_tokens = token_layout(structure)
        if n != n_tokens:
            raise StructureFormatError(
                f"{what} has {n} entries for {n_res} polymer residues ({n_tokens} tokens) in the model",
                source=str(path),
            )
    elif tokens.size and tokens.max() >= n:
        raise StructureFormatError(f"{what} has {n} entries, fewer than the model's tokens", source=str(path))
    return values[np.ix_(tokens, tokens)] if values.ndim == 2 else values[tokens]


def check_pae(pae: np.ndarray, n_residues: int, path: Path) -> np.ndarray:
    """A validated PAE matrix of shape ``(n_residues, n_residues)`` in Å."""
    pae = float_array(pae, "PAE", path, 2)
    if pae.shape != (n_residues, n_residues):
        raise StructureFormatError(
            f"PAE has shape {pae.shape} for {n_residues} polymer residues in the model", source=str(path)
        )
    if pae.size and pae.min() < 0:
        raise StructureFormatError("PAE holds negative values", source=str(path))
    return pae


def chain_sequences(structure: Structure) -> tuple[str, ...]:
    """One-letter sequence of each polymer chain, in chain order."""
    return tuple(seq for seq in structure.sequences.values() if seq)


def read_model(path: Path) -> Structure:
    """The first model of a PDB / mmCIF prediction file."""
    structure = read_structure(path)
    return structure.model(0) if structure.n_models > 1 else structure


def bfactor_plddt(structure: Structure, path: Path, *, required: bool) -> Plddt | None:
    """Per-residue pLDDT from the B-factor column; None when it is empty (all zero) and not ``required``."""
    values = bfactor_per_residue(structure)
    if not required and values.size and not values.any():
        return None
    return normalise_plddt(values, "b_factor", path)


def build_prediction(
    files: ResultFiles,
    structure: Structure,
    plddt: Plddt | None,
    *,
    ptm: float | None = None,
    iptm: float | None = None,
    pae: np.ndarray | None = None,
    model: str = "",
    parameters: dict[str, Any] | None = None,
    pae_path: Path | None = None,
) -> Prediction:
    """Assemble the :class:`~workbench.predict.base.Prediction`, pLDDT written into the B-factors.

    Without a pLDDT (``plddt`` None) the prediction's confidence kind is
    ``"none"`` and the polymer's B-factors become 0, so that nothing reads the
    file's old B-factors as pLDDT.

    Raises
    ------
    StructureFormatError
        When the values do not fit the model (counts, scales, pTM outside 0-1).
    """
    n_res = int(np.count_nonzero(polymer_residue_mask(structure)))
    if plddt is not None:
        check_count(plddt.values, n_res, "pLDDT", plddt.path or files.structure)
    if pae is not None:
        pae = check_pae(pae, n_res, pae_path or files.structure)
    params = {
        "format": files.format,
        "model": files.model,
        "plddt_source": None if plddt is None else plddt.source,
        "plddt_rescaled": None if plddt is None else plddt.rescaled,
        **(parameters or {}),
    }
    provenance = Provenance(method=files.format, model=model, parameters=params, sources=files.sources)
    try:
        values = None if plddt is None else plddt.values
        return Prediction(
            structure=with_plddt(structure, values),
            plddt=values,
            ptm=ptm,
            pae=pae,
            provenance=provenance,
            iptm=iptm,
            name=files.query,
        )
    except ValueError as exc:
        raise StructureFormatError(str(exc), source=str(files.structure)) from None
