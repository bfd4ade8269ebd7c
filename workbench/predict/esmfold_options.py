"""ESMFold's options and registration, importable without torch (the CLI builds its flags from them).

The predictor itself, :class:`workbench.predict.esmfold.EsmFoldPredictor`, is
imported when the first one is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.predict.base import PredictorOptions, register_lazily

DEFAULT_WEIGHTS = "facebook/esmfold_v1"
DEFAULT_MAX_BATCH = 64
"""Most sequences in one batch."""
DEFAULT_LINKER = 25
"""Glycine linker between the chains of a complex."""
DEFAULT_CHAIN_GAP = 512
"""Residue-index jump between the chains of a complex."""


@dataclass(frozen=True)
class EsmFoldOptions(PredictorOptions):
    """Options of :class:`~workbench.predict.esmfold.EsmFoldPredictor` (its constructor's keyword arguments)."""

    weights: str = field(default=DEFAULT_WEIGHTS, metadata={
        "help": f"local weights folder (save_pretrained output) or hub id (default {DEFAULT_WEIGHTS})", "file": True,
        "hub_id": True})
    device: str | None = field(default=None, metadata={"help": "cuda, cuda:1 or cpu (default: cuda if available)"})
    trunk_dtype: str = field(default="auto", metadata={"help": "folding-trunk precision: auto, fp32, tf32 or bf16"})
    lm_dtype: str = field(default="auto", metadata={"cli": False})
    chunk_size: int | str | None = field(default="auto", metadata={"cli": False})
    num_recycles: int | None = field(default=None, metadata={
        "help": "trunk recycles after the first pass (default: the model's, 3 for esmfold_v1)"})
    token_budget: int | None = field(default=None, metadata={"cli": False})
    max_batch: int = field(default=DEFAULT_MAX_BATCH, metadata={"cli": False})
    max_padding: float | None = field(default=None, metadata={"cli": False})
    linker_length: int = field(default=DEFAULT_LINKER, metadata={"cli": False})
    chain_gap: int = field(default=DEFAULT_CHAIN_GAP, metadata={"cli": False})
    cpu_fallback: bool = field(default=True, metadata={"cli": False})
    allow_download: bool = field(default=False, metadata={
        "help": "fetch hub weights that are not in the local cache (never with HF_HUB_OFFLINE)"})


def check_weights(options: EsmFoldOptions) -> str:
    """Refuse options whose weights are not on this machine (unless a download is allowed), saying how to get them.

    Returns
    -------
    str
        Where the weights are (or that they will be downloaded).

    Raises
    ------
    EsmFoldWeightsError
        A ``FileNotFoundError`` whose message names ``workbench weights fetch``.
    """
    from workbench.predict.esmfold_weights import resolve_weights  # it imports this module

    folder, _ = resolve_weights(options.weights, options.allow_download)
    return f"ESMFold weights: {folder}" if folder is not None else f"ESMFold weights: {options.weights} (to download)"


register_lazily("esmfold", "workbench.predict.esmfold:EsmFoldPredictor", options=EsmFoldOptions, needs_gpu=True,
                batch_tokens=4096, label="esmfold (ESMFold, needs its weights on the dispatcher)", check=check_weights)
