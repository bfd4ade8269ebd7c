"""Finding, loading and caching ESMFold weights, and setting the trunk's precision.

The model is loaded once per process and kept in a module-level cache keyed by
(weights, device, language-model dtype, trunk precision): every
:class:`~workbench.predict.esmfold.EsmFoldPredictor` in a process (a Dask
worker, a notebook) shares it.

Where the weights come from
---------------------------
``weights`` is a local folder written by ``save_pretrained`` (or a copy of the
hub repository), or a hub id such as ``facebook/esmfold_v1``. A hub id is only
read from the local Hugging Face cache unless the caller allows a download
(``allow_download=True``) and ``HF_HUB_OFFLINE`` is not set, so a batch on a
cluster node never reaches for the network by surprise. Missing weights raise
:class:`EsmFoldWeightsError`, which says how to fetch them and where to point
``--weights``.

Precision
---------
About 96% of ESMFold's FLOPs are in the folding trunk (48 triangular blocks,
run once per recycle), not in the ESM-2 language model, so running only the
language model in half precision barely changes the speed. The trunk's
precision is the setting that matters:

- ``"fp32"``: full precision (the only choice on the CPU);
- ``"tf32"``: fp32 weights and activations, TensorFloat-32 matrix products on
  Ampere and newer GPUs;
- ``"bf16"``: each trunk block runs under bfloat16 autocast, its outputs cast
  back to fp32; the structure module, which builds rigid frames and is
  sensitive to rounding, and the confidence heads stay in fp32.

The language model runs in fp16 on the GPU (as the ESMFold authors ship it) and
in fp32 on the CPU.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from workbench.files import file_sha256
from workbench.predict.esmfold_weights import EsmFoldWeightsError, missing_weights_message, resolve_weights

if TYPE_CHECKING:  # transformers is imported when a model is first loaded, not with this module
    from transformers import EsmForProteinFolding

TRUNK_DTYPES = ("fp32", "tf32", "bf16")
LM_DTYPES = ("fp32", "fp16", "bf16")
_TORCH_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass
class LoadedModel:
    """One loaded model and what provenance needs to know about it.

    Attributes
    ----------
    model : EsmForProteinFolding
        In eval mode, on ``device``.
    weights : str
        The ``weights`` argument as given (hub id or folder).
    folder : Path
        Local folder the weights were read from.
    weights_hash : str
        SHA-256 of the weight file (or of the list of per-file hashes when sharded).
    device : torch.device
    lm_dtype, trunk_dtype : str
    load_seconds : float
    lock : threading.Lock
        Held while the model runs: chunk size is model state.
    """

    model: EsmForProteinFolding
    weights: str
    folder: Path
    weights_hash: str
    device: torch.device
    lm_dtype: str
    trunk_dtype: str
    load_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)


_CACHE: dict[tuple[str, str, str, str], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget every loaded model (the next predictor loads its weights again)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def load_model(
    weights: str, device: torch.device, lm_dtype: str, trunk_dtype: str, allow_download: bool = False
) -> LoadedModel:
    """The model for these settings, loaded on first use and cached for the process.

    Parameters
    ----------
    weights : str
        Local folder or hub id.
    device : torch.device
    lm_dtype : {"fp32", "fp16", "bf16"}
    trunk_dtype : {"fp32", "tf32", "bf16"}
    allow_download : bool
        Fetch a hub id that is not cached (never when ``HF_HUB_OFFLINE`` is set).

    Raises
    ------
    EsmFoldWeightsError
        When the weights are not on this machine or cannot be read.
    """
    key = (weights, str(device), lm_dtype, trunk_dtype)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        start = time.perf_counter()
        folder, local_only = resolve_weights(weights, allow_download)
        model = _from_pretrained(weights, folder, local_only)
        if folder is None:  # downloaded just now
            folder, _ = resolve_weights(weights, allow_download=False)
        loaded = _prepare(model, weights, Path(folder), weights_sha256(Path(folder)), device, lm_dtype, trunk_dtype)
        loaded.load_seconds = time.perf_counter() - start
        _CACHE[key] = loaded
        return loaded


def cache_model(
    model: EsmForProteinFolding,
    weights: str,
    device: torch.device,
    lm_dtype: str,
    trunk_dtype: str,
    weights_hash: str = "",
) -> LoadedModel:
    """Put an already built ``EsmForProteinFolding`` in the process cache under the name ``weights``.

    For benchmarks and notebooks that build a model in memory (random weights
    of the full architecture, say) instead of reading a folder. ``model`` is
    changed in place: language-model dtype set, trunk blocks wrapped for bf16.
    """
    loaded = _prepare(model, weights, Path(), weights_hash, device, lm_dtype, trunk_dtype)
    with _CACHE_LOCK:
        _CACHE[(weights, str(device), lm_dtype, trunk_dtype)] = loaded
    return loaded


def _prepare(
    model: EsmForProteinFolding,
    weights: str,
    folder: Path,
    weights_hash: str,
    device: torch.device,
    lm_dtype: str,
    trunk_dtype: str,
) -> LoadedModel:
    # PreTrainedModel.to is decorated with functools.wraps, which type checkers see without ``self`` bound
    # (huggingface/transformers#38052); typed as the torch Modules they are, the same calls check.
    language_model: torch.nn.Module = model.esm
    whole: torch.nn.Module = model
    language_model.to(_TORCH_DTYPES[lm_dtype])
    if trunk_dtype == "bf16":
        wrap_trunk_blocks(model, torch.bfloat16)
    whole.to(device).eval()
    return LoadedModel(
        model=model,
        weights=weights,
        folder=folder,
        weights_hash=weights_hash,
        device=device,
        lm_dtype=lm_dtype,
        trunk_dtype=trunk_dtype,
        load_seconds=0.0,
    )


def weights_sha256(folder: Path) -> str:
    """SHA-256 of the weight files in ``folder`` (safetensors preferred, as transformers loads them).

    One file: its SHA-256. Several (sharded): SHA-256 of the lines ``"name sha256"``, sorted by name.
    """
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    if not files:
        return ""
    digests = [(f.name, file_sha256(f)) for f in files]
    if len(digests) == 1:
        return digests[0][1]
    return hashlib.sha256("".join(f"{n} {d}\n" for n, d in digests).encode()).hexdigest()


class AutocastBlock(torch.nn.Module):
    """A trunk block run under autocast, its outputs cast back to the input dtype."""

    def __init__(self, block: torch.nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.block = block
        self.dtype = dtype

    def forward(self, sequence_state: torch.Tensor, pairwise_state: torch.Tensor, *args, **kwargs):  # noqa: D102
        with torch.autocast(device_type=sequence_state.device.type, dtype=self.dtype):
            s, z = self.block(sequence_state, pairwise_state, *args, **kwargs)
        return s.to(sequence_state.dtype), z.to(pairwise_state.dtype)


def wrap_trunk_blocks(model: EsmForProteinFolding, dtype: torch.dtype) -> None:
    """Run every folding-trunk block of ``model`` under ``dtype`` autocast (in place)."""
    blocks = model.trunk.blocks
    for i, block in enumerate(blocks):
        if not isinstance(block, AutocastBlock):
            blocks[i] = AutocastBlock(block, dtype)


@contextlib.contextmanager
def matmul_precision(trunk_dtype: str, device: torch.device) -> Iterator[None]:
    """TF32 matrix products for the duration, restored afterwards (no-op off CUDA or for other dtypes)."""
    if trunk_dtype != "tf32" or device.type != "cuda":
        yield
        return
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def _from_pretrained(weights: str, folder: Path | None, local_only: bool) -> EsmForProteinFolding:
    from transformers import EsmForProteinFolding

    source = str(folder) if folder is not None else weights
    try:
        return EsmForProteinFolding.from_pretrained(source, local_files_only=local_only, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise EsmFoldWeightsError(
            f"could not load ESMFold weights from {source!r}: {exc}. "
            + missing_weights_message(weights, is_path=folder is not None)
        ) from exc
